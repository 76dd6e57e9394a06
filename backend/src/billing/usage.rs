//! Metering and the limits checked before a run: messages today, tokens this month, messages in
//! the last hour. The counts come from `usage_records`, one row per admitted run, so they are the
//! same on every instance; admission takes a per-user advisory lock in the transaction that
//! stores the run, so two instances cannot both admit the last message of a limit.

use chrono::{DateTime, Utc};
use jarvis_types::protocol::Limit;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::agent::messages::Usage;
use crate::db;

/// The limits a run is admitted against (`None`: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Allowance {
    pub messages_per_day: Option<u64>,
    pub messages_per_hour: Option<u64>,
    pub tokens_per_month: Option<u64>,
}

/// What an admitted run may still spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// Tokens left this month on the plan (`None`: no monthly limit). The run's own token budget
    /// is capped by it, so one run cannot spend far past the plan.
    pub tokens_left: Option<u64>,
}

/// Why a run was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub limit: Limit,
    /// The limit's value.
    pub allowed: u64,
    /// When the same plan allows a message again.
    pub retry_at: Option<DateTime<Utc>>,
}

impl Refusal {
    /// Seconds from now until `retry_at` (at least 1), if it is known.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_at.map(|at| u64::try_from((at - Utc::now()).num_seconds()).unwrap_or(0).max(1))
    }
}

/// This month's and today's usage of one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageSummary {
    pub messages_today: u64,
    pub messages_this_hour: u64,
    pub month: Usage,
    pub cost_micros_this_month: u64,
}

const DAY_START: &str = "date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'";
const MONTH_START: &str = "date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'";

/// Messages today and this hour, the oldest of this hour, tokens this month, and when the day
/// and the month end.
type AdmissionCounts = (i64, i64, Option<DateTime<Utc>>, i64, DateTime<Utc>, DateTime<Utc>);

/// Admits a run inside the transaction that stores it: locks the user's admissions, checks the
/// allowance and records the run's usage row. On refusal nothing is written (the caller rolls
/// back).
pub async fn admit(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    run_id: Uuid,
    model: &str,
    allowance: &Allowance,
) -> Result<Result<Admitted, Refusal>, sqlx::Error> {
    // One admission per user at a time, across instances; released at commit or rollback.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('jarvis.admit.' || $1::text, 0))")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let (today, hour, oldest_in_hour, tokens, day_end, month_end): AdmissionCounts =
        sqlx::query_as(&format!(
            "SELECT count(*) FILTER (WHERE started_at >= {DAY_START}),
                count(*) FILTER (WHERE started_at > now() - interval '1 hour'),
                min(started_at) FILTER (WHERE started_at > now() - interval '1 hour'),
                coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens)
                         FILTER (WHERE started_at >= {MONTH_START}), 0)::bigint,
                {DAY_START} + interval '1 day',
                {MONTH_START} + interval '1 month'
           FROM usage_records
          WHERE user_id = $1 AND started_at >= least({MONTH_START}, now() - interval '1 day')"
        ))
        .bind(user_id)
        .fetch_one(&mut **tx)
        .await?;
    let (today, hour, tokens) = (as_u64(today), as_u64(hour), as_u64(tokens));
    if let Some(allowed) = allowance.messages_per_day
        && today >= allowed
    {
        return Ok(Err(Refusal { limit: Limit::MessagesPerDay, allowed, retry_at: Some(day_end) }));
    }
    if let Some(allowed) = allowance.tokens_per_month
        && tokens >= allowed
    {
        return Ok(Err(Refusal { limit: Limit::TokensPerMonth, allowed, retry_at: Some(month_end) }));
    }
    if let Some(allowed) = allowance.messages_per_hour
        && hour >= allowed
    {
        // A message is admitted again once fewer than `allowed` are left in the hour: when
        // the (hour - allowed + 1)-th oldest is an hour old (the oldest, at the limit; a later
        // one after a move to a smaller plan). With a limit of 0 no slot ever frees.
        let retry_at = if allowed == 0 {
            None
        } else if hour == allowed {
            oldest_in_hour.map(|oldest| oldest + chrono::Duration::hours(1))
        } else {
            let frees: Option<DateTime<Utc>> = sqlx::query_scalar(
                "SELECT started_at + interval '1 hour' FROM usage_records
                      WHERE user_id = $1 AND started_at > now() - interval '1 hour'
                      ORDER BY started_at OFFSET $2 LIMIT 1",
            )
            .bind(user_id)
            .bind(as_i64(hour - allowed))
            .fetch_optional(&mut **tx)
            .await?;
            frees
        };
        return Ok(Err(Refusal { limit: Limit::MessagesPerHour, allowed, retry_at }));
    }
    sqlx::query("INSERT INTO usage_records (run_id, user_id, model) VALUES ($1, $2, $3)")
        .bind(run_id)
        .bind(user_id)
        .bind(model)
        .execute(&mut **tx)
        .await?;
    Ok(Ok(Admitted { tokens_left: allowance.tokens_per_month.map(|allowed| allowed.saturating_sub(tokens)) }))
}

/// Records a finished run's tokens and estimated cost.
pub async fn record(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    usage: &Usage,
    cost_micros: u64,
) -> Result<(), sqlx::Error> {
    for (kind, tokens) in [
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_read", usage.cache_read_input_tokens),
        ("cache_write", usage.cache_creation_input_tokens),
    ] {
        metrics::counter!("jarvis_tokens_total", "kind" => kind).increment(tokens);
    }
    db::for_user(pool, user_id, async |conn| {
        sqlx::query(
            "UPDATE usage_records SET input_tokens = $3, output_tokens = $4, cache_read_tokens = $5,
                    cache_write_tokens = $6, cost_micros = $7
              WHERE run_id = $1 AND user_id = $2",
        )
        .bind(run_id)
        .bind(user_id)
        .bind(as_i64(usage.input_tokens))
        .bind(as_i64(usage.output_tokens))
        .bind(as_i64(usage.cache_read_input_tokens))
        .bind(as_i64(usage.cache_creation_input_tokens))
        .bind(as_i64(cost_micros))
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}

/// The user's usage for the billing page.
pub async fn summary(pool: &PgPool, user_id: Uuid) -> Result<UsageSummary, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(&format!(
            "SELECT count(*) FILTER (WHERE started_at >= {DAY_START}),
                    count(*) FILTER (WHERE started_at > now() - interval '1 hour'),
                    coalesce(sum(input_tokens) FILTER (WHERE started_at >= {MONTH_START}), 0)::bigint,
                    coalesce(sum(output_tokens) FILTER (WHERE started_at >= {MONTH_START}), 0)::bigint,
                    coalesce(sum(cache_read_tokens) FILTER (WHERE started_at >= {MONTH_START}), 0)::bigint,
                    coalesce(sum(cache_write_tokens) FILTER (WHERE started_at >= {MONTH_START}), 0)::bigint,
                    coalesce(sum(cost_micros) FILTER (WHERE started_at >= {MONTH_START}), 0)::bigint
               FROM usage_records
              WHERE user_id = $1 AND started_at >= least({MONTH_START}, now() - interval '1 day')"
        ))
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
        Ok(UsageSummary {
            messages_today: as_u64(row.0),
            messages_this_hour: as_u64(row.1),
            month: Usage {
                input_tokens: as_u64(row.2),
                output_tokens: as_u64(row.3),
                cache_read_input_tokens: as_u64(row.4),
                cache_creation_input_tokens: as_u64(row.5),
            },
            cost_micros_this_month: as_u64(row.6),
        })
    })
    .await
}

/// Bytes the user keeps: files, documents (every version, each kept in full) and attachments
/// (with their previews). The plan's storage limit counts these.
pub async fn storage_bytes(pool: &PgPool, user_id: Uuid) -> Result<u64, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let bytes: i64 = sqlx::query_scalar(
            "SELECT (coalesce((SELECT sum(size_bytes) FROM files WHERE user_id = $1), 0)
                   + coalesce((SELECT sum(size_bytes) FROM document_versions WHERE user_id = $1), 0)
                   + coalesce((SELECT sum(size_bytes + coalesce(thumbnail_size_bytes, 0))
                                 FROM attachments WHERE user_id = $1), 0))::bigint",
        )
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
        Ok(as_u64(bytes))
    })
    .await
}

fn as_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
