//! The run engine's own queries, made for this instance rather than for one user: the group
//! commit, the lease, taking over orphaned runs, and the Stop notice. Each goes through one of
//! the narrow `SECURITY DEFINER` functions of the run engine's migration, which take a row's user
//! from the run itself.

use sqlx::PgPool;
use uuid::Uuid;

use super::listener::CANCEL_CHANNEL;
use super::status::{RunOutcome, RunState};

/// One group commit, column by column (the function takes arrays).
#[derive(Debug, Default)]
pub struct CommitRows<'a> {
    /// One batch of consecutive events per entry.
    pub run_ids: Vec<Uuid>,
    pub first_seqs: Vec<i64>,
    pub last_seqs: Vec<i64>,
    /// Each a JSON array of events.
    pub payloads: Vec<&'a str>,
    /// Token usage so far, one entry per run.
    pub usage_run_ids: Vec<Uuid>,
    pub input_tokens: Vec<i64>,
    pub output_tokens: Vec<i64>,
    pub cache_read_tokens: Vec<i64>,
    pub cache_write_tokens: Vec<i64>,
    /// The runs whose `Finished` the batches carry, with how they ended.
    pub closed_run_ids: Vec<Uuid>,
    pub statuses: Vec<RunState>,
    pub outcomes: Vec<RunOutcome>,
    pub error_codes: Vec<Option<&'a str>>,
}

/// Stores the rows, renews the lease, announces the runs; returns the runs named that this
/// instance no longer owns.
pub async fn commit_events(
    pool: &PgPool,
    instance_id: Uuid,
    lease_secs: f64,
    rows: CommitRows<'_>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT lost_run_id FROM chat_commit_events($1, $2, $3, $4, $5, $6::text[]::jsonb[], $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(instance_id)
    .bind(lease_secs)
    .bind(rows.run_ids)
    .bind(rows.first_seqs)
    .bind(rows.last_seqs)
    .bind(rows.payloads)
    .bind(rows.usage_run_ids)
    .bind(rows.input_tokens)
    .bind(rows.output_tokens)
    .bind(rows.cache_read_tokens)
    .bind(rows.cache_write_tokens)
    .bind(rows.closed_run_ids)
    .bind(rows.statuses)
    .bind(rows.outcomes)
    .bind(rows.error_codes)
    .fetch_all(pool)
    .await
}

/// Renews the lease, then takes over the running runs (all, or only `run`) whose owner holds no
/// live lease; returns them with their users.
pub async fn claim_orphaned_runs(
    pool: &PgPool,
    instance_id: Uuid,
    lease_secs: f64,
    run: Option<Uuid>,
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as("SELECT run_id, user_id FROM chat_claim_orphaned_runs($1, $2, $3)")
        .bind(instance_id)
        .bind(lease_secs)
        .bind(run)
        .fetch_all(pool)
        .await
}

/// Gives up the lease (a clean stop).
pub async fn release(pool: &PgPool, instance_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT chat_release_instance($1)").bind(instance_id).execute(pool).await?;
    Ok(())
}

/// Asks whichever instance executes the run to stop it.
pub async fn notify_cancel(pool: &PgPool, run_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CANCEL_CHANNEL)
        .bind(run_id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}
