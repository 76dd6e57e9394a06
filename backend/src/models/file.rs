//! `JARVIS_MODELS_FILE`: the models a deployment offers, read and checked once at start-up, each
//! mistake told as a sentence that names the model and the field.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::agent::openai_chat::TokenParameter;
use crate::billing::plans::ModelPrice;

/// The protocol a model is spoken to in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// The Anthropic Messages API (Claude; Ollama and llama.cpp's server accept it too).
    Anthropic,
    /// OpenAI's Chat Completions API (OpenAI; vLLM, Ollama's `/v1`, llama.cpp's server).
    OpenAi,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAi => "openai",
        }
    }

    /// The provider's own service, used when a model names no `base_url`.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::Anthropic => "https://api.anthropic.com",
            Self::OpenAi => "https://api.openai.com",
        }
    }
}

/// One model the deployment offers, its key resolved.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// What `send` carries, plans list and runs record.
    pub id: String,
    pub display_name: String,
    pub provider: ProviderKind,
    pub base_url: Url,
    /// Read from the variable `api_key_env` names; `None`: no key is sent (a local server).
    pub api_key: Option<SecretString>,
    /// The model's name at the provider.
    pub model: String,
    /// Tokens the model reads at most; the history sent is fitted below it.
    pub context_window: u64,
    /// The model's largest output per call.
    pub max_output_tokens: u32,
    /// Whether it takes images and PDFs (text files every model takes).
    pub images: bool,
    pub pdf: bool,
    /// Dollars per million tokens; `None`: the plans' price table by model name (the one-model
    /// configuration without a file).
    pub prices: Option<ModelPrice>,
    /// OpenAI-compatible models: the field the output limit is sent in. Default:
    /// `max_completion_tokens` for OpenAI's own service, `max_tokens` (what local servers read)
    /// for any other.
    pub token_parameter: TokenParameter,
}

/// The models and the default, as a file or the `ANTHROPIC_*` variables give them.
#[derive(Debug, Clone)]
pub struct ModelsSetup {
    pub models: Vec<ModelSpec>,
    /// The model of runs whose user chose none (when their plan allows it).
    pub default: String,
}

/// A models file that does not hold: the operator's mistake, found at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelsError {
    #[error("the file is not a valid models file: {0}")]
    Invalid(String),
    #[error("the file lists no model; list at least one, or unset the variable to use ANTHROPIC_MODEL")]
    Empty,
    #[error("a model id must be 1–100 letters, digits or `.`, `-`, `_`, `:`, `/`, not {0:?}")]
    BadId(String),
    #[error("two models have the id {0:?}; each id must be unique")]
    DuplicateId(String),
    #[error(
        "model {id:?} has provider {provider:?}; Jarvis speaks \"anthropic\" (the Messages API) and \"openai\" (Chat Completions)"
    )]
    UnknownProvider { id: String, provider: String },
    #[error("model {id:?} has base_url {url:?}, which is not an http:// or https:// URL")]
    BadUrl { id: String, url: String },
    #[error(
        "model {id:?} reads its key from {variable}, which is not set; set it, or remove api_key_env for a server that needs no key"
    )]
    MissingKey { id: String, variable: String },
    #[error(
        "model {id:?} must have a context_window and max_output_tokens above 0, and an output below its window"
    )]
    BadLimits { id: String },
    #[error("model {id:?} has a negative or non-finite price")]
    BadPrice { id: String },
    #[error(
        "model {id:?} has token_parameter {value:?}; it is \"max_completion_tokens\" or \"max_tokens\", for an \"openai\" model only"
    )]
    BadTokenParameter { id: String, value: String },
    #[error("the default model {0:?} is not one of the models listed")]
    UnknownDefault(String),
    #[error("plan {plan:?} allows model {model:?}, which is not one of the models listed")]
    UnknownPlanModel { plan: String, model: String },
}

/// A model entry as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelEntryFile {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    provider: String,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    api_key_env: Option<String>,
    model: String,
    context_window: u64,
    max_output_tokens: u32,
    #[serde(default)]
    images: bool,
    #[serde(default)]
    pdf: bool,
    prices: ModelPrice,
    #[serde(default)]
    token_parameter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsFileJson {
    models: Vec<ModelEntryFile>,
    default: String,
}

/// Whether `id` can be a model id (stored in `conversations.model`, at most 200 characters).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= 100
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/'))
}

impl ModelsSetup {
    /// Reads a models file (JSON); `env` gives the variables `api_key_env` names.
    pub fn from_json(json: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ModelsError> {
        let file: ModelsFileJson =
            serde_json::from_str(json).map_err(|error| ModelsError::Invalid(error.to_string()))?;
        if file.models.is_empty() {
            return Err(ModelsError::Empty);
        }
        let mut models = Vec::with_capacity(file.models.len());
        for entry in file.models {
            let id = entry.id.trim().to_owned();
            if !valid_id(&id) {
                return Err(ModelsError::BadId(entry.id));
            }
            if models.iter().any(|other: &ModelSpec| other.id == id) {
                return Err(ModelsError::DuplicateId(id));
            }
            let provider = match entry.provider.trim().to_ascii_lowercase().as_str() {
                "anthropic" => ProviderKind::Anthropic,
                "openai" => ProviderKind::OpenAi,
                _ => return Err(ModelsError::UnknownProvider { id, provider: entry.provider }),
            };
            let raw_url = entry.base_url.unwrap_or_else(|| provider.default_base_url().to_owned());
            let base_url = Url::parse(raw_url.trim())
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
                .ok_or_else(|| ModelsError::BadUrl { id: id.clone(), url: raw_url.clone() })?;
            let api_key = match entry.api_key_env.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(variable) => Some(SecretString::from(
                    env(variable).filter(|value| !value.trim().is_empty()).ok_or_else(|| {
                        ModelsError::MissingKey { id: id.clone(), variable: variable.to_owned() }
                    })?,
                )),
            };
            if entry.context_window == 0
                || entry.max_output_tokens == 0
                || u64::from(entry.max_output_tokens) >= entry.context_window
            {
                return Err(ModelsError::BadLimits { id });
            }
            let prices = entry.prices;
            if [prices.input, prices.output, prices.cache_read, prices.cache_write]
                .iter()
                .any(|price| !price.is_finite() || *price < 0.0)
            {
                return Err(ModelsError::BadPrice { id });
            }
            let token_parameter = match entry.token_parameter.as_deref().map(str::trim) {
                None if base_url.host_str() == Some("api.openai.com") => TokenParameter::MaxCompletionTokens,
                None => TokenParameter::MaxTokens,
                Some(value) => {
                    TokenParameter::parse(value).filter(|_| provider == ProviderKind::OpenAi).ok_or_else(
                        || ModelsError::BadTokenParameter { id: id.clone(), value: value.to_owned() },
                    )?
                }
            };
            let model = entry.model.trim().to_owned();
            if model.is_empty() {
                return Err(ModelsError::Invalid(format!("model {id:?} has an empty model name")));
            }
            models.push(ModelSpec {
                display_name: entry
                    .display_name
                    .map(|name| name.trim().to_owned())
                    .filter(|name| !name.is_empty())
                    .unwrap_or_else(|| id.clone()),
                id,
                provider,
                base_url,
                api_key,
                model,
                context_window: entry.context_window,
                max_output_tokens: entry.max_output_tokens,
                images: entry.images,
                pdf: entry.pdf,
                prices: Some(prices),
                token_parameter,
            });
        }
        let default = file.default.trim().to_owned();
        if !models.iter().any(|model| model.id == default) {
            return Err(ModelsError::UnknownDefault(file.default));
        }
        Ok(Self { models, default })
    }

    /// Checks that every model a plan allows is listed.
    pub fn check_plans<'a>(
        &self,
        plans: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> Result<(), ModelsError> {
        for (plan, allowed) in plans {
            if let Some(unknown) = allowed.iter().find(|id| !self.models.iter().any(|model| &&model.id == id))
            {
                return Err(ModelsError::UnknownPlanModel { plan: plan.to_owned(), model: unknown.clone() });
            }
        }
        Ok(())
    }

    /// The prices the file gives, by model id, for metering.
    pub fn prices(&self) -> BTreeMap<String, ModelPrice> {
        self.models.iter().filter_map(|model| Some((model.id.clone(), model.prices?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    const PRICES: &str = r#""prices": {"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75}"#;

    fn file(models: &str, default: &str) -> String {
        format!(r#"{{"models": [{models}], "default": "{default}"}}"#)
    }

    fn claude() -> String {
        format!(
            r#"{{"id": "sonnet", "display_name": "Claude Sonnet", "provider": "anthropic",
                "api_key_env": "TEST_ANTHROPIC_KEY", "model": "claude-sonnet-4-5",
                "context_window": 200000, "max_output_tokens": 64000, "images": true, "pdf": true, {PRICES}}}"#
        )
    }

    fn local() -> String {
        format!(
            r#"{{"id": "llama", "provider": "openai", "base_url": "http://127.0.0.1:11434",
                "model": "llama3.2:3b", "context_window": 8192, "max_output_tokens": 2048,
                "prices": {{"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}}}}"#
        )
    }

    fn env(name: &str) -> Option<String> {
        (name == "TEST_ANTHROPIC_KEY").then(|| "sk-ant-from-env".to_owned())
    }

    fn refused(json: &str) -> String {
        ModelsSetup::from_json(json, env).unwrap_err().to_string()
    }

    #[test]
    fn a_models_file_is_read_with_keys_from_the_variables_it_names_and_defaults_filled_in() {
        let setup =
            ModelsSetup::from_json(&file(&format!("{}, {}", claude(), local()), "llama"), env).unwrap();
        assert_eq!(setup.default, "llama");
        let [sonnet, llama] = &setup.models[..] else { panic!("two models") };
        assert_eq!(sonnet.provider, ProviderKind::Anthropic);
        assert_eq!(sonnet.base_url.as_str(), "https://api.anthropic.com/");
        assert_eq!(sonnet.api_key.as_ref().map(|key| key.expose_secret()), Some("sk-ant-from-env"));
        assert!(sonnet.images && sonnet.pdf);
        assert_eq!(sonnet.prices.unwrap().output, 15.0);
        assert_eq!(llama.display_name, "llama", "the id stands in for a missing display name");
        assert_eq!(llama.provider, ProviderKind::OpenAi);
        assert!(llama.api_key.is_none(), "no api_key_env: no key is sent");
        assert!(!llama.images && !llama.pdf, "images and PDFs are off unless said");
        assert_eq!(llama.token_parameter, TokenParameter::MaxTokens, "a local server reads max_tokens");
        assert_eq!(setup.prices().len(), 2);
    }

    #[test]
    fn a_bad_models_file_is_refused_with_a_sentence_naming_the_model() {
        let two = file(&format!("{}, {}", claude(), claude()), "sonnet");
        assert_eq!(refused(&two), r#"two models have the id "sonnet"; each id must be unique"#);

        let gemini = file(&claude().replace(r#""anthropic""#, r#""gemini""#), "sonnet");
        let error = refused(&gemini);
        assert!(error.starts_with(r#"model "sonnet" has provider "gemini"; Jarvis speaks"#), "{error}");

        assert_eq!(
            refused(&file(&claude(), "opus")),
            r#"the default model "opus" is not one of the models listed"#
        );

        let unset_key = file(&claude().replace("TEST_ANTHROPIC_KEY", "UNSET_KEY"), "sonnet");
        assert_eq!(
            refused(&unset_key),
            r#"model "sonnet" reads its key from UNSET_KEY, which is not set; set it, or remove api_key_env for a server that needs no key"#
        );

        let unknown_field = file(&claude().replace("\"pdf\"", "\"pdfs\""), "sonnet");
        assert!(refused(&unknown_field).contains("unknown field `pdfs`"), "{}", refused(&unknown_field));

        assert!(refused(&file("", "x")).starts_with("the file lists no model"));
        let bad_url = file(&local().replace("http://127.0.0.1:11434", "ftp://host"), "llama");
        assert!(refused(&bad_url).contains("not an http:// or https:// URL"));
        let bad_id = file(&local().replace(r#""id": "llama""#, r#""id": "my model""#), "my model");
        assert!(refused(&bad_id).starts_with("a model id must be"));
        let window = file(&local().replace("8192", "1024"), "llama");
        assert!(refused(&window).contains("output below its window"));
        let parameter = file(
            &claude().replace(r#""pdf": true"#, r#""pdf": true, "token_parameter": "max_tokens""#),
            "sonnet",
        );
        assert!(refused(&parameter).contains("for an \"openai\" model only"), "{}", refused(&parameter));
        let no_prices = file(&local().replace(r#""prices""#, r#""cost""#), "llama");
        assert!(refused(&no_prices).contains("unknown field `cost`"));
    }

    #[test]
    fn a_plan_may_only_allow_models_the_file_lists() {
        let setup = ModelsSetup::from_json(&file(&claude(), "sonnet"), env).unwrap();
        let good = vec!["sonnet".to_owned()];
        let bad = vec!["sonnet".to_owned(), "opus".to_owned()];
        assert!(setup.check_plans([("pro", &good[..])]).is_ok());
        assert_eq!(
            setup.check_plans([("free", &[][..]), ("pro", &bad[..])]).unwrap_err().to_string(),
            r#"plan "pro" allows model "opus", which is not one of the models listed"#
        );
    }
}
