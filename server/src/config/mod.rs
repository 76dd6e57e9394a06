//! Configuration: one typed struct, read once at start-up from the environment (and an optional
//! `.env` file loaded by `main`). Every variable is documented in the README; secrets are
//! `SecretString`, so they never appear in `Debug` output or logs. Each section (database,
//! accounts, model, storage, voice, billing) is read by its own module, with its tests.

mod accounts;
mod billing;
mod connections;
mod database;
mod model;
mod parse;
mod storage;
mod transcription;
mod voice;
mod web;

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use jarvis_backend::db::DatabaseSettings;
use url::Url;

pub use accounts::{AuthConfig, MailConfig};
pub use billing::BillingConfig;
pub use connections::ConnectionsConfig;
pub use model::ModelConfig;
pub use storage::StorageConfig;
pub use transcription::TranscriptionConfig;
pub use voice::{VoiceConfig, VoiceEngineConfig};
pub use web::WebConfig;

use parse::parse_or;

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
    pub transcription: TranscriptionConfig,
    pub billing: BillingConfig,
    pub connections: ConnectionsConfig,
    pub web: WebConfig,
    /// `JARVIS_METRICS_ADDR`: where `GET /metrics` (Prometheus) is served, on its own listener,
    /// never the public address. Default `127.0.0.1:9100`; `off` turns it off; port 0 picks a
    /// free port (tests).
    pub metrics_addr: Option<SocketAddr>,
    /// `JARVIS_TRUST_FORWARDED_FOR`: take the client address from the last `X-Forwarded-For`
    /// entry (only behind a proxy that sets it). Default `false`.
    pub trust_forwarded_for: bool,
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

    /// Reads configuration through `lookup`, so that tests can pass a map. A variable set to
    /// blanks counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let listen_addr: SocketAddr = parse_or(
            "JARVIS_ADDR",
            get("JARVIS_ADDR").or_else(|| get("LEPTOS_SITE_ADDR")),
            SocketAddr::from(([127, 0, 0, 1], 3000)),
        )?;
        let public_url = get("JARVIS_PUBLIC_URL").map(parse::public_url).transpose()?;
        let database = database::read(&get)?;
        let auth = accounts::auth(&get)?;
        let mail = accounts::mail(&get)?;
        let mut model = model::read(&get)?;
        let storage = storage::read(&get)?;
        let voice = voice::read(&get)?;
        let transcription = transcription::read(&get)?;
        let billing = billing::read(&get)?;
        let connections = connections::read(&get)?;
        let web = web::read(&get)?;
        model::with_plans(&mut model, &billing.catalog)?;

        Ok(Self {
            listen_addr,
            model,
            storage,
            voice,
            transcription,
            billing,
            connections,
            web,
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
            metrics_addr: parse::metrics_addr(get("JARVIS_METRICS_ADDR"))?,
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

/// Whether a URL points at this machine (then plain-http cookies and a random JWT secret are
/// acceptable).
pub fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    /// The configuration these variables (and no others) give.
    pub(crate) fn config_from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    pub(crate) const DB: (&str, &str) = ("DATABASE_URL", "postgres://jarvis:hunter2@127.0.0.1:5432/jarvis");
    pub(crate) const APP_DB: (&str, &str) =
        ("DATABASE_APP_URL", "postgres://jarvis_app:sesame@127.0.0.1:5432/jarvis");

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
    fn metrics_listen_on_localhost_9100_unless_moved_or_off() {
        let default = config_from(&[DB, APP_DB]).unwrap();
        assert_eq!(default.metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
        let moved = config_from(&[DB, APP_DB, ("JARVIS_METRICS_ADDR", "0.0.0.0:9200")]).unwrap();
        assert_eq!(moved.metrics_addr, Some("0.0.0.0:9200".parse().unwrap()));
        let off = config_from(&[DB, APP_DB, ("JARVIS_METRICS_ADDR", "OFF")]).unwrap();
        assert_eq!(off.metrics_addr, None);
        let wrong = config_from(&[DB, APP_DB, ("JARVIS_METRICS_ADDR", "everywhere")]).unwrap_err();
        assert!(wrong.to_string().starts_with("JARVIS_METRICS_ADDR is invalid"), "{wrong}");
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
    fn json_logs_are_switched_on_by_an_environment_variable() {
        let config = config_from(&[DB, APP_DB, ("JARVIS_LOG_FORMAT", "JSON")]).unwrap();
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config_from(&[DB, APP_DB, ("JARVIS_LOG_FORMAT", "xml")]).is_err());
    }
}
