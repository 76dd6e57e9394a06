//! Conversations, messages, runs and run events in Postgres. Every function acts for one user,
//! inside a user-scoped transaction, and names the user in its queries as well. Here: the
//! conversations and the branch of their messages shown; [`begin`] starts a run, [`events`] reads
//! a run's log and [`runs`] finds and ends runs.

mod begin;
mod events;
mod messages;
mod runs;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

pub use self::begin::{BeginError, BeginRun, NewRun, Turn, begin_run};
pub use self::events::{events_after, unfinished_text};
pub use self::messages::MessageRow;
use self::messages::{branch_point, insert_message, message_rows, set_head};
pub use self::runs::{
    EndedOrphan, end_orphaned_run, run_for_client_message, run_models, run_status, running_run, running_runs,
};
use super::status::MessageStatus;
use crate::agent::messages::Message;
use crate::db;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: Uuid,
    pub title: String,
    pub updated_at: DateTime<Utc>,
    /// The model chosen for it (`None`: the default).
    pub model: Option<String>,
}

pub async fn list_conversations(pool: &PgPool, user_id: Uuid) -> Result<Vec<ConversationRow>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, ConversationRow>(
            "SELECT id, title, updated_at, model FROM conversations WHERE user_id = $1 ORDER BY updated_at DESC LIMIT 200",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await
    })
    .await
}

pub async fn conversation(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<ConversationRow>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, ConversationRow>(
            "SELECT id, title, updated_at, model FROM conversations WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await
    })
    .await
}

pub async fn messages(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| message_rows(conn, user_id, conversation_id).await).await
}

/// The replies to question `question` of this user's, oldest first (its answers' versions),
/// leaving out run `except_run`'s (a running run's reply is not one of its own earlier versions).
pub async fn replies_to(
    pool: &PgPool,
    user_id: Uuid,
    question: Uuid,
    except_run: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_scalar(
            "SELECT id FROM messages
              WHERE parent_id = $1 AND user_id = $2 AND role = 'assistant' AND run_id IS DISTINCT FROM $3
              ORDER BY position",
        )
        .bind(question)
        .bind(user_id)
        .bind(except_run)
        .fetch_all(&mut *conn)
        .await
    })
    .await
}

pub async fn rename(pool: &PgPool, user_id: Uuid, id: Uuid, title: &str) -> Result<bool, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let done = sqlx::query(
            "UPDATE conversations SET title = $3, updated_at = now() WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user_id)
        .bind(title)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    })
    .await
}

pub async fn delete(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let done = sqlx::query("DELETE FROM conversations WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() == 1)
    })
    .await
}

/// Appends a message produced by a run, as `id`, to the run's branch.
pub async fn append_message(
    pool: &PgPool,
    id: Uuid,
    user_id: Uuid,
    conversation_id: Uuid,
    run_id: Uuid,
    message: &Message,
    partial: bool,
) -> Result<(), sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        insert_message(
            conn,
            id,
            user_id,
            conversation_id,
            message,
            if partial { MessageStatus::Partial } else { MessageStatus::Complete },
            Some(run_id),
        )
        .await?;
        Ok(())
    })
    .await
}

/// What became of a request to show another version of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionShown {
    Shown,
    /// No such message in a conversation of this user's.
    NotFound,
    /// A run is answering in the conversation: its branch stays shown until it ends.
    RunInProgress,
}

/// Shows the branch through the message `id` (a version of one on the branch shown): the
/// conversation's head moves to it, and the page shows it down to its newest message. Kept, so a
/// reload shows the same branch.
pub async fn show_version(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
    id: Uuid,
) -> Result<VersionShown, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let locked: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM conversations WHERE id = $1 AND user_id = $2 FOR UPDATE")
                .bind(conversation_id)
                .bind(user_id)
                .fetch_optional(&mut *conn)
                .await?;
        if locked.is_none() || branch_point(conn, user_id, conversation_id, id).await?.is_none() {
            return Ok(VersionShown::NotFound);
        }
        let running: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM runs WHERE conversation_id = $1 AND user_id = $2 AND status = 'running')",
        )
        .bind(conversation_id)
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
        if running {
            return Ok(VersionShown::RunInProgress);
        }
        set_head(conn, user_id, conversation_id, id).await?;
        Ok(VersionShown::Shown)
    })
    .await
}
