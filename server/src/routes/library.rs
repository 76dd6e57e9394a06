//! Downloads and uploads of the library: the byte-level side that server functions do not fit.
//!
//! - `GET /api/documents/{id}/download[?version=N]`: a document (or one of its versions) as a
//!   file, with its name and content type.
//! - `GET /api/library.zip`: every document and file in one zip.
//! - `GET /api/files/{id}[?download=1]`: an uploaded file, inline (images, PDFs) or as a download.
//! - `POST /api/uploads`: multipart upload of one or more files.
//!
//! Every handler takes the user from the verified session; ids in paths only name what to fetch
//! among that user's things, so another user's id answers 404 like a missing one.

use axum::{
    Json,
    body::Body,
    extract::{Multipart, Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use jarvis_backend::Kinded;
use jarvis_backend::library;
use jarvis_backend::library::documents::{self, Kind, filename};
use jarvis_backend::library::files::{self, human_size};
use jarvis_types::documents::{UploadRefusal, UploadReport};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    auth::RequireUser,
    error::{ApiError, is_ours},
    state::AppState,
};

/// The largest upload request body: several files at the per-file limit.
pub const UPLOAD_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// An id in a path: one that does not parse names nothing, like a missing one.
fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("No such document or file."))
}

/// `Content-Disposition` with an ASCII fallback name and the exact UTF-8 one (RFC 6266/5987).
pub fn disposition(kind: &str, name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// Headers every served file carries: never sniffed into something else, never able to run
/// script in our origin (an uploaded HTML or SVG stays inert).
pub fn bytes_response(body: impl Into<Body>, content_type: &str, disposition: HeaderValue) -> Response {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Chrome will not show a PDF in a sandboxed document; its viewer runs no page script anyway.
    // Only our own pages may frame a file (the library shows PDFs in a frame).
    let policy = if content_type == "application/pdf" {
        "default-src 'none'; object-src 'self'; frame-ancestors 'self'"
    } else {
        "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    version: Option<i32>,
}

pub async fn download_document(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let document = documents::read(&state.pool, user.user_id, id).await?;
    let (content, name) = match query.version {
        None => (document.content, document.filename),
        Some(version) => (
            documents::version_content(&state.pool, user.user_id, id, version).await?,
            filename::for_version(&document.filename, version),
        ),
    };
    let content_type = Kind::parse(&document.kind).unwrap_or(Kind::Text).content_type();
    Ok(bytes_response(content, content_type, disposition("attachment", &name)))
}

#[derive(Debug, Deserialize)]
pub struct FileQuery {
    #[serde(default)]
    download: Option<String>,
}

pub async fn file(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
    Query(query): Query<FileQuery>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (record, bytes) = files::open(&state.pool, &state.store, user.user_id, id).await?;
    // Only types a browser shows harmlessly are served inline; anything else downloads.
    let inline = query.download.is_none() && is_inline_type(&record.content_type);
    let kind = if inline { "inline" } else { "attachment" };
    Ok(bytes_response(bytes, &record.content_type, disposition(kind, &record.filename)))
}

fn is_inline_type(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "application/pdf"
            | "audio/mpeg"
            | "audio/wav"
            | "audio/ogg"
    )
}

/// How many library zips an instance builds at once: each is built in memory (every document and
/// file of the user, then the archive), so many at once (a user, or a script, asking again and
/// again) could exhaust the instance's memory. Others wait their turn.
static ZIPS_AT_ONCE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Every document (current version) and file in one zip.
pub async fn export(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
) -> Result<Response, ApiError> {
    let _turn = ZIPS_AT_ONCE.acquire().await.expect("the semaphore is never closed");
    let bytes = library::export_zip(&state.pool, &state.store, user.user_id).await?;
    Ok(bytes_response(bytes, "application/zip", disposition("attachment", "Jarvis library.zip")))
}

/// Multipart upload: each part with a file name is one file. Answers what each became, and
/// why any was refused; a refused file changes nothing.
pub async fn upload(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let limit = state.config.storage.upload_max_bytes;
    let mut report = UploadReport::default();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                let status = error.status();
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    format!("The upload is too large: at most {} in one go.", human_size(UPLOAD_BODY_LIMIT))
                } else {
                    format!("The upload could not be read: {}", error.body_text())
                };
                return Err(bad_upload(status, message, &report));
            }
        };
        let Some(name) = field.file_name().map(str::to_owned) else { continue };
        // Read at most one byte past the limit: a larger file is refused without buffering it.
        let mut bytes = Vec::new();
        let mut too_large = false;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > limit {
                        too_large = true;
                        // Drain the rest of this part without keeping it.
                        while let Ok(Some(_)) = field.chunk().await {}
                        break;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => {
                    let message = format!("The upload was interrupted: {}", error.body_text());
                    return Err(bad_upload(StatusCode::BAD_REQUEST, message, &report));
                }
            }
        }
        if too_large {
            report.refused.push(UploadRefusal {
                filename: filename::sanitize_stem(&name),
                reason: format!("It is larger than the limit of {}.", human_size(limit)),
            });
            continue;
        }
        // The plan's storage: what is already kept plus this file must fit.
        if let Some(left) = state.billing.storage_left(user.user_id).await?
            && bytes.len() as u64 > left
        {
            report.refused.push(UploadRefusal {
                filename: filename::sanitize_stem(&name),
                reason: format!(
                    "Your plan's storage is full: {} left. Delete files or upgrade your plan.",
                    human_size(usize::try_from(left).unwrap_or(usize::MAX))
                ),
            });
            continue;
        }
        match files::upload(&state.pool, &state.store, user.user_id, &name, bytes.into(), limit).await {
            Ok(uploaded) => report.uploaded.push(uploaded.into()),
            Err(failure) if is_ours(failure.kind()) => return Err(failure.into()),
            Err(refused) => report.refused.push(UploadRefusal {
                filename: filename::sanitize_stem(&name),
                reason: refused.to_string(),
            }),
        }
    }
    if report.uploaded.is_empty() && report.refused.is_empty() {
        return Err(ApiError::invalid("Choose at least one file to upload.").with_code("no_files"));
    }
    let status = if report.uploaded.is_empty() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, Json(report)).into_response())
}

/// A multipart body that could not be read (too large: 413; interrupted: 400), with what was
/// uploaded before it.
fn bad_upload(status: StatusCode, message: String, report: &UploadReport) -> ApiError {
    ApiError::invalid(message).with_status(status).with_code("bad_upload").with_field("report", report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_unicode_in_the_rfc_5987_form_and_an_ascii_fallback() {
        let value = disposition("attachment", "Résumé \"final\".md");
        let text = value.to_str().unwrap();
        assert_eq!(
            text,
            "attachment; filename=\"R_sum_ _final_.md\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.md"
        );
    }
}
