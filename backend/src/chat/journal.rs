//! The durable path: one writer per instance group-commits the events of all its runs to
//! Postgres (one statement: a multi-row insert of one batch row per run, the runs' token usage
//! so far, the closing of the runs whose `Finished` it stores, the instance's lease, and one
//! NOTIFY naming the runs and their newest seq), every
//! `interval` or sooner under load. A batch keeps its `(run, first seq)` through every retry, so
//! a retry after a COMMIT whose acknowledgement was lost changes nothing. Nothing is dropped:
//! while the database is away, batches wait in memory and the commit is retried with backoff;
//! past `max_pending_events` the runs are stopped (they end cleanly with what is kept) but every
//! event already emitted is still written once the database is back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jarvis_types::protocol::RunEvent;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::instance_store::{self, CommitRows};
use super::live::{EventSink, LiveRun, SharedEvent, StopReason};
use super::status::{RunOutcome, RunState};
use crate::agent::messages::Usage;

/// One commit carries at most about this many events…
const MAX_COMMIT_EVENTS: usize = 20_000;
/// …and about this many bytes of them.
const MAX_COMMIT_BYTES: usize = 8 << 20;

/// How often the writer commits and how much it holds.
#[derive(Debug, Clone, Copy)]
pub struct JournalSettings {
    /// The longest an event waits before its commit starts.
    pub interval: Duration,
    /// A commit starts at once when this many events wait.
    pub eager_events: usize,
    /// Past this many events not yet stored, runs are stopped.
    pub max_pending_events: usize,
    /// The lease renewed with each commit; an instance silent this long is taken for dead.
    pub lease: Duration,
    /// The lease is renewed at least this often, events or not.
    pub heartbeat: Duration,
    /// One commit may take this long before it is abandoned and retried.
    pub statement_timeout: Duration,
}

impl Default for JournalSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(50),
            eager_events: 4_000,
            max_pending_events: 500_000,
            lease: Duration::from_secs(10),
            heartbeat: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// The instance's journal. Cheap to clone.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Option<PgPool>,
    instance_id: Uuid,
    settings: JournalSettings,
    pending: Mutex<Pending>,
    /// Enough events wait for an early commit, or someone waits for a flush.
    hurry: Notify,
}

#[derive(Default)]
struct Pending {
    /// Each run's events since its last sealed batch.
    open: HashMap<Uuid, Batch>,
    /// Batches taken out of `open`, in order, waiting for a successful commit.
    sealed: Vec<Batch>,
    /// Each run's newest token usage not yet stored.
    usage: HashMap<Uuid, (Arc<LiveRun>, Usage)>,
    /// Events in `open` and `sealed`.
    events: usize,
    saturated: bool,
}

struct Batch {
    run: Arc<LiveRun>,
    first_seq: u64,
    last_seq: u64,
    /// A JSON array of the events, built as they come (closed when the batch is sealed).
    json: String,
    /// The batch ends the run: its status, outcome and error code, stored with it.
    finished: Option<(RunState, RunOutcome, Option<String>)>,
}

/// What one commit carries.
struct Commit {
    batches: Vec<Batch>,
    usage: Vec<(Arc<LiveRun>, Usage)>,
}

impl Journal {
    pub fn new(pool: PgPool, instance_id: Uuid, settings: JournalSettings) -> Self {
        Self::build(Some(pool), instance_id, settings)
    }

    /// A journal that keeps events in memory and never writes (unit tests).
    pub fn detached() -> Self {
        Self::build(None, Uuid::new_v4(), JournalSettings::default())
    }

    fn build(pool: Option<PgPool>, instance_id: Uuid, settings: JournalSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                instance_id,
                settings,
                pending: Mutex::default(),
                hurry: Notify::new(),
            }),
        }
    }

    pub fn instance_id(&self) -> Uuid {
        self.inner.instance_id
    }

    pub fn settings(&self) -> JournalSettings {
        self.inner.settings
    }

    /// Takes event `seq` of `run`; called in seq order for each run. The event's JSON is the
    /// one it was emitted with, copied once into its batch.
    pub fn append(&self, run: &Arc<LiveRun>, seq: u64, shared: &SharedEvent) {
        let (event, json) = (shared.event(), shared.json());
        let hurry = {
            let mut pending = self.inner.pending.lock().expect("journal");
            let batch = pending.open.entry(run.run_id).or_insert_with(|| Batch {
                run: Arc::clone(run),
                first_seq: seq,
                last_seq: seq - 1,
                json: String::from("["),
                finished: None,
            });
            if let RunEvent::Finished { status, stop_reason, error } = event {
                let outcome = RunOutcome::parse(stop_reason).unwrap_or(RunOutcome::Failed);
                metrics::counter!("jarvis_runs_finished_total", "outcome" => outcome.as_str()).increment(1);
                batch.finished =
                    Some((RunState::from(*status), outcome, error.as_ref().map(|error| error.code.clone())));
            }
            debug_assert_eq!(batch.last_seq + 1, seq, "events reach the journal in order");
            if batch.json.len() > 1 {
                batch.json.push(',');
            }
            batch.json.push_str(json);
            batch.last_seq = seq;
            pending.events += 1;
            if pending.events > self.inner.settings.max_pending_events && !pending.saturated {
                pending.saturated = true;
                tracing::error!(events = pending.events, "chat.journal_saturated");
                for batch in pending.open.values().chain(pending.sealed.iter()) {
                    batch.run.stop(StopReason::StorageUnavailable);
                }
            }
            if pending.saturated {
                run.stop(StopReason::StorageUnavailable);
            }
            pending.events >= self.inner.settings.eager_events
        };
        if hurry {
            self.inner.hurry.notify_one();
        }
    }

    /// The run's token usage so far, stored with the next commit.
    pub fn record_usage(&self, run: &Arc<LiveRun>, usage: Usage) {
        self.inner.pending.lock().expect("journal").usage.insert(run.run_id, (Arc::clone(run), usage));
    }

    /// Asks for a commit now (someone waits for it).
    pub fn hurry(&self) {
        self.inner.hurry.notify_one();
    }

    /// Events not yet stored.
    pub fn pending_events(&self) -> usize {
        self.inner.pending.lock().expect("journal").events
    }

    /// Commits until `stop`, then until nothing is left or `drain_limit` has passed.
    pub fn spawn_writer(
        &self,
        stop: CancellationToken,
        drain_limit: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let journal = self.clone();
        tokio::spawn(async move { journal.write_until(stop, drain_limit).await })
    }

    async fn write_until(&self, stop: CancellationToken, drain_limit: Duration) {
        let Some(pool) = self.inner.pool.clone() else { return };
        let settings = self.inner.settings;
        let mut backoff = Duration::ZERO;
        let mut last_commit = tokio::time::Instant::now() - settings.heartbeat;
        let mut drain_deadline = None;
        loop {
            if drain_deadline.is_none() {
                tokio::select! {
                    () = stop.cancelled() => {
                        drain_deadline = Some(tokio::time::Instant::now() + drain_limit);
                    }
                    () = self.inner.hurry.notified() => {}
                    () = tokio::time::sleep(settings.interval.max(backoff)) => {}
                }
            } else {
                tokio::time::sleep(backoff.max(Duration::from_millis(5))).await;
            }
            let commit = self.seal();
            let due = last_commit.elapsed() >= settings.heartbeat;
            if commit.batches.is_empty() && commit.usage.is_empty() {
                if let Some(deadline) = drain_deadline
                    && (self.pending_events() == 0 || tokio::time::Instant::now() >= deadline)
                {
                    return;
                }
                if !due {
                    continue;
                }
            }
            match tokio::time::timeout(settings.statement_timeout, self.commit(&pool, &commit)).await {
                Ok(Ok(lost)) => {
                    backoff = Duration::ZERO;
                    last_commit = tokio::time::Instant::now();
                    self.committed(commit, &lost);
                }
                outcome => {
                    match outcome {
                        Ok(Err(error)) => {
                            tracing::warn!(%error, batches = commit.batches.len(), "chat.journal_commit_failed")
                        }
                        _ => tracing::warn!(batches = commit.batches.len(), "chat.journal_commit_timed_out"),
                    }
                    backoff = (backoff * 2).clamp(Duration::from_millis(100), Duration::from_secs(2));
                    self.restore(commit);
                    if let Some(deadline) = drain_deadline
                        && tokio::time::Instant::now() >= deadline
                    {
                        tracing::error!(events = self.pending_events(), "chat.journal_abandoned_at_shutdown");
                        return;
                    }
                }
            }
        }
    }

    /// Moves every open batch to the sealed ones and takes the oldest of them (as many as one
    /// statement should carry, so that a backlog after an outage goes in several commits), with
    /// the usage.
    fn seal(&self) -> Commit {
        let mut pending = self.inner.pending.lock().expect("journal");
        let open: Vec<Batch> = pending
            .open
            .drain()
            .map(|(_, mut batch)| {
                // Sealed, the array is closed once: every attempt to commit it sends these bytes.
                batch.json.push(']');
                batch
            })
            .collect();
        pending.sealed.extend(open);
        let mut events = 0;
        let mut bytes = 0;
        let take = pending
            .sealed
            .iter()
            .take_while(|batch| {
                let fits = events < MAX_COMMIT_EVENTS && bytes < MAX_COMMIT_BYTES;
                events += (batch.last_seq + 1 - batch.first_seq) as usize;
                bytes += batch.json.len();
                fits
            })
            .count();
        let batches: Vec<Batch> = pending.sealed.drain(..take).collect();
        if !pending.sealed.is_empty() {
            self.inner.hurry.notify_one();
        }
        Commit { batches, usage: pending.usage.drain().map(|(_, entry)| entry).collect() }
    }

    /// A commit failed: its batches go back in front of anything sealed since.
    fn restore(&self, commit: Commit) {
        let mut pending = self.inner.pending.lock().expect("journal");
        let newer = std::mem::replace(&mut pending.sealed, commit.batches);
        pending.sealed.extend(newer);
        for (run, usage) in commit.usage {
            pending.usage.entry(run.run_id).or_insert((run, usage));
        }
    }

    fn committed(&self, commit: Commit, lost: &[Uuid]) {
        let stored: usize =
            commit.batches.iter().map(|batch| (batch.last_seq + 1 - batch.first_seq) as usize).sum();
        {
            let mut pending = self.inner.pending.lock().expect("journal");
            pending.events = pending.events.saturating_sub(stored);
            if pending.saturated && pending.events < self.inner.settings.max_pending_events / 2 {
                pending.saturated = false;
                tracing::info!("chat.journal_recovered");
            }
        }
        for batch in &commit.batches {
            if lost.contains(&batch.run.run_id) {
                batch.run.stop(StopReason::TakenOver);
            }
            batch.run.mark_committed(batch.last_seq);
        }
        for (run, _) in &commit.usage {
            if lost.contains(&run.run_id) {
                run.stop(StopReason::TakenOver);
            }
        }
    }

    async fn commit(&self, pool: &PgPool, commit: &Commit) -> Result<Vec<Uuid>, sqlx::Error> {
        let mut rows = CommitRows::default();
        for batch in &commit.batches {
            rows.run_ids.push(batch.run.run_id);
            rows.first_seqs.push(as_i64(batch.first_seq));
            rows.last_seqs.push(as_i64(batch.last_seq));
            rows.payloads.push(&batch.json);
            if let Some((status, outcome, error_code)) = &batch.finished {
                rows.closed_run_ids.push(batch.run.run_id);
                rows.statuses.push(*status);
                rows.outcomes.push(*outcome);
                rows.error_codes.push(error_code.as_deref());
            }
        }
        for (run, usage) in &commit.usage {
            rows.usage_run_ids.push(run.run_id);
            rows.input_tokens.push(as_i64(usage.input_tokens));
            rows.output_tokens.push(as_i64(usage.output_tokens));
            rows.cache_read_tokens.push(as_i64(usage.cache_read_input_tokens));
            rows.cache_write_tokens.push(as_i64(usage.cache_creation_input_tokens));
        }
        instance_store::commit_events(
            pool,
            self.inner.instance_id,
            self.inner.settings.lease.as_secs_f64(),
            rows,
        )
        .await
    }
}

impl EventSink for Journal {
    fn append(&self, run: &Arc<LiveRun>, seq: u64, event: &SharedEvent) {
        Journal::append(self, run, seq, event);
    }
}

fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> SharedEvent {
        SharedEvent::new(RunEvent::TextDelta { text: text.into() })
    }

    fn run() -> Arc<LiveRun> {
        Arc::new(LiveRun::new(Uuid::new_v4(), Uuid::new_v4()))
    }

    #[test]
    fn each_run_gets_one_batch_of_consecutive_events_as_a_json_array() {
        let journal = Journal::detached();
        let (a, b) = (run(), run());
        journal.append(&a, 1, &text("x"));
        journal.append(&b, 1, &text("y"));
        journal.append(&a, 2, &text("z"));
        let mut commit = journal.seal();
        commit.batches.sort_by_key(|batch| batch.run.run_id != a.run_id);
        assert_eq!(commit.batches.len(), 2);
        let first = &commit.batches[0];
        assert_eq!((first.first_seq, first.last_seq), (1, 2));
        let events: Vec<RunEvent> = serde_json::from_str(&first.json).unwrap();
        assert_eq!(events, vec![text("x").event().clone(), text("z").event().clone()]);
        assert_eq!(journal.pending_events(), 3, "nothing is forgotten until it is committed");
    }

    #[test]
    fn a_failed_commit_is_retried_with_the_same_batches_ahead_of_newer_ones() {
        let journal = Journal::detached();
        let a = run();
        journal.append(&a, 1, &text("one"));
        let failed = journal.seal();
        journal.append(&a, 2, &text("two"));
        journal.restore(failed);
        let retry = journal.seal();
        let seqs: Vec<(u64, u64)> =
            retry.batches.iter().map(|batch| (batch.first_seq, batch.last_seq)).collect();
        assert_eq!(
            seqs,
            vec![(1, 1), (2, 2)],
            "the retried batch keeps its first seq, so a retry is idempotent"
        );
        journal.committed(retry, &[]);
        assert_eq!(journal.pending_events(), 0);
        assert_eq!(*a.committed.borrow(), 2);
    }

    #[test]
    fn a_commit_marks_its_runs_stored_and_stops_the_runs_another_instance_took() {
        let journal = Journal::detached();
        let (kept, taken) = (run(), run());
        journal.append(&kept, 1, &text("a"));
        journal.append(&taken, 1, &text("b"));
        let commit = journal.seal();
        journal.committed(commit, &[taken.run_id]);
        assert_eq!(taken.stop_reason(), Some(StopReason::TakenOver));
        assert_eq!(kept.stop_reason(), None);
    }

    #[test]
    fn past_the_bound_runs_are_stopped_but_every_event_is_kept() {
        let journal = Journal::build(
            None,
            Uuid::new_v4(),
            JournalSettings { max_pending_events: 3, ..JournalSettings::default() },
        );
        let a = run();
        for seq in 1..=5 {
            journal.append(&a, seq, &text("x"));
        }
        assert_eq!(a.stop_reason(), Some(StopReason::StorageUnavailable));
        assert_eq!(journal.pending_events(), 5);
    }

    #[test]
    fn a_backlog_goes_in_several_commits_oldest_first() {
        let journal = Journal::detached();
        let runs: Vec<_> = (0..3).map(|_| run()).collect();
        for seq in 1..=(MAX_COMMIT_EVENTS as u64) {
            for run in &runs {
                journal.append(run, seq, &text("x"));
            }
        }
        let first = journal.seal();
        let carried: usize = first.batches.iter().map(|b| (b.last_seq + 1 - b.first_seq) as usize).sum();
        assert!(carried < 3 * MAX_COMMIT_EVENTS, "one commit does not carry the whole backlog");
        let second = journal.seal();
        assert!(!second.batches.is_empty());
    }
}
