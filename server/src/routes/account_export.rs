//! `GET /api/account/export` ("Download my data" in Settings): everything of the signed-in
//! user's in one zip, `jarvis-export-<date>.zip` (see [`jarvis_backend::export`] for what it
//! holds). The user comes from the verified session; nobody else's data can be asked for. Each
//! user may download a few an hour; past that the answer is 429 with a sentence and
//! `Retry-After` — as a small page when the browser opened the link itself (it asks for HTML),
//! as JSON otherwise.

use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use jarvis_backend::export::{self, ExportError};

use crate::{auth::RequireUser, error::ApiError, routes::library::disposition, state::AppState};

/// Where the page of a refusal leads back to.
const BACK: (&str, &str) = ("/settings", "Back to Settings");

pub async fn download(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    request: HeaderMap,
) -> Response {
    let answer = |error: ApiError| {
        if crate::routes::wants_page(&request) {
            error.into_page(BACK.0, BACK.1)
        } else {
            error.into_response()
        }
    };
    match export::build(&state.pool, &state.store, &state.billing, user.user_id).await {
        Ok(archive) => {
            let headers = [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/zip")),
                (header::CONTENT_DISPOSITION, disposition("attachment", &archive.filename)),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
                (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
            ];
            (headers, archive.bytes).into_response()
        }
        Err(ExportError::TooMany { retry_after_secs }) => {
            let error = ExportError::TooMany { retry_after_secs };
            ([(header::RETRY_AFTER, HeaderValue::from(retry_after_secs))], answer(ApiError::from(error)))
                .into_response()
        }
        Err(error) => answer(ApiError::from(error)),
    }
}
