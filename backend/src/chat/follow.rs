//! Following a run: its events after a seq, then the live ones, each exactly once and in order,
//! ending with `Finished`. A run executing on this instance (or finished here a moment ago) is
//! read from memory and wakes its followers itself; any other run is read from Postgres when a
//! group commit elsewhere names it (with a slow poll in case a notification was lost).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use super::error::ChatError;
use super::listener::{RemoteWakes, RemoteWatch};
use super::live::{LiveRun, SharedEvent};
use super::store;

/// A remote follower reads again this often even without news.
const SAFETY_POLL: Duration = Duration::from_secs(5);
/// A remote follower gives up after this many failed reads in a row (a second apart).
const READ_ATTEMPTS: u32 = 60;

enum Source {
    Local { run: Arc<LiveRun>, newest: watch::Receiver<u64>, elsewhere: Elsewhere },
    Remote { pool: PgPool, user_id: Uuid, run_id: Uuid, watch: RemoteWatch, failures: u32 },
}

/// Where to read a run from Postgres.
#[derive(Clone)]
pub(super) struct Elsewhere {
    pub pool: PgPool,
    pub wakes: Arc<RemoteWakes>,
}

struct Follower {
    source: Source,
    cursor: u64,
    queue: VecDeque<(u64, SharedEvent)>,
    done: bool,
}

/// Follows a run from memory.
pub(super) fn local(
    run: Arc<LiveRun>,
    after_seq: u64,
    elsewhere: Elsewhere,
) -> impl Stream<Item = Result<(u64, SharedEvent), ChatError>> + Send + 'static {
    let newest = run.subscribe();
    stream(Follower {
        source: Source::Local { run, newest, elsewhere },
        cursor: after_seq,
        queue: VecDeque::new(),
        done: false,
    })
}

/// Follows a run executing elsewhere (or long finished) from Postgres.
pub(super) fn remote(
    pool: PgPool,
    wakes: &Arc<RemoteWakes>,
    user_id: Uuid,
    run_id: Uuid,
    after_seq: u64,
) -> impl Stream<Item = Result<(u64, SharedEvent), ChatError>> + Send + 'static {
    // Registered before the first read, so no commit between the two goes unnoticed.
    let watch = wakes.watch(run_id);
    stream(Follower {
        source: Source::Remote { pool, user_id, run_id, watch, failures: 0 },
        cursor: after_seq,
        queue: VecDeque::new(),
        done: false,
    })
}

fn stream(follower: Follower) -> impl Stream<Item = Result<(u64, SharedEvent), ChatError>> + Send + 'static {
    futures::stream::unfold(follower, |mut follower| async move {
        let item = follower.next().await?;
        Some((item, follower))
    })
}

impl Follower {
    async fn next(&mut self) -> Option<Result<(u64, SharedEvent), ChatError>> {
        loop {
            if let Some((seq, event)) = self.queue.pop_front() {
                if event.is_finished() {
                    self.done = true;
                    self.queue.clear();
                }
                return Some(Ok((seq, event)));
            }
            if self.done {
                return None;
            }
            match &mut self.source {
                Source::Local { run, newest, elsewhere } => {
                    // Marked seen before reading, so an event emitted after the read wakes us.
                    newest.borrow_and_update();
                    if run.is_abandoned() {
                        let (user_id, run_id) = (run.user_id, run.run_id);
                        let watch = elsewhere.wakes.watch(run_id);
                        let pool = elsewhere.pool.clone();
                        self.source = Source::Remote { pool, user_id, run_id, watch, failures: 0 };
                        continue;
                    }
                    let (events, complete) = run.events_after(self.cursor);
                    if take(&mut self.cursor, &mut self.queue, events) == 0 {
                        if complete {
                            return None;
                        }
                        // The sender lives as long as the run we hold.
                        let _ = newest.changed().await;
                    }
                }
                Source::Remote { pool, user_id, run_id, watch, failures } => {
                    watch.receiver.borrow_and_update();
                    match store::events_after(pool, *user_id, *run_id, self.cursor).await {
                        Ok(None) => {
                            self.done = true;
                            return Some(Err(ChatError::NotFound));
                        }
                        Ok(Some((events, run_over))) => {
                            *failures = 0;
                            // Read from Postgres: serialised here, once for this follower.
                            let events =
                                events.into_iter().map(|(seq, event)| (seq, SharedEvent::new(event)));
                            if take(&mut self.cursor, &mut self.queue, events) > 0 {
                                continue;
                            }
                            if run_over {
                                return None;
                            }
                            tokio::select! {
                                _ = watch.receiver.changed() => {}
                                () = tokio::time::sleep(SAFETY_POLL) => {}
                            }
                        }
                        Err(error) => {
                            *failures += 1;
                            if *failures >= READ_ATTEMPTS {
                                self.done = true;
                                return Some(Err(ChatError::from(error)));
                            }
                            tracing::warn!(%error, "chat.follow_read_failed");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            }
        }
    }
}

/// Queues the events that follow the cursor, moving it; returns how many. Exactly once, in
/// order: anything at or before the cursor was delivered already.
fn take(
    cursor: &mut u64,
    queue: &mut VecDeque<(u64, SharedEvent)>,
    events: impl IntoIterator<Item = (u64, SharedEvent)>,
) -> usize {
    let before = queue.len();
    for (seq, event) in events {
        if seq == *cursor + 1 {
            *cursor = seq;
            queue.push_back((seq, event));
        }
    }
    queue.len() - before
}
