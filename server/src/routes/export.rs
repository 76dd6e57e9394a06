//! `GET /api/conversations/{id}/export.md`: one of the user's conversations as a Markdown file
//! (`conversation-<title>.md`). The user comes from the verified session; another user's id
//! answers 404 like a missing one. A refusal is a page when the browser opened the link itself
//! (see [`super::refusal`]), JSON otherwise.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use jarvis_backend::shares::{self, markdown};
use uuid::Uuid;

use crate::{
    auth::RequireUser,
    error::ApiError,
    routes::{library::disposition, refusal},
    state::AppState,
};

pub async fn conversation_markdown(
    State(state): State<AppState>,
    user: Result<RequireUser, ApiError>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match markdown_file(&state, user, &id).await {
        Ok(response) => response,
        Err((error, back_to, label)) => refusal(&headers, error, back_to, label),
    }
}

/// The file, or the refusal with where its page leads back to.
async fn markdown_file(
    state: &AppState,
    user: Result<RequireUser, ApiError>,
    id: &str,
) -> Result<Response, (ApiError, &'static str, &'static str)> {
    let RequireUser(user) = user.map_err(|signed_out| (signed_out, "/login", "Log in"))?;
    let back = |error: ApiError| (error, "/app", "Back to Jarvis");
    let id = Uuid::parse_str(id).map_err(|_| back(ApiError::not_found("No such conversation.")))?;
    let view =
        shares::conversation(&state.pool, user.user_id, id).await.map_err(|error| back(error.into()))?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/markdown; charset=utf-8")),
        (header::CONTENT_DISPOSITION, disposition("attachment", &markdown::filename(&view.title))),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
    ];
    Ok((headers, markdown::render(&view)).into_response())
}
