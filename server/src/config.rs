//! Configuration: one typed struct, read once at start-up from the environment (and an optional
//! `.env` file loaded by `main`). Every variable is documented in the README; secrets are
//! `SecretString`, so they never appear in `Debug` output or logs.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use jarvis_backend::db::DatabaseSettings;
use secrecy::SecretString;
use url::Url;

/// Everything the server is told from outside.
#[derive(Debug, Clone)]
pub struct Config {
    /// `JARVIS_ADDR`: where to listen. Port 0 picks a free port (tests).
    pub listen_addr: SocketAddr,
    /// `JARVIS_PUBLIC_URL`: the address users reach Jarvis at; browser requests (WebSocket
    /// upgrades included) must come from this origin.
    pub public_url: Url,
    pub database: DatabaseSettings,
    /// `JARVIS_LOG_FORMAT`: `pretty` (default) or `json`.
    pub log_format: LogFormat,
    /// `JARVIS_SITE_ROOT`: the folder cargo-leptos builds the site into (`pkg/` and assets).
    pub site_root: String,
    /// `JARVIS_SHUTDOWN_GRACE_SECS`: how long open requests get to finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// `LEPTOS_RELOAD_PORT`: the live-reload port, used only under `cargo leptos watch`.
    pub reload_port: u32,
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
        let default_public = format!("http://localhost:{}", listen_addr.port());
        let public_url = parse_public_url(get("JARVIS_PUBLIC_URL").unwrap_or(default_public))?;

        let database_url = get("DATABASE_URL").ok_or(ConfigError::Missing {
            name: "DATABASE_URL",
            hint: "set it to a postgres:// URL, or start Jarvis with ./scripts/run, which provisions a local PostgreSQL",
        })?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(ConfigError::Invalid {
                name: "DATABASE_URL",
                reason: "expected a postgres:// or postgresql:// URL".into(),
            });
        }
        let database = DatabaseSettings {
            url: SecretString::from(database_url),
            max_connections: parse_or("JARVIS_DB_MAX_CONNECTIONS", get("JARVIS_DB_MAX_CONNECTIONS"), 10)?,
            acquire_timeout: Duration::from_millis(parse_or(
                "JARVIS_DB_ACQUIRE_TIMEOUT_MS",
                get("JARVIS_DB_ACQUIRE_TIMEOUT_MS"),
                3_000,
            )?),
        };

        Ok(Self {
            listen_addr,
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
        })
    }
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

    use secrecy::ExposeSecret;

    use super::*;

    fn config_from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const DB: (&str, &str) = ("DATABASE_URL", "postgres://jarvis:hunter2@127.0.0.1:5432/jarvis");

    #[test]
    fn defaults_listen_on_localhost_3000_with_a_matching_public_url() {
        let config = config_from(&[DB]).unwrap();
        assert_eq!(config.listen_addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(config.public_url.as_str(), "http://localhost:3000/");
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.site_root, "target/site");
    }

    #[test]
    fn the_database_password_never_shows_in_debug_output() {
        let config = config_from(&[DB]).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert_eq!(config.database.url.expose_secret(), DB.1);
    }

    #[test]
    fn a_missing_database_url_is_named_in_the_error() {
        let error = config_from(&[]).unwrap_err().to_string();
        assert!(error.starts_with("DATABASE_URL is not set"), "{error}");
    }

    #[test]
    fn an_invalid_value_names_its_variable_but_not_its_value() {
        let error = config_from(&[DB, ("JARVIS_ADDR", "not-an-address")]).unwrap_err().to_string();
        assert!(error.starts_with("JARVIS_ADDR is invalid"), "{error}");

        let error = config_from(&[("DATABASE_URL", "mysql://secret@x/y")]).unwrap_err().to_string();
        assert!(error.starts_with("DATABASE_URL is invalid") && !error.contains("secret"), "{error}");

        let error = config_from(&[DB, ("JARVIS_PUBLIC_URL", "ftp://example.com")]).unwrap_err().to_string();
        assert!(error.starts_with("JARVIS_PUBLIC_URL is invalid"), "{error}");
    }

    #[test]
    fn json_logs_are_switched_on_by_an_environment_variable() {
        let config = config_from(&[DB, ("JARVIS_LOG_FORMAT", "JSON")]).unwrap();
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(config_from(&[DB, ("JARVIS_LOG_FORMAT", "xml")]).is_err());
    }
}
