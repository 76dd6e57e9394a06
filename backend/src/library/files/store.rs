//! The user's binary files: bytes in object storage under the user's prefix, metadata in
//! Postgres. An upload that is text becomes a document instead. Every function acts for one user
//! inside a user-scoped transaction: another user's file is "not found", never its content.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::error::FileError;
use super::name::{binary_filename, document_title};
use super::sniff::{Sniffed, UTF8_BOM, sniff};
use crate::db::for_user;
use crate::library::documents::{self, Author, Document, NewDocument};
use crate::storage::BlobStore;

/// A stored file, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct FileRecord {
    pub id: Uuid,
    /// Sanitised, with an extension that matches `content_type`.
    pub filename: String,
    /// Sniffed from the content.
    pub content_type: String,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
}

/// What an upload became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Uploaded {
    /// Text: a new document (version 1, written by the user).
    Document(Document),
    /// Anything else: a stored file.
    File(FileRecord),
}

/// The object name of a file inside its owner's prefix.
fn object_name(id: Uuid) -> String {
    format!("files/{id}")
}

/// Takes an upload of `user_id` (from the verified session): text becomes a document, anything
/// else a stored file. Empty and over-large uploads are refused before anything is written. A
/// file's bytes go to the store first; if recording it then fails, the object is deleted again.
#[tracing::instrument(name = "files.upload", skip_all, fields(user.id = %user_id, upload.size = bytes.len()))]
pub async fn upload(
    pool: &PgPool,
    store: &BlobStore,
    user_id: Uuid,
    filename: &str,
    bytes: Bytes,
    max_bytes: usize,
) -> Result<Uploaded, FileError> {
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    if bytes.len() > max_bytes {
        return Err(FileError::TooLarge { limit: max_bytes });
    }
    // The name is only a label: it loses its bidirectional controls before it is split into a
    // stem and an extension, so that `invoice\u{202E}fdp.exe` is an `.exe`, named as it reads.
    let filename = &*crate::text::strip_bidi_controls(filename);
    match sniff(&bytes, filename) {
        Sniffed::Text { kind, language } => {
            // Sniffed as text, so valid UTF-8: nothing is replaced.
            let content =
                String::from_utf8_lossy(bytes.strip_prefix(UTF8_BOM).unwrap_or(&bytes)).into_owned();
            let new = NewDocument {
                title: document_title(filename),
                kind,
                language: language.map(str::to_owned),
                content,
            };
            let document = documents::create(pool, user_id, new, Author::User).await?;
            tracing::info!(document.id = %document.id, document.kind = document.kind, "upload stored as a document");
            Ok(Uploaded::Document(document))
        }
        Sniffed::Binary { content_type, extension } => {
            let id = Uuid::new_v4();
            let name = object_name(id);
            let filename = binary_filename(filename, extension);
            let size = i64::try_from(bytes.len()).map_err(|_| FileError::TooLarge { limit: max_bytes })?;
            let sha256 = Sha256::digest(&bytes).to_vec();
            let key = store.put(user_id, &name, bytes).await?;
            match insert(pool, user_id, id, &filename, content_type, size, &sha256, &key).await {
                Ok(record) => {
                    tracing::info!(file.id = %id, file.content_type = content_type, "upload stored as a file");
                    Ok(Uploaded::File(record))
                }
                Err(error) => {
                    if let Err(cleanup) = store.delete(user_id, &name).await {
                        tracing::error!(storage.key = key, error = %cleanup, "could not delete the object of a failed upload");
                    }
                    Err(error.into())
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    filename: &str,
    content_type: &str,
    size: i64,
    sha256: &[u8],
    key: &str,
) -> Result<FileRecord, sqlx::Error> {
    for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, FileRecord>(
            "INSERT INTO files (id, user_id, filename, content_type, size_bytes, sha256, storage_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING id, filename, content_type, size_bytes, created_at",
        )
        .bind(id)
        .bind(user_id)
        .bind(filename)
        .bind(content_type)
        .bind(size)
        .bind(sha256)
        .bind(key)
        .fetch_one(conn)
        .await
    })
    .await
}

/// The user's files, newest first.
#[tracing::instrument(name = "files.list", skip_all, fields(user.id = %user_id))]
pub async fn list(pool: &PgPool, user_id: Uuid) -> Result<Vec<FileRecord>, FileError> {
    Ok(for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, FileRecord>(
            "SELECT id, filename, content_type, size_bytes, created_at FROM files
              WHERE user_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(user_id)
        .fetch_all(conn)
        .await
    })
    .await?)
}

/// One file's record, or [`FileError::NotFound`] (also when it is someone else's).
#[tracing::instrument(name = "files.get", skip_all, fields(user.id = %user_id, file.id = %id))]
pub async fn get(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<FileRecord, FileError> {
    let record = for_user(pool, user_id, async |conn| {
        sqlx::query_as::<_, FileRecord>(
            "SELECT id, filename, content_type, size_bytes, created_at FROM files WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
    })
    .await?;
    record.ok_or(FileError::NotFound)
}

/// A file's record and its bytes. The record is looked up first, as the user: a file that is not
/// theirs is never fetched from the store.
#[tracing::instrument(name = "files.open", skip_all, fields(user.id = %user_id, file.id = %id))]
pub async fn open(
    pool: &PgPool,
    store: &BlobStore,
    user_id: Uuid,
    id: Uuid,
) -> Result<(FileRecord, Bytes), FileError> {
    let record = get(pool, user_id, id).await?;
    let bytes = store.get(user_id, &object_name(id)).await.map_err(|error| {
        tracing::error!(file.id = %id, %error, "a recorded file is missing from object storage");
        FileError::from(error)
    })?;
    Ok((record, bytes))
}

/// Deletes a file: its object, then (in the same transaction that found it) its row. If the store
/// fails, the row stays and the delete can be retried.
#[tracing::instrument(name = "files.delete", skip_all, fields(user.id = %user_id, file.id = %id))]
pub async fn delete(pool: &PgPool, store: &BlobStore, user_id: Uuid, id: Uuid) -> Result<(), FileError> {
    for_user(pool, user_id, async |conn| {
        let deleted: Option<Uuid> =
            sqlx::query_scalar("DELETE FROM files WHERE id = $1 AND user_id = $2 RETURNING id")
                .bind(id)
                .bind(user_id)
                .fetch_optional(conn)
                .await?;
        if deleted.is_none() {
            return Err(FileError::NotFound);
        }
        store.delete(user_id, &object_name(id)).await?;
        Ok(())
    })
    .await
}
