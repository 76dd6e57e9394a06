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
    response::Response,
};
use http_range_header::{EndPosition, RangeUnsatisfiableError, StartPosition};
use uuid::Uuid;

use crate::{auth::RequireUser, error::ApiError, state::AppState};

/// An id in a path: one that does not parse names nothing, like a missing one.
fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("No such clip."))
}

pub async fn clip(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (row, bytes) = state.voice.audio(user.user_id, parse_id(&id)?).await?;
    let etag = format!("\"{}\"", row.id);
    let content_type = row.content_type.as_deref().unwrap_or("audio/mpeg");
    let if_none_match = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if if_none_match.is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*")) {
        return Ok(with_headers(StatusCode::NOT_MODIFIED, Body::empty(), content_type, &etag));
    }
    let total = bytes.len() as u64;
    // A Range with an If-Range naming another version is answered in full.
    let if_range_ok =
        headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()).is_none_or(|tag| tag == etag);
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).filter(|_| if_range_ok);
    let response = match range.map(|value| parse_range(value, total)) {
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
    };
    Ok(response)
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

/// Reads a `Range` header with `http_range_header`. A suffix longer than the clip is the whole
/// clip, an end past it is cut at the last byte (RFC 9110 §14.1.2); several ranges, other
/// units and syntax the parser refuses are ignored.
pub fn parse_range(value: &str, total: u64) -> RangeAnswer {
    let ranges = match http_range_header::parse_range_header(value.trim()) {
        Ok(parsed) => parsed.ranges,
        // `bytes=-0`: a suffix of nothing, which no clip can satisfy.
        Err(RangeUnsatisfiableError::ZeroSuffix) => return RangeAnswer::Unsatisfiable,
        Err(_) => return RangeAnswer::Ignore,
    };
    let [range] = ranges.as_slice() else { return RangeAnswer::Ignore };
    match (range.start, range.end) {
        (StartPosition::FromLast(n), _) if total > 0 => RangeAnswer::Partial(total.saturating_sub(n)..total),
        (StartPosition::FromLast(_), _) => RangeAnswer::Unsatisfiable,
        (StartPosition::Index(start), EndPosition::LastByte) if start < total => {
            RangeAnswer::Partial(start..total)
        }
        (StartPosition::Index(start), EndPosition::Index(end)) if start > end => RangeAnswer::Ignore,
        (StartPosition::Index(start), EndPosition::Index(end)) if start < total => {
            RangeAnswer::Partial(start..end.min(total - 1) + 1)
        }
        (StartPosition::Index(_), _) => RangeAnswer::Unsatisfiable,
    }
}

pub async fn retry(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
) -> Result<Json<jarvis_types::voice::Clip>, ApiError> {
    Ok(Json(state.voice.retry(user.user_id, parse_id(&id)?).await?))
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
