//! The audio of spoken replies.
//!
//! - `GET /api/clips/{id}`: a clip's audio, with `Range` support (206) so the player can seek,
//!   and cache headers (a clip's bytes never change once made).
//! - `POST /api/clips/{id}/retry`: makes a failed clip again; answers the clip.
//!
//! The user comes from the verified session; another user's clip id answers 404 like a missing one.

use std::ops::Range;

use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use jarvis_backend::voice::ClipError;
use serde_json::json;
use uuid::Uuid;

use crate::{auth::RequireUser, state::AppState};

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

fn clip_error(failure: ClipError) -> Response {
    match failure {
        ClipError::NotFound => error_not_found(),
        ClipError::Failed(_) => error(StatusCode::NOT_FOUND, "clip_failed", &failure.to_string()),
        ClipError::VoiceOff => error(StatusCode::CONFLICT, "voice_off", &failure.to_string()),
        ClipError::Internal(detail) => {
            tracing::error!(error = %detail, "voice.clip_failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
        }
    }
}

fn error_not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "No such clip.")
}

pub async fn clip(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else { return error_not_found() };
    let (row, bytes) = match state.voice.audio(user.user_id, id).await {
        Ok(found) => found,
        Err(error) => return clip_error(error),
    };
    let etag = format!("\"{}\"", row.id);
    let content_type = row.content_type.as_deref().unwrap_or("audio/mpeg");
    let if_none_match = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if if_none_match.is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*")) {
        return with_headers(StatusCode::NOT_MODIFIED, Body::empty(), content_type, &etag);
    }
    let total = bytes.len() as u64;
    // A Range with an If-Range naming another version is answered in full.
    let if_range_ok =
        headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()).is_none_or(|tag| tag == etag);
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).filter(|_| if_range_ok);
    match range.map(|value| parse_range(value, total)) {
        None | Some(RangeAnswer::Ignore) => {
            let mut response = with_headers(StatusCode::OK, Body::from(bytes), content_type, &etag);
            response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(total));
            response
        }
        Some(RangeAnswer::Unsatisfiable) => {
            let mut response =
                with_headers(StatusCode::RANGE_NOT_SATISFIABLE, Body::empty(), content_type, &etag);
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{total}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            response
        }
        Some(RangeAnswer::Partial(range)) => {
            let (start, end) = (range.start, range.end);
            let part = bytes.slice(start as usize..end as usize);
            let mut response =
                with_headers(StatusCode::PARTIAL_CONTENT, Body::from(part), content_type, &etag);
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
            if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{}/{total}", end - 1)) {
                headers.insert(header::CONTENT_RANGE, value);
            }
            response
        }
    }
}

fn with_headers(status: StatusCode, body: Body, content_type: &str, etag: &str) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // Private: only this user's browser keeps it; immutable: a clip's audio never changes.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// What to do with a `Range` header (RFC 9110 §14).
#[derive(Debug, PartialEq, Eq)]
pub enum RangeAnswer {
    /// Serve these bytes (end exclusive) with 206.
    Partial(Range<u64>),
    /// 416: the range starts past the end.
    Unsatisfiable,
    /// Not a single byte range we understand: serve the whole clip with 200.
    Ignore,
}

pub fn parse_range(value: &str, total: u64) -> RangeAnswer {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return RangeAnswer::Ignore };
    if spec.contains(',') {
        return RangeAnswer::Ignore;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return RangeAnswer::Ignore };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match parse(last) {
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(n) if total > 0 => RangeAnswer::Partial(total.saturating_sub(n)..total),
            Some(_) => RangeAnswer::Unsatisfiable,
            None => RangeAnswer::Ignore,
        },
        // bytes=A-: from A to the end.
        (false, true) => match parse(first) {
            Some(start) if start < total => RangeAnswer::Partial(start..total),
            Some(_) => RangeAnswer::Unsatisfiable,
            None => RangeAnswer::Ignore,
        },
        (false, false) => match (parse(first), parse(last)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= total {
                    RangeAnswer::Unsatisfiable
                } else {
                    RangeAnswer::Partial(start..end.min(total - 1) + 1)
                }
            }
            _ => RangeAnswer::Ignore,
        },
        (true, true) => RangeAnswer::Ignore,
    }
}

pub async fn retry(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else { return error_not_found() };
    match state.voice.retry(user.user_id, id).await {
        Ok(clip) => Json(clip).into_response(),
        Err(error) => clip_error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        use RangeAnswer::*;
        assert_eq!(parse_range("bytes=0-99", 1000), Partial(0..100));
        assert_eq!(parse_range("bytes=500-", 1000), Partial(500..1000));
        assert_eq!(parse_range("bytes=-100", 1000), Partial(900..1000));
        assert_eq!(parse_range("bytes=-5000", 1000), Partial(0..1000));
        assert_eq!(parse_range("bytes=900-5000", 1000), Partial(900..1000));
        assert_eq!(parse_range("bytes=999-999", 1000), Partial(999..1000));
        assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=1000-1001", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 1000), Ignore);
        assert_eq!(parse_range("bytes=0-1,5-9", 1000), Ignore);
        assert_eq!(parse_range("items=0-1", 1000), Ignore);
        assert_eq!(parse_range("bytes=x-1", 1000), Ignore);
        assert_eq!(parse_range("bytes=-", 1000), Ignore);
    }
}
