//! Ends the runs whose owner is gone. Every instance looks every few seconds for running runs
//! whose owner's lease has expired (a crash, a lost node, a database partition), takes them
//! over one at a time (only one instance gets each) and ends them cleanly: the text viewers saw
//! becomes a partial reply, the usage so far is metered, `Usage` and `Finished` (failed,
//! `interrupted`, retryable) are appended so every viewer sees the end, and the conversation
//! takes new messages again. A Stop or a new message in a conversation whose run has no live
//! owner does the same at once, without waiting for the sweep.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::executor::interrupted;
use super::shared::Shared;
use super::{instance_store, store};

/// How often each instance sweeps.
const SWEEP_EVERY: Duration = Duration::from_secs(3);

/// Takes over the runs without a live owner (all, or only `run`) and ends them; returns how
/// many it ended.
pub(super) async fn reap(
    inner: &Shared,
    run: Option<Uuid>,
    stopped_by_user: bool,
) -> Result<usize, sqlx::Error> {
    let instance_id = inner.journal.instance_id();
    let lease_secs = inner.journal.settings().lease.as_secs_f64();
    let claimed = instance_store::claim_orphaned_runs(&inner.pool, instance_id, lease_secs, run).await?;
    let mut ended = 0;
    for (run_id, user_id) in claimed {
        let finished = interrupted(stopped_by_user);
        match store::end_orphaned_run(&inner.pool, user_id, run_id, inner.journal.instance_id(), &finished)
            .await
        {
            Ok(Some(orphan)) => {
                ended += 1;
                tracing::warn!(run.id = %run_id, user.id = %user_id, "chat.orphaned_run_ended");
                if let Err(error) =
                    inner.billing.record_usage(user_id, run_id, &orphan.model, &orphan.usage).await
                {
                    tracing::error!(%error, run.id = %run_id, "chat.orphan_usage_failed");
                }
            }
            Ok(None) => {}
            // Still ours: the next sweep tries again.
            Err(error) => tracing::error!(%error, run.id = %run_id, "chat.orphan_end_failed"),
        }
    }
    Ok(ended)
}

/// Sweeps until `stop`.
pub(super) fn spawn(inner: Arc<Shared>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            // Instances started together do not sweep in step.
            let jitter = Duration::from_millis(u64::from(rand::random::<u16>() % 1000));
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(SWEEP_EVERY + jitter) => {}
            }
            if let Err(error) = reap(&inner, None, false).await {
                tracing::warn!(%error, "chat.sweep_failed");
            }
        }
    })
}
