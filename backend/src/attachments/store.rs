//! The `attachments` table. Every function runs on a connection already acting for the user
//! (row-level security) and still names the user or the message in its `WHERE`: isolation is
//! enforced twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jarvis_types::chat::{AttachmentKind, AttachmentView};
use sqlx::PgConnection;
use uuid::Uuid;

/// One row, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(super) struct AttachmentRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub message_id: Option<Uuid>,
    pub filename: String,
    pub content_type: String,
    pub kind: String,
    pub size_bytes: i64,
    pub sha256: Vec<u8>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub pages: Option<i32>,
    pub storage_key: String,
    pub thumbnail_key: Option<String>,
    pub thumbnail_size_bytes: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, user_id, message_id, filename, content_type, kind, size_bytes, sha256, width, \
                       height, pages, storage_key, thumbnail_key, thumbnail_size_bytes, created_at";

pub(super) fn kind_name(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::Image => "image",
        AttachmentKind::Pdf => "pdf",
        AttachmentKind::Text => "text",
    }
}

fn parse_kind(name: &str) -> AttachmentKind {
    match name {
        "image" => AttachmentKind::Image,
        "pdf" => AttachmentKind::Pdf,
        _ => AttachmentKind::Text,
    }
}

fn as_u32(value: Option<i32>) -> Option<u32> {
    value.and_then(|value| u32::try_from(value).ok())
}

impl AttachmentRow {
    pub fn kind(&self) -> AttachmentKind {
        parse_kind(&self.kind)
    }

    pub fn view(&self) -> AttachmentView {
        AttachmentView {
            id: self.id.to_string(),
            filename: self.filename.clone(),
            content_type: self.content_type.clone(),
            kind: self.kind(),
            size_bytes: u64::try_from(self.size_bytes).unwrap_or(0),
            width: as_u32(self.width),
            height: as_u32(self.height),
            pages: as_u32(self.pages),
        }
    }
}

pub(super) async fn insert(conn: &mut PgConnection, row: &AttachmentRow) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO attachments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(row.id)
    .bind(row.user_id)
    .bind(row.message_id)
    .bind(&row.filename)
    .bind(&row.content_type)
    .bind(&row.kind)
    .bind(row.size_bytes)
    .bind(&row.sha256)
    .bind(row.width)
    .bind(row.height)
    .bind(row.pages)
    .bind(&row.storage_key)
    .bind(&row.thumbnail_key)
    .bind(row.thumbnail_size_bytes)
    .bind(row.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One of the user's attachments, sent or not.
pub(super) async fn get(
    conn: &mut PgConnection,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<AttachmentRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM attachments WHERE id = $1 AND user_id = $2"))
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Those of `ids` that are the user's, sent or not (unordered).
pub(super) async fn of_user(
    conn: &mut PgConnection,
    user_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM attachments WHERE id = ANY($1) AND user_id = $2"))
        .bind(ids)
        .bind(user_id)
        .fetch_all(conn)
        .await
}

/// Locks one of the user's attachments for a change.
pub(super) async fn lock(
    conn: &mut PgConnection,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<AttachmentRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM attachments WHERE id = $1 AND user_id = $2 FOR UPDATE"))
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

pub(super) async fn delete(conn: &mut PgConnection, user_id: Uuid, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM attachments WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives the unsent attachments `ids` to `message_id` (a message of the same user). Fails with
/// `RowNotFound`, so the caller's transaction rolls back, unless every one was still unsent.
pub(super) async fn claim(
    conn: &mut PgConnection,
    message_id: Uuid,
    ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let claimed = sqlx::query(
        "UPDATE attachments SET message_id = $1
          WHERE id = ANY($2) AND message_id IS NULL
            AND user_id = (SELECT user_id FROM messages WHERE id = $1)",
    )
    .bind(message_id)
    .bind(ids)
    .execute(conn)
    .await?
    .rows_affected();
    let distinct = ids.iter().collect::<std::collections::HashSet<_>>().len();
    if usize::try_from(claimed).ok() == Some(distinct) { Ok(()) } else { Err(sqlx::Error::RowNotFound) }
}

/// The attachments of these messages, each message's in upload order.
pub(super) async fn of_messages(
    conn: &mut PgConnection,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<AttachmentView>>, sqlx::Error> {
    let mut by_message: HashMap<Uuid, Vec<AttachmentView>> = HashMap::new();
    if message_ids.is_empty() {
        return Ok(by_message);
    }
    let rows: Vec<AttachmentRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM attachments WHERE message_id = ANY($1) ORDER BY created_at, id"
    ))
    .bind(message_ids)
    .fetch_all(conn)
    .await?;
    for row in rows {
        if let Some(message_id) = row.message_id {
            by_message.entry(message_id).or_default().push(row.view());
        }
    }
    Ok(by_message)
}

/// Unsent attachments of any user older than `age`, at most `limit` (see the migration's
/// `attachments_stale_unsent`).
pub(super) async fn stale_unsent(
    pool: &sqlx::PgPool,
    age: std::time::Duration,
    limit: i32,
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as("SELECT id, user_id FROM attachments_stale_unsent(make_interval(secs => $1), $2)")
        .bind(age.as_secs_f64())
        .bind(limit)
        .fetch_all(pool)
        .await
}
