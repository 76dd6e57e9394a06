//! Personal access tokens: created (the value shown once, only its SHA-256 stored), listed,
//! revoked, and verified when an MCP client presents one. A token is `jvs_` and 43 base64url
//! characters (256 random bits); anything else names no token and is not looked up.

use chrono::{DateTime, Duration, Utc};
use jarvis_types::connections::{
    AccessTokenView, CreatedToken, TOKEN_LIFETIMES_DAYS, TOKEN_NAME_MAX_CHARS, TOKEN_PREFIX, TokenScope,
};
use sqlx::PgPool;
use uuid::Uuid;

use super::error::ConnectionError;
use crate::accounts::tokens::{OpaqueToken, hash_token};
use crate::db;

/// Live tokens a user may hold at once.
pub const MAX_LIVE_TOKENS: i64 = 20;

/// Who a presented token acts for, and what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenOwner {
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub scope: TokenScope,
}

/// The user's personal access tokens.
#[derive(Clone)]
pub struct AccessTokens {
    pool: PgPool,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    name: String,
    scope: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    fn view(self) -> AccessTokenView {
        AccessTokenView {
            id: self.id.to_string(),
            name: self.name,
            scope: TokenScope::parse(&self.scope).unwrap_or(TokenScope::Read),
            created_at: self.created_at.to_rfc3339(),
            expires_at: self.expires_at.to_rfc3339(),
            last_used_at: self.last_used_at.map(|at| at.to_rfc3339()),
        }
    }
}

/// A token's name, trimmed; refused when empty or too long.
fn token_name(raw: &str) -> Result<String, ConnectionError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ConnectionError::Invalid("Give the token a name, such as the app it is for.".into()));
    }
    if name.chars().count() > TOKEN_NAME_MAX_CHARS {
        return Err(ConnectionError::Invalid(format!(
            "A token's name is at most {TOKEN_NAME_MAX_CHARS} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ConnectionError::Invalid("A token's name cannot contain control characters.".into()));
    }
    Ok(name.to_owned())
}

/// The part after `jvs_` when `presented` has the shape of one of our tokens.
fn token_body(presented: &str) -> Option<&str> {
    let body = presented.strip_prefix(TOKEN_PREFIX)?;
    (body.len() == 43 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then_some(body)
}

impl AccessTokens {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// A new token for this user, valid for `lifetime_days` (one of [`TOKEN_LIFETIMES_DAYS`]).
    /// The returned secret is the only copy: it is never stored or shown again.
    #[tracing::instrument(name = "tokens.create", skip_all, fields(user.id = %user_id))]
    pub async fn create(
        &self,
        user_id: Uuid,
        name: &str,
        scope: TokenScope,
        lifetime_days: u32,
    ) -> Result<CreatedToken, ConnectionError> {
        let name = token_name(name)?;
        if !TOKEN_LIFETIMES_DAYS.contains(&lifetime_days) {
            return Err(ConnectionError::Invalid(format!(
                "A token lasts {} days.",
                TOKEN_LIFETIMES_DAYS.map(|days| days.to_string()).join(", ")
            )));
        }
        let secret = format!("{TOKEN_PREFIX}{}", OpaqueToken::generate().expose());
        let id = Uuid::new_v4();
        let row = db::for_user(&self.pool, user_id, async |conn| {
            let live: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM access_tokens
                  WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()",
            )
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await?;
            if live >= MAX_LIVE_TOKENS {
                return Err(ConnectionError::Limit(format!(
                    "You have {MAX_LIVE_TOKENS} tokens already; revoke one you no longer use first."
                )));
            }
            Ok(sqlx::query_as::<_, TokenRow>(
                "INSERT INTO access_tokens (id, user_id, name, token_hash, scope, expires_at)
                 VALUES ($1, $2, $3, $4, $5, now() + $6)
                 RETURNING id, name, scope, created_at, expires_at, last_used_at",
            )
            .bind(id)
            .bind(user_id)
            .bind(&name)
            .bind(hash_token(&secret))
            .bind(scope.as_str())
            .bind(Duration::days(i64::from(lifetime_days)))
            .fetch_one(&mut *conn)
            .await?)
        })
        .await?;
        tracing::info!(token.id = %id, scope = scope.as_str(), "tokens.created");
        Ok(CreatedToken { token: row.view(), secret })
    }

    /// The user's live tokens (not revoked, not expired), newest first.
    pub async fn list(&self, user_id: Uuid) -> Result<Vec<AccessTokenView>, ConnectionError> {
        let rows = db::for_user(&self.pool, user_id, async |conn| {
            sqlx::query_as::<_, TokenRow>(
                "SELECT id, name, scope, created_at, expires_at, last_used_at FROM access_tokens
                  WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
                  ORDER BY created_at DESC",
            )
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await
        })
        .await?;
        Ok(rows.into_iter().map(TokenRow::view).collect())
    }

    /// Revokes one of the user's tokens: it is refused from the next request on.
    #[tracing::instrument(name = "tokens.revoke", skip_all, fields(user.id = %user_id, token.id = %id))]
    pub async fn revoke(&self, user_id: Uuid, id: Uuid) -> Result<(), ConnectionError> {
        let revoked = db::for_user(&self.pool, user_id, async |conn| {
            sqlx::query(
                "UPDATE access_tokens SET revoked_at = now()
                  WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(user_id)
            .execute(&mut *conn)
            .await
        })
        .await?;
        if revoked.rows_affected() == 0 {
            return Err(ConnectionError::NotFound);
        }
        Ok(())
    }

    /// Whose live token `presented` is; `None` for one that is unknown, revoked, expired, of a
    /// disabled account, or not shaped like a token at all.
    pub async fn verify(&self, presented: &str) -> Result<Option<TokenOwner>, ConnectionError> {
        if token_body(presented).is_none() {
            return Ok(None);
        }
        let row: Option<(Uuid, Uuid, String)> =
            sqlx::query_as("SELECT token_id, user_id, scope FROM auth_access_token_owner($1)")
                .bind(hash_token(presented))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(token_id, user_id, scope)| {
            Some(TokenOwner { token_id, user_id, scope: TokenScope::parse(&scope)? })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_shape_of_token_is_looked_up() {
        let good = format!("{TOKEN_PREFIX}{}", OpaqueToken::generate().expose());
        assert!(token_body(&good).is_some());
        assert!(token_body(OpaqueToken::generate().expose()).is_none(), "no prefix");
        assert!(token_body(&format!("{good}x")).is_none(), "too long");
        assert!(token_body(&format!("{TOKEN_PREFIX}{}", "a".repeat(42) + "!")).is_none());
        assert!(token_body("").is_none());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(token_name("  Claude Desktop ").unwrap(), "Claude Desktop");
        assert!(matches!(token_name("   "), Err(ConnectionError::Invalid(_))));
        assert!(matches!(token_name(&"x".repeat(81)), Err(ConnectionError::Invalid(_))));
        assert!(matches!(token_name("a\u{7}b"), Err(ConnectionError::Invalid(_))));
    }
}
