//! The model section: the Anthropic Messages API (or a local server that speaks it) and the
//! limits of one run.

use jarvis_backend::agent::anthropic::AnthropicSettings;
use secrecy::SecretString;

use super::ConfigError;
use super::parse::{parse_or, positive_secs, url_or};

/// The model service (the Anthropic Messages API, or a local server that speaks it) and the
/// limits of one run.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// The provider's settings, each field named after its variable (see
    /// [`AnthropicSettings`]): `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`; Ollama:
    /// `http://localhost:11434`), `ANTHROPIC_API_KEY`, `ANTHROPIC_VERSION` (default
    /// `2023-06-01`), `ANTHROPIC_MODEL` (default `claude-sonnet-4-5`), `ANTHROPIC_MAX_TOKENS`
    /// (default 4096), `ANTHROPIC_MAX_OUTPUT_TOKENS` (default 32000),
    /// `ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS` (default 15) and `ANTHROPIC_STALL_TIMEOUT_SECS`
    /// (default 45).
    pub provider: AnthropicSettings,
    /// `JARVIS_MAX_MODEL_CALLS`: model calls per run (default 12).
    pub max_model_calls: u32,
    /// `JARVIS_RUN_TOKEN_BUDGET`: tokens per run (default 200000).
    pub run_token_budget: u64,
    /// `JARVIS_CONTEXT_TOKENS`: history sent per call at most (default 150000).
    pub context_tokens: usize,
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<ModelConfig, ConfigError> {
    let provider = AnthropicSettings {
        base_url: url_or(
            "ANTHROPIC_BASE_URL",
            get("ANTHROPIC_BASE_URL"),
            AnthropicSettings::DEFAULT_BASE_URL,
        )?,
        api_key: get("ANTHROPIC_API_KEY").map(SecretString::from),
        version: get("ANTHROPIC_VERSION").unwrap_or_else(|| "2023-06-01".to_owned()),
        model: get("ANTHROPIC_MODEL").unwrap_or_else(|| "claude-sonnet-4-5".to_owned()),
        max_tokens: parse_or("ANTHROPIC_MAX_TOKENS", get("ANTHROPIC_MAX_TOKENS"), 4096)?,
        max_output_tokens: parse_or(
            "ANTHROPIC_MAX_OUTPUT_TOKENS",
            get("ANTHROPIC_MAX_OUTPUT_TOKENS"),
            32_000,
        )?,
        first_byte_timeout: positive_secs(
            "ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS",
            get("ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS"),
            15.0,
        )?,
        stall_timeout: positive_secs(
            "ANTHROPIC_STALL_TIMEOUT_SECS",
            get("ANTHROPIC_STALL_TIMEOUT_SECS"),
            45.0,
        )?,
    };
    Ok(ModelConfig {
        provider,
        max_model_calls: parse_or("JARVIS_MAX_MODEL_CALLS", get("JARVIS_MAX_MODEL_CALLS"), 12)?,
        run_token_budget: parse_or("JARVIS_RUN_TOKEN_BUDGET", get("JARVIS_RUN_TOKEN_BUDGET"), 200_000)?,
        context_tokens: parse_or("JARVIS_CONTEXT_TOKENS", get("JARVIS_CONTEXT_TOKENS"), 150_000)?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::tests::{APP_DB, DB, config_from};

    #[test]
    fn model_timeouts_default_to_a_shorter_first_byte_wait_and_refuse_nonsense() {
        let config = config_from(&[DB, APP_DB]).unwrap();
        assert_eq!(config.model.provider.first_byte_timeout, Duration::from_secs(15));
        assert_eq!(config.model.provider.stall_timeout, Duration::from_secs(45));
        assert_eq!(config.model.provider.max_output_tokens, 32_000);
        let config = config_from(&[DB, APP_DB, ("ANTHROPIC_STALL_TIMEOUT_SECS", "2.5")]).unwrap();
        assert_eq!(config.model.provider.stall_timeout, Duration::from_millis(2500));
        for bad in ["0", "-1", "NaN", "soon", "86400"] {
            let error = config_from(&[DB, APP_DB, ("ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS", bad)]).unwrap_err();
            assert!(
                error.to_string().starts_with("ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS is invalid"),
                "{bad}: {error}"
            );
        }
    }
}
