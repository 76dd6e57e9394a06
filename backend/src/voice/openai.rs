//! OpenAI's speech API: `POST {base}/v1/audio/speech` with a Bearer key and a JSON body; the
//! audio comes back streamed (chunked). Busy (429) and server errors (5xx) are retried a few
//! times with backoff, honouring `retry-after`; a refused request (400, 401, 403, 404) is not.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;

use super::engine::{Audio, SpeechEngine, SpeechRequest, VoiceError};
use crate::openai_retry::with_retries;

/// The API's built-in voices.
pub const VOICES: &[&str] =
    &["alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse"];

/// The most characters the API takes in one request.
pub const MAX_INPUT_CHARS: usize = 4096;

#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// `https://api.openai.com` or any server speaking the same protocol.
    pub base_url: Url,
    pub api_key: SecretString,
    /// `tts-1`, `tts-1-hd` or `gpt-4o-mini-tts`.
    pub model: String,
    /// The default voice (`echo` unless configured).
    pub voice: String,
    /// Per attempt, from sending to the last byte of audio.
    pub timeout: Duration,
    /// Further attempts after a retryable failure.
    pub retries: u32,
}

pub struct OpenAiSpeech {
    settings: OpenAiSettings,
    http: reqwest::Client,
}

impl OpenAiSpeech {
    pub fn new(settings: OpenAiSettings) -> Self {
        let http =
            reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().unwrap_or_default();
        Self { settings, http }
    }

    async fn attempt(&self, request: &SpeechRequest) -> Result<Audio, (VoiceError, Option<Duration>)> {
        let url = crate::openai_http::endpoint(&self.settings.base_url, "audio/speech");
        let body = json!({
            "model": self.settings.model,
            "input": request.text,
            "voice": request.voice,
            "response_format": "mp3",
            "speed": request.speed,
        });
        let response = self
            .http
            .post(url)
            .bearer_auth(self.settings.api_key.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|error| {
                (VoiceError::Unavailable(format!("could not reach the speech API: {error}")), None)
            })?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|seconds| Duration::from_secs_f64(seconds.clamp(0.0, 30.0)));
            let text = response.text().await.unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("HTTP {status}"));
            // A spent quota is a 429 too, but no retry will lift it.
            let spent = crate::openai_http::is_spent_quota(status.as_u16(), &text);
            let error =
                if !spent && (status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 408) {
                    VoiceError::Unavailable(format!("{status}: {message}"))
                } else {
                    VoiceError::Rejected(format!("{status}: {message}"))
                };
            return Err((error, retry_after));
        }
        let mut audio = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|error| {
                (VoiceError::Unavailable(format!("the audio stream broke: {error}")), None)
            })?;
            audio.extend_from_slice(&chunk);
        }
        if audio.is_empty() {
            return Err((VoiceError::Unavailable("the speech API sent no audio".into()), None));
        }
        Ok(Audio { bytes: Bytes::from(audio), content_type: "audio/mpeg" })
    }
}

impl SpeechEngine for OpenAiSpeech {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn voices(&self) -> Vec<String> {
        let mut voices = vec![self.settings.voice.clone()];
        voices.extend(VOICES.iter().map(|v| (*v).to_owned()).filter(|v| *v != self.settings.voice));
        voices
    }

    fn synthesize<'a>(&'a self, request: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, VoiceError>> {
        Box::pin(async move {
            if request.text.trim().is_empty() {
                return Err(VoiceError::Rejected("nothing to say".into()));
            }
            if request.text.chars().count() > MAX_INPUT_CHARS {
                return Err(VoiceError::Rejected(format!("more than {MAX_INPUT_CHARS} characters")));
            }
            with_retries(
                "voice",
                self.settings.timeout,
                self.settings.retries,
                || VoiceError::Timeout,
                VoiceError::retryable,
                || self.attempt(request),
            )
            .await
        })
    }
}
