//! Attachments of a question, uploaded from the composer before the message is sent.
//!
//! - `POST /api/attachments`: multipart with one `file` part → 201 and the `AttachmentView`.
//! - `POST /api/attachments/from-file/{file_id}`: a library file attached → 201, the same.
//! - `GET /api/attachments/{id}`: the bytes, with the type sniffed on upload.
//! - `GET /api/attachments/{id}/thumbnail`: an image's preview.
//! - `DELETE /api/attachments/{id}`: removes an unsent one (a chip's remove button) → 204.
//!
//! The user always comes from the verified session; an id only names one of that user's
//! attachments, so another user's answers 404 like a missing one. A refused upload (too large:
//! 413, a type the models do not read: 415, otherwise 4xx) says why and stores nothing.

use axum::body::Bytes;
use axum::{
    Json,
    extract::{Multipart, Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use jarvis_backend::Kinded;
use jarvis_backend::attachments::{AttachmentError, human_size};
use jarvis_types::chat::AttachmentKind;
use uuid::Uuid;

use crate::{
    auth::RequireUser,
    error::ApiError,
    routes::library::{bytes_response, disposition},
    state::AppState,
};

/// Room in a request body for the multipart framing around the file.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// The largest request body `POST /api/attachments` reads.
pub fn body_limit(upload_max_bytes: usize) -> usize {
    upload_max_bytes + MULTIPART_OVERHEAD
}

/// An id in a path: one that does not parse names nothing, like a missing one.
fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("No attachment with that id."))
}

/// The answer for an attachment error: 413 and 415 where HTTP names the case.
fn refused(error: AttachmentError) -> ApiError {
    let code = error.code();
    let api = ApiError::from(error);
    match code {
        "too_large" | "storage_full" => api.with_status(StatusCode::PAYLOAD_TOO_LARGE),
        "unsupported_type" => api.with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        "unreadable" => api.with_status(StatusCode::UNPROCESSABLE_ENTITY),
        _ => api,
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::invalid(format!("The file is too large: attachments are limited to {}.", human_size(limit)))
        .with_code("too_large")
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
}

/// Multipart upload of one file (the part named `file`).
pub async fn upload(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let limit = state.attachments.limits().upload_max_bytes;
    // A body announced as larger than any file could be is refused before it is read.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if announced.is_some_and(|length| length > body_limit(limit)) {
        return Err(too_large(limit));
    }
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(limit)),
            Err(error) => {
                return Err(ApiError::invalid(format!(
                    "The upload could not be read: {}",
                    error.body_text()
                ))
                .with_code("bad_upload"));
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("attachment").to_owned();
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    // Never more than the limit in memory: past it the upload is refused at once.
                    if bytes.len() + chunk.len() > limit {
                        return Err(too_large(limit));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(too_large(limit));
                }
                Err(error) => {
                    return Err(ApiError::invalid(format!(
                        "The upload was interrupted: {}",
                        error.body_text()
                    ))
                    .with_code("bad_upload"));
                }
            }
        }
        let view =
            state.attachments.upload(user.user_id, &name, Bytes::from(bytes)).await.map_err(refused)?;
        return Ok((StatusCode::CREATED, Json(view)).into_response());
    }
    Err(ApiError::invalid("Choose a file to attach.").with_code("no_file"))
}

/// A file of the user's library, attached.
pub async fn from_file(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(file_id): Path<String>,
) -> Result<Response, ApiError> {
    let file_id = Uuid::parse_str(&file_id).map_err(|_| ApiError::not_found("No file with that id."))?;
    let view = state.attachments.from_library_file(user.user_id, file_id).await.map_err(refused)?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Attachments never change: the browser may keep them for the signed-in user.
const PRIVATE_CACHE: &str = "private, max-age=86400";

/// The bytes: images and PDFs inline, text as a download, never sniffed into something else.
pub async fn download(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (view, bytes) = state.attachments.open(user.user_id, id).await.map_err(refused)?;
    let (kind, content_type) = match view.kind {
        AttachmentKind::Image | AttachmentKind::Pdf => ("inline", view.content_type.clone()),
        AttachmentKind::Text => ("attachment", format!("{}; charset=utf-8", view.content_type)),
    };
    let mut response = bytes_response(bytes, &content_type, disposition(kind, &view.filename));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(PRIVATE_CACHE));
    Ok(response)
}

/// An image's preview, inline.
pub async fn thumbnail(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (content_type, bytes) = state.attachments.thumbnail(user.user_id, id).await.map_err(refused)?;
    let mut response = bytes_response(bytes, content_type, HeaderValue::from_static("inline"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(PRIVATE_CACHE));
    Ok(response)
}

/// Removes an unsent attachment; a sent one stays with its message (409).
pub async fn delete(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    state.attachments.delete(user.user_id, id).await.map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}
