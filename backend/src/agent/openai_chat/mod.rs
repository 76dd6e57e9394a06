//! The OpenAI Chat Completions API as a [`ModelProvider`]: `POST {base}/v1/chat/completions`
//! with `stream: true` and `stream_options.include_usage`, tools as functions, images and PDFs
//! as data URLs ([`wire`]); the server-sent chunks assembled into one reply ([`chunks`]); errors
//! read and retried by that API's rules ([`errors`], with the shared backoff of
//! [`crate::agent::retry`]). It serves OpenAI, and the local servers that speak the same protocol
//! (vLLM, Ollama's `/v1`, llama.cpp's server), which need no key.

pub mod chunks;
pub mod errors;
pub mod wire;

use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use self::chunks::ChunkAssembler;
use self::errors::OpenAiError;
pub use self::wire::TokenParameter;
use super::messages::ModelReply;
use super::provider::{ModelDelta, ModelProvider, ModelRequest, ProviderError};
use super::retry::{self, Decision, Failure};
use super::sse::SseParser;
use super::stream::{Assembled, StreamError};

/// Everything one OpenAI-compatible model needs; one models-file entry makes one.
#[derive(Debug, Clone)]
pub struct OpenAiChatSettings {
    /// The server, e.g. `https://api.openai.com` or `http://localhost:11434` (Ollama). The
    /// request goes to `{base_url}/v1/chat/completions`; a base URL that already ends in `/v1`
    /// (the OpenAI SDKs' convention) is taken as it is rather than doubled.
    pub base_url: Url,
    /// Sent as `Authorization: Bearer …`. Local servers need none, and then none is sent.
    pub api_key: Option<SecretString>,
    /// The `model` of each request unless the request names one.
    pub model: String,
    /// Output tokens per model call.
    pub max_output_tokens: u32,
    /// The model's largest output, asked for once when a reply is cut inside a tool call.
    pub largest_output_tokens: u32,
    /// Which field carries the two limits above (see [`TokenParameter`]).
    pub token_parameter: TokenParameter,
    /// How long to wait for the response, and then its first chunk, to begin (a local server
    /// reads the whole prompt first).
    pub first_byte_timeout: Duration,
    /// A stream silent for this long between chunks is treated as broken.
    pub stall_timeout: Duration,
}

impl OpenAiChatSettings {
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com";

    /// Whether calls can succeed at all: a key, or a server other than OpenAI's own.
    pub fn is_configured(&self) -> bool {
        self.api_key.is_some() || self.base_url.host_str() != Some("api.openai.com")
    }

    /// `{base_url}/v1/chat/completions`, with no `/v1` doubled.
    pub fn endpoint(&self) -> String {
        crate::openai_http::endpoint(&self.base_url, "chat/completions")
    }
}

/// A provider for one OpenAI-compatible model.
#[derive(Debug, Clone)]
pub struct OpenAiChatProvider {
    http: reqwest::Client,
    settings: OpenAiChatSettings,
}

impl OpenAiChatProvider {
    /// A provider for the model `settings` describe. Nothing is sent until the first call, so a
    /// server that is down shows only then (as `ProviderError::Connection`).
    pub fn new(settings: OpenAiChatSettings) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("a reqwest client with default TLS builds");
        Self { http, settings }
    }

    pub fn settings(&self) -> &OpenAiChatSettings {
        &self.settings
    }

    /// The request body for `request`.
    pub fn body(&self, request: &ModelRequest) -> Value {
        wire::body(&self.settings, request)
    }

    /// One call, measured as the Anthropic provider's are: `jarvis_model_calls_total` by outcome,
    /// its duration, and the time to its first text.
    async fn attempt(
        &self,
        body: &Value,
        on_delta: &mut (dyn FnMut(ModelDelta) + Send),
    ) -> Result<ModelReply, AttemptError> {
        let started = std::time::Instant::now();
        let mut first_text = true;
        let result = self
            .attempt_unmeasured(body, &mut |delta| {
                if first_text && matches!(delta, ModelDelta::Text(_)) {
                    first_text = false;
                    metrics::histogram!("jarvis_model_time_to_first_token_seconds")
                        .record(started.elapsed().as_secs_f64());
                }
                on_delta(delta);
            })
            .await;
        let outcome = match &result {
            Ok(_) => "ok".to_owned(),
            Err(AttemptError::Status { status, .. }) => status.to_string(),
            Err(AttemptError::Connection(_)) => "connection".to_owned(),
            Err(AttemptError::Stalled { .. }) => "stalled".to_owned(),
            Err(AttemptError::Stream(_)) => "stream_error".to_owned(),
        };
        metrics::counter!("jarvis_model_calls_total", "outcome" => outcome).increment(1);
        metrics::histogram!("jarvis_model_call_duration_seconds").record(started.elapsed().as_secs_f64());
        result
    }

    async fn attempt_unmeasured(
        &self,
        body: &Value,
        on_delta: &mut (dyn FnMut(ModelDelta) + Send),
    ) -> Result<ModelReply, AttemptError> {
        let mut builder = self.http.post(self.settings.endpoint()).json(body);
        if let Some(key) = &self.settings.api_key {
            builder = builder.bearer_auth(key.expose_secret());
        }
        let response = match tokio::time::timeout(self.settings.first_byte_timeout, builder.send()).await {
            Err(_) => return Err(AttemptError::Stalled { waited: self.settings.first_byte_timeout }),
            Ok(Err(error)) => return Err(AttemptError::Connection(error.to_string())),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
                .collect();
            let body = response.text().await.unwrap_or_default();
            return Err(AttemptError::Status { status, headers, body });
        }

        let mut bytes = response.bytes_stream();
        let mut parser = SseParser::new();
        let mut assembler = ChunkAssembler::new();
        let mut first = true;
        loop {
            let wait = if first { self.settings.first_byte_timeout } else { self.settings.stall_timeout };
            first = false;
            let chunk = match tokio::time::timeout(wait, bytes.next()).await {
                Err(_) => return Err(AttemptError::Stalled { waited: wait }),
                // Ended: whole if `finish_reason` came (some servers send no `[DONE]`).
                Ok(None) => return Ok(assembler.finish()?),
                Ok(Some(Err(error))) => return Err(AttemptError::Connection(error.to_string())),
                Ok(Some(Ok(chunk))) => chunk,
            };
            for event in parser.push(&chunk) {
                let used_before = assembler.usage();
                let assembled = assembler.apply_data(&event.data)?;
                if assembler.usage() != used_before {
                    on_delta(ModelDelta::Usage(assembler.usage()));
                }
                for item in assembled {
                    match item {
                        Assembled::Text(text) => on_delta(ModelDelta::Text(text)),
                        Assembled::ToolUseStarted { id, name } => {
                            on_delta(ModelDelta::ToolUseStarted { id, name })
                        }
                        Assembled::Done(reply) => return Ok(reply),
                    }
                }
            }
        }
    }
}

enum AttemptError {
    Status { status: u16, headers: Vec<(String, String)>, body: String },
    Connection(String),
    Stalled { waited: Duration },
    Stream(StreamError),
}

impl From<StreamError> for AttemptError {
    fn from(error: StreamError) -> Self {
        Self::Stream(error)
    }
}

impl AttemptError {
    /// For the log: the status, the API's error type, code and message, and its request id.
    fn describe(&self) -> String {
        match self {
            Self::Status { status, headers, body } => format!(
                "status {status}, {} (x-request-id {})",
                OpenAiError::from_body(body).describe(),
                request_id(headers).as_deref().unwrap_or("none")
            ),
            Self::Connection(error) => format!("connection: {error}"),
            Self::Stalled { waited } => format!("no chunk for {} s", waited.as_secs_f32()),
            Self::Stream(error) => error.to_string(),
        }
    }

    fn into_provider_error(self) -> ProviderError {
        match self {
            Self::Status { status, headers, body } => {
                OpenAiError::from_body(&body).into_status_error(status, request_id(&headers))
            }
            Self::Connection(error) => ProviderError::Connection(error),
            Self::Stalled { .. } => ProviderError::Stalled,
            Self::Stream(error) => ProviderError::Stream(error),
        }
    }

    /// What the shared rules decide about this failure on attempt `attempt` (0-based).
    fn decide(&self, attempt: u32, jitter: f64) -> Decision {
        let failure = match self {
            // A spent quota looks like a rate limit, but no wait will lift it.
            Self::Status { status: 429, body, .. }
                if OpenAiError::from_body(body).is_insufficient_quota() =>
            {
                return Decision::GiveUp;
            }
            Self::Status { status, headers, body } => Failure::Status { status: *status, headers, body },
            Self::Connection(_) | Self::Stalled { .. } | Self::Stream(StreamError::Incomplete) => {
                Failure::Connection
            }
            Self::Stream(StreamError::Api(api)) => Failure::StreamError { kind: &api.kind },
            Self::Stream(StreamError::Malformed { .. }) => Failure::StreamError { kind: "malformed" },
        };
        retry::decide(&failure, attempt, jitter)
    }
}

/// OpenAI's `x-request-id` header, for the log and a support ticket.
fn request_id(headers: &[(String, String)]) -> Option<String> {
    headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("x-request-id")).map(|(_, value)| value.clone())
}

impl ModelProvider for OpenAiChatProvider {
    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
        on_delta: &'a mut (dyn FnMut(ModelDelta) + Send),
    ) -> BoxFuture<'a, Result<ModelReply, ProviderError>> {
        Box::pin(async move {
            if !self.settings.is_configured() {
                return Err(ProviderError::NotConfigured);
            }
            let body = self.body(request);
            let mut attempt = 0;
            loop {
                let error = match self.attempt(&body, on_delta).await {
                    Ok(reply) => return Ok(reply),
                    Err(error) => error,
                };
                match error.decide(attempt, rand::random::<f64>()) {
                    Decision::GiveUp => {
                        tracing::error!(attempt, provider = "openai_chat", error = %error.describe(), "agent.model_call_failed");
                        return Err(error.into_provider_error());
                    }
                    Decision::RetryAfter(wait) => {
                        metrics::counter!("jarvis_model_retries_total").increment(1);
                        tracing::info!(attempt, provider = "openai_chat", wait_ms = wait.as_millis() as u64, error = %error.describe(), "agent.model_call_retrying");
                        on_delta(ModelDelta::Retrying {
                            attempt: attempt + 1,
                            wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            reason: error.describe(),
                        });
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base_url: &str, api_key: Option<&str>) -> OpenAiChatSettings {
        OpenAiChatSettings {
            base_url: base_url.parse().unwrap(),
            api_key: api_key.map(SecretString::from),
            model: "gpt-test".into(),
            max_output_tokens: 1024,
            largest_output_tokens: 16384,
            token_parameter: TokenParameter::default(),
            first_byte_timeout: Duration::from_secs(1),
            stall_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_endpoint_adds_v1_unless_the_base_url_has_it() {
        assert_eq!(
            settings("https://api.openai.com", None).endpoint(),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            settings("https://api.openai.com/v1/", None).endpoint(),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            settings("http://127.0.0.1:11434/", None).endpoint(),
            "http://127.0.0.1:11434/v1/chat/completions"
        );
    }

    #[test]
    fn openai_itself_needs_a_key_and_a_local_server_does_not() {
        assert!(!settings("https://api.openai.com", None).is_configured());
        assert!(settings("https://api.openai.com", Some("sk-test")).is_configured());
        assert!(settings("http://localhost:8000", None).is_configured());
    }

    #[test]
    fn a_429_for_insufficient_quota_is_given_up_and_a_plain_one_is_retried() {
        let quota = AttemptError::Status {
            status: 429,
            headers: vec![("retry-after".into(), "1".into())],
            body: r#"{"error":{"message":"You exceeded your current quota.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#.into(),
        };
        assert_eq!(quota.decide(0, 0.0), Decision::GiveUp);
        let busy = AttemptError::Status {
            status: 429,
            headers: vec![("retry-after".into(), "1".into())],
            body: r#"{"error":{"message":"Rate limit reached.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#.into(),
        };
        assert_eq!(busy.decide(0, 0.0), Decision::RetryAfter(Duration::from_secs(1)));
        assert_eq!(
            AttemptError::Stream(StreamError::Incomplete).decide(0, 0.0),
            Decision::RetryAfter(Duration::from_millis(500))
        );
    }
}
