//! Speech input.
//!
//! - `POST /api/transcriptions`: a recording in the multipart field `audio` (WebM/Opus as
//!   Chromium's MediaRecorder writes it, Ogg, WAV, MP3, FLAC, M4A), with an optional `language`
//!   field (ISO-639-1, `en`); answers `{"text": "…"}`.
//!
//! Signed-in users only, from our own origin (the same-origin layer covers every POST). Each
//! refusal is `{"error": code, "message": sentence}`: 400 `missing_audio`, `unreadable_upload`, `empty_audio`,
//! `not_audio`, `undecodable_audio`, `audio_too_long`, `no_speech`; 413 `audio_too_large`;
//! 403 `transcription_off`, `plan_without_voice`; 429 `limit`, `transcription_busy`; 502
//! `transcription_refused` (the engine refused: a configuration problem); 503
//! `transcription_unavailable`, `transcription_timeout`. A transcription is not counted as a
//! message (see `jarvis_backend::transcription`).

use axum::{
    Json,
    body::Bytes,
    extract::{DefaultBodyLimit, Multipart, State, multipart::MultipartRejection},
    http::StatusCode,
};
use jarvis_backend::ErrorKind;
use jarvis_backend::transcription::{Refused, TranscriptionError, TranscriptionLimits};
use serde::Serialize;

use crate::{auth::RequireUser, error::ApiError, state::AppState};

pub const PATH: &str = "/api/transcriptions";

/// The multipart field that holds the recording.
pub const AUDIO_FIELD: &str = "audio";

/// What a transcription answers.
#[derive(Debug, Serialize)]
pub struct TranscriptAnswer {
    pub text: String,
}

/// The request body's limit: the recording's plus room for the multipart framing and fields.
pub fn body_limit(limits: &TranscriptionLimits) -> DefaultBodyLimit {
    DefaultBodyLimit::max(limits.max_bytes.saturating_add(64 * 1024))
}

pub async fn transcribe(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<TranscriptAnswer>, ApiError> {
    let service = &state.transcription;
    // Refused before the upload is read: off, a plan without voice, no message left.
    service.admit(user.user_id).await.map_err(refusal)?;
    let mut multipart = multipart.map_err(|_| {
        ApiError::invalid("Send the recording as multipart/form-data, in a field named \"audio\".")
            .with_code("missing_audio")
    })?;
    let max_bytes = service.limits().max_bytes;
    let mut audio = None;
    let mut language = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return Err(unreadable(error.status(), max_bytes, &error.body_text())),
        };
        match field.name() {
            Some(AUDIO_FIELD) => {
                let mut bytes = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            if bytes.len() + chunk.len() > max_bytes {
                                return Err(refusal(Refused::TooLarge { max_bytes }));
                            }
                            bytes.extend_from_slice(&chunk);
                        }
                        Ok(None) => break,
                        Err(error) => return Err(unreadable(error.status(), max_bytes, &error.body_text())),
                    }
                }
                audio = Some(Bytes::from(bytes));
            }
            Some("language") => {
                let text = field
                    .text()
                    .await
                    .map_err(|error| unreadable(error.status(), max_bytes, &error.body_text()))?;
                language = Some(text).filter(|text| !text.trim().is_empty());
            }
            _ => {}
        }
    }
    let Some(audio): Option<Bytes> = audio else {
        return Err(ApiError::invalid("Send the recording in a multipart field named \"audio\".")
            .with_code("missing_audio"));
    };
    let transcript = service.transcribe(user.user_id, audio, language).await.map_err(refusal)?;
    Ok(Json(TranscriptAnswer { text: transcript.text }))
}

/// A multipart body that could not be read: past the size limit (413), or broken (400).
fn unreadable(status: StatusCode, max_bytes: usize, detail: &str) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return refusal(Refused::TooLarge { max_bytes });
    }
    ApiError::invalid(format!("The upload could not be read: {detail}")).with_code("unreadable_upload")
}

/// A refusal as the API answers it. An engine that fails is named in a sentence of its own (the
/// browser tells the user to type instead), and logged with its cause.
fn refusal(refused: Refused) -> ApiError {
    match &refused {
        Refused::TooLarge { .. } => ApiError::from(refused).with_status(StatusCode::PAYLOAD_TOO_LARGE),
        Refused::Engine(error) => {
            tracing::warn!(%error, "transcription.engine_failed");
            let (kind, status, code, message) = match error {
                TranscriptionError::Rejected(_) => (
                    ErrorKind::Unavailable,
                    StatusCode::BAD_GATEWAY,
                    "transcription_refused",
                    "The transcription service refused the recording. Type your message instead; the administrator has been told.",
                ),
                TranscriptionError::Timeout => (
                    ErrorKind::Unavailable,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "transcription_timeout",
                    "Transcribing took too long. Try a shorter recording, or type your message.",
                ),
                _ => (
                    ErrorKind::Unavailable,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "transcription_unavailable",
                    "Speech cannot be transcribed right now. Try again shortly, or type your message.",
                ),
            };
            ApiError::new(kind, message).with_status(status).with_code(code)
        }
        _ => ApiError::from(refused),
    }
}
