//! The sessions that long-lived connections (WebSockets) on this instance act for, each with a
//! signal that fires when the session ends. Checking a handle costs an atomic load, so a socket
//! can look before every message; the ends themselves come from [`super::revocations`].
//!
//! A session ended here is remembered for a while, so that a socket registering just after its
//! end was announced (authenticated a moment before the revocation committed) ends at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use uuid::Uuid;

use super::user::CurrentUser;

/// How long an ended session is remembered.
const REMEMBER_ENDED: Duration = Duration::from_secs(10 * 60);

/// Every session with an open connection here.
#[derive(Debug, Default)]
pub struct OpenSessions {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    open: HashMap<Uuid, Entry>,
    /// Sessions ended lately, with when.
    ended: HashMap<Uuid, Instant>,
}

#[derive(Debug)]
struct Entry {
    user_id: Uuid,
    ended: CancellationToken,
    connections: usize,
}

/// One connection's hold on its session; dropping it forgets the session when it was the last.
#[derive(Debug)]
pub struct SessionHandle {
    registry: Arc<OpenSessions>,
    user: CurrentUser,
    ended: CancellationToken,
}

impl SessionHandle {
    pub fn user(&self) -> CurrentUser {
        self.user
    }

    /// Whether the session is known to have ended (no database round trip).
    pub fn is_ended(&self) -> bool {
        self.ended.is_cancelled()
    }

    /// Resolves when the session ends.
    pub fn ended(&self) -> WaitForCancellationFuture<'_> {
        self.ended.cancelled()
    }

    /// This connection found the session over (an expiry check): every connection of it ends.
    pub fn end(&self) {
        self.registry.end(self.user.session_id);
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        if self.ended.is_cancelled() {
            return; // `end` already removed the entry.
        }
        let mut state = self.registry.lock();
        if let Some(entry) = state.open.get_mut(&self.user.session_id) {
            entry.connections = entry.connections.saturating_sub(1);
            if entry.connections == 0 {
                state.open.remove(&self.user.session_id);
            }
        }
    }
}

impl OpenSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a connection acting for `user`'s session. A session ended lately gives a
    /// handle that has already ended.
    pub fn register(self: &Arc<Self>, user: CurrentUser) -> SessionHandle {
        let mut state = self.lock();
        let ended = if state.ended.contains_key(&user.session_id) {
            let token = CancellationToken::new();
            token.cancel();
            token
        } else {
            let entry = state.open.entry(user.session_id).or_insert_with(|| Entry {
                user_id: user.user_id,
                ended: CancellationToken::new(),
                connections: 0,
            });
            entry.connections += 1;
            entry.ended.clone()
        };
        SessionHandle { registry: Arc::clone(self), user, ended }
    }

    /// The session has ended: its connections here are told. Returns how many there were.
    pub fn end(&self, session_id: Uuid) -> usize {
        let mut state = self.lock();
        let now = Instant::now();
        state.ended.retain(|_, at| now.duration_since(*at) < REMEMBER_ENDED);
        state.ended.insert(session_id, now);
        match state.open.remove(&session_id) {
            Some(entry) => {
                entry.ended.cancel();
                entry.connections
            }
            None => 0,
        }
    }

    /// The sessions with a connection here, as `(user, session)`.
    pub fn snapshot(&self) -> Vec<CurrentUser> {
        self.lock()
            .open
            .iter()
            .map(|(session_id, entry)| CurrentUser { user_id: entry.user_id, session_id: *session_id })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> CurrentUser {
        CurrentUser { user_id: Uuid::new_v4(), session_id: Uuid::new_v4() }
    }

    #[test]
    fn ending_a_session_ends_all_its_connections_and_no_other() {
        let registry = Arc::new(OpenSessions::default());
        let (alice, bob) = (user(), user());
        let first = registry.register(alice);
        let second = registry.register(alice);
        let other = registry.register(bob);
        assert_eq!(registry.snapshot().len(), 2);

        assert_eq!(registry.end(alice.session_id), 2);

        assert!(first.is_ended() && second.is_ended());
        assert!(!other.is_ended());
        assert_eq!(registry.snapshot(), vec![bob]);
    }

    #[test]
    fn a_connection_registering_after_its_session_ended_is_ended_at_once() {
        let registry = Arc::new(OpenSessions::default());
        let alice = user();
        assert_eq!(registry.end(alice.session_id), 0);
        let late = registry.register(alice);
        assert!(late.is_ended());
        assert!(registry.snapshot().is_empty(), "an ended session is not watched again");
    }

    #[test]
    fn the_last_connection_to_close_forgets_its_session() {
        let registry = Arc::new(OpenSessions::default());
        let alice = user();
        let first = registry.register(alice);
        let second = registry.register(alice);
        drop(first);
        assert_eq!(registry.snapshot(), vec![alice]);
        drop(second);
        assert!(registry.snapshot().is_empty());
        // A handle dropped after its session ended leaves nothing behind either.
        let third = registry.register(user());
        third.end();
        drop(third);
        assert!(registry.snapshot().is_empty());
    }

    #[tokio::test]
    async fn a_waiting_connection_is_woken_when_its_session_ends() {
        let registry = Arc::new(OpenSessions::default());
        let alice = user();
        let handle = registry.register(alice);
        let waiter = tokio::spawn(async move { handle.ended().await });
        registry.end(alice.session_id);
        tokio::time::timeout(Duration::from_secs(1), waiter).await.unwrap().unwrap();
    }
}
