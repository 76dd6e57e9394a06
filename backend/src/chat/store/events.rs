//! A run's log as clients read it: the stored batches of events after a seq, in order, with the
//! run's end told from its row when the log lacks it.

use jarvis_types::protocol::{RunEvent, RunStatus};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::agent::messages::ContentBlock;
use crate::chat::status::{RunOutcome, RunState};
use crate::db;

/// A run's events after `after_seq`, in order (at most about a thousand), and whether the run
/// has ended; `None` when the user has no such run.
pub async fn events_after(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    after_seq: u64,
) -> Result<Option<(Vec<(u64, RunEvent)>, bool)>, sqlx::Error> {
    const BATCHES: i64 = 200;
    let found = db::for_user(pool, user_id, async |conn| {
        let run: Option<(RunState, Option<RunOutcome>, Option<String>)> =
            sqlx::query_as("SELECT status, outcome, error_code FROM runs WHERE id = $1 AND user_id = $2")
                .bind(run_id)
                .bind(user_id)
                .fetch_optional(&mut *conn)
                .await?;
        let Some(run) = run else { return Ok::<_, sqlx::Error>(None) };
        Ok(Some((run, event_rows(conn, user_id, run_id, after_seq, BATCHES).await?)))
    })
    .await?;
    let Some(((status, outcome, error_code), rows)) = found else { return Ok(None) };
    let read_to_the_end = rows.len() < BATCHES as usize;
    let mut events = expand(rows, after_seq);
    let over = status != RunState::Running;
    let finished = events.iter().any(|(_, event)| matches!(event, RunEvent::Finished { .. }));
    if over && read_to_the_end && !finished {
        // Runs closed before every run's log ended with `Finished`: its end, told from the row.
        let seq = events.last().map_or(after_seq, |(seq, _)| *seq) + 1;
        events.push((seq, closing_event(status, outcome, error_code)));
    }
    Ok(Some((events, over)))
}

/// The `Finished` event of a closed run whose log lacks one.
fn closing_event(status: RunState, outcome: Option<RunOutcome>, error_code: Option<String>) -> RunEvent {
    let status = status.ended().unwrap_or(RunStatus::Failed);
    let error = (status == RunStatus::Failed).then(|| jarvis_types::protocol::RunError {
        code: error_code.unwrap_or_else(|| "interrupted".into()),
        message: "This reply was interrupted. Send your message again to continue.".into(),
        retryable: true,
    });
    let outcome = outcome.unwrap_or(RunOutcome::Interrupted);
    RunEvent::Finished { status, stop_reason: outcome.as_str().to_owned(), error }
}

pub(super) type EventRow = (i64, sqlx::types::Json<Vec<RunEvent>>);

/// The stored batches holding events after `after_seq`.
pub(super) async fn event_rows(
    conn: &mut PgConnection,
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
    .fetch_all(&mut *conn)
    .await
}

/// Batches into numbered events, those after `after_seq` only, stopping at a gap.
pub(super) fn expand(rows: Vec<EventRow>, after_seq: u64) -> Vec<(u64, RunEvent)> {
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

pub(super) fn text_of(content: &[ContentBlock]) -> String {
    content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
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
}
