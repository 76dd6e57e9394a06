//! Conversations, messages, runs and run events in Postgres. Every function acts for one user,
//! inside a user-scoped transaction, and names the user in its queries as well.

use chrono::{DateTime, Utc};
use jarvis_types::protocol::{RunEvent, RunStatus};
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
    /// The message belongs to a run the model refused: the whole exchange is left out of what
    /// the model is sent from then on (the API's advice, or the refusals go on).
    pub refused: bool,
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
    let rows = message_rows(&mut tx, user_id, conversation_id).await?;
    tx.commit().await?;
    Ok(rows)
}

async fn message_rows(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as::<_, MessageRow>(
        "SELECT m.id, m.role, m.content, m.status, m.run_id, COALESCE(r.outcome = 'refusal', false) AS refused
           FROM messages m LEFT JOIN runs r ON r.id = m.run_id AND r.user_id = m.user_id
          WHERE m.conversation_id = $1 AND m.user_id = $2 ORDER BY m.position",
    )
    .bind(conversation_id)
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await
}

/// The conversation as the model sees it: complete messages only, in order, without refused
/// exchanges. (The agent makes it a valid request: see `agent::valid_history`.)
fn complete_messages(rows: Vec<MessageRow>) -> Vec<Message> {
    rows.into_iter()
        .filter(|row| row.status == "complete" && !row.refused)
        .map(|row| Message {
            role: if row.role == "user" { Role::User } else { Role::Assistant },
            content: row.content.0,
        })
        .collect()
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
    /// The user's name, for the system prompt.
    pub display_name: String,
    /// The conversation as the model sees it, ending with the new message.
    pub history: Vec<Message>,
}

/// What `begin_run` is asked to store.
#[derive(Debug, Clone, Copy)]
pub struct BeginRun<'a> {
    pub user_id: Uuid,
    /// `None`: a new conversation.
    pub conversation_id: Option<Uuid>,
    pub text: &'a str,
    pub model: &'a str,
    /// Chosen by the client: a resend of a message that already started a run starts none.
    pub client_message_id: Option<&'a str>,
    pub allowance: &'a Allowance,
    /// The instance that will execute the run.
    pub owner: Uuid,
}

#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    #[error("no such conversation")]
    NotFound,
    #[error("the address is not confirmed")]
    EmailNotVerified,
    #[error("the plan's limits do not allow another message now")]
    Limit(crate::billing::usage::Refusal),
    #[error("a run is in progress")]
    RunInProgress,
    /// The client message id started this run already.
    #[error("the message started a run already")]
    Existing(Uuid),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Stores the user's message (before the model is called) and a running run owned by this
/// instance, in one transaction that also checks the account, finds a resent message's run and
/// reads the history the model is sent; a new conversation is created when none is given. The
/// run is admitted against the user's allowance in the same transaction: refused, nothing is
/// stored.
pub async fn begin_run(pool: &PgPool, begin: BeginRun<'_>) -> Result<NewRun, BeginError> {
    let BeginRun { user_id, conversation_id, text, model, client_message_id, allowance, owner } = begin;
    let mut tx = user_transaction(pool, user_id).await?;
    if let Some(client_message_id) = client_message_id {
        let existing: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM runs WHERE user_id = $1 AND client_message_id = $2")
                .bind(user_id)
                .bind(client_message_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(run_id) = existing {
            return Err(BeginError::Existing(run_id));
        }
    }
    let account: Option<(bool, String)> =
        sqlx::query_as("SELECT email_verified_at IS NOT NULL, display_name FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let (verified, display_name) = account.ok_or(BeginError::NotFound)?;
    if !verified {
        return Err(BeginError::EmailNotVerified);
    }
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
        "INSERT INTO runs (id, user_id, conversation_id, status, model, client_message_id, owner)
         VALUES ($1, $2, $3, 'running', $4, $5, $6)",
    )
    .bind(run_id)
    .bind(user_id)
    .bind(conversation_id)
    .bind(model)
    .bind(client_message_id)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    insert_message(&mut tx, user_id, conversation_id, &Message::user_text(text), "complete", Some(run_id))
        .await?;
    let history = complete_messages(message_rows(&mut tx, user_id, conversation_id).await?);
    tx.commit().await?;
    Ok(NewRun { run_id, conversation_id, title, tokens_left: admitted.tokens_left, display_name, history })
}

fn title_from(text: &str) -> String {
    let line = text
        .lines()
        .map(crate::text::clean_name)
        .find(|line| !line.is_empty())
        .unwrap_or_else(|| "New conversation".to_owned());
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

/// A run's events after `after_seq`, in order (at most about a thousand), and whether the run
/// has ended; `None` when the user has no such run.
pub async fn events_after(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    after_seq: u64,
) -> Result<Option<(Vec<(u64, RunEvent)>, bool)>, sqlx::Error> {
    const BATCHES: i64 = 200;
    let mut tx = user_transaction(pool, user_id).await?;
    let run: Option<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT status, outcome, error_code FROM runs WHERE id = $1 AND user_id = $2")
            .bind(run_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((status, outcome, error_code)) = run else { return Ok(None) };
    let rows = event_rows(&mut tx, user_id, run_id, after_seq, BATCHES).await?;
    tx.commit().await?;
    let read_to_the_end = rows.len() < BATCHES as usize;
    let mut events = expand(rows, after_seq);
    let over = status != "running";
    let finished = events.iter().any(|(_, event)| matches!(event, RunEvent::Finished { .. }));
    if over && read_to_the_end && !finished {
        // Runs closed before every run's log ended with `Finished`: its end, told from the row.
        let seq = events.last().map_or(after_seq, |(seq, _)| *seq) + 1;
        events.push((seq, closing_event(&status, outcome, error_code)));
    }
    Ok(Some((events, over)))
}

/// The `Finished` event of a closed run whose log lacks one.
fn closing_event(status: &str, outcome: Option<String>, error_code: Option<String>) -> RunEvent {
    let status = match status {
        "completed" => RunStatus::Completed,
        "cancelled" => RunStatus::Cancelled,
        _ => RunStatus::Failed,
    };
    let error = (status == RunStatus::Failed).then(|| jarvis_types::protocol::RunError {
        code: error_code.unwrap_or_else(|| "interrupted".into()),
        message: "This reply was interrupted. Send your message again to continue.".into(),
        retryable: true,
    });
    RunEvent::Finished { status, stop_reason: outcome.unwrap_or_else(|| "interrupted".into()), error }
}

type EventRow = (i64, sqlx::types::Json<Vec<RunEvent>>);

/// The stored batches holding events after `after_seq`.
async fn event_rows(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    run_id: Uuid,
    after_seq: u64,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, payload FROM run_events
          WHERE run_id = $1 AND user_id = $2 AND last_seq > $3 ORDER BY seq LIMIT $4",
    )
    .bind(run_id)
    .bind(user_id)
    .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Batches into numbered events, those after `after_seq` only, stopping at a gap.
fn expand(rows: Vec<EventRow>, after_seq: u64) -> Vec<(u64, RunEvent)> {
    let mut events = Vec::new();
    let mut expected = None;
    for (first, payload) in rows {
        let first = u64::try_from(first).unwrap_or(0);
        for (offset, event) in payload.0.into_iter().enumerate() {
            let seq = first + offset as u64;
            if seq <= after_seq {
                continue;
            }
            if expected.is_some_and(|expected| expected != seq) {
                return events;
            }
            expected = Some(seq + 1);
            events.push((seq, event));
        }
    }
    events
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

/// How a run left behind by its owner ended.
#[derive(Debug, Clone, PartialEq)]
pub struct EndedOrphan {
    pub model: String,
    pub usage: Usage,
    pub conversation_id: Uuid,
}

/// Ends a run this instance has taken over from an owner that is gone: keeps the text its
/// viewers saw as a partial reply, appends `Usage` and `Finished` to its log (unless the log
/// already ends with `Finished`), closes the run and wakes its followers everywhere. `None` if
/// the run is not this instance's to end or has ended already.
pub async fn end_orphaned_run(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    owner: Uuid,
    finished: &RunEvent,
) -> Result<Option<EndedOrphan>, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let run: Option<(String, Uuid, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT model, conversation_id, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens
           FROM runs WHERE id = $1 AND user_id = $2 AND owner = $3 AND status = 'running' FOR UPDATE",
    )
    .bind(run_id)
    .bind(user_id)
    .bind(owner)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((model, conversation_id, input, output, cache_read, cache_write)) = run else {
        return Ok(None);
    };
    let usage = Usage {
        input_tokens: u64::try_from(input).unwrap_or(0),
        output_tokens: u64::try_from(output).unwrap_or(0),
        cache_read_input_tokens: u64::try_from(cache_read).unwrap_or(0),
        cache_creation_input_tokens: u64::try_from(cache_write).unwrap_or(0),
    };
    let events = expand(event_rows(&mut tx, user_id, run_id, 0, i64::MAX).await?, 0);
    let last_seq = events.last().map_or(0, |(seq, _)| *seq);
    let already_finished = events.iter().find_map(|(_, event)| match event {
        RunEvent::Finished { .. } => Some(event.clone()),
        _ => None,
    });
    let finished = match already_finished {
        Some(finished) => finished,
        None => {
            let unfinished = unfinished_text(events.iter().map(|(_, event)| event));
            let last_reply: Option<sqlx::types::Json<Vec<ContentBlock>>> = sqlx::query_scalar(
                "SELECT content FROM messages WHERE run_id = $1 AND user_id = $2 AND role = 'assistant'
                   AND position > coalesce((SELECT max(position) FROM messages
                                             WHERE run_id = $1 AND user_id = $2 AND role = 'user'), 0)
                  ORDER BY position DESC LIMIT 1",
            )
            .bind(run_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let stored = last_reply.map(|content| text_of(&content.0)).unwrap_or_default();
            if !unfinished.is_empty() && !stored.ends_with(&unfinished) {
                let partial =
                    Message { role: Role::Assistant, content: vec![ContentBlock::Text { text: unfinished }] };
                insert_message(&mut tx, user_id, conversation_id, &partial, "partial", Some(run_id)).await?;
            }
            let usage_event = RunEvent::Usage {
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                cache_read_tokens: usage.cache_read_input_tokens,
                cache_write_tokens: usage.cache_creation_input_tokens,
            };
            let first = last_seq + 1;
            sqlx::query(
                "INSERT INTO run_events (run_id, seq, last_seq, user_id, payload) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(run_id)
            .bind(i64::try_from(first).unwrap_or(i64::MAX))
            .bind(i64::try_from(first + 1).unwrap_or(i64::MAX))
            .bind(user_id)
            .bind(sqlx::types::Json([&usage_event, finished]))
            .execute(&mut *tx)
            .await?;
            sqlx::query("SELECT pg_notify('jarvis_run_events', $1)")
                .bind(format!("{run_id}:{}", first + 1))
                .execute(&mut *tx)
                .await?;
            finished.clone()
        }
    };
    let (status, outcome, error_code) = match &finished {
        RunEvent::Finished { status, stop_reason, error } => {
            (status_name(*status), stop_reason.clone(), error.as_ref().map(|error| error.code.clone()))
        }
        _ => ("failed", "interrupted".to_owned(), Some("interrupted".to_owned())),
    };
    sqlx::query(
        "UPDATE runs SET status = $3, outcome = $4, error_code = $5, finished_at = now() WHERE id = $1 AND user_id = $2",
    )
    .bind(run_id)
    .bind(user_id)
    .bind(status)
    .bind(outcome)
    .bind(error_code)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(EndedOrphan { model, usage, conversation_id }))
}

/// How a run status is stored.
pub fn status_name(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Completed => "completed",
        RunStatus::Cancelled => "cancelled",
        RunStatus::Failed => "failed",
    }
}

/// The text a run's viewers saw of the model call in progress: what streamed since the last
/// tool activity, less what a retried attempt withdrew.
pub fn unfinished_text<'a>(events: impl IntoIterator<Item = &'a RunEvent>) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            RunEvent::TextDelta { text: delta } => text.push_str(delta),
            RunEvent::Retrying { .. } | RunEvent::ToolCall { .. } | RunEvent::ToolResult { .. } => {
                text.clear()
            }
            _ => {}
        }
    }
    text
}

fn text_of(content: &[ContentBlock]) -> String {
    content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// The running runs of a conversation, for taking over one whose owner is gone.
pub async fn running_runs(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let ids = sqlx::query_scalar(
        "SELECT id FROM runs WHERE conversation_id = $1 AND user_id = $2 AND status = 'running'",
    )
    .bind(conversation_id)
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> RunEvent {
        RunEvent::TextDelta { text: text.into() }
    }

    #[test]
    fn batches_expand_to_numbered_events_after_the_cursor_and_stop_at_a_gap() {
        use sqlx::types::Json;
        let rows = vec![
            (1, Json(vec![text("a"), text("b")])),
            (3, Json(vec![text("c")])),
            (5, Json(vec![text("e")])),
        ];
        assert_eq!(expand(rows.clone(), 1), vec![(2, text("b")), (3, text("c"))]);
        assert_eq!(expand(rows, 0).len(), 3, "seq 4 is missing: nothing after the hole is served");
    }

    #[test]
    fn unfinished_text_is_what_streamed_since_the_last_tool_activity_or_retry() {
        let call = RunEvent::ToolCall { id: "t".into(), name: "n".into(), input: "{}".into() };
        let retry = RunEvent::Retrying { attempt: 1, wait_ms: 10 };
        let events = [text("before tool "), call, text("Hello "), retry, text("Hel"), text("lo")];
        assert_eq!(unfinished_text(&events), "Hello");
    }

    #[test]
    fn titles_come_from_the_first_line_cut_at_sixty_characters() {
        assert_eq!(title_from("\n  Plan my week\nplease"), "Plan my week");
        let long = "x".repeat(80);
        assert_eq!(title_from(&long).chars().count(), 61);
        assert_eq!(title_from("   "), "New conversation");
        assert_eq!(title_from("\u{202E}\n\u{2067}invoice\u{202E}fdp.exe"), "invoicefdp.exe");
    }
}
