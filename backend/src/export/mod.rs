//! "Download my data": everything of one user's in one zip, built in memory.
//!
//! - `account.json`: address, display name, plan, when the account was created.
//! - `conversations/<date>-conversation-<title>.md`: each conversation as a Markdown transcript,
//!   the same as its own export ([`crate::shares::markdown`]).
//! - `conversations/<id>.json`: each conversation's every stored message (roles, content blocks,
//!   timestamps) and the runs that wrote the replies, with the tokens each used.
//! - `documents/<file name>`: the current text of every document.
//! - `files/<file name>`: the uploaded library files, while the archive stays under
//!   [`MAX_ARCHIVE_INPUT_BYTES`]; any left out are named in `account.json`.
//! - `usage.csv`: every metered run with its tokens and estimated cost.
//!
//! Everything is read for the session's user, under row-level security. Each user may start
//! [`EXPORTS_PER_HOUR`] exports an hour (counted in Postgres, so across instances), and each
//! instance builds at most [`CONCURRENT_BUILDS`] archives at once (the others wait), so exports
//! cannot exhaust the memory.

mod render;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use uuid::Uuid;

use self::render::{AccountJson, ConversationJson, MessageJson, PlanJson, RunJson, UsageRow};
use crate::billing::{Billing, BillingError};
use crate::db;
use crate::library::documents::{self, DocumentError};
use crate::library::files::{self, FileError};
use crate::library::zip_entries;
use crate::shares::{self, ShareError, markdown};
use crate::storage::BlobStore;

/// How many exports one user may start in an hour.
pub const EXPORTS_PER_HOUR: i64 = 5;
/// How many archives one instance builds at once.
pub const CONCURRENT_BUILDS: usize = 2;
/// The most bytes (before compression) one archive takes in; library files past it are left out.
pub const MAX_ARCHIVE_INPUT_BYTES: usize = 256 * 1024 * 1024;

static BUILDS: Semaphore = Semaphore::const_new(CONCURRENT_BUILDS);

/// A built archive and the name to download it as.
#[derive(Debug)]
pub struct Archive {
    pub filename: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "You can download your data {EXPORTS_PER_HOUR} times an hour. Try again in {} minutes.",
        retry_after_secs.div_ceil(60).max(1)
    )]
    TooMany { retry_after_secs: u64 },
    #[error(
        "Your conversations and documents are too large for one download. Download the documents from the library and the conversations one by one."
    )]
    TooLarge,
    #[error("No such account.")]
    NotFound,
    #[error("the export's database reads failed")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Billing(#[from] BillingError),
    #[error(transparent)]
    Documents(#[from] DocumentError),
    #[error(transparent)]
    Files(#[from] FileError),
    #[error(transparent)]
    Conversation(#[from] ShareError),
    #[error("the export could not be written")]
    Json(#[from] serde_json::Error),
    #[error("the zip could not be written")]
    Zip(#[from] zip::result::ZipError),
    #[error("the zip task failed")]
    ZipTask(#[from] tokio::task::JoinError),
}

impl crate::Kinded for ExportError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::TooMany { .. } => ErrorKind::Limit,
            Self::TooLarge => ErrorKind::Limit,
            Self::NotFound => ErrorKind::NotFound,
            Self::Database(_) => ErrorKind::Unavailable,
            Self::Billing(error) => error.kind(),
            Self::Documents(error) => error.kind(),
            Self::Files(error) => error.kind(),
            Self::Conversation(error) => error.kind(),
            Self::Json(_) | Self::Zip(_) | Self::ZipTask(_) => ErrorKind::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TooMany { .. } => "export_rate_limited",
            Self::TooLarge => "export_too_large",
            _ => self.kind().code(),
        }
    }
}

/// Builds the user's archive, if they have not had their share of exports this hour.
#[tracing::instrument(name = "export.build", skip_all, fields(user.id = %user_id))]
pub async fn build(
    pool: &PgPool,
    store: &BlobStore,
    billing: &Billing,
    user_id: Uuid,
) -> Result<Archive, ExportError> {
    admit(pool, user_id).await?;
    let _permit = BUILDS.acquire().await.expect("the semaphore is never closed");
    let now = Utc::now();
    let mut entries = Entries::default();

    let (email, display_name, email_verified, created_at) = account(pool, user_id).await?;
    let (plan, _) = billing.plan_of(user_id).await?;

    for (id, title, created, updated) in conversations(pool, user_id).await? {
        // Deleted since it was listed: left out, like one deleted a moment earlier.
        let view = match shares::conversation(pool, user_id, id).await {
            Ok(view) => view,
            Err(ShareError::NotFound) => continue,
            Err(error) => return Err(error.into()),
        };
        entries.push(render::transcript_path(created, &title), markdown::render(&view).into_bytes())?;
        let (messages, runs) = conversation_rows(pool, user_id, id).await?;
        let json = ConversationJson { id, title, created_at: created, updated_at: updated, messages, runs };
        entries.push(render::conversation_json_path(id), serde_json::to_vec_pretty(&json)?)?;
    }
    for document in documents::all(pool, user_id).await? {
        entries.push(format!("documents/{}", document.filename), document.content.into_bytes())?;
    }
    entries.push("usage.csv".to_owned(), render::usage_csv(&usage(pool, user_id).await?).into_bytes())?;

    let mut files_left_out = Vec::new();
    for record in files::list(pool, user_id).await? {
        let size = usize::try_from(record.size_bytes).unwrap_or(usize::MAX);
        if !entries.fits(size) {
            files_left_out.push(record.filename);
            continue;
        }
        match files::open(pool, store, user_id, record.id).await {
            Ok((record, bytes)) => entries.push(format!("files/{}", record.filename), bytes.to_vec())?,
            // Deleted since it was listed.
            Err(FileError::NotFound) => {}
            Err(error) => return Err(error.into()),
        }
    }

    let account = AccountJson {
        email,
        display_name,
        email_verified,
        plan: PlanJson { id: plan.id, name: plan.name },
        created_at,
        exported_at: now,
        files_left_out,
    };
    entries.list.insert(0, ("account.json".to_owned(), serde_json::to_vec_pretty(&account)?));
    let bytes = tokio::task::spawn_blocking(move || zip_entries(entries.list)).await??;
    tracing::info!(bytes = bytes.len(), "export.built");
    Ok(Archive { filename: render::archive_name(now), bytes })
}

/// The archive's files so far and their total size, held under [`MAX_ARCHIVE_INPUT_BYTES`].
#[derive(Default)]
struct Entries {
    list: Vec<(String, Vec<u8>)>,
    bytes: usize,
}

impl Entries {
    fn fits(&self, size: usize) -> bool {
        self.bytes.saturating_add(size) <= MAX_ARCHIVE_INPUT_BYTES
    }

    fn push(&mut self, name: String, bytes: Vec<u8>) -> Result<(), ExportError> {
        if !self.fits(bytes.len()) {
            return Err(ExportError::TooLarge);
        }
        self.bytes += bytes.len();
        self.list.push((name, bytes));
        Ok(())
    }
}

/// Counts this export against the user's hourly share, or says when the next one may start.
/// Serialised per user (an advisory lock), so two requests at once cannot both take the last.
async fn admit(pool: &PgPool, user_id: Uuid) -> Result<(), ExportError> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('account_export:' || $1::text, 0))")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "DELETE FROM account_exports WHERE user_id = $1 AND started_at < now() - interval '1 day'",
        )
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        let (count, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT count(*), min(started_at) FROM account_exports
              WHERE user_id = $1 AND started_at > now() - interval '1 hour'",
        )
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
        if count >= EXPORTS_PER_HOUR {
            let frees_at = oldest.unwrap_or_else(Utc::now) + chrono::Duration::hours(1);
            let retry_after_secs = u64::try_from((frees_at - Utc::now()).num_seconds()).unwrap_or(0).max(1);
            tracing::info!(retry_after_secs, "export.refused_rate");
            return Err(ExportError::TooMany { retry_after_secs });
        }
        sqlx::query("INSERT INTO account_exports (id, user_id) VALUES ($1, $2)")
            .bind(Uuid::new_v4())
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    })
    .await
}

/// Address, display name, whether the address is verified, when the account was created.
async fn account(pool: &PgPool, user_id: Uuid) -> Result<(String, String, bool, DateTime<Utc>), ExportError> {
    let row = db::for_user(pool, user_id, async |conn| {
        sqlx::query_as(
            "SELECT email::text, display_name, email_verified_at IS NOT NULL, created_at FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await
    })
    .await?;
    row.ok_or(ExportError::NotFound)
}

/// Every conversation of the user's, oldest first: id, title, created, updated.
async fn conversations(
    pool: &PgPool,
    user_id: Uuid,
) -> Result<Vec<(Uuid, String, DateTime<Utc>, DateTime<Utc>)>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_as(
            "SELECT id, title, created_at, updated_at FROM conversations WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await
    })
    .await
}

/// A conversation's stored messages in order, and its runs, oldest first.
async fn conversation_rows(
    pool: &PgPool,
    user_id: Uuid,
    conversation_id: Uuid,
) -> Result<(Vec<MessageJson>, Vec<RunJson>), sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        let messages = sqlx::query_as::<_, MessageJson>(
            "SELECT id, role, status, created_at, run_id, content FROM messages
              WHERE conversation_id = $1 AND user_id = $2 ORDER BY position",
        )
        .bind(conversation_id)
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
        let runs = sqlx::query_as::<_, RunJson>(
            "SELECT id, status, model, started_at, finished_at,
                    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens
               FROM runs WHERE conversation_id = $1 AND user_id = $2 ORDER BY started_at, id",
        )
        .bind(conversation_id)
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok((messages, runs))
    })
    .await
}

/// Every metered run of the user's, oldest first.
async fn usage(pool: &PgPool, user_id: Uuid) -> Result<Vec<UsageRow>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, UsageRow>(
            "SELECT run_id, started_at, model, input_tokens, output_tokens, cache_read_tokens,
                    cache_write_tokens, cost_micros
               FROM usage_records WHERE user_id = $1 ORDER BY started_at, run_id",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await
    })
    .await
}
