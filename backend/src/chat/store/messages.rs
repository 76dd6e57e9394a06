//! A conversation's messages as stored, and what of them the model is sent. Messages form a tree
//! (see the branches migration): what is shown and sent is one branch, the path from the root to
//! a leaf, and each message on it knows its versions (itself and its siblings).

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
    /// The versions of this message in the order they were made, itself among them: the
    /// questions with the same parent (edits), or the replies to the same question
    /// (regenerations). Tool results have none.
    pub versions: Vec<Uuid>,
}

impl MessageRow {
    /// A question the user wrote (not the tool results the agent sent back).
    pub fn is_question(&self) -> bool {
        is_question(self.role, &self.content.0)
    }
}

/// Whether a message is a question the user wrote: from the user, holding no tool results.
fn is_question(role: Role, content: &[ContentBlock]) -> bool {
    role == Role::User && !content.iter().any(|block| matches!(block, ContentBlock::ToolResult { .. }))
}

/// The messages of the branch a conversation shows, in order: the path from its root to its
/// head, and on below the head to the newest message there when no run is answering (a
/// regeneration that stored nothing leaves the head on its question; the earlier reply is then
/// shown again).
pub(super) async fn message_rows(
    conn: &mut PgConnection,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    let running: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM runs WHERE conversation_id = $1 AND user_id = $2 AND status = 'running')",
    )
    .bind(conversation_id)
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    match shown_leaf(conn, user_id, conversation_id, !running).await? {
        Some(leaf) => path_rows(conn, user_id, conversation_id, leaf).await,
        None => Ok(Vec::new()),
    }
}

/// The end of the branch a conversation shows: its head, or with `below`, the newest message
/// under the head. `None` for a conversation without messages.
pub(super) async fn shown_leaf(
    conn: &mut PgConnection,
    user_id: Uuid,
    conversation_id: Uuid,
    below: bool,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH RECURSIVE below AS (
             SELECT m.id, m.position FROM conversations c
               JOIN messages m ON m.id = coalesce(c.head_message_id,
                        (SELECT l.id FROM messages l WHERE l.conversation_id = c.id AND l.user_id = c.user_id
                          ORDER BY l.position DESC LIMIT 1))
              WHERE c.id = $1 AND c.user_id = $2 AND m.user_id = $2
             UNION ALL
             SELECT m.id, m.position FROM messages m JOIN below b ON m.parent_id = b.id
              WHERE $3 AND m.user_id = $2 AND m.conversation_id = $1
         )
         SELECT id FROM below ORDER BY position DESC LIMIT 1",
    )
    .bind(conversation_id)
    .bind(user_id)
    .bind(below)
    .fetch_optional(&mut *conn)
    .await
}

/// The path from the root of a conversation to `leaf`, in order, each message with its versions.
pub(super) async fn path_rows(
    conn: &mut PgConnection,
    user_id: Uuid,
    conversation_id: Uuid,
    leaf: Uuid,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as::<_, MessageRow>(
        "WITH RECURSIVE path AS (
             SELECT id, parent_id FROM messages WHERE id = $3 AND conversation_id = $1 AND user_id = $2
             UNION ALL
             SELECT m.id, m.parent_id FROM messages m JOIN path p ON m.id = p.parent_id
              WHERE m.conversation_id = $1 AND m.user_id = $2
         )
         SELECT m.id, m.role, m.content, m.status, m.run_id,
                COALESCE(r.outcome = 'refusal', false) AS refused,
                CASE WHEN m.content @> '[{\"type\": \"tool_result\"}]' THEN ARRAY[]::uuid[]
                ELSE ARRAY(SELECT s.id FROM messages s
                            WHERE s.conversation_id = m.conversation_id AND s.user_id = m.user_id
                              AND s.parent_id IS NOT DISTINCT FROM m.parent_id AND s.role = m.role
                              AND NOT s.content @> '[{\"type\": \"tool_result\"}]'
                            ORDER BY s.position)
                END AS versions
           FROM path JOIN messages m ON m.id = path.id
           LEFT JOIN runs r ON r.id = m.run_id AND r.user_id = m.user_id
          ORDER BY m.position",
    )
    .bind(conversation_id)
    .bind(user_id)
    .bind(leaf)
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

/// Stores a message after the head of its conversation (the last one its run stored, or the
/// question it answers), which it becomes.
pub(super) async fn insert_message(
    conn: &mut PgConnection,
    id: Uuid,
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
    .bind(id)
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

/// Stores a user's question of run `run_id` under `parent` (`None`: a first question); it becomes
/// the head of its conversation.
pub(super) async fn insert_question(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: Uuid,
    conversation_id: Uuid,
    content: &[ContentBlock],
    parent: Option<Uuid>,
    run_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO messages (id, user_id, conversation_id, role, content, status, run_id, parent_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(user_id)
    .bind(conversation_id)
    .bind(Role::User)
    .bind(sqlx::types::Json(content))
    .bind(MessageStatus::Complete)
    .bind(run_id)
    .bind(parent)
    .execute(&mut *conn)
    .await?;
    if parent.is_none() {
        // Without a parent the message would follow the head: a first question has none.
        sqlx::query("UPDATE messages SET parent_id = NULL WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A message of a conversation as a branch starts from it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct BranchPoint {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub role: Role,
    pub content: sqlx::types::Json<Vec<ContentBlock>>,
}

impl BranchPoint {
    /// A question the user wrote (not the tool results the agent sent back).
    pub fn is_question(&self) -> bool {
        is_question(self.role, &self.content.0)
    }

    pub fn text(&self) -> String {
        super::events::text_of(&self.content.0)
    }
}

/// A message of this user's in this conversation, or `None`.
pub(super) async fn branch_point(
    conn: &mut PgConnection,
    user_id: Uuid,
    conversation_id: Uuid,
    id: Uuid,
) -> Result<Option<BranchPoint>, sqlx::Error> {
    sqlx::query_as::<_, BranchPoint>(
        "SELECT id, parent_id, role, content FROM messages WHERE id = $1 AND conversation_id = $2 AND user_id = $3",
    )
    .bind(id)
    .bind(conversation_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await
}

/// Moves the head of a conversation to `id` (a message of it).
pub(super) async fn set_head(
    conn: &mut PgConnection,
    user_id: Uuid,
    conversation_id: Uuid,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE conversations SET head_message_id = $3 WHERE id = $1 AND user_id = $2")
        .bind(conversation_id)
        .bind(user_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
