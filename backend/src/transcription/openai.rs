//! OpenAI's transcription API and the servers that speak it (faster-whisper-server, whisper.cpp's
//! server, …): `POST {base}/v1/audio/transcriptions`, multipart with `file`, `model`, an optional
//! `language` and `response_format=json`, answered `{"text": …}`. Busy (429), timeouts (408) and
//! server errors (5xx) are retried a few times with backoff, honouring `retry-after`; a refused
//! request is not. Errors come as `{"error": {"message", "type", "param", "code"}}`: one about
//! the `file` is the recording's fault, any other (a bad key, an unknown model) the server's.

use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::engine::{Recording, Transcript, TranscriptionEngine, TranscriptionError};
use crate::openai_retry::with_retries;

#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// `https://api.openai.com` or any server speaking the same protocol.
    pub base_url: Url,
    /// `None` for a local server that takes no key.
    pub api_key: Option<SecretString>,
    /// `whisper-1`, `gpt-4o-mini-transcribe`, or what a local server calls its model.
    pub model: String,
    /// Per attempt, from sending to the whole answer.
    pub timeout: Duration,
    /// Further attempts after a retryable failure.
    pub retries: u32,
}

pub struct OpenAiTranscription {
    settings: OpenAiSettings,
    http: reqwest::Client,
}

/// The documented error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    param: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Answer {
    text: String,
}

/// The longest `retry-after` obeyed.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

impl OpenAiTranscription {
    pub fn new(settings: OpenAiSettings) -> Self {
        let http =
            reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().unwrap_or_default();
        Self { settings, http }
    }

    async fn attempt(
        &self,
        recording: &Recording,
    ) -> Result<Transcript, (TranscriptionError, Option<Duration>)> {
        let url = crate::openai_http::endpoint(&self.settings.base_url, "audio/transcriptions");
        let file = Part::bytes(recording.bytes.to_vec())
            .file_name(recording.file_name.clone())
            .mime_str(recording.content_type)
            .map_err(|error| (TranscriptionError::Rejected(error.to_string()), None))?;
        let mut form = Form::new()
            .part("file", file)
            .text("model", self.settings.model.clone())
            .text("response_format", "json");
        if let Some(language) = &recording.language {
            form = form.text("language", language.clone());
        }
        let mut request = self.http.post(url).multipart(form);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request.send().await.map_err(|error| {
            (TranscriptionError::Unavailable(format!("could not reach the transcription API: {error}")), None)
        })?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<f64>().ok())
                .filter(|seconds| seconds.is_finite())
                .map(|seconds| Duration::from_secs_f64(seconds.max(0.0)).min(MAX_RETRY_AFTER));
            let body = response.text().await.unwrap_or_default();
            return Err((classify(status.as_u16(), &body), retry_after));
        }
        let body = response.text().await.map_err(|error| {
            (TranscriptionError::Unavailable(format!("the answer broke off: {error}")), None)
        })?;
        let answer: Answer = serde_json::from_str(&body).map_err(|error| {
            (TranscriptionError::Unavailable(format!("the answer is not the documented JSON: {error}")), None)
        })?;
        Ok(Transcript { text: answer.text.trim().to_owned() })
    }
}

/// A failed answer as an error: the API's own sentence where it sent one.
fn classify(status: u16, body: &str) -> TranscriptionError {
    let detail = serde_json::from_str::<ErrorBody>(body).ok().map(|body| body.error);
    let message = match &detail {
        Some(detail) if !detail.message.is_empty() => format!("{status}: {}", detail.message),
        _ => format!("HTTP {status}"),
    };
    let about_file = detail.as_ref().is_some_and(|detail| {
        detail.param.as_deref() == Some("file")
            || matches!(detail.code.as_deref(), Some("invalid_file_format" | "audio_too_short"))
    });
    match status {
        // A spent quota is a 429 too, but no retry will lift it.
        429 if crate::openai_http::is_spent_quota(status, body) => TranscriptionError::Rejected(message),
        408 | 409 | 429 | 500..=599 => TranscriptionError::Unavailable(message),
        400 | 413 | 415 | 422 if about_file => {
            TranscriptionError::Undecodable(detail.map(|d| d.message).unwrap_or(message))
        }
        _ => TranscriptionError::Rejected(message),
    }
}

impl TranscriptionEngine for OpenAiTranscription {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn transcribe<'a>(
        &'a self,
        recording: &'a Recording,
    ) -> BoxFuture<'a, Result<Transcript, TranscriptionError>> {
        Box::pin(async move {
            with_retries(
                "transcription",
                self.settings.timeout,
                self.settings.retries,
                || TranscriptionError::Timeout,
                TranscriptionError::retryable,
                || self.attempt(recording),
            )
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(message: &str, param: Option<&str>, code: Option<&str>) -> String {
        serde_json::json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})
            .to_string()
    }

    #[test]
    fn errors_are_told_apart_by_status_and_by_what_they_are_about() {
        let busy =
            classify(429, &error("Rate limit reached for requests", None, Some("rate_limit_exceeded")));
        assert_eq!(busy, TranscriptionError::Unavailable("429: Rate limit reached for requests".into()));
        assert!(busy.retryable());
        assert!(classify(503, "<html>bad gateway</html>").retryable());
        let bad_file = classify(400, &error("Invalid file format.", Some("file"), Some("invalid_value")));
        assert_eq!(bad_file, TranscriptionError::Undecodable("Invalid file format.".into()));
        assert!(!bad_file.retryable());
        let key = classify(401, &error("Incorrect API key provided.", None, Some("invalid_api_key")));
        assert_eq!(key, TranscriptionError::Rejected("401: Incorrect API key provided.".into()));
        let model = classify(400, &error("Invalid model.", Some("model"), None));
        assert!(matches!(model, TranscriptionError::Rejected(_)));
        assert_eq!(classify(404, "not json"), TranscriptionError::Rejected("HTTP 404".into()));
        // A spent budget is a 429 that no retry lifts.
        let spent =
            classify(429, &error("You exceeded your current quota.", None, Some("insufficient_quota")));
        assert_eq!(spent, TranscriptionError::Rejected("429: You exceeded your current quota.".into()));
        assert!(!spent.retryable());
    }
}
