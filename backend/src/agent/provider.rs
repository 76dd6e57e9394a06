//! The seam between the agent loop and a model service: one streaming completion with tools.

use futures::future::BoxFuture;

use super::messages::{Message, ModelReply, ToolSpec, Usage};
use super::stream::StreamError;

/// One model call.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// The model to use; `None`: the provider's configured one.
    pub model: Option<String>,
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
}

/// What the provider reports while a call is under way.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelDelta {
    Text(String),
    ToolUseStarted {
        id: String,
        name: String,
    },
    /// What the attempt in progress has used so far (from `message_start` and `message_delta`).
    Usage(Usage),
    /// The attempt failed and another follows after `wait_ms`; text of the failed attempt is void.
    Retrying {
        attempt: u32,
        wait_ms: u64,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error(
        "No model is configured. Set ANTHROPIC_API_KEY to use Claude, or ANTHROPIC_BASE_URL to a local server that speaks the Messages API (Ollama, llama.cpp)."
    )]
    NotConfigured,
    #[error("The model service answered {status}: {message}")]
    Status { status: u16, kind: String, message: String },
    #[error("The model service could not be reached: {0}")]
    Connection(String),
    #[error("The model service stopped answering mid-reply.")]
    Stalled,
    #[error("{0}")]
    Stream(#[from] StreamError),
}

impl ProviderError {
    /// A stable code for the protocol.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured => "model_not_configured",
            Self::Status { status: 429, .. } => "model_rate_limited",
            Self::Status { status: 401 | 403, .. } => "model_auth_failed",
            Self::Status { status: 529, .. } => "model_overloaded",
            Self::Status { .. } => "model_error",
            Self::Connection(_) | Self::Stalled => "model_unreachable",
            Self::Stream(_) => "model_error",
        }
    }
}

pub trait ModelProvider: Send + Sync {
    /// Streams one completion, reporting deltas as they come, and returns the whole reply.
    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
        on_delta: &'a mut (dyn FnMut(ModelDelta) + Send),
    ) -> BoxFuture<'a, Result<ModelReply, ProviderError>>;
}
