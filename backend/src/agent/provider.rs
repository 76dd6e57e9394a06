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
    /// Ask with the model's largest output limit rather than the usual one (a reply was cut
    /// inside a tool call).
    pub largest_output: bool,
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
    /// An error status. What the user reads is ours; the API's own words (`kind`, `message`,
    /// `request_id`) go to the log.
    #[error("{}", status_sentence(*.status, .message))]
    Status { status: u16, kind: String, message: String, request_id: Option<String> },
    #[error("The model service could not be reached. Try again in a moment.")]
    Connection(String),
    #[error("The model service stopped answering mid-reply. Try again in a moment.")]
    Stalled,
    #[error("{}", stream_sentence(.0))]
    Stream(#[from] StreamError),
}

/// What may succeed later is the provider being away; a conversation too large is the user's to
/// change; the rest (a refused key, a missing model, a request the API refuses) is ours to fix.
impl crate::Kinded for ProviderError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::NotConfigured => ErrorKind::Unavailable,
            Self::Status { status: 413, .. } => ErrorKind::Invalid,
            Self::Stream(error) => error.kind(),
            _ if self.retryable() => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }
}

/// Whether the API said the account's spend limit is reached: a 429, or a 400 ("The API also
/// returns a 400 when usage reaches an organization or workspace spend limit you set").
fn spend_limit(status: u16, message: &str) -> bool {
    matches!(status, 400 | 429) && super::retry::is_spend_limit(message)
}

fn status_sentence(status: u16, message: &str) -> &'static str {
    if spend_limit(status, message) {
        return "Jarvis's model account has reached its spending limit. An operator has to raise it; trying again will not help.";
    }
    match status {
        400 => {
            "The model service could not accept this conversation. The problem is logged for us to fix; trying again will not help."
        }
        401 | 403 => {
            "Jarvis's access to the model service was refused. An operator has to fix its API key; trying again will not help."
        }
        404 => {
            "The model this account uses is not available. An operator has to change the model; trying again will not help."
        }
        402 => {
            "Jarvis's model account has a billing problem. An operator has to fix its payment details; trying again will not help."
        }
        413 => "This conversation is too large for the model service. Start a new conversation.",
        429 => "The model service is busy with too many requests. Try again in a minute.",
        529 => "The model service is overloaded right now. Try again in a moment.",
        _ => "The model service had a problem answering. Try again in a moment.",
    }
}

fn stream_sentence(error: &StreamError) -> &'static str {
    match error {
        StreamError::Api(api) if api.kind == "overloaded_error" => {
            "The model service is overloaded right now. Try again in a moment."
        }
        StreamError::Api(api) if api.kind == "billing_error" => {
            "Jarvis's model account has a billing problem. An operator has to fix its payment details; trying again will not help."
        }
        StreamError::Api(api) if api.kind == "invalid_request_error" => {
            "The model service could not accept this conversation. The problem is logged for us to fix; trying again will not help."
        }
        StreamError::Incomplete => "The model service stopped answering mid-reply. Try again in a moment.",
        _ => "The model service had a problem answering. Try again in a moment.",
    }
}

impl ProviderError {
    /// Whether the same request may succeed later: not for a request the API refused as such
    /// (400, 401, 402 billing, 403, 404, 413), a spend limit reached, or a missing configuration.
    pub fn retryable(&self) -> bool {
        match self {
            Self::NotConfigured => false,
            Self::Status { status, message, .. } if spend_limit(*status, message) => false,
            Self::Status { status, .. } => !matches!(status, 400 | 401 | 402 | 403 | 404 | 413),
            Self::Stream(StreamError::Api(api)) => !matches!(
                api.kind.as_str(),
                "invalid_request_error"
                    | "authentication_error"
                    | "billing_error"
                    | "permission_error"
                    | "not_found_error"
                    | "request_too_large"
            ),
            Self::Connection(_) | Self::Stalled | Self::Stream(_) => true,
        }
    }

    /// A stable code for the protocol.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured => "model_not_configured",
            Self::Status { status, message, .. } if spend_limit(*status, message) => "model_spend_limit",
            Self::Status { status: 402, .. } => "model_billing_problem",
            Self::Status { status: 429, .. } => "model_rate_limited",
            Self::Status { status: 401 | 403, .. } => "model_auth_failed",
            Self::Status { status: 529, .. } => "model_overloaded",
            Self::Status { status: 400 | 404 | 413, .. } => "model_request_refused",
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

#[cfg(test)]
mod tests {
    use super::ProviderError;

    fn status(status: u16, kind: &str, message: &str) -> ProviderError {
        ProviderError::Status { status, kind: kind.into(), message: message.into(), request_id: None }
    }

    #[test]
    fn a_spend_limit_or_a_billing_problem_is_the_operators_and_never_retried() {
        let limit = "You have reached your specified workspace API usage limits. Your spend limit resets on 2026-12-01.";
        for error in [status(400, "invalid_request_error", limit), status(429, "rate_limit_error", limit)] {
            assert!(!error.retryable(), "{error:?}");
            assert_eq!(error.code(), "model_spend_limit");
            assert!(error.to_string().contains("spending limit"), "{error}");
        }
        let billing = status(402, "billing_error", "There is an issue with your billing.");
        assert!(!billing.retryable());
        assert_eq!(billing.code(), "model_billing_problem");
        assert!(billing.to_string().contains("billing problem"), "{billing}");
        // An ordinary 429 and a 400 that is not about money keep their meaning.
        let busy = status(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        );
        assert!(busy.retryable());
        assert_eq!(busy.code(), "model_rate_limited");
        let refused = status(400, "invalid_request_error", "messages: text content blocks must be non-empty");
        assert!(!refused.retryable());
        assert_eq!(refused.code(), "model_request_refused");
        assert!(refused.to_string().contains("could not accept this conversation"), "{refused}");
    }
}
