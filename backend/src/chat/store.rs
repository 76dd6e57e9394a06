//! Conversations, messages, runs and run events in Postgres. Every function acts for one user,
//! inside a user-scoped transaction, and names the user in its queries as well.

use chrono::{DateTime, Utc};
use jarvis_types::protocol::RunEvent;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::agent::messages::{ContentBlock, Message, Role, Usage};
use crate::billing::usage::{self, Allowance};
use crate::db::user_transaction;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: Uuid,
    pub title: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub role: String,
    pub content: sqlx::types::Json<Vec<ContentBlock>>,
    pub status: String,
    pub run_id: Option<Uuid>,
}

pub async fn list_conversations(pool: &PgPool, user_id: Uuid) -> Result<Vec<ConversationRow>, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let rows = sqlx::query_as::<_, ConversationRow>(
        "SELECT id, title, updated_at FROM conversations WHERE user_id = $1 ORDER BY updated_at DESC LIMIT 200",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

pub async fn conversation(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<ConversationRow>, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let row = sqlx::query_as::<_, ConversationRow>(
        "SELECT id, title, updated_at FROM conversations WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn messages(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let rows = sqlx::query_as::<_, MessageRow>(
        "SELECT id, role, content, status, run_id FROM messages
          WHERE conversation_id = $1 AND user_id = $2 ORDER BY position",
    )
    .bind(conversation_id)
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The conversation as the model sees it: complete messages only, in order.
pub async fn model_history(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<Message>, sqlx::Error> {
    Ok(messages(pool, user_id, conversation_id)
        .await?
        .into_iter()
        .filter(|row| row.status == "complete")
        .map(|row| Message {
            role: if row.role == "user" { Role::User } else { Role::Assistant },
            content: row.content.0,
        })
        .collect())
}

pub async fn rename(pool: &PgPool, user_id: Uuid, id: Uuid, title: &str) -> Result<bool, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let done =
        sqlx::query("UPDATE conversations SET title = $3, updated_at = now() WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .bind(title)
            .execute(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let done = sqlx::query("DELETE FROM conversations WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// The run still answering in a conversation, if any.
pub async fn running_run(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let id = sqlx::query_scalar(
        "SELECT id FROM runs WHERE conversation_id = $1 AND user_id = $2 AND status = 'running' ORDER BY started_at DESC LIMIT 1",
    )
    .bind(conversation_id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// What `begin_run` created.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub run_id: Uuid,
    pub conversation_id: Uuid,
    pub title: String,
    /// Tokens the user's plan has left this month (`None`: no limit).
    pub tokens_left: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    #[error("no such conversation")]
    NotFound,
    #[error("the plan's limits do not allow another message now")]
    Limit(crate::billing::usage::Refusal),
    #[error("a run is in progress")]
    RunInProgress,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Stores the user's message (before the model is called) and a running run, in one
/// transaction; a new conversation is created when none is given. The run is admitted against
/// the user's allowance in the same transaction: refused, nothing is stored.
pub async fn begin_run(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Option<Uuid>,
    text: &str,
    model: &str,
    client_message_id: Option<&str>,
    allowance: &Allowance,
) -> Result<NewRun, BeginError> {
    let mut tx = user_transaction(pool, user_id).await?;
    let (conversation_id, title) = match conversation_id {
        Some(id) => {
            let title: Option<String> = sqlx::query_scalar(
                "SELECT title FROM conversations WHERE id = $1 AND user_id = $2 FOR UPDATE",
            )
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let title = title.ok_or(BeginError::NotFound)?;
            let busy: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM runs WHERE conversation_id = $1 AND user_id = $2 AND status = 'running')",
            )
            .bind(id)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            if busy {
                return Err(BeginError::RunInProgress);
            }
            sqlx::query("UPDATE conversations SET updated_at = now() WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            (id, title)
        }
        None => {
            let id = Uuid::new_v4();
            let title = title_from(text);
            sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(user_id)
                .bind(&title)
                .execute(&mut *tx)
                .await?;
            (id, title)
        }
    };
    let run_id = Uuid::new_v4();
    let admitted = match usage::admit(&mut tx, user_id, run_id, model, allowance).await? {
        Ok(admitted) => admitted,
        Err(refusal) => return Err(BeginError::Limit(refusal)),
    };
    sqlx::query(
        "INSERT INTO runs (id, user_id, conversation_id, status, model, client_message_id) VALUES ($1, $2, $3, 'running', $4, $5)",
    )
        .bind(run_id)
        .bind(user_id)
        .bind(conversation_id)
        .bind(model)
        .bind(client_message_id)
        .execute(&mut *tx)
        .await?;
    insert_message(&mut tx, user_id, conversation_id, &Message::user_text(text), "complete", Some(run_id))
        .await?;
    tx.commit().await?;
    Ok(NewRun { run_id, conversation_id, title, tokens_left: admitted.tokens_left })
}

fn title_from(text: &str) -> String {
    let line = text.lines().find(|line| !line.trim().is_empty()).unwrap_or("New conversation").trim();
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title.push('…');
    }
    title
}

async fn insert_message(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    conversation_id: Uuid,
    message: &Message,
    status: &str,
    run_id: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO messages (id, user_id, conversation_id, role, content, status, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::new_v4())
    .bind(user_id)
    .bind(conversation_id)
    .bind(match message.role {
        Role::User => "user",
        Role::Assistant => "assistant",
    })
    .bind(sqlx::types::Json(&message.content))
    .bind(status)
    .bind(run_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends a message produced by a run.
pub async fn append_message(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
    run_id: Uuid,
    message: &Message,
    partial: bool,
) -> Result<(), sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    insert_message(
        &mut tx,
        user_id,
        conversation_id,
        message,
        if partial { "partial" } else { "complete" },
        Some(run_id),
    )
    .await?;
    tx.commit().await
}

/// Appends events to a run's log with the next sequence numbers, and wakes its followers on
/// every instance (NOTIFY is delivered when the transaction commits).
pub async fn append_events(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    first_seq: u64,
    events: &[RunEvent],
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = user_transaction(pool, user_id).await?;
    for (offset, event) in events.iter().enumerate() {
        sqlx::query("INSERT INTO run_events (run_id, seq, user_id, payload) VALUES ($1, $2, $3, $4)")
            .bind(run_id)
            .bind(i64::try_from(first_seq + offset as u64).unwrap_or(i64::MAX))
            .bind(user_id)
            .bind(sqlx::types::Json(event))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("SELECT pg_notify('jarvis_run_events', $1)")
        .bind(run_id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// A run's events after `after_seq`, in order, and whether the run has finished.
pub async fn events_after(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    after_seq: u64,
) -> Result<Option<(Vec<(u64, RunEvent)>, bool)>, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM runs WHERE id = $1 AND user_id = $2")
        .bind(run_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(status) = status else { return Ok(None) };
    let rows: Vec<(i64, sqlx::types::Json<RunEvent>)> = sqlx::query_as(
        "SELECT seq, payload FROM run_events WHERE run_id = $1 AND user_id = $2 AND seq > $3 ORDER BY seq LIMIT 1000",
    )
    .bind(run_id)
    .bind(user_id)
    .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let events =
        rows.into_iter().map(|(seq, payload)| (u64::try_from(seq).unwrap_or(0), payload.0)).collect();
    Ok(Some((events, status != "running")))
}

/// Closes a run with its status and token usage.
pub async fn finish_run(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    status: &str,
    outcome: &str,
    error_code: Option<&str>,
    usage: &Usage,
) -> Result<(), sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    sqlx::query(
        "UPDATE runs SET status = $3, outcome = $4, error_code = $5, input_tokens = $6, output_tokens = $7,
                cache_read_tokens = $8, cache_write_tokens = $9, finished_at = now()
          WHERE id = $1 AND user_id = $2",
    )
    .bind(run_id)
    .bind(user_id)
    .bind(status)
    .bind(outcome)
    .bind(error_code)
    .bind(i64::try_from(usage.input_tokens).unwrap_or(i64::MAX))
    .bind(i64::try_from(usage.output_tokens).unwrap_or(i64::MAX))
    .bind(i64::try_from(usage.cache_read_input_tokens).unwrap_or(i64::MAX))
    .bind(i64::try_from(usage.cache_creation_input_tokens).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The run a client message id already started, if any.
pub async fn run_for_client_message(
    pool: &PgPool,
    user_id: Uuid,
    client_message_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let id = sqlx::query_scalar("SELECT id FROM runs WHERE user_id = $1 AND client_message_id = $2")
        .bind(user_id)
        .bind(client_message_id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Whether the run exists for this user (and is still running).
pub async fn run_status(pool: &PgPool, user_id: Uuid, run_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let status = sqlx::query_scalar("SELECT status FROM runs WHERE id = $1 AND user_id = $2")
        .bind(run_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(status)
}

/// Runs left `running` by an instance that died: closed as failed, so the conversation is free.
pub async fn fail_orphaned_runs(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
    older_than_secs: f64,
) -> Result<u64, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let done = sqlx::query(
        "UPDATE runs SET status = 'failed', outcome = 'orphaned', error_code = 'interrupted', finished_at = now()
          WHERE conversation_id = $1 AND user_id = $2 AND status = 'running'
            AND NOT EXISTS (SELECT 1 FROM run_events e WHERE e.run_id = runs.id
                              AND e.created_at > now() - make_interval(secs => $3))
            AND started_at < now() - make_interval(secs => $3)",
    )
    .bind(conversation_id)
    .bind(user_id)
    .bind(older_than_secs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_line_cut_at_sixty_characters() {
        assert_eq!(title_from("\n  Plan my week\nplease"), "Plan my week");
        let long = "x".repeat(80);
        assert_eq!(title_from(&long).chars().count(), 61);
        assert_eq!(title_from("   "), "New conversation");
    }
}
