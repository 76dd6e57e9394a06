//! What follows the end of a socket: a pure [`Reconnection`] that, told how a socket ended,
//! answers with the next step (try again after a capped, jittered exponential backoff; give up
//! on an outdated page; or leave for the login page when the session ended). The browser task in
//! `client` only carries the step out, so the policy is tested without a browser.

use std::time::Duration;

use super::status::ConnectionState;

/// The first retry waits this long; each further one twice as long, up to [`BACKOFF_CAP`].
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
pub const BACKOFF_CAP: Duration = Duration::from_secs(10);

/// The delay before reconnect attempt `attempt` (0-based). `jitter` in `[0, 1)` spreads the
/// delay over its upper half so that many clients dropped together do not return together.
pub fn backoff_delay(attempt: u32, jitter: f64) -> Duration {
    let exponential = BACKOFF_BASE.saturating_mul(2u32.saturating_pow(attempt.min(16)));
    let capped = exponential.min(BACKOFF_CAP);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// Where a page whose session ended goes.
pub const SESSION_ENDED_URL: &str = "/login?notice=session_ended";

/// How long a page whose session ended waits before leaving: when this page ended the session
/// itself (Log out), its own navigation is already under way and says so; it gets the moment
/// it needs to win.
pub const SESSION_ENDED_PAUSE: Duration = Duration::from_millis(1500);

/// How one socket's life ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketEnd {
    /// It had been proven live; the next attempt starts the backoff afresh.
    AfterConnected,
    /// It never answered a ping.
    BeforeConnected,
    /// The server speaks another protocol version; retrying will not help.
    Outdated,
    /// The session ended (logged out elsewhere, revoked, expired); retrying will not help.
    SessionEnded,
}

/// What the connection task does after a socket ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconnectStep {
    /// Show [`ConnectionState::Reconnecting`], wait this long, then open a new socket.
    RetryAfter(Duration),
    /// Show this state and stop for good.
    GiveUp(ConnectionState),
    /// Wait `after`, then leave for `url`; no new socket.
    Leave { after: Duration, url: &'static str },
}

/// The reconnect policy of one page: how many attempts failed in a row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconnection {
    attempt: u32,
}

impl Reconnection {
    pub fn new() -> Self {
        Self::default()
    }

    /// The step after a socket ended as `end`; `jitter` in `[0, 1)` (see [`backoff_delay`]).
    pub fn on_end(&mut self, end: SocketEnd, jitter: f64) -> ReconnectStep {
        match end {
            SocketEnd::Outdated => return ReconnectStep::GiveUp(ConnectionState::Outdated),
            SocketEnd::SessionEnded => {
                return ReconnectStep::Leave { after: SESSION_ENDED_PAUSE, url: SESSION_ENDED_URL };
            }
            SocketEnd::AfterConnected => self.attempt = 0,
            SocketEnd::BeforeConnected => {}
        }
        let delay = backoff_delay(self.attempt, jitter);
        self.attempt = self.attempt.saturating_add(1);
        ReconnectStep::RetryAfter(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second() {
        assert_eq!(backoff_delay(0, 1.0), Duration::from_millis(500));
        assert_eq!(backoff_delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(backoff_delay(2, 1.0), Duration::from_secs(2));
    }

    #[test]
    fn backoff_never_exceeds_the_cap_even_after_many_attempts() {
        assert_eq!(backoff_delay(5, 1.0), BACKOFF_CAP);
        assert_eq!(backoff_delay(u32::MAX, 1.0), BACKOFF_CAP);
    }

    #[test]
    fn jitter_spreads_the_delay_over_its_upper_half() {
        assert_eq!(backoff_delay(3, 0.0), Duration::from_secs(2));
        assert_eq!(backoff_delay(3, 0.5), Duration::from_secs(3));
        assert_eq!(backoff_delay(3, 7.0), Duration::from_secs(4), "out-of-range jitter is clamped");
    }

    #[test]
    fn failed_attempts_in_a_row_back_off_further_each_time() {
        let mut reconnection = Reconnection::new();
        let delays: Vec<_> = (0..3).map(|_| reconnection.on_end(SocketEnd::BeforeConnected, 1.0)).collect();
        assert_eq!(
            delays,
            [
                ReconnectStep::RetryAfter(Duration::from_millis(500)),
                ReconnectStep::RetryAfter(Duration::from_secs(1)),
                ReconnectStep::RetryAfter(Duration::from_secs(2)),
            ]
        );
    }

    #[test]
    fn a_socket_that_had_connected_starts_the_backoff_afresh() {
        let mut reconnection = Reconnection::new();
        reconnection.on_end(SocketEnd::BeforeConnected, 1.0);
        reconnection.on_end(SocketEnd::BeforeConnected, 1.0);
        assert_eq!(
            reconnection.on_end(SocketEnd::AfterConnected, 1.0),
            ReconnectStep::RetryAfter(BACKOFF_BASE)
        );
    }

    #[test]
    fn a_session_that_ended_leaves_for_the_login_page_after_a_pause() {
        let mut reconnection = Reconnection::new();
        assert_eq!(
            reconnection.on_end(SocketEnd::SessionEnded, 0.3),
            ReconnectStep::Leave { after: Duration::from_millis(1500), url: "/login?notice=session_ended" }
        );
    }

    #[test]
    fn an_outdated_page_stops_reconnecting_and_says_so() {
        let mut reconnection = Reconnection::new();
        assert_eq!(
            reconnection.on_end(SocketEnd::Outdated, 0.3),
            ReconnectStep::GiveUp(ConnectionState::Outdated)
        );
    }
}
