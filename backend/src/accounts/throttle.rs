//! Login throttling, per account and per client address, with exponential backoff. The counters
//! live in Postgres so that every server instance sees the same ones.
//!
//! A key may fail `free_failures` times within `window`; each failure past that locks it for
//! `base_lock × 2ⁿ` (capped at `max_lock`). While locked, no password is even checked. A
//! successful log-in clears the account's counter but not the address's, so that an attacker
//! cannot reset their address by logging into an account of their own.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::email::EmailAddress;

#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub free_failures: i32,
    pub base_lock: Duration,
    pub max_lock: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

impl ThrottlePolicy {
    pub const PER_ACCOUNT: Self = Self {
        free_failures: 5,
        base_lock: Duration::from_secs(30),
        max_lock: Duration::from_secs(15 * 60),
        window: Duration::from_secs(60 * 60),
    };
    pub const PER_ADDRESS: Self = Self {
        free_failures: 20,
        base_lock: Duration::from_secs(30),
        max_lock: Duration::from_secs(15 * 60),
        window: Duration::from_secs(60 * 60),
    };

    /// How long a key with `failures` failures stays locked.
    pub fn lock_for(&self, failures: i32) -> Option<Duration> {
        let excess = failures - self.free_failures;
        if excess <= 0 {
            return None;
        }
        let factor = 2u32.saturating_pow(u32::try_from(excess - 1).unwrap_or(u32::MAX).min(20));
        Some(self.base_lock.saturating_mul(factor).min(self.max_lock))
    }
}

/// What is being throttled. Account keys are hashed so the table holds no e-mail addresses.
#[derive(Debug, Clone)]
pub struct ThrottleKey {
    key: String,
    policy: ThrottlePolicy,
}

impl ThrottleKey {
    pub fn account(email: &EmailAddress) -> Self {
        let digest = Sha256::digest(email.as_str().as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        Self { key: format!("account:{hex}"), policy: ThrottlePolicy::PER_ACCOUNT }
    }

    pub fn address(ip: &str) -> Self {
        Self { key: format!("address:{ip}"), policy: ThrottlePolicy::PER_ADDRESS }
    }
}

/// The longest remaining lock among `keys`, if any is locked.
#[tracing::instrument(name = "throttle.check", skip_all)]
pub async fn locked_for(pool: &PgPool, keys: &[ThrottleKey]) -> Result<Option<Duration>, sqlx::Error> {
    let names: Vec<&str> = keys.iter().map(|key| key.key.as_str()).collect();
    let remaining: Option<f64> = sqlx::query_scalar(
        "SELECT max(extract(epoch FROM locked_until - now()))::float8
           FROM login_throttle WHERE key = ANY($1) AND locked_until > now()",
    )
    .bind(&names)
    .fetch_one(pool)
    .await?;
    Ok(remaining.map(|secs| Duration::from_secs_f64(secs.max(0.0)).max(Duration::from_secs(1))))
}

/// Counts one failure against each key and locks those past their free failures.
#[tracing::instrument(name = "throttle.record_failure", skip_all)]
pub async fn record_failure(pool: &PgPool, keys: &[ThrottleKey]) -> Result<(), sqlx::Error> {
    for key in keys {
        let failures: i32 = sqlx::query_scalar(
            "INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ($1, 1, now())
             ON CONFLICT (key) DO UPDATE SET
               failures = CASE WHEN login_throttle.last_failure_at < now() - make_interval(secs => $2)
                               THEN 1 ELSE login_throttle.failures + 1 END,
               last_failure_at = now()
             RETURNING failures",
        )
        .bind(&key.key)
        .bind(key.policy.window.as_secs_f64())
        .fetch_one(pool)
        .await?;
        if let Some(lock) = key.policy.lock_for(failures) {
            sqlx::query(
                "UPDATE login_throttle SET locked_until = now() + make_interval(secs => $2) WHERE key = $1",
            )
            .bind(&key.key)
            .bind(lock.as_secs_f64())
            .execute(pool)
            .await?;
            tracing::warn!(
                throttle.failures = failures,
                throttle.lock_secs = lock.as_secs(),
                "throttle.locked"
            );
        }
    }
    Ok(())
}

/// Forgets a key's failures (after a successful log-in or a password reset).
pub async fn reset(pool: &PgPool, key: &ThrottleKey) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(&key.key).execute(pool).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failures_are_free_then_locks_double_up_to_the_cap() {
        let policy = ThrottlePolicy::PER_ACCOUNT;
        assert_eq!(policy.lock_for(5), None);
        assert_eq!(policy.lock_for(6), Some(Duration::from_secs(30)));
        assert_eq!(policy.lock_for(7), Some(Duration::from_secs(60)));
        assert_eq!(policy.lock_for(8), Some(Duration::from_secs(120)));
        assert_eq!(policy.lock_for(50), Some(Duration::from_secs(900)));
        assert_eq!(policy.lock_for(i32::MAX), Some(Duration::from_secs(900)));
    }

    #[test]
    fn account_keys_do_not_hold_the_address_in_clear() {
        let key = ThrottleKey::account(&EmailAddress::parse("ann@example.com").unwrap());
        assert!(!key.key.contains("ann"));
    }
}
