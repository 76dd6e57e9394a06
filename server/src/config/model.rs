//! The model section: the models on offer (`JARVIS_MODELS_FILE`, or the one model of the
//! `ANTHROPIC_*` variables), what their providers share, and the limits of one run.

use jarvis_backend::agent::anthropic::AnthropicSettings;
use jarvis_backend::billing::plans::Catalog;
use jarvis_backend::models::{ModelSpec, ModelsSetup, ProviderDefaults, ProviderKind};
use secrecy::SecretString;

use super::ConfigError;
use super::parse::{parse_or, positive_secs, url_or};

/// The context window assumed for the `ANTHROPIC_*` model (Claude's); `JARVIS_CONTEXT_TOKENS`
/// keeps the history below it.
const ANTHROPIC_CONTEXT_WINDOW: u64 = 200_000;

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
    /// `JARVIS_MODELS_FILE`: a JSON file of the models users may choose (see the README), each
    /// with its provider, service, key variable, limits, abilities and prices. Unset: one model,
    /// `ANTHROPIC_MODEL` through the `ANTHROPIC_*` provider (id = its name), plus every model a
    /// plan names, through the same provider; prices from the plans' table.
    pub models: ModelsSetup,
    /// Whether `models` comes from `JARVIS_MODELS_FILE`.
    pub models_file: bool,
    /// Without a models file: whether the `ANTHROPIC_*` model reads image and PDF attachments
    /// (`ANTHROPIC_IMAGES`, `ANTHROPIC_PDF`, default true: the Messages API takes both; set
    /// false for a local server without vision).
    pub anthropic_reads: Reads,
    /// `JARVIS_MAX_MODEL_CALLS`: model calls per run (default 12).
    pub max_model_calls: u32,
    /// `JARVIS_RUN_TOKEN_BUDGET`: tokens per run (default 200000).
    pub run_token_budget: u64,
    /// `JARVIS_CONTEXT_TOKENS`: history sent per call at most (default 150000).
    pub context_tokens: usize,
}

impl ModelConfig {
    /// What every model's provider shares: the `anthropic-version` header, the output tokens
    /// per call and the timeouts (`ANTHROPIC_VERSION`, `ANTHROPIC_MAX_TOKENS`,
    /// `ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS`, `ANTHROPIC_STALL_TIMEOUT_SECS`).
    pub fn provider_defaults(&self) -> ProviderDefaults {
        ProviderDefaults {
            anthropic_version: self.provider.version.clone(),
            max_tokens: self.provider.max_tokens,
            first_byte_timeout: self.provider.first_byte_timeout,
            stall_timeout: self.provider.stall_timeout,
        }
    }
}

/// Which attachments the `ANTHROPIC_*` model reads besides text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    pub images: bool,
    pub pdf: bool,
}

/// The `ANTHROPIC_*` provider's model `name`, as a configured model. The Messages API reads
/// images and PDFs (`image` and `document` blocks), so it does by default, wherever
/// `ANTHROPIC_BASE_URL` points (a proxy, a test double); a local server without vision is
/// declared by `ANTHROPIC_IMAGES=false` / `ANTHROPIC_PDF=false`.
fn anthropic_model(provider: &AnthropicSettings, name: &str, reads: Reads) -> ModelSpec {
    ModelSpec {
        id: name.to_owned(),
        display_name: name.to_owned(),
        provider: ProviderKind::Anthropic,
        base_url: provider.base_url.clone(),
        api_key: provider.api_key.clone(),
        model: name.to_owned(),
        context_window: ANTHROPIC_CONTEXT_WINDOW,
        max_output_tokens: provider.max_output_tokens.max(provider.max_tokens),
        images: reads.images,
        pdf: reads.pdf,
        prices: None,
        token_parameter: Default::default(),
    }
}

/// The models file (its `api_key_env` variables read through `get`), or the one `ANTHROPIC_*`
/// model.
fn models(
    get: &impl Fn(&str) -> Option<String>,
    provider: &AnthropicSettings,
    reads: Reads,
) -> Result<(ModelsSetup, bool), ConfigError> {
    let Some(path) = get("JARVIS_MODELS_FILE") else {
        let setup = ModelsSetup {
            models: vec![anthropic_model(provider, &provider.model, reads)],
            default: provider.model.clone(),
        };
        return Ok((setup, false));
    };
    let invalid = |reason: String| ConfigError::Invalid { name: "JARVIS_MODELS_FILE", reason };
    let json =
        std::fs::read_to_string(&path).map_err(|error| invalid(format!("cannot read {path}: {error}")))?;
    let setup = ModelsSetup::from_json(&json, get).map_err(|error| invalid(error.to_string()))?;
    Ok((setup, true))
}

/// Joins the models to the plans: with a models file, every model a plan allows must be listed;
/// without one, a model a plan names is served by the `ANTHROPIC_*` provider too.
pub(super) fn with_plans(model: &mut ModelConfig, catalog: &Catalog) -> Result<(), ConfigError> {
    if model.models_file {
        let plans = catalog.plans().iter().map(|plan| (plan.id.as_str(), plan.models.as_slice()));
        return model
            .models
            .check_plans(plans)
            .map_err(|error| ConfigError::Invalid { name: "JARVIS_MODELS_FILE", reason: error.to_string() });
    }
    for name in catalog.plans().iter().flat_map(|plan| &plan.models) {
        if !model.models.models.iter().any(|spec| &spec.id == name) {
            let spec = anthropic_model(&model.provider, name, model.anthropic_reads);
            model.models.models.push(spec);
        }
    }
    Ok(())
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
    let anthropic_reads = Reads {
        images: parse_or("ANTHROPIC_IMAGES", get("ANTHROPIC_IMAGES"), true)?,
        pdf: parse_or("ANTHROPIC_PDF", get("ANTHROPIC_PDF"), true)?,
    };
    let (models, models_file) = models(get, &provider, anthropic_reads)?;
    Ok(ModelConfig {
        models,
        models_file,
        anthropic_reads,
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

    fn temp_file(json: &str) -> String {
        let path = std::env::temp_dir().join(format!("jarvis-config-{}.json", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, json).unwrap();
        path.display().to_string()
    }

    #[test]
    fn without_a_models_file_the_anthropic_model_and_the_models_plans_name_are_offered() {
        let config = config_from(&[DB, APP_DB, ("ANTHROPIC_MODEL", "claude-opus-4-5")]).unwrap();
        let ids: Vec<&str> = config.model.models.models.iter().map(|model| model.id.as_str()).collect();
        assert_eq!((ids, config.model.models.default.as_str()), (vec!["claude-opus-4-5"], "claude-opus-4-5"));
        assert!(config.model.models.models[0].images, "the Messages API reads images");

        let plans = temp_file(
            r#"{"plans": [{"id": "free", "name": "Free", "models": ["claude-haiku-4-5"]}], "default_plan": "free"}"#,
        );
        let config = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_PLANS_FILE", &plans),
            ("ANTHROPIC_BASE_URL", "http://127.0.0.1:11434"),
            ("ANTHROPIC_MODEL", "llama3.2"),
            ("ANTHROPIC_IMAGES", "false"),
        ])
        .unwrap();
        let ids: Vec<&str> = config.model.models.models.iter().map(|model| model.id.as_str()).collect();
        assert_eq!(ids, vec!["llama3.2", "claude-haiku-4-5"]);
        assert!(!config.model.models.models[0].images, "a local server without vision says so");
        assert!(config.model.models.models[0].pdf);
    }

    #[test]
    fn a_models_file_is_read_and_a_bad_one_stops_the_start_with_a_sentence() {
        let file = temp_file(
            r#"{"models": [{"id": "fast", "provider": "openai", "api_key_env": "MY_OPENAI_KEY", "model": "gpt-4o-mini",
                 "context_window": 128000, "max_output_tokens": 16384, "images": true,
                 "prices": {"input": 0.15, "output": 0.6, "cache_read": 0.075, "cache_write": 0}}],
                "default": "fast"}"#,
        );
        let config =
            config_from(&[DB, APP_DB, ("JARVIS_MODELS_FILE", &file), ("MY_OPENAI_KEY", "sk-test")]).unwrap();
        assert!(config.model.models_file);
        assert_eq!(config.model.models.models[0].base_url.as_str(), "https://api.openai.com/");
        assert!(!format!("{config:?}").contains("sk-test"), "the key stays secret");

        let error = config_from(&[DB, APP_DB, ("JARVIS_MODELS_FILE", &file)]).unwrap_err().to_string();
        assert_eq!(
            error,
            "JARVIS_MODELS_FILE is invalid: model \"fast\" reads its key from MY_OPENAI_KEY, which is not set; set it, or remove api_key_env for a server that needs no key"
        );
        let plans = temp_file(
            r#"{"plans": [{"id": "free", "name": "Free", "models": ["slow"]}], "default_plan": "free"}"#,
        );
        let error = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_MODELS_FILE", &file),
            ("MY_OPENAI_KEY", "sk-test"),
            ("JARVIS_PLANS_FILE", &plans),
        ])
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "JARVIS_MODELS_FILE is invalid: plan \"free\" allows model \"slow\", which is not one of the models listed"
        );
        let missing =
            config_from(&[DB, APP_DB, ("JARVIS_MODELS_FILE", "/nonexistent/models.json")]).unwrap_err();
        assert!(missing.to_string().starts_with("JARVIS_MODELS_FILE is invalid: cannot read"), "{missing}");
    }

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
