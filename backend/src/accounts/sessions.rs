//! Sessions: one per log-in (a device), each holding a chain of refresh tokens. Every refresh
//! rotates the token; presenting a token that was already rotated means it was copied, so the
//! whole session is revoked — unless the rotation happened within a few seconds, which is two
//! tabs refreshing at once, not theft. Sessions end 30 days after log-in whatever happens, and,
//! with an idle timeout, when they were not refreshed for longer than that: such a session is
//! refused at its next refresh and revoked.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::tokens::{OpaqueToken, hash_token};
use crate::db::{self, user_transaction};

/// How long a log-in lasts and how forgiving rotation is.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Absolute lifetime of a session, from log-in.
    pub lifetime: Duration,
    /// A rotated token presented again within this window is a race between tabs, not theft.
    pub reuse_grace: Duration,
    /// A session not refreshed (used after its access token expired) for longer than this ends
    /// at its next refresh. `None`: sessions never end for being idle.
    pub idle_timeout: Option<Duration>,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(30 * 24 * 60 * 60),
            reuse_grace: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(7 * 24 * 60 * 60)),
        }
    }
}

/// A refresh token just handed out.
#[derive(Debug)]
pub struct IssuedRefresh {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub token: OpaqueToken,
    pub expires_at: DateTime<Utc>,
}

/// What a refresh achieved.
#[derive(Debug)]
pub enum Refreshed {
    /// The token was current: here is its successor.
    Rotated(IssuedRefresh),
    /// The token had just been rotated by a concurrent request; the caller is who they say, but
    /// gets no new refresh token (the other request's response carries it).
    RaceWithinGrace { user_id: Uuid, session_id: Uuid },
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("unknown refresh token")]
    Unknown,
    #[error("session expired")]
    Expired,
    #[error("session revoked")]
    Revoked,
    #[error("session idle for too long; revoked")]
    Idle,
    #[error("refresh token reused; session revoked")]
    Reused,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl crate::Kinded for RefreshError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::Unknown | Self::Expired | Self::Revoked | Self::Idle | Self::Reused => {
                ErrorKind::Unauthenticated
            }
            Self::Database(_) => ErrorKind::Unavailable,
        }
    }
}

/// A session as the settings page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionSummary {
    pub id: Uuid,
    pub user_agent: String,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Starts a session for a user who just proved who they are.
#[tracing::instrument(name = "sessions.start", skip_all, fields(user.id = %user_id))]
pub async fn start(
    pool: &PgPool,
    policy: &SessionPolicy,
    user_id: Uuid,
    user_agent: &str,
    ip: Option<&str>,
) -> Result<IssuedRefresh, sqlx::Error> {
    let session_id = Uuid::new_v4();
    let token = OpaqueToken::generate();
    let user_agent: String = user_agent.chars().take(300).collect();
    db::for_user(pool, user_id, async |conn| {
        let expires_at: DateTime<Utc> = sqlx::query_scalar(
            "INSERT INTO sessions (id, user_id, user_agent, ip, expires_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING expires_at",
        )
        .bind(session_id)
        .bind(user_id)
        .bind(&user_agent)
        .bind(ip)
        .bind(policy.lifetime.as_secs_f64())
        .fetch_one(&mut *conn)
        .await?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, user_id) VALUES ($1, $2, $3)")
            .bind(token.hash())
            .bind(session_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        Ok(IssuedRefresh { user_id, session_id, token, expires_at })
    })
    .await
}

/// Trades a refresh token for its successor (see the module documentation for reuse).
#[tracing::instrument(name = "sessions.refresh", skip_all)]
pub async fn refresh(
    pool: &PgPool,
    policy: &SessionPolicy,
    presented: &str,
) -> Result<Refreshed, RefreshError> {
    let hash = hash_token(presented);
    // Before we know whose token this is, only this narrow function may look across users.
    let user_id: Option<Uuid> =
        sqlx::query_scalar("SELECT auth_refresh_token_owner($1)").bind(&hash).fetch_one(pool).await?;
    let user_id = user_id.ok_or(RefreshError::Unknown)?;

    let mut tx = user_transaction(pool, user_id).await?;
    #[allow(clippy::type_complexity)]
    let row: Option<(
        Uuid,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        DateTime<Utc>,
        DateTime<Utc>,
        DateTime<Utc>,
    )> = sqlx::query_as(
        "SELECT t.session_id, t.rotated_at, s.revoked_at, s.expires_at, s.last_seen_at, now()
               FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
              WHERE t.token_hash = $1 AND t.user_id = $2
                FOR UPDATE OF t, s",
    )
    .bind(&hash)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((session_id, rotated_at, revoked_at, expires_at, last_seen_at, now)) = row else {
        return Err(RefreshError::Unknown);
    };
    if revoked_at.is_some() {
        return Err(RefreshError::Revoked);
    }
    if expires_at <= now {
        return Err(RefreshError::Expired);
    }
    let idle_for = now - last_seen_at;
    if policy
        .idle_timeout
        .and_then(|idle| chrono::Duration::from_std(idle).ok())
        .is_some_and(|idle| idle_for > idle)
    {
        // Ended the one way every revocation goes, so that its open connections close too.
        tx.rollback().await?;
        revoke(pool, user_id, session_id).await?;
        tracing::info!(user.id = %user_id, session.id = %session_id, idle_secs = idle_for.num_seconds(), "sessions.idle_timeout");
        return Err(RefreshError::Idle);
    }
    if let Some(rotated_at) = rotated_at {
        let grace = chrono::Duration::from_std(policy.reuse_grace).unwrap_or_default();
        if now - rotated_at <= grace {
            return Ok(Refreshed::RaceWithinGrace { user_id, session_id });
        }
        sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2")
            .bind(session_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::warn!(user.id = %user_id, session.id = %session_id, "sessions.refresh_token_reused");
        return Err(RefreshError::Reused);
    }

    let successor = OpaqueToken::generate();
    sqlx::query("UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1 AND user_id = $2")
        .bind(&hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, user_id) VALUES ($1, $2, $3)")
        .bind(successor.hash())
        .bind(session_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sessions SET last_seen_at = now() WHERE id = $1 AND user_id = $2")
        .bind(session_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Refreshed::Rotated(IssuedRefresh { user_id, session_id, token: successor, expires_at }))
}

/// Whether the session is still live (not revoked, not expired).
pub async fn is_active(pool: &PgPool, user_id: Uuid, session_id: Uuid) -> Result<bool, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sessions
                             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now())",
        )
        .bind(session_id)
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await
    })
    .await
}

/// The user's live sessions, most recently seen first.
pub async fn list(pool: &PgPool, user_id: Uuid) -> Result<Vec<SessionSummary>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, SessionSummary>(
            "SELECT id, user_agent, ip, created_at, last_seen_at FROM sessions
              WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
              ORDER BY last_seen_at DESC, created_at DESC",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await
    })
    .await
}

/// Ends one of the user's sessions. `false` when the user has no such live session.
#[tracing::instrument(name = "sessions.revoke", skip_all, fields(user.id = %user_id, session.id = %session_id))]
pub async fn revoke(pool: &PgPool, user_id: Uuid, session_id: Uuid) -> Result<bool, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let result = sqlx::query(
            "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(session_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        Ok(result.rows_affected() == 1)
    })
    .await
}

/// Ends every session of the user but `keep`, inside the caller's transaction (so that it
/// happens only with what the transaction does, a password change say). Returns how many ended.
pub async fn revoke_others_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    user_id: Uuid,
    keep: Uuid,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(keep)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

/// Ends every session of the user.
#[tracing::instrument(name = "sessions.revoke_all", skip_all, fields(user.id = %user_id))]
pub async fn revoke_all(pool: &PgPool, user_id: Uuid) -> Result<u64, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let result =
            sqlx::query("UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
        Ok(result.rows_affected())
    })
    .await
}

/// A short, human description of a browser from its user agent: "Firefox on Linux".
pub fn describe_user_agent(user_agent: &str) -> String {
    let browser = if user_agent.contains("Firefox/") {
        "Firefox"
    } else if user_agent.contains("Edg/") {
        "Edge"
    } else if user_agent.contains("Chrome/") || user_agent.contains("Chromium/") {
        "Chrome"
    } else if user_agent.contains("Safari/") {
        "Safari"
    } else if user_agent.is_empty() {
        return "Unknown device".to_owned();
    } else {
        "Browser"
    };
    let system = if user_agent.contains("Android") {
        Some("Android")
    } else if user_agent.contains("iPhone") || user_agent.contains("iPad") {
        Some("iOS")
    } else if user_agent.contains("Windows") {
        Some("Windows")
    } else if user_agent.contains("Mac OS X") {
        Some("macOS")
    } else if user_agent.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_described_by_browser_and_system() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        let safari_iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(describe_user_agent(firefox), "Firefox on Linux");
        assert_eq!(describe_user_agent(safari_iphone), "Safari on iOS");
        assert_eq!(describe_user_agent(edge), "Edge on Windows");
        assert_eq!(describe_user_agent(""), "Unknown device");
        assert_eq!(describe_user_agent("curl/8.0"), "Browser");
    }
}
