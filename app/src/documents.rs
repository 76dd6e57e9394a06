//! Server functions of the library: documents, their versions and diffs, uploaded files. Thin:
//! who is asking (from the verified session), then the backend, which scopes every query to them.
//! Uploads and downloads are plain HTTP routes of the server (`/api/uploads`, `/api/documents/…`),
//! not server functions: they stream bytes, not JSON.

use jarvis_types::documents::{DiffLine, DocumentView, Library, VersionItem};
use leptos::prelude::*;

/// Sort orders of the library list, as the UI names them.
pub const SORTS: [(&str, &str); 3] =
    [("updated", "Recently changed"), ("title", "Title"), ("created", "Newest")];

/// The user's documents (searched in full text when `query` is not blank) and files.
#[server(prefix = "/api", endpoint = "library")]
pub async fn load_library(sort: String, query: String) -> Result<Library, ServerFnError> {
    let (user, pool) = ssr::context()?;
    let sort = jarvis_backend::documents::Sort::parse(&sort).unwrap_or_default();
    jarvis_backend::library::overview(&pool, user.user_id, sort, &query).await.map_err(ssr::library_error)
}

#[server(prefix = "/api", endpoint = "document")]
pub async fn load_document(id: String) -> Result<DocumentView, ServerFnError> {
    let (user, pool) = ssr::context()?;
    let document =
        jarvis_backend::documents::read(&pool, user.user_id, ssr::id(&id)?).await.map_err(ssr::error)?;
    Ok(document.into())
}

/// Saves the editor's text as a new version, based on `version` (the one the editor opened).
#[server(prefix = "/api", endpoint = "save_document")]
pub async fn save_document(id: String, version: i32, content: String) -> Result<DocumentView, ServerFnError> {
    use jarvis_backend::documents::{Author, Edit, update};
    let (user, pool) = ssr::context()?;
    let document = update(&pool, user.user_id, ssr::id(&id)?, version, Edit::Replace(content), Author::User)
        .await
        .map_err(ssr::error)?;
    Ok(document.into())
}

#[server(prefix = "/api", endpoint = "document_versions")]
pub async fn document_versions(id: String) -> Result<Vec<VersionItem>, ServerFnError> {
    let (user, pool) = ssr::context()?;
    let versions =
        jarvis_backend::documents::versions(&pool, user.user_id, ssr::id(&id)?).await.map_err(ssr::error)?;
    Ok(versions.into_iter().map(VersionItem::from).collect())
}

/// The line diff from version `from` to version `to`.
#[server(prefix = "/api", endpoint = "diff_versions")]
pub async fn diff_versions(id: String, from: i32, to: i32) -> Result<Vec<DiffLine>, ServerFnError> {
    use jarvis_backend::documents::{diff, version_content};
    let (user, pool) = ssr::context()?;
    let id = ssr::id(&id)?;
    let old = version_content(&pool, user.user_id, id, from).await.map_err(ssr::error)?;
    let new = version_content(&pool, user.user_id, id, to).await.map_err(ssr::error)?;
    Ok(diff::lines(&old, &new))
}

/// Makes `version` current again, as a new version on top of `expected_version`.
#[server(prefix = "/api", endpoint = "restore_version")]
pub async fn restore_version(
    id: String,
    version: i32,
    expected_version: i32,
) -> Result<DocumentView, ServerFnError> {
    let (user, pool) = ssr::context()?;
    let document =
        jarvis_backend::documents::restore(&pool, user.user_id, ssr::id(&id)?, version, expected_version)
            .await
            .map_err(ssr::error)?;
    Ok(document.into())
}

#[server(prefix = "/api", endpoint = "rename_document")]
pub async fn rename_document(id: String, title: String) -> Result<DocumentView, ServerFnError> {
    let (user, pool) = ssr::context()?;
    let document = jarvis_backend::documents::rename(&pool, user.user_id, ssr::id(&id)?, &title)
        .await
        .map_err(ssr::error)?;
    Ok(document.into())
}

#[server(prefix = "/api", endpoint = "delete_document")]
pub async fn delete_document(id: String) -> Result<(), ServerFnError> {
    let (user, pool) = ssr::context()?;
    jarvis_backend::documents::delete(&pool, user.user_id, ssr::id(&id)?).await.map_err(ssr::error)
}

#[server(prefix = "/api", endpoint = "delete_file")]
pub async fn delete_file(id: String) -> Result<(), ServerFnError> {
    let (user, pool) = ssr::context()?;
    let store = use_context::<jarvis_backend::storage::BlobStore>()
        .ok_or_else(|| ServerFnError::new("storage missing"))?;
    jarvis_backend::files::delete(&pool, &store, user.user_id, ssr::id(&id)?).await.map_err(ssr::file_error)
}

/// The sentence to show for a failed server function.
pub fn error_message(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        _ => "The server could not be reached. Check your connection and try again.".to_owned(),
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use jarvis_backend::accounts::CurrentUser;
    use jarvis_backend::documents::DocumentError;
    use jarvis_backend::files::FileError;
    use jarvis_backend::library::LibraryError;
    use leptos::prelude::*;
    use sqlx::PgPool;
    use uuid::Uuid;

    pub fn context() -> Result<(CurrentUser, PgPool), ServerFnError> {
        let user = crate::account::ssr::current_user()?;
        let chat = use_context::<jarvis_backend::chat::Chat>()
            .ok_or_else(|| ServerFnError::new("chat service missing"))?;
        Ok((user, chat.pool().clone()))
    }

    pub fn id(raw: &str) -> Result<Uuid, ServerFnError> {
        Uuid::parse_str(raw).map_err(|_| error(DocumentError::NotFound))
    }

    fn status(code: http::StatusCode) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(code);
        }
    }

    pub fn error(error: DocumentError) -> ServerFnError {
        status(match &error {
            DocumentError::NotFound => http::StatusCode::NOT_FOUND,
            DocumentError::VersionConflict { .. } => http::StatusCode::CONFLICT,
            DocumentError::Invalid(_) => http::StatusCode::BAD_REQUEST,
            DocumentError::Internal(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
        });
        match error {
            DocumentError::Internal(detail) => {
                tracing::error!(error = %detail, "app.documents_failed");
                ServerFnError::new("Something went wrong on our side; nothing was changed.")
            }
            DocumentError::VersionConflict { current, .. } => ServerFnError::new(format!(
                "This document changed since you opened it (it is now at version {current}). Your text is still here: copy it, then reload the document."
            )),
            other => ServerFnError::new(other.to_string()),
        }
    }

    pub fn file_error(error: FileError) -> ServerFnError {
        match error {
            FileError::NotFound => {
                status(http::StatusCode::NOT_FOUND);
                ServerFnError::new("No file with that id.")
            }
            other => {
                tracing::error!(error = %other, "app.files_failed");
                ServerFnError::new("Something went wrong on our side; nothing was changed.")
            }
        }
    }

    pub fn library_error(error: LibraryError) -> ServerFnError {
        match error {
            LibraryError::Documents(error) => self::error(error),
            LibraryError::Files(error) => file_error(error),
            LibraryError::Zip(detail) => self::error(DocumentError::Internal(detail)),
        }
    }
}
