//! Documents: the user's library. Every change is a new version (who wrote it: the user, or the
//! agent in which run); an update names the version it was based on, so that nobody — above all
//! the agent — silently overwrites a change made in between. Full-text search ranks by title,
//! then content. Every function acts for one user inside a user-scoped transaction.

pub mod diff;
pub mod filename;
pub mod tools;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::user_transaction;
use crate::text;

/// Largest document, in bytes of UTF-8.
pub const MAX_CONTENT_BYTES: usize = 1024 * 1024;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Markdown,
    Text,
    Code,
    Html,
    Json,
    Csv,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Markdown => "markdown",
            Self::Text => "text",
            Self::Code => "code",
            Self::Html => "html",
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }

    /// Every kind, as the tools' JSON schemas list them.
    pub const ALL: [Self; 6] = [Self::Markdown, Self::Text, Self::Code, Self::Html, Self::Json, Self::Csv];

    /// The content type a document of this kind is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Text | Self::Code => "text/plain; charset=utf-8",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.into_iter().map(Self::as_str).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    User,
    Agent { run_id: Uuid },
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct Document {
    pub id: Uuid,
    pub title: String,
    pub filename: String,
    pub kind: String,
    pub language: Option<String>,
    pub content: String,
    pub size_bytes: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A document without its content, for lists.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct DocumentSummary {
    pub id: Uuid,
    pub title: String,
    pub filename: String,
    pub kind: String,
    pub language: Option<String>,
    pub size_bytes: i32,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct SearchHit {
    #[sqlx(flatten)]
    pub document: DocumentSummary,
    pub rank: f32,
    /// The best passage, matches between « and ».
    pub snippet: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct VersionSummary {
    pub version: i32,
    pub title: String,
    pub size_bytes: i32,
    pub author: String,
    pub run_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error("No document with that id.")]
    NotFound,
    #[error(
        "The document changed since you read it: you read version {expected}, it is now at version {current}. Read it again and apply your change to the current text."
    )]
    VersionConflict { expected: i32, current: i32 },
    #[error("{0}")]
    Invalid(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for DocumentError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(format!("database: {error}"))
    }
}

/// A new document's fields.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub title: String,
    pub kind: Kind,
    pub language: Option<String>,
    pub content: String,
}

/// How the content changes.
#[derive(Debug, Clone)]
pub enum Edit {
    Replace(String),
    /// Replace exactly one occurrence of `find`.
    FindReplace {
        find: String,
        replace: String,
    },
}

/// Sort orders of [`list`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    RecentlyUpdated,
    Title,
    Created,
}

impl Sort {
    /// `updated`, `title` or `created`, as the tools and the UI name them.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "updated" => Some(Self::RecentlyUpdated),
            "title" => Some(Self::Title),
            "created" => Some(Self::Created),
            _ => None,
        }
    }
}

fn check_title(title: &str) -> Result<String, DocumentError> {
    // Whoever named it (a person or the model), no control or bidirectional character is kept.
    let title = text::clean_name(title);
    if title.is_empty() {
        return Err(DocumentError::Invalid("A document needs a title.".into()));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(DocumentError::Invalid(format!("Titles are limited to {MAX_TITLE_CHARS} characters.")));
    }
    Ok(title)
}

fn check_content(content: &str) -> Result<i32, DocumentError> {
    if content.len() > MAX_CONTENT_BYTES {
        return Err(DocumentError::Invalid(format!(
            "Documents are limited to {} KiB; this one is {} KiB.",
            MAX_CONTENT_BYTES / 1024,
            content.len() / 1024
        )));
    }
    if text::contains_nul(content) {
        return Err(DocumentError::Invalid(text::nul_refusal("The document")));
    }
    Ok(i32::try_from(content.len()).unwrap_or(i32::MAX))
}

/// The columns of a [`Document`], for `SELECT` and `RETURNING`.
macro_rules! document_columns {
    () => {
        "id, title, filename, kind, language, content, size_bytes, version, created_at, updated_at"
    };
}

/// Records `document` as it now is as its newest version.
async fn record_version(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    user_id: Uuid,
    document: &Document,
    author: Author,
) -> Result<(), sqlx::Error> {
    let (author, run_id) = author_parts(author);
    sqlx::query(
        "INSERT INTO document_versions (document_id, version, user_id, title, content, size_bytes, author, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(document.id)
    .bind(document.version)
    .bind(user_id)
    .bind(&document.title)
    .bind(&document.content)
    .bind(document.size_bytes)
    .bind(author)
    .bind(run_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn author_parts(author: Author) -> (&'static str, Option<Uuid>) {
    match author {
        Author::User => ("user", None),
        Author::Agent { run_id } => ("agent", Some(run_id)),
    }
}

#[tracing::instrument(name = "documents.create", skip_all, fields(user.id = %user_id))]
pub async fn create(
    pool: &PgPool,
    user_id: Uuid,
    new: NewDocument,
    author: Author,
) -> Result<Document, DocumentError> {
    let title = check_title(&new.title)?;
    let size = check_content(&new.content)?;
    if new.language.as_deref().is_some_and(text::contains_nul) {
        return Err(DocumentError::Invalid(text::nul_refusal("The language")));
    }
    let language = new.language.map(|l| l.trim().to_ascii_lowercase()).filter(|l| !l.is_empty());
    let filename = filename::for_document(&title, new.kind, language.as_deref());
    let mut tx = user_transaction(pool, user_id).await?;
    let document = sqlx::query_as::<_, Document>(concat!(
        "INSERT INTO documents (id, user_id, title, filename, kind, language, content, size_bytes, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1) RETURNING ",
        document_columns!()
    ))
    .bind(Uuid::new_v4())
    .bind(user_id)
    .bind(&title)
    .bind(&filename)
    .bind(new.kind.as_str())
    .bind(&language)
    .bind(&new.content)
    .bind(size)
    .fetch_one(&mut *tx)
    .await?;
    record_version(&mut tx, user_id, &document, author).await?;
    tx.commit().await?;
    Ok(document)
}

pub async fn read(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<Document, DocumentError> {
    let mut tx = user_transaction(pool, user_id).await?;
    let document = sqlx::query_as::<_, Document>(concat!(
        "SELECT ",
        document_columns!(),
        " FROM documents WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    document.ok_or(DocumentError::NotFound)
}

/// A page of the user's documents, optionally of one kind.
pub async fn list(
    pool: &PgPool,
    user_id: Uuid,
    kind: Option<Kind>,
    sort: Sort,
    limit: i64,
    offset: i64,
) -> Result<(Vec<DocumentSummary>, i64), DocumentError> {
    let order = match sort {
        Sort::RecentlyUpdated => "updated_at DESC, id",
        Sort::Title => "lower(title), id",
        Sort::Created => "created_at DESC, id",
    };
    let mut tx = user_transaction(pool, user_id).await?;
    let rows = sqlx::query_as::<_, DocumentSummary>(&format!(
        "SELECT id, title, filename, kind, language, size_bytes, version, updated_at FROM documents
          WHERE user_id = $1 AND ($2::text IS NULL OR kind = $2)
          ORDER BY {order} LIMIT $3 OFFSET $4"
    ))
    .bind(user_id)
    .bind(kind.map(Kind::as_str))
    .bind(limit.clamp(1, 100))
    .bind(offset.max(0))
    .fetch_all(&mut *tx)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM documents WHERE user_id = $1 AND ($2::text IS NULL OR kind = $2)",
    )
    .bind(user_id)
    .bind(kind.map(Kind::as_str))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((rows, total))
}

/// Every document of the user with its current content, by title (for an export).
pub async fn all(pool: &PgPool, user_id: Uuid) -> Result<Vec<Document>, DocumentError> {
    let mut tx = user_transaction(pool, user_id).await?;
    let documents = sqlx::query_as::<_, Document>(concat!(
        "SELECT ",
        document_columns!(),
        " FROM documents WHERE user_id = $1 ORDER BY lower(title), created_at"
    ))
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(documents)
}

/// Full-text search over titles and content, best first, with a snippet each. A NUL in the
/// query, which Postgres cannot take, is read as a space: the words around it are searched.
pub async fn search(
    pool: &PgPool,
    user_id: Uuid,
    query: &str,
    limit: i64,
) -> Result<Vec<SearchHit>, DocumentError> {
    let query = text::nul_as_space(query);
    let query = query.trim();
    if query.is_empty() {
        return Err(DocumentError::Invalid("Search for at least one word.".into()));
    }
    let mut tx = user_transaction(pool, user_id).await?;
    let hits = sqlx::query_as::<_, SearchHit>(
        "WITH q AS (SELECT websearch_to_tsquery('english', $2) || websearch_to_tsquery('simple', $2) AS query)
         SELECT d.id, d.title, d.filename, d.kind, d.language, d.size_bytes, d.version, d.updated_at, ts_rank_cd(d.search, q.query) AS rank,
                ts_headline('english', d.content, q.query, 'StartSel=«, StopSel=», MaxWords=30, MinWords=8') AS snippet
           FROM documents d, q
          WHERE d.user_id = $1 AND d.search @@ q.query
          ORDER BY rank DESC, d.updated_at DESC
          LIMIT $3",
    )
    .bind(user_id)
    .bind(query)
    .bind(limit.clamp(1, 50))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(hits)
}

/// Changes a document's content as a new version, if `expected_version` is still current.
#[tracing::instrument(name = "documents.update", skip_all, fields(user.id = %user_id, document.id = %id))]
pub async fn update(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    expected_version: i32,
    edit: Edit,
    author: Author,
) -> Result<Document, DocumentError> {
    let mut tx = user_transaction(pool, user_id).await?;
    let current: Option<(i32, String)> =
        sqlx::query_as("SELECT version, content FROM documents WHERE id = $1 AND user_id = $2 FOR UPDATE")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let (version, content) = current.ok_or(DocumentError::NotFound)?;
    if version != expected_version {
        return Err(DocumentError::VersionConflict { expected: expected_version, current: version });
    }
    let new_content = match edit {
        Edit::Replace(content) => content,
        Edit::FindReplace { find, replace } => {
            if find.is_empty() {
                return Err(DocumentError::Invalid("`find` must not be empty.".into()));
            }
            match content.matches(&find).count() {
                0 => {
                    return Err(DocumentError::Invalid(
                        "The text to find does not occur in the document.".into(),
                    ));
                }
                1 => content.replacen(&find, &replace, 1),
                n => {
                    return Err(DocumentError::Invalid(format!(
                        "The text to find occurs {n} times; include more context so it occurs once."
                    )));
                }
            }
        }
    };
    let size = check_content(&new_content)?;
    let next = version + 1;
    let document = sqlx::query_as::<_, Document>(concat!(
        "UPDATE documents SET content = $3, size_bytes = $4, version = $5, updated_at = now()
          WHERE id = $1 AND user_id = $2 RETURNING ",
        document_columns!()
    ))
    .bind(id)
    .bind(user_id)
    .bind(&new_content)
    .bind(size)
    .bind(next)
    .fetch_one(&mut *tx)
    .await?;
    record_version(&mut tx, user_id, &document, author).await?;
    tx.commit().await?;
    Ok(document)
}

pub async fn versions(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<Vec<VersionSummary>, DocumentError> {
    let mut tx = user_transaction(pool, user_id).await?;
    let rows = sqlx::query_as::<_, VersionSummary>(
        "SELECT version, title, size_bytes, author, run_id, created_at FROM document_versions
          WHERE document_id = $1 AND user_id = $2 ORDER BY version DESC",
    )
    .bind(id)
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if rows.is_empty() { Err(DocumentError::NotFound) } else { Ok(rows) }
}

pub async fn version_content(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    version: i32,
) -> Result<String, DocumentError> {
    let mut tx = user_transaction(pool, user_id).await?;
    let content: Option<String> = sqlx::query_scalar(
        "SELECT content FROM document_versions WHERE document_id = $1 AND user_id = $2 AND version = $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(version)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    content.ok_or(DocumentError::NotFound)
}

/// Makes an old version current again, as a new version (nothing is lost).
pub async fn restore(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    version: i32,
    expected_version: i32,
) -> Result<Document, DocumentError> {
    let content = version_content(pool, user_id, id, version).await?;
    update(pool, user_id, id, expected_version, Edit::Replace(content), Author::User).await
}

pub async fn rename(pool: &PgPool, user_id: Uuid, id: Uuid, title: &str) -> Result<Document, DocumentError> {
    let title = check_title(title)?;
    let mut tx = user_transaction(pool, user_id).await?;
    let current: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT kind, language FROM documents WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let (kind, language) = current.ok_or(DocumentError::NotFound)?;
    let kind = Kind::parse(&kind).unwrap_or(Kind::Text);
    let filename = filename::for_document(&title, kind, language.as_deref());
    let document = sqlx::query_as::<_, Document>(concat!(
        "UPDATE documents SET title = $3, filename = $4, updated_at = now() WHERE id = $1 AND user_id = $2 RETURNING ",
        document_columns!()
    ))
    .bind(id)
    .bind(user_id)
    .bind(&title)
    .bind(&filename)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(document)
}

pub async fn delete(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<(), DocumentError> {
    let mut tx = user_transaction(pool, user_id).await?;
    let done = sqlx::query("DELETE FROM documents WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if done.rows_affected() == 1 { Ok(()) } else { Err(DocumentError::NotFound) }
}
