//! The clips of spoken replies in Postgres (what each says, its order, whether it was made) and
//! the users' voice settings. Every query runs for one user under row-level security and names
//! that user in its `WHERE`.

use jarvis_types::voice::{Clip, ClipStatus, VoiceSettings, clip_url};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db;

/// A stored clip, as the server needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClipRow {
    pub id: Uuid,
    pub run_id: Uuid,
    pub seq: i32,
    pub transcript: String,
    pub voice: String,
    pub speed: f32,
    pub status: ClipState,
    pub error: Option<String>,
    pub content_type: Option<String>,
    pub duration_ms: i32,
    pub storage_key: Option<String>,
}

/// Whether a clip was made (`voice_clips.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ClipState {
    /// Made and stored: its audio can be fetched.
    Ready,
    Failed,
}

impl From<ClipState> for ClipStatus {
    fn from(state: ClipState) -> Self {
        match state {
            ClipState::Ready => Self::Ready,
            ClipState::Failed => Self::Failed,
        }
    }
}

impl ClipRow {
    /// Made and stored: its audio can be fetched.
    pub fn is_ready(&self) -> bool {
        self.status == ClipState::Ready
    }
}

impl From<ClipRow> for Clip {
    fn from(row: ClipRow) -> Self {
        let id = row.id.to_string();
        let status = row.status.into();
        Clip {
            url: clip_url(&id),
            id,
            run_id: row.run_id.to_string(),
            seq: row.seq.max(0) as u32,
            transcript: row.transcript,
            duration_ms: row.duration_ms.max(0) as u64,
            content_type: row.content_type.unwrap_or_else(|| "audio/mpeg".into()),
            status,
            error: row.error,
        }
    }
}

const COLUMNS: &str =
    "id, run_id, seq, transcript, voice, speed, status, error, content_type, duration_ms, storage_key";

/// What became of one synthesis.
#[derive(Debug, Clone)]
pub enum Made {
    Ready { content_type: String, duration_ms: u64, size_bytes: usize, storage_key: String },
    Failed { error: String },
}

/// Records clip `seq` of `run_id`.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    run_id: Uuid,
    seq: u32,
    transcript: &str,
    voice: &str,
    speed: f32,
    made: &Made,
) -> Result<ClipRow, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let (status, error, content_type, duration_ms, size_bytes, storage_key) = columns(made);
        let row = sqlx::query_as::<_, ClipRow>(&format!(
            "INSERT INTO voice_clips (id, user_id, run_id, seq, transcript, voice, speed, status, error,
                                      content_type, duration_ms, size_bytes, storage_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(user_id)
        .bind(run_id)
        .bind(i32::try_from(seq).unwrap_or(i32::MAX))
        .bind(transcript)
        .bind(voice)
        .bind(speed)
        .bind(status)
        .bind(error)
        .bind(content_type)
        .bind(duration_ms)
        .bind(size_bytes)
        .bind(storage_key)
        .fetch_one(&mut *conn)
        .await?;
        Ok(row)
    })
    .await
}

/// Records the outcome of another attempt at a clip.
pub async fn update(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    made: &Made,
) -> Result<Option<ClipRow>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let (status, error, content_type, duration_ms, size_bytes, storage_key) = columns(made);
        let row = sqlx::query_as::<_, ClipRow>(&format!(
            "UPDATE voice_clips SET status = $3, error = $4, content_type = $5, duration_ms = $6,
                    size_bytes = $7, storage_key = $8, updated_at = now()
              WHERE id = $1 AND user_id = $2
             RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(user_id)
        .bind(status)
        .bind(error)
        .bind(content_type)
        .bind(duration_ms)
        .bind(size_bytes)
        .bind(storage_key)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row)
    })
    .await
}

type Columns<'a> = (ClipState, Option<&'a str>, Option<&'a str>, i32, i32, Option<&'a str>);

fn columns(made: &Made) -> Columns<'_> {
    match made {
        Made::Ready { content_type, duration_ms, size_bytes, storage_key } => (
            ClipState::Ready,
            None,
            Some(content_type.as_str()),
            i32::try_from(*duration_ms).unwrap_or(i32::MAX),
            i32::try_from(*size_bytes).unwrap_or(i32::MAX),
            Some(storage_key.as_str()),
        ),
        Made::Failed { error } => (ClipState::Failed, Some(error.as_str()), None, 0, 0, None),
    }
}

/// A clip of this user's, or `None`.
pub async fn get(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<Option<ClipRow>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, ClipRow>(&format!(
            "SELECT {COLUMNS} FROM voice_clips WHERE id = $1 AND user_id = $2"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
    })
    .await
}

/// The clips of these runs of this user's, by run and in speaking order.
pub async fn for_runs(pool: &PgPool, user_id: Uuid, run_ids: &[Uuid]) -> Result<Vec<ClipRow>, sqlx::Error> {
    if run_ids.is_empty() {
        return Ok(Vec::new());
    }
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, ClipRow>(&format!(
            "SELECT {COLUMNS} FROM voice_clips WHERE user_id = $1 AND run_id = ANY($2) ORDER BY run_id, seq"
        ))
        .bind(user_id)
        .bind(run_ids)
        .fetch_all(&mut *conn)
        .await
    })
    .await
}

/// The clips of every run of a conversation of this user's.
pub async fn of_conversation(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<ClipRow>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, ClipRow>(&format!(
            "SELECT {COLUMNS} FROM voice_clips
              WHERE user_id = $1 AND run_id IN (SELECT id FROM runs WHERE conversation_id = $2 AND user_id = $1)
              ORDER BY run_id, seq"
        ))
        .bind(user_id)
        .bind(conversation_id)
        .fetch_all(&mut *conn)
        .await
    })
    .await
}

/// The stored settings of this user, if they ever saved any.
pub async fn settings(
    pool: &PgPool,
    user_id: Uuid,
) -> Result<Option<(bool, Option<String>, f32, bool)>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, (bool, Option<String>, f32, bool)>(
            "SELECT enabled, voice, speed, autoplay FROM voice_settings WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await
    })
    .await
}

pub async fn save_settings(
    pool: &PgPool,
    user_id: Uuid,
    settings: &VoiceSettings,
) -> Result<(), sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query(
            "INSERT INTO voice_settings (user_id, enabled, voice, speed, autoplay) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id) DO UPDATE SET enabled = $2, voice = $3, speed = $4, autoplay = $5, updated_at = now()",
        )
        .bind(user_id)
        .bind(settings.enabled)
        .bind(&settings.voice)
        .bind(settings.speed)
        .bind(settings.autoplay)
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
    .await
}
