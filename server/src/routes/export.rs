//! `GET /api/conversations/{id}/export.md`: one of the user's conversations as a Markdown file
//! (`conversation-<title>.md`). The user comes from the verified session; another user's id
//! answers 404 like a missing one. A refusal is a page when the browser opened the link itself
//! (see [`ApiError::into_response_for`]), JSON otherwise.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use jarvis_backend::shares::{self, markdown};
use uuid::Uuid;

use crate::{auth::RequireUser, error::ApiError, routes::library::disposition, state::AppState};

pub async fn conversation_markdown(
    State(state): State<AppState>,
    user: Result<RequireUser, ApiError>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let RequireUser(user) = match user {
        Ok(user) => user,
        Err(signed_out) => return signed_out.into_response_for(&headers, "/login", "Log in"),
    };
    match markdown_file(&state, user.user_id, &id).await {
        Ok(file) => file,
        Err(error) => error.into_response_for(&headers, "/app", "Back to Jarvis"),
    }
}

/// The user's conversation `id` as a Markdown file.
async fn markdown_file(state: &AppState, user_id: Uuid, id: &str) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found("No such conversation."))?;
    let view = shares::conversation(&state.pool, user_id, id).await?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/markdown; charset=utf-8")),
        (header::CONTENT_DISPOSITION, disposition("attachment", &markdown::filename(&view.title))),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
    ];
    Ok((headers, markdown::render(&view)).into_response())
}
