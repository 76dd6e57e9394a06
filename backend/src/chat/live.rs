//! The runs executing on this instance, in memory: each numbers its events, keeps them for the
//! run's life (and a little after), hands each to the journal in order, and wakes only its own
//! followers. A follower on this instance never reads Postgres for a live run. Each event is
//! serialised once, when it is emitted: the journal and every socket use those same bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use jarvis_types::protocol::RunEvent;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Where a run hands its events to be stored, in seq order: the journal.
pub trait EventSink {
    /// Takes event `seq` of `run`; called in seq order for each run.
    fn append(&self, run: &Arc<LiveRun>, seq: u64, event: &SharedEvent);
}

/// An event with its JSON, made once and shared (cloning is a reference count): the journal
/// stores these bytes and each follower's socket frames them as they are.
#[derive(Clone)]
pub struct SharedEvent(Arc<(RunEvent, String)>);

impl SharedEvent {
    pub fn new(event: RunEvent) -> Self {
        let json = serde_json::to_string(&event).expect("run events always serialise");
        Self(Arc::new((event, json)))
    }

    pub fn event(&self) -> &RunEvent {
        &self.0.0
    }

    /// The event as `serde_json` writes it.
    pub fn json(&self) -> &str {
        &self.0.1
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.event(), RunEvent::Finished { .. })
    }
}

impl std::fmt::Debug for SharedEvent {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.event(), formatter)
    }
}

impl PartialEq for SharedEvent {
    fn eq(&self, other: &Self) -> bool {
        self.event() == other.event()
    }
}

impl From<RunEvent> for SharedEvent {
    fn from(event: RunEvent) -> Self {
        Self::new(event)
    }
}

/// Why a run was told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The user pressed Stop.
    User,
    /// The instance is shutting down and the grace period is over.
    Shutdown,
    /// Its events cannot be stored: the database has been away too long.
    StorageUnavailable,
    /// Another instance ended the run (this one had lost its lease).
    TakenOver,
}

/// One run executing here.
pub struct LiveRun {
    pub run_id: Uuid,
    pub user_id: Uuid,
    log: Mutex<Log>,
    /// The newest seq, for this instance's followers.
    newest: watch::Sender<u64>,
    /// The newest seq the journal has committed.
    pub(super) committed: watch::Sender<u64>,
    cancel: CancellationToken,
    reason: OnceLock<StopReason>,
    /// Set when another instance ended the run: its end is in Postgres, not here.
    abandoned: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Log {
    /// Event `seq` is at index `seq - 1`.
    events: Vec<SharedEvent>,
    finished: bool,
}

impl LiveRun {
    pub(super) fn new(run_id: Uuid, user_id: Uuid) -> Self {
        Self {
            run_id,
            user_id,
            log: Mutex::default(),
            newest: watch::channel(0).0,
            committed: watch::channel(0).0,
            cancel: CancellationToken::new(),
            reason: OnceLock::new(),
            abandoned: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Numbers the event, keeps it, hands it to the journal and wakes this run's followers.
    /// Returns its seq. Nothing is appended after `Finished`.
    pub fn emit(self: &Arc<Self>, journal: &impl EventSink, event: RunEvent) -> Option<u64> {
        // Serialised before the lock is taken: the log's lock is held only to number and keep it.
        let event = SharedEvent::new(event);
        let seq = {
            let mut log = self.log.lock().expect("run log");
            if log.finished {
                return None;
            }
            log.finished = event.is_finished();
            let seq = log.events.len() as u64 + 1;
            journal.append(self, seq, &event);
            log.events.push(event);
            seq
        };
        self.newest.send_replace(seq);
        Some(seq)
    }

    /// The events after `after_seq` (shared, not copied), and whether the log is complete.
    /// `Finished` is shown only once it is stored — the run is closed in Postgres in the same
    /// commit — so a client that sees a run end can write again at once, on any instance.
    pub fn events_after(&self, after_seq: u64) -> (Vec<(u64, SharedEvent)>, bool) {
        let log = self.log.lock().expect("run log");
        let mut end = log.events.len();
        if log.finished && (*self.committed.borrow() as usize) < end {
            end -= 1;
        }
        let start = usize::try_from(after_seq).unwrap_or(usize::MAX).min(end);
        let events = log.events[start..end]
            .iter()
            .enumerate()
            .map(|(offset, event)| ((start + offset) as u64 + 1, event.clone()))
            .collect();
        (events, log.finished && end == log.events.len())
    }

    /// The seq of the newest event.
    pub fn newest_seq(&self) -> u64 {
        *self.newest.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.newest.subscribe()
    }

    /// Called by the journal once events up to `seq` are durable.
    pub fn mark_committed(&self, seq: u64) {
        let advanced = self.committed.send_if_modified(|committed| {
            let advanced = seq > *committed;
            if advanced {
                *committed = seq;
            }
            advanced
        });
        // A `Finished` held back until now can be shown.
        if advanced && self.is_complete() {
            self.newest.send_modify(|_| {});
        }
    }

    /// Waits until every event emitted so far is durable, or `limit` passes; `true` if it is.
    pub async fn flushed(&self, limit: Duration) -> bool {
        let target = self.newest_seq();
        let mut committed = self.committed.subscribe();
        tokio::time::timeout(limit, committed.wait_for(|seq| *seq >= target)).await.is_ok_and(|r| r.is_ok())
    }

    /// Another instance ended this run (this one had lost its lease): followers here read the
    /// rest from Postgres.
    pub fn abandon(&self) {
        self.abandoned.store(true, std::sync::atomic::Ordering::SeqCst);
        self.newest.send_modify(|_| {});
    }

    pub fn is_abandoned(&self) -> bool {
        self.abandoned.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether `Finished` has been emitted.
    pub fn is_complete(&self) -> bool {
        self.log.lock().expect("run log").finished
    }

    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Asks the run to stop; the first reason given is the one it ends with.
    pub fn stop(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
        self.cancel.cancel();
    }

    pub fn stop_reason(&self) -> Option<StopReason> {
        self.reason.get().copied()
    }
}

/// The runs this instance executes, and those it finished a moment ago (so that a client
/// resuming right after the end is still served from memory).
#[derive(Default)]
pub struct LiveRuns {
    runs: Mutex<HashMap<Uuid, Entry>>,
}

struct Entry {
    run: Arc<LiveRun>,
    executing: bool,
}

/// How long a finished run stays in memory.
const KEEP_AFTER_FINISH: Duration = Duration::from_secs(30);

impl LiveRuns {
    pub fn register(&self, run_id: Uuid, user_id: Uuid) -> Arc<LiveRun> {
        let run = Arc::new(LiveRun::new(run_id, user_id));
        self.runs.lock().expect("live runs").insert(run_id, Entry { run: Arc::clone(&run), executing: true });
        run
    }

    /// The run, if it is in memory here and belongs to this user.
    pub fn get(&self, user_id: Uuid, run_id: Uuid) -> Option<Arc<LiveRun>> {
        let runs = self.runs.lock().expect("live runs");
        runs.get(&run_id).filter(|entry| entry.run.user_id == user_id).map(|entry| Arc::clone(&entry.run))
    }

    /// The run if it still executes here.
    pub fn executing(&self, run_id: Uuid) -> Option<Arc<LiveRun>> {
        let runs = self.runs.lock().expect("live runs");
        runs.get(&run_id).filter(|entry| entry.executing).map(|entry| Arc::clone(&entry.run))
    }

    pub fn all_executing(&self) -> Vec<Arc<LiveRun>> {
        let runs = self.runs.lock().expect("live runs");
        runs.values().filter(|entry| entry.executing).map(|entry| Arc::clone(&entry.run)).collect()
    }

    pub fn executing_count(&self) -> usize {
        self.runs.lock().expect("live runs").values().filter(|entry| entry.executing).count()
    }

    /// The run has ended here: it stays readable for a while, then goes.
    pub fn finished(self: &Arc<Self>, run_id: Uuid) {
        if let Some(entry) = self.runs.lock().expect("live runs").get_mut(&run_id) {
            entry.executing = false;
        }
        let runs = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(KEEP_AFTER_FINISH).await;
            runs.runs.lock().expect("live runs").remove(&run_id);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::journal::Journal;

    fn text(text: &str) -> RunEvent {
        RunEvent::TextDelta { text: text.into() }
    }

    #[tokio::test]
    async fn events_are_numbered_from_one_and_read_back_after_any_seq() {
        let journal = Journal::detached();
        let run = Arc::new(LiveRun::new(Uuid::new_v4(), Uuid::new_v4()));
        assert_eq!(run.emit(&journal, text("a")), Some(1));
        assert_eq!(run.emit(&journal, text("b")), Some(2));
        assert_eq!(run.emit(&journal, text("c")), Some(3));
        let (events, finished) = run.events_after(1);
        assert_eq!(events, vec![(2, SharedEvent::from(text("b"))), (3, SharedEvent::from(text("c")))]);
        assert!(!finished);
        assert!(run.events_after(3).0.is_empty());
        assert!(run.events_after(99).0.is_empty(), "a cursor past the end reads nothing");
    }

    #[test]
    fn a_shared_event_carries_the_json_serde_writes_for_it() {
        let event = RunEvent::TextDelta { text: "é \"quoted\" ⟦u:1⟧".into() };
        let shared = SharedEvent::new(event.clone());
        assert_eq!(shared.json(), serde_json::to_string(&event).unwrap());
        assert_eq!(shared.event(), &event);
        assert!(!shared.is_finished());
    }

    #[tokio::test]
    async fn nothing_is_appended_after_finished() {
        let journal = Journal::detached();
        let run = Arc::new(LiveRun::new(Uuid::new_v4(), Uuid::new_v4()));
        run.emit(&journal, text("a"));
        let finished = RunEvent::Finished {
            status: jarvis_types::protocol::RunStatus::Completed,
            stop_reason: "completed".into(),
            error: None,
        };
        assert_eq!(run.emit(&journal, finished), Some(2));
        assert_eq!(run.emit(&journal, text("late")), None);
        let (events, complete) = run.events_after(0);
        assert_eq!(events.len(), 1, "`Finished` waits until it is stored");
        assert!(!complete);
        run.mark_committed(2);
        let (events, complete) = run.events_after(0);
        assert_eq!(events.len(), 2);
        assert!(complete);
    }

    #[tokio::test]
    async fn a_run_is_found_only_by_its_own_user() {
        let runs = LiveRuns::default();
        let (owner, stranger, run_id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        runs.register(run_id, owner);
        assert!(runs.get(owner, run_id).is_some());
        assert!(runs.get(stranger, run_id).is_none());
    }

    #[tokio::test]
    async fn the_first_stop_reason_wins() {
        let run = LiveRun::new(Uuid::new_v4(), Uuid::new_v4());
        run.stop(StopReason::User);
        run.stop(StopReason::Shutdown);
        assert_eq!(run.stop_reason(), Some(StopReason::User));
        assert!(run.cancel_token().is_cancelled());
    }
}
