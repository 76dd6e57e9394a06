//! The Anthropic Messages API over our own thin reqwest client: `POST {base}/v1/messages` with
//! `stream: true`, parsed as server-sent events, retried as `retry` decides. Ollama and
//! llama.cpp's server accept the same protocol, so a base URL pointing at one serves a local
//! model with no key.

use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
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
    /// A stream silent for this long is treated as broken.
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

    /// The request body: prompt-caching breakpoints on the tools and the system prompt, which
    /// stay the same from call to call.
    pub fn body(&self, request: &ModelRequest) -> Value {
        let mut tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| json!({ "name": tool.name, "description": tool.description, "input_schema": tool.input_schema }))
            .collect();
        if let Some(last) = tools.last_mut() {
            last["cache_control"] = json!({ "type": "ephemeral" });
        }
        let mut body = json!({
            "model": request.model.as_deref().unwrap_or(&self.settings.model),
            "max_tokens": self.settings.max_tokens,
            "stream": true,
            "system": [{ "type": "text", "text": request.system, "cache_control": { "type": "ephemeral" } }],
            "messages": request.messages,
        });
        if !tools.is_empty() {
            body["tools"] = Value::Array(tools);
        }
        body
    }

    fn endpoint(&self) -> String {
        format!("{}/v1/messages", self.settings.base_url.as_str().trim_end_matches('/'))
    }

    async fn attempt(
        &self,
        body: &Value,
        on_delta: &mut (dyn FnMut(ModelDelta) + Send),
    ) -> Result<ModelReply, AttemptError> {
        let mut builder = self
            .http
            .post(self.endpoint())
            .header("anthropic-version", &self.settings.version)
            .header("content-type", "application/json")
            .json(body);
        if let Some(key) = &self.settings.api_key {
            builder = builder.header("x-api-key", key.expose_secret());
        }
        let response = builder.send().await.map_err(|error| AttemptError::Connection(error.to_string()))?;
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
        loop {
            let chunk = match tokio::time::timeout(self.settings.stall_timeout, bytes.next()).await {
                Err(_) => return Err(AttemptError::Stalled),
                Ok(None) => {
                    assembler.finish()?;
                    return Err(AttemptError::Stream(StreamError::Incomplete));
                }
                Ok(Some(Err(error))) => return Err(AttemptError::Connection(error.to_string())),
                Ok(Some(Ok(chunk))) => chunk,
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
    Stalled,
    Stream(StreamError),
}

impl From<StreamError> for AttemptError {
    fn from(error: StreamError) -> Self {
        Self::Stream(error)
    }
}

impl AttemptError {
    fn describe(&self) -> String {
        match self {
            Self::Status { status, .. } => format!("status {status}"),
            Self::Connection(error) => format!("connection: {error}"),
            Self::Stalled => "stalled".into(),
            Self::Stream(error) => error.to_string(),
        }
    }

    fn into_provider_error(self) -> ProviderError {
        match self {
            Self::Status { status, body, .. } => {
                let error = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|value| serde_json::from_value::<ApiError>(value.get("error")?.clone()).ok())
                    .unwrap_or(ApiError {
                        kind: "unknown".into(),
                        message: body.chars().take(300).collect(),
                    });
                ProviderError::Status { status, kind: error.kind, message: error.message }
            }
            Self::Connection(error) => ProviderError::Connection(error),
            Self::Stalled => ProviderError::Stalled,
            Self::Stream(error) => ProviderError::Stream(error),
        }
    }
}

impl ModelProvider for AnthropicProvider {
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
                let decision = {
                    let failure = match &error {
                        AttemptError::Status { status, headers, body } => {
                            Failure::Status { status: *status, headers, body }
                        }
                        AttemptError::Connection(_) | AttemptError::Stalled => Failure::Connection,
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
                        tracing::warn!(attempt, error = %error.describe(), "agent.model_call_failed");
                        return Err(error.into_provider_error());
                    }
                    Decision::RetryAfter(wait) => {
                        tracing::info!(attempt, wait_ms = wait.as_millis() as u64, error = %error.describe(), "agent.model_call_retrying");
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
