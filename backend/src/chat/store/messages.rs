//! A conversation's messages as stored, and what of them the model is sent.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::agent::messages::{ContentBlock, Message, Role};
use crate::chat::status::MessageStatus;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub role: Role,
    pub content: sqlx::types::Json<Vec<ContentBlock>>,
    pub status: MessageStatus,
    pub run_id: Option<Uuid>,
    /// The message belongs to a run the model refused: the whole exchange is left out of what
    /// the model is sent from then on (the API's advice, or the refusals go on).
    pub refused: bool,
}

pub(super) async fn message_rows(
    conn: &mut PgConnection,
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
    .fetch_all(&mut *conn)
    .await
}

/// The conversation as the model sees it: complete messages only, in order, without refused
/// exchanges. (The agent makes it a valid request: see `agent::valid_history`.)
pub(super) fn complete_messages(rows: Vec<MessageRow>) -> Vec<Message> {
    rows.into_iter()
        .filter(|row| row.status == MessageStatus::Complete && !row.refused)
        .map(|row| Message { role: row.role, content: row.content.0 })
        .collect()
}

pub(super) async fn insert_message(
    conn: &mut PgConnection,
    user_id: Uuid,
    conversation_id: Uuid,
    message: &Message,
    status: MessageStatus,
    run_id: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO messages (id, user_id, conversation_id, role, content, status, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::new_v4())
    .bind(user_id)
    .bind(conversation_id)
    .bind(message.role)
    .bind(sqlx::types::Json(&message.content))
    .bind(status)
    .bind(run_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
