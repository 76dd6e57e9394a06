//! Finding the runs of a user, and ending one whose owner is gone.

use jarvis_types::protocol::RunEvent;
use sqlx::PgPool;
use uuid::Uuid;

use super::events::{event_rows, expand, text_of, unfinished_text};
use super::messages::insert_message;
use crate::agent::messages::{ContentBlock, Message, Role, Usage};
use crate::chat::status::{MessageStatus, RunOutcome, RunState};
use crate::db::{self, user_transaction};

/// The run still answering in a conversation, if any.
pub async fn running_run(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_scalar(
            "SELECT id FROM runs WHERE conversation_id = $1 AND user_id = $2 AND status = 'running' ORDER BY started_at DESC LIMIT 1",
        )
        .bind(conversation_id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await
    })
    .await
}

/// The model (its id) of each run of a conversation.
pub async fn run_models(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<std::collections::HashMap<Uuid, String>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let rows: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT id, model FROM runs WHERE conversation_id = $1 AND user_id = $2")
                .bind(conversation_id)
                .bind(user_id)
                .fetch_all(&mut *conn)
                .await?;
        Ok(rows.into_iter().collect())
    })
    .await
}

/// The run a client message id already started, if any.
pub async fn run_for_client_message(
    pool: &PgPool,
    user_id: Uuid,
    client_message_id: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_scalar("SELECT id FROM runs WHERE user_id = $1 AND client_message_id = $2")
            .bind(user_id)
            .bind(client_message_id)
            .fetch_optional(&mut *conn)
            .await
    })
    .await
}

/// Whether the run exists for this user (and is still running).
pub async fn run_status(pool: &PgPool, user_id: Uuid, run_id: Uuid) -> Result<Option<RunState>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_scalar("SELECT status FROM runs WHERE id = $1 AND user_id = $2")
            .bind(run_id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await
    })
    .await
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
                // The reply's first message takes the id its viewers were told at the start.
                let told: Option<Uuid> = events.iter().find_map(|(_, event)| match event {
                    RunEvent::Started { reply_id, .. } => reply_id.as_deref().and_then(|id| id.parse().ok()),
                    _ => None,
                });
                let taken = match told {
                    Some(id) => {
                        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM messages WHERE id = $1)")
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await?
                    }
                    None => true,
                };
                let id = match told {
                    Some(id) if !taken => id,
                    _ => Uuid::new_v4(),
                };
                insert_message(
                    &mut tx,
                    id,
                    user_id,
                    conversation_id,
                    &partial,
                    MessageStatus::Partial,
                    Some(run_id),
                )
                .await?;
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
        RunEvent::Finished { status, stop_reason, error } => (
            RunState::from(*status),
            RunOutcome::parse(stop_reason).unwrap_or(RunOutcome::Failed),
            error.as_ref().map(|error| error.code.clone()),
        ),
        _ => (RunState::Failed, RunOutcome::Interrupted, Some("interrupted".to_owned())),
    };
    metrics::counter!("jarvis_runs_finished_total", "outcome" => outcome.as_str()).increment(1);
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

/// The running runs of a conversation, for taking over one whose owner is gone.
pub async fn running_runs(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_scalar(
            "SELECT id FROM runs WHERE conversation_id = $1 AND user_id = $2 AND status = 'running'",
        )
        .bind(conversation_id)
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await
    })
    .await
}
