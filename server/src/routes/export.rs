//! `GET /api/conversations/{id}/export.md`: one of the user's conversations as a Markdown file
//! (`conversation-<title>.md`). The user comes from the verified session; another user's id
//! answers 404 like a missing one.

use axum::{
    extract::{Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use jarvis_backend::shares::{self, markdown};
use uuid::Uuid;

use crate::{auth::RequireUser, error::ApiError, routes::library::disposition, state::AppState};

pub async fn conversation_markdown(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("No such conversation."))?;
    let view = shares::conversation(&state.pool, user.user_id, id).await?;
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/markdown; charset=utf-8")),
        (header::CONTENT_DISPOSITION, disposition("attachment", &markdown::filename(&view.title))),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
    ];
    Ok((headers, markdown::render(&view)).into_response())
}
