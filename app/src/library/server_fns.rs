//! The library's server functions: documents, their versions and diffs, uploaded files. Thin:
//! who is asking (from the verified session), then the backend, which scopes every query to them.
//! Uploads and downloads are plain HTTP routes of the server (`/api/uploads`, `/api/documents/…`),
//! not server functions: they stream bytes, not JSON.

use jarvis_types::documents::{DiffLine, DocumentView, Library, VersionItem};
use leptos::prelude::*;

use crate::error::AppError;

/// The user's documents (searched in full text when `query` is not blank) and files.
#[server(prefix = "/api", endpoint = "library")]
pub async fn load_library(sort: String, query: String) -> Result<Library, AppError> {
    let (user, pool) = ssr::context()?;
    let sort = jarvis_backend::library::documents::Sort::parse(&sort).unwrap_or_default();
    Ok(jarvis_backend::library::overview(&pool, user.user_id, sort, &query).await?)
}

#[server(prefix = "/api", endpoint = "document")]
pub async fn load_document(id: String) -> Result<DocumentView, AppError> {
    let (user, pool) = ssr::context()?;
    let document =
        jarvis_backend::library::documents::read(&pool, user.user_id, ssr::document_id(&id)?).await?;
    Ok(document.into())
}

/// The document as it was at `version`, and the version it is at now (the same when `version` is
/// the latest).
#[server(prefix = "/api", endpoint = "document_version")]
pub async fn load_document_version(id: String, version: i32) -> Result<(DocumentView, i32), AppError> {
    use jarvis_backend::library::documents::{read, version_content};
    let (user, pool) = ssr::context()?;
    let id = ssr::document_id(&id)?;
    let mut document: DocumentView = read(&pool, user.user_id, id).await?.into();
    let latest = document.version;
    if version != latest {
        document.content = version_content(&pool, user.user_id, id, version).await?;
        document.version = version;
    }
    Ok((document, latest))
}

/// Saves the editor's text as a new version, based on `version` (the one the editor opened).
#[server(prefix = "/api", endpoint = "save_document")]
pub async fn save_document(id: String, version: i32, content: String) -> Result<DocumentView, AppError> {
    use jarvis_backend::library::documents::{Author, Edit, update};
    let (user, pool) = ssr::context()?;
    let room = ssr::room(user.user_id).await?;
    let document = update(
        &pool,
        user.user_id,
        ssr::document_id(&id)?,
        version,
        Edit::Replace(content),
        Author::User,
        room,
    )
    .await
    .map_err(ssr::editor_error)?;
    Ok(document.into())
}

#[server(prefix = "/api", endpoint = "document_versions")]
pub async fn document_versions(id: String) -> Result<Vec<VersionItem>, AppError> {
    let (user, pool) = ssr::context()?;
    let versions =
        jarvis_backend::library::documents::versions(&pool, user.user_id, ssr::document_id(&id)?).await?;
    Ok(versions.into_iter().map(VersionItem::from).collect())
}

/// The line diff from version `from` to version `to`.
#[server(prefix = "/api", endpoint = "diff_versions")]
pub async fn diff_versions(id: String, from: i32, to: i32) -> Result<Vec<DiffLine>, AppError> {
    use jarvis_backend::library::documents::{diff, version_content};
    let (user, pool) = ssr::context()?;
    let id = ssr::document_id(&id)?;
    let old = version_content(&pool, user.user_id, id, from).await?;
    let new = version_content(&pool, user.user_id, id, to).await?;
    Ok(diff::between(old, new).await)
}

/// Makes `version` current again, as a new version on top of `expected_version`.
#[server(prefix = "/api", endpoint = "restore_version")]
pub async fn restore_version(
    id: String,
    version: i32,
    expected_version: i32,
) -> Result<DocumentView, AppError> {
    let (user, pool) = ssr::context()?;
    let id = ssr::document_id(&id)?;
    let room = ssr::room(user.user_id).await?;
    let document =
        jarvis_backend::library::documents::restore(&pool, user.user_id, id, version, expected_version, room)
            .await
            .map_err(ssr::editor_error)?;
    Ok(document.into())
}

#[server(prefix = "/api", endpoint = "rename_document")]
pub async fn rename_document(id: String, title: String) -> Result<DocumentView, AppError> {
    let (user, pool) = ssr::context()?;
    let document =
        jarvis_backend::library::documents::rename(&pool, user.user_id, ssr::document_id(&id)?, &title)
            .await?;
    Ok(document.into())
}

#[server(prefix = "/api", endpoint = "delete_document")]
pub async fn delete_document(id: String) -> Result<(), AppError> {
    let (user, pool) = ssr::context()?;
    Ok(jarvis_backend::library::documents::delete(&pool, user.user_id, ssr::document_id(&id)?).await?)
}

#[server(prefix = "/api", endpoint = "delete_file")]
pub async fn delete_file(id: String) -> Result<(), AppError> {
    use jarvis_backend::library::files::FileError;
    let (user, pool) = ssr::context()?;
    let store = crate::server_context::service::<jarvis_backend::storage::BlobStore>()?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| FileError::NotFound)?;
    Ok(jarvis_backend::library::files::delete(&pool, &store, user.user_id, id).await?)
}

#[cfg(feature = "ssr")]
mod ssr {
    //! The server half: who is asking and the database, ids, and the editor's sentence for a
    //! version conflict.

    use jarvis_backend::accounts::CurrentUser;
    use jarvis_backend::library::documents::DocumentError;
    use sqlx::PgPool;
    use uuid::Uuid;

    use crate::error::AppError;
    use crate::server_context::{current_user, database};

    pub fn context() -> Result<(CurrentUser, PgPool), AppError> {
        Ok((current_user()?, database()?))
    }

    /// The bytes the user's plan has left for a new version (`None`: no limit).
    pub async fn room(user_id: Uuid) -> Result<Option<u64>, AppError> {
        let billing = crate::server_context::service::<jarvis_backend::billing::Billing>()?;
        Ok(billing.storage_left(user_id).await?)
    }

    /// A document id; one that does not parse names no document of theirs (404, as any other).
    pub fn document_id(raw: &str) -> Result<Uuid, AppError> {
        Uuid::parse_str(raw).map_err(|_| DocumentError::NotFound.into())
    }

    /// A save or restore on top of a stale version is told as the editor sees it: the draft stays.
    pub fn editor_error(error: DocumentError) -> AppError {
        match error {
            DocumentError::VersionConflict { current, .. } => AppError::Conflict(format!(
                "This document changed since you opened it (it is now at version {current}). Your text is still here: copy it, then reload the document."
            )),
            other => other.into(),
        }
    }
}
