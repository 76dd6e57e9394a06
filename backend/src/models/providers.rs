//! One provider per configured model, speaking its protocol to its service.

use std::sync::Arc;
use std::time::Duration;

use super::file::{ModelSpec, ProviderKind};
use crate::agent::anthropic::{AnthropicProvider, AnthropicSettings};
use crate::agent::openai_chat::{OpenAiChatProvider, OpenAiChatSettings};
use crate::agent::provider::ModelProvider;

/// What every model's provider shares, from the server's configuration.
#[derive(Debug, Clone)]
pub struct ProviderDefaults {
    /// `ANTHROPIC_VERSION`: the `anthropic-version` header.
    pub anthropic_version: String,
    /// `ANTHROPIC_MAX_TOKENS`: output tokens asked for per call, at most the model's own limit.
    pub max_tokens: u32,
    /// How long a call may take to begin answering, and a stream may stay silent.
    pub first_byte_timeout: Duration,
    pub stall_timeout: Duration,
}

pub(super) fn provider_for(spec: &ModelSpec, defaults: &ProviderDefaults) -> Arc<dyn ModelProvider> {
    let max_tokens = defaults.max_tokens.min(spec.max_output_tokens).max(1);
    match spec.provider {
        ProviderKind::Anthropic => Arc::new(AnthropicProvider::new(AnthropicSettings {
            base_url: spec.base_url.clone(),
            api_key: spec.api_key.clone(),
            version: defaults.anthropic_version.clone(),
            model: spec.model.clone(),
            max_tokens,
            max_output_tokens: spec.max_output_tokens,
            first_byte_timeout: defaults.first_byte_timeout,
            stall_timeout: defaults.stall_timeout,
        })),
        ProviderKind::OpenAi => Arc::new(OpenAiChatProvider::new(OpenAiChatSettings {
            base_url: spec.base_url.clone(),
            api_key: spec.api_key.clone(),
            model: spec.model.clone(),
            max_output_tokens: max_tokens,
            largest_output_tokens: spec.max_output_tokens,
            token_parameter: spec.token_parameter,
            first_byte_timeout: defaults.first_byte_timeout,
            stall_timeout: defaults.stall_timeout,
        })),
    }
}
