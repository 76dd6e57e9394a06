//! Shared conversations: a read-only link to a conversation as it was when it was shared, and
//! its export as Markdown.
//!
//! - [`share`] takes a [`Snapshot`] of one of the user's conversations (title, roles, text,
//!   the names of the tools used; no ids, no email, no documents) and stores it under a new
//!   link's token, hashed (SHA-256): the token itself is shown once, to the owner.
//! - [`stop_sharing`] revokes every live link of a conversation at once.
//! - [`shared`] reads a live link's snapshot for anyone, signed in or not, through the one
//!   narrow SQL function `share_snapshot` (row-level security hides every row from a reader
//!   with no user).
//! - [`markdown`]: the export.

pub mod markdown;

use chrono::Utc;
use jarvis_types::chat::ConversationView;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::tokens::{OpaqueToken, hash_token};
use crate::{chat, db};

/// Where a shared link points: this prefix, then the token.
pub const SHARE_PATH: &str = "/share/";

/// What a shared link shows: the conversation as it was when it was shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub title: String,
    /// When it was shared (RFC 3339).
    pub shared_at: String,
    pub messages: Vec<SnapshotMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMessage {
    /// `user` or `assistant`.
    pub role: String,
    /// Markdown, as the user wrote it or the model answered.
    pub text: String,
    /// The reply was stopped or failed before its end.
    pub partial: bool,
    /// The tools the reply used, by name (their inputs and outputs are not shared).
    pub tools: Vec<String>,
}

impl Snapshot {
    /// The shareable part of a conversation: no ids, no tool inputs or outputs, no clips.
    pub fn of(view: &ConversationView) -> Self {
        Self {
            title: view.title.clone(),
            shared_at: Utc::now().to_rfc3339(),
            messages: view
                .messages
                .iter()
                .map(|message| SnapshotMessage {
                    role: message.role.clone(),
                    text: message.text.clone(),
                    partial: message.partial,
                    tools: message.tools.iter().map(|tool| tool.name.clone()).collect(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("No such conversation.")]
    NotFound,
    #[error("the shares database failed")]
    Database(#[from] sqlx::Error),
    #[error("a shared snapshot could not be read")]
    Corrupt(#[from] serde_json::Error),
}

impl crate::Kinded for ShareError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::Database(_) => ErrorKind::Unavailable,
            Self::Corrupt(_) => ErrorKind::Internal,
        }
    }
}

/// One of the user's conversations as the UI shows it, or [`ShareError::NotFound`].
pub async fn conversation(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<ConversationView, ShareError> {
    chat::view::conversation(pool, user_id, id).await?.ok_or(ShareError::NotFound)
}

/// Shares a conversation of this user's as it is now: a new link, whose token is returned (and
/// never stored). Earlier links of the conversation keep their own snapshots.
#[tracing::instrument(name = "shares.share", skip_all, fields(user.id = %user_id))]
pub async fn share(pool: &PgPool, user_id: Uuid, conversation_id: Uuid) -> Result<OpaqueToken, ShareError> {
    let view = conversation(pool, user_id, conversation_id).await?;
    let snapshot = serde_json::to_value(Snapshot::of(&view))?;
    let token = OpaqueToken::generate();
    db::for_user(pool, user_id, async |conn| {
        sqlx::query(
            "INSERT INTO conversation_shares (id, user_id, conversation_id, token_hash, snapshot)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::new_v4())
        .bind(user_id)
        .bind(conversation_id)
        .bind(token.hash())
        .bind(snapshot)
        .execute(&mut *conn)
        .await
    })
    .await?;
    Ok(token)
}

/// Revokes every live link of a conversation of this user's; they answer "not found" at once.
/// Returns how many were live.
#[tracing::instrument(name = "shares.stop", skip_all, fields(user.id = %user_id))]
pub async fn stop_sharing(pool: &PgPool, user_id: Uuid, conversation_id: Uuid) -> Result<u64, ShareError> {
    db::for_user(pool, user_id, async |conn| {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND user_id = $2)")
                .bind(conversation_id)
                .bind(user_id)
                .fetch_one(&mut *conn)
                .await?;
        if !exists {
            return Err(ShareError::NotFound);
        }
        let revoked = sqlx::query(
            "UPDATE conversation_shares SET revoked_at = now()
              WHERE conversation_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(conversation_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        Ok(revoked.rows_affected())
    })
    .await
}

/// The snapshot behind a live link, for anyone; `None` for a token that is unknown, revoked, or
/// not a token at all.
#[tracing::instrument(name = "shares.read", skip_all)]
pub async fn shared(pool: &PgPool, token: &str) -> Result<Option<Snapshot>, ShareError> {
    // Ours are 43 base64url characters; anything else names nothing (and is not hashed).
    if token.len() != 43 || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Ok(None);
    }
    let snapshot: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT share_snapshot($1)").bind(hash_token(token)).fetch_one(pool).await?;
    Ok(snapshot.map(serde_json::from_value).transpose()?)
}
