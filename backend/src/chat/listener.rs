//! News from other instances, through Postgres `LISTEN`: `jarvis_run_events` (a group commit
//! names its runs and their newest seq) wakes only the followers of those runs here;
//! `jarvis_run_cancel` stops a run executing here. When the listening connection drops,
//! notifications may have been missed, so every remote follower is woken to read again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::live::{LiveRuns, StopReason};

pub const EVENTS_CHANNEL: &str = "jarvis_run_events";
pub const CANCEL_CHANNEL: &str = "jarvis_run_cancel";

/// The runs followed here that execute elsewhere, each with a wake-up for its followers.
#[derive(Default)]
pub struct RemoteWakes {
    runs: Mutex<HashMap<Uuid, watch::Sender<u64>>>,
}

/// A follower's registration; dropping it forgets the run when no one else follows it.
pub struct RemoteWatch {
    wakes: Arc<RemoteWakes>,
    run_id: Uuid,
    pub receiver: watch::Receiver<u64>,
}

impl Drop for RemoteWatch {
    fn drop(&mut self) {
        let mut runs = self.wakes.runs.lock().expect("remote wakes");
        if let Some(sender) = runs.get(&self.run_id) {
            // This watch's own receiver is still alive while we are here.
            if sender.receiver_count() <= 1 {
                runs.remove(&self.run_id);
            }
        }
    }
}

impl RemoteWakes {
    pub fn watch(self: &Arc<Self>, run_id: Uuid) -> RemoteWatch {
        let mut runs = self.runs.lock().expect("remote wakes");
        let receiver = runs.entry(run_id).or_insert_with(|| watch::channel(0).0).subscribe();
        RemoteWatch { wakes: Arc::clone(self), run_id, receiver }
    }

    /// The run has events up to `seq` in Postgres.
    pub fn wake(&self, run_id: Uuid, seq: u64) {
        if let Some(sender) = self.runs.lock().expect("remote wakes").get(&run_id) {
            sender.send_modify(|newest| *newest = (*newest).max(seq));
        }
    }

    /// Notifications may have been missed: everyone reads again.
    pub fn wake_all(&self) {
        for sender in self.runs.lock().expect("remote wakes").values() {
            sender.send_modify(|_| {});
        }
    }

    #[cfg(test)]
    pub fn followed(&self) -> usize {
        self.runs.lock().expect("remote wakes").len()
    }
}

/// Parses a `jarvis_run_events` payload: `run:seq` pairs separated by commas.
pub fn parse_events_notice(payload: &str) -> impl Iterator<Item = (Uuid, u64)> + '_ {
    payload.split(',').filter_map(|pair| {
        let (run, seq) = pair.split_once(':')?;
        Some((Uuid::parse_str(run.trim()).ok()?, seq.trim().parse().ok()?))
    })
}

/// Listens until `stop` (which the server cancels only after its runs have drained, so that
/// Stop keeps working during a deploy).
pub fn spawn(
    pool: PgPool,
    live: Arc<LiveRuns>,
    wakes: Arc<RemoteWakes>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let listener = tokio::select! {
                () = stop.cancelled() => return,
                listener = connect(&pool) => listener,
            };
            let mut listener = match listener {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "chat.listener_connect_failed");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            // Anything may have happened while we were not listening.
            wakes.wake_all();
            loop {
                let notification = tokio::select! {
                    () = stop.cancelled() => return,
                    notification = listener.try_recv() => notification,
                };
                match notification {
                    Ok(Some(notification)) => {
                        if notification.channel() == CANCEL_CHANNEL {
                            if let Ok(run_id) = Uuid::parse_str(notification.payload())
                                && let Some(run) = live.executing(run_id)
                            {
                                run.stop(StopReason::User);
                            }
                        } else {
                            for (run_id, seq) in parse_events_notice(notification.payload()) {
                                wakes.wake(run_id, seq);
                            }
                        }
                    }
                    // The connection was lost; the next call reconnects and listens again.
                    Ok(None) => {
                        tracing::warn!("chat.listener_reconnecting");
                        wakes.wake_all();
                    }
                    Err(error) => {
                        tracing::warn!(%error, "chat.listener_interrupted");
                        wakes.wake_all();
                        break;
                    }
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    })
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([EVENTS_CHANNEL, CANCEL_CHANNEL]).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_names_runs_and_their_newest_seq_and_garbage_is_skipped() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let payload = format!("{a}:12,{b}:3,nonsense,{a}:x");
        let parsed: Vec<_> = parse_events_notice(&payload).collect();
        assert_eq!(parsed, vec![(a, 12), (b, 3)]);
    }

    #[tokio::test]
    async fn only_followers_of_a_named_run_are_woken_and_the_last_one_out_forgets_it() {
        let wakes = Arc::new(RemoteWakes::default());
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut first = wakes.watch(a);
        let second = wakes.watch(a);
        let mut other = wakes.watch(b);
        wakes.wake(a, 7);
        assert!(first.receiver.has_changed().unwrap());
        assert_eq!(*first.receiver.borrow_and_update(), 7);
        assert!(!other.receiver.has_changed().unwrap());
        wakes.wake_all();
        assert!(other.receiver.has_changed().unwrap());
        drop(first);
        assert_eq!(wakes.followed(), 2);
        drop(second);
        assert_eq!(wakes.followed(), 1);
        other.receiver.mark_unchanged();
    }
}
