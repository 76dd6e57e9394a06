//! The documents in Postgres. Every change is a new version (who wrote it: the user, or the agent
//! in which run); an update names the version it was based on, so that nobody — above all the
//! agent — silently overwrites a change made in between. Full-text search ranks by title, then
//! content. Every function acts for one user inside a user-scoped transaction.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::error::DocumentError;
use super::filename;
use super::model::{
    Author, Document, DocumentSummary, Edit, Kind, MAX_CONTENT_BYTES, MAX_TITLE_CHARS, NewDocument,
    SearchHit, Sort, VersionSummary,
};
use crate::db::for_user;
use crate::text;

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
    conn: &mut PgConnection,
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
    .execute(conn)
    .await?;
    Ok(())
}

fn author_parts(author: Author) -> (&'static str, Option<Uuid>) {
    match author {
        Author::User => ("user", None),
        Author::Agent { run_id } => ("agent", Some(run_id)),
        Author::Connection => ("connection", None),
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
    for_user(pool, user_id, async |conn| {
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
        .fetch_one(&mut *conn)
        .await?;
        record_version(conn, user_id, &document, author).await?;
        Ok(document)
    })
    .await
}

pub async fn read(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<Document, DocumentError> {
    let document = for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, Document>(concat!(
            "SELECT ",
            document_columns!(),
            " FROM documents WHERE id = $1 AND user_id = $2"
        ))
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
    })
    .await?;
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
    for_user(pool, user_id, async |conn| {
        let rows = sqlx::query_as::<_, DocumentSummary>(&format!(
            "SELECT id, title, filename, kind, language, size_bytes, version, updated_at FROM documents
              WHERE user_id = $1 AND ($2::text IS NULL OR kind = $2)
              ORDER BY {order} LIMIT $3 OFFSET $4"
        ))
        .bind(user_id)
        .bind(kind.map(Kind::as_str))
        .bind(limit.clamp(1, 100))
        .bind(offset.max(0))
        .fetch_all(&mut *conn)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM documents WHERE user_id = $1 AND ($2::text IS NULL OR kind = $2)",
        )
        .bind(user_id)
        .bind(kind.map(Kind::as_str))
        .fetch_one(conn)
        .await?;
        Ok((rows, total))
    })
    .await
}

/// Every document of the user with its current content, by title (for an export).
pub async fn all(pool: &PgPool, user_id: Uuid) -> Result<Vec<Document>, DocumentError> {
    Ok(for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, Document>(concat!(
            "SELECT ",
            document_columns!(),
            " FROM documents WHERE user_id = $1 ORDER BY lower(title), created_at"
        ))
        .bind(user_id)
        .fetch_all(conn)
        .await
    })
    .await?)
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
    Ok(for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, SearchHit>(
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
        .fetch_all(conn)
        .await
    })
    .await?)
}

/// Changes a document's content as a new version, if `expected_version` is still current. Every
/// version is kept in full, so the new one must fit in `room`, the bytes the user's plan has left
/// (`None`: no limit).
#[tracing::instrument(name = "documents.update", skip_all, fields(user.id = %user_id, document.id = %id))]
pub async fn update(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    expected_version: i32,
    edit: Edit,
    author: Author,
    room: Option<u64>,
) -> Result<Document, DocumentError> {
    for_user(pool, user_id, async |conn| {
        let current: Option<(i32, String)> = sqlx::query_as(
            "SELECT version, content FROM documents WHERE id = $1 AND user_id = $2 FOR UPDATE",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        let (version, content) = current.ok_or(DocumentError::NotFound)?;
        if version != expected_version {
            return Err(DocumentError::VersionConflict { expected: expected_version, current: version });
        }
        let new_content = edited(&content, edit)?;
        let size = check_content(&new_content)?;
        if let Some(left) = room
            && new_content.len() as u64 > left
        {
            return Err(DocumentError::StorageFull { needed: new_content.len() as u64, left });
        }
        let document = sqlx::query_as::<_, Document>(concat!(
            "UPDATE documents SET content = $3, size_bytes = $4, version = $5, updated_at = now()
              WHERE id = $1 AND user_id = $2 RETURNING ",
            document_columns!()
        ))
        .bind(id)
        .bind(user_id)
        .bind(&new_content)
        .bind(size)
        .bind(version + 1)
        .fetch_one(&mut *conn)
        .await?;
        record_version(conn, user_id, &document, author).await?;
        Ok(document)
    })
    .await
}

/// The content after `edit`; a find-and-replace must find its text exactly once.
fn edited(content: &str, edit: Edit) -> Result<String, DocumentError> {
    match edit {
        Edit::Replace(content) => Ok(content),
        Edit::FindReplace { find, replace } => {
            if find.is_empty() {
                return Err(DocumentError::Invalid("`find` must not be empty.".into()));
            }
            match content.matches(&find).count() {
                0 => Err(DocumentError::Invalid("The text to find does not occur in the document.".into())),
                1 => Ok(content.replacen(&find, &replace, 1)),
                n => Err(DocumentError::Invalid(format!(
                    "The text to find occurs {n} times; include more context so it occurs once."
                ))),
            }
        }
    }
}

pub async fn versions(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<Vec<VersionSummary>, DocumentError> {
    let rows = for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, VersionSummary>(
            "SELECT version, title, size_bytes, author, run_id, created_at FROM document_versions
              WHERE document_id = $1 AND user_id = $2 ORDER BY version DESC",
        )
        .bind(id)
        .bind(user_id)
        .fetch_all(conn)
        .await
    })
    .await?;
    if rows.is_empty() { Err(DocumentError::NotFound) } else { Ok(rows) }
}

pub async fn version_content(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    version: i32,
) -> Result<String, DocumentError> {
    let content: Option<String> = for_user(pool, user_id, async |conn| {
        sqlx::query_scalar(
            "SELECT content FROM document_versions WHERE document_id = $1 AND user_id = $2 AND version = $3",
        )
        .bind(id)
        .bind(user_id)
        .bind(version)
        .fetch_optional(conn)
        .await
    })
    .await?;
    content.ok_or(DocumentError::NotFound)
}

/// Makes an old version current again, as a new version (nothing is lost), within `room` as
/// [`update`].
pub async fn restore(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    version: i32,
    expected_version: i32,
    room: Option<u64>,
) -> Result<Document, DocumentError> {
    let content = version_content(pool, user_id, id, version).await?;
    update(pool, user_id, id, expected_version, Edit::Replace(content), Author::User, room).await
}

pub async fn rename(pool: &PgPool, user_id: Uuid, id: Uuid, title: &str) -> Result<Document, DocumentError> {
    let title = check_title(title)?;
    for_user(pool, user_id, async |conn| {
        let current: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT kind, language FROM documents WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut *conn)
                .await?;
        let (kind, language) = current.ok_or(DocumentError::NotFound)?;
        let kind = Kind::parse(&kind).unwrap_or(Kind::Text);
        let filename = filename::for_document(&title, kind, language.as_deref());
        Ok(sqlx::query_as::<_, Document>(concat!(
            "UPDATE documents SET title = $3, filename = $4, updated_at = now() WHERE id = $1 AND user_id = $2 RETURNING ",
            document_columns!()
        ))
        .bind(id)
        .bind(user_id)
        .bind(&title)
        .bind(&filename)
        .fetch_one(conn)
        .await?)
    })
    .await
}

pub async fn delete(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<(), DocumentError> {
    let done = for_user(pool, user_id, async |conn| {
        sqlx::query("DELETE FROM documents WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(conn)
            .await
    })
    .await?;
    if done.rows_affected() == 1 { Ok(()) } else { Err(DocumentError::NotFound) }
}
