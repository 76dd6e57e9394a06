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

/// Where the page of a refusal leads back to, and the link's text.
const BACK_TO: &str = "/settings";
const BACK_LABEL: &str = "Back to Settings";

pub async fn download(
    State(state): State<AppState>,
    user: Result<RequireUser, ApiError>,
    headers: HeaderMap,
) -> Response {
    let refuse =
        |error: ApiError, back_to: &str, label: &str| error.into_response_for(&headers, back_to, label);
    let user = match user {
        Ok(RequireUser(user)) => user,
        Err(signed_out) => return refuse(signed_out, "/login", "Log in"),
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
            let error = ApiError::from(ExportError::TooMany { retry_after_secs });
            let mut response = refuse(error, BACK_TO, BACK_LABEL);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Err(error) => refuse(ApiError::from(error), BACK_TO, BACK_LABEL),
    }
}
