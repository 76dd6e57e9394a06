//! The Anthropic Messages API over our own thin reqwest client: `POST {base}/v1/messages` with
//! `stream: true`, parsed as server-sent events, retried as `retry` decides. Ollama and
//! llama.cpp's server accept the same protocol, so a base URL pointing at one serves a local
//! model with no key.

use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::messages::ModelReply;
use super::provider::{ModelDelta, ModelProvider, ModelRequest, ProviderError};
use super::retry::{self, Decision, Failure};
use super::sse::SseParser;
use super::stream::{ApiError, Assembled, Assembler, StreamError};

#[derive(Debug, Clone)]
pub struct AnthropicSettings {
    /// `ANTHROPIC_BASE_URL`, default `https://api.anthropic.com`.
    pub base_url: Url,
    /// `ANTHROPIC_API_KEY`, sent as `x-api-key`. Local servers need none.
    pub api_key: Option<SecretString>,
    /// `ANTHROPIC_VERSION`, default `2023-06-01`.
    pub version: String,
    /// `ANTHROPIC_MODEL`.
    pub model: String,
    /// `ANTHROPIC_MAX_TOKENS`: output tokens per model call.
    pub max_tokens: u32,
    /// `ANTHROPIC_MAX_OUTPUT_TOKENS`: the model's largest output, asked for once when a reply
    /// is cut inside a tool call.
    pub max_output_tokens: u32,
    /// `ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS`: how long to wait for the response to begin.
    pub first_byte_timeout: Duration,
    /// `ANTHROPIC_STALL_TIMEOUT_SECS`: a stream silent for this long between events (the API
    /// sends `ping`s meanwhile) is treated as broken.
    pub stall_timeout: Duration,
}

impl AnthropicSettings {
    pub const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com";

    /// Whether calls can succeed at all: a key, or a base URL other than Anthropic's own.
    pub fn is_configured(&self) -> bool {
        self.api_key.is_some() || self.base_url.as_str().trim_end_matches('/') != Self::DEFAULT_BASE_URL
    }
}

#[derive(Debug, Clone)]
pub struct AnthropicProvider {
    http: reqwest::Client,
    settings: AnthropicSettings,
}

impl AnthropicProvider {
    pub fn new(settings: AnthropicSettings) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("a reqwest client with default TLS builds");
        Self { http, settings }
    }

    /// The request body, serialised once per call (retries resend the same bytes) straight from
    /// the request, without an intermediate JSON tree of the history: prompt-caching breakpoints
    /// on the tools and the system prompt, which stay the same from call to call.
    pub fn body(&self, request: &ModelRequest) -> bytes::Bytes {
        let max_tokens = if request.largest_output {
            self.settings.max_output_tokens.max(self.settings.max_tokens)
        } else {
            self.settings.max_tokens
        };
        let last = request.tools.len().saturating_sub(1);
        let body = wire::Body {
            model: request.model.as_deref().unwrap_or(&self.settings.model),
            max_tokens,
            stream: true,
            system: [wire::SystemBlock {
                kind: "text",
                text: &request.system,
                cache_control: wire::EPHEMERAL,
            }],
            messages: &request.messages,
            tools: request
                .tools
                .iter()
                .enumerate()
                .map(|(index, tool)| wire::Tool {
                    name: &tool.name,
                    description: &tool.description,
                    input_schema: &tool.input_schema,
                    cache_control: (index == last).then_some(wire::EPHEMERAL),
                })
                .collect(),
        };
        // Our own structs of strings and JSON values: serialising them cannot fail.
        serde_json::to_vec(&body).unwrap_or_default().into()
    }

    fn endpoint(&self) -> String {
        format!("{}/v1/messages", self.settings.base_url.as_str().trim_end_matches('/'))
    }

    /// One call, measured: `jarvis_model_calls_total` by outcome, its duration, and the time to
    /// its first text.
    async fn attempt(
        &self,
        body: &bytes::Bytes,
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
        body: &bytes::Bytes,
        on_delta: &mut (dyn FnMut(ModelDelta) + Send),
    ) -> Result<ModelReply, AttemptError> {
        let mut builder = self
            .http
            .post(self.endpoint())
            .header("anthropic-version", &self.settings.version)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(key) = &self.settings.api_key {
            builder = builder.header("x-api-key", key.expose_secret());
        }
        let response = match tokio::time::timeout(self.settings.first_byte_timeout, builder.send()).await {
            Err(_) => return Err(AttemptError::Stalled { waited: self.settings.first_byte_timeout }),
            Ok(Err(error)) => return Err(AttemptError::Connection(error.to_string())),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        if status != 200 {
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
        let mut assembler = Assembler::new();
        // The first event (`message_start`) comes at once; later ones, or pings, keep coming.
        let mut wait = self.settings.first_byte_timeout;
        let mut last_chunk = tokio::time::Instant::now();
        // One timer for the whole stream, moved on only when it fires: a timeout per chunk
        // would register and cancel a timer for every delta.
        let stall = tokio::time::sleep_until(last_chunk + wait);
        tokio::pin!(stall);
        loop {
            let chunk = tokio::select! {
                biased;
                chunk = bytes.next() => chunk,
                () = &mut stall => {
                    let due = last_chunk + wait;
                    if tokio::time::Instant::now() < due {
                        stall.as_mut().reset(due);
                        continue;
                    }
                    return Err(AttemptError::Stalled { waited: wait });
                }
            };
            last_chunk = tokio::time::Instant::now();
            wait = self.settings.stall_timeout;
            let chunk = match chunk {
                None => {
                    assembler.finish()?;
                    return Err(AttemptError::Stream(StreamError::Incomplete));
                }
                Some(Err(error)) => return Err(AttemptError::Connection(error.to_string())),
                Some(Ok(chunk)) => chunk,
            };
            for event in parser.push(&chunk) {
                let used_before = assembler.usage();
                let assembled = assembler.apply_json(&event.data)?;
                if assembler.usage() != used_before {
                    on_delta(ModelDelta::Usage(assembler.usage()));
                }
                match assembled {
                    Some(Assembled::Text(text)) => on_delta(ModelDelta::Text(text)),
                    Some(Assembled::ToolUseStarted { id, name }) => {
                        on_delta(ModelDelta::ToolUseStarted { id, name })
                    }
                    Some(Assembled::Done(reply)) => return Ok(reply),
                    None => {}
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
    /// For the log: the status, the API's error type and message, and its request id.
    fn describe(&self) -> String {
        match self {
            Self::Status { status, headers, body } => {
                let (error, request_id) = api_error(headers, body);
                format!(
                    "status {status}, {}: {} (request-id {})",
                    error.kind,
                    error.message,
                    request_id.as_deref().unwrap_or("none")
                )
            }
            Self::Connection(error) => format!("connection: {error}"),
            Self::Stalled { waited } => format!("no event for {} s", waited.as_secs_f32()),
            Self::Stream(error) => error.to_string(),
        }
    }

    fn into_provider_error(self) -> ProviderError {
        match self {
            Self::Status { status, headers, body } => {
                let (error, request_id) = api_error(&headers, &body);
                ProviderError::Status { status, kind: error.kind, message: error.message, request_id }
            }
            Self::Connection(error) => ProviderError::Connection(error),
            Self::Stalled { .. } => ProviderError::Stalled,
            Self::Stream(error) => ProviderError::Stream(error),
        }
    }
}

/// The API's error object and request id (the `request-id` header, else the body's
/// `request_id`) of an error response.
fn api_error(headers: &[(String, String)], body: &str) -> (ApiError, Option<String>) {
    let value = serde_json::from_str::<Value>(body).ok();
    let error = value
        .as_ref()
        .and_then(|value| serde_json::from_value::<ApiError>(value.get("error")?.clone()).ok())
        .unwrap_or(ApiError { kind: "unknown".into(), message: body.chars().take(300).collect() });
    let request_id = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("request-id"))
        .map(|(_, value)| value.clone())
        .or_else(|| value.as_ref()?.get("request_id")?.as_str().map(str::to_owned));
    (error, request_id)
}

impl ModelProvider for AnthropicProvider {
    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
        on_delta: &'a mut (dyn FnMut(ModelDelta) + Send),
    ) -> BoxFuture<'a, Result<ModelReply, ProviderError>> {
        // The caller's span (the run's) as the call begins: the parent of this call's rare log
        // lines, without entering it on every poll of the stream.
        let span = tracing::Span::current();
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
                let decision = {
                    let failure = match &error {
                        AttemptError::Status { status, headers, body } => {
                            Failure::Status { status: *status, headers, body }
                        }
                        AttemptError::Connection(_) | AttemptError::Stalled { .. } => Failure::Connection,
                        AttemptError::Stream(StreamError::Api(api)) => {
                            Failure::StreamError { kind: &api.kind }
                        }
                        AttemptError::Stream(StreamError::Incomplete) => Failure::Connection,
                        AttemptError::Stream(StreamError::Malformed { .. }) => {
                            Failure::StreamError { kind: "malformed" }
                        }
                    };
                    retry::decide(&failure, attempt, rand::random::<f64>())
                };
                match decision {
                    Decision::GiveUp => {
                        tracing::error!(parent: &span, attempt, error = %error.describe(), "agent.model_call_failed");
                        return Err(error.into_provider_error());
                    }
                    Decision::RetryAfter(wait) => {
                        metrics::counter!("jarvis_model_retries_total").increment(1);
                        tracing::info!(parent: &span, attempt, wait_ms = wait.as_millis() as u64, error = %error.describe(), "agent.model_call_retrying");
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

/// The Messages API's request body, borrowing from the [`ModelRequest`].
mod wire {
    use serde::Serialize;
    use serde_json::Value;

    use crate::agent::messages::Message;

    #[derive(Serialize, Clone, Copy)]
    pub(super) struct CacheControl {
        #[serde(rename = "type")]
        kind: &'static str,
    }

    /// A prompt-caching breakpoint.
    pub(super) const EPHEMERAL: CacheControl = CacheControl { kind: "ephemeral" };

    #[derive(Serialize)]
    pub(super) struct Body<'a> {
        pub model: &'a str,
        pub max_tokens: u32,
        pub stream: bool,
        pub system: [SystemBlock<'a>; 1],
        pub messages: &'a [Message],
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub tools: Vec<Tool<'a>>,
    }

    #[derive(Serialize)]
    pub(super) struct SystemBlock<'a> {
        #[serde(rename = "type")]
        pub kind: &'static str,
        pub text: &'a str,
        pub cache_control: CacheControl,
    }

    #[derive(Serialize)]
    pub(super) struct Tool<'a> {
        pub name: &'a str,
        pub description: &'a str,
        pub input_schema: &'a Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub cache_control: Option<CacheControl>,
    }
}
