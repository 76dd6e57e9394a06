//! Parsing of single variables: a typed value or its default, a duration in seconds, a URL, each
//! failing with a [`ConfigError`] that names the variable and never its value.

use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::ConfigError;

/// The value parsed as `T`, or `default` when the variable is unset.
pub(super) fn parse_or<T>(name: &'static str, value: Option<String>, default: T) -> Result<T, ConfigError>
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
pub(super) fn positive_secs(
    name: &'static str,
    value: Option<String>,
    default: f64,
) -> Result<Duration, ConfigError> {
    let secs: f64 = parse_or(name, value, default)?;
    if !secs.is_finite() || secs <= 0.0 || secs > 3600.0 {
        return Err(ConfigError::Invalid {
            name,
            reason: "must be a number of seconds above 0 and at most 3600".into(),
        });
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `JARVIS_METRICS_ADDR`: an address, `off` (none), or `127.0.0.1:9100` when unset.
pub(super) fn metrics_addr(value: Option<String>) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    match value.as_deref().map(str::trim) {
        Some(off) if off.eq_ignore_ascii_case("off") => Ok(None),
        _ => parse_or("JARVIS_METRICS_ADDR", value, std::net::SocketAddr::from(([127, 0, 0, 1], 9100)))
            .map(Some),
    }
}

/// A URL, or `default` when the variable is unset.
pub(super) fn url_or(name: &'static str, value: Option<String>, default: &str) -> Result<Url, ConfigError> {
    value
        .unwrap_or_else(|| default.to_owned())
        .parse()
        .map_err(|error: url::ParseError| ConfigError::Invalid { name, reason: error.to_string() })
}

/// A PostgreSQL URL, kept secret (it holds a password).
pub(super) fn postgres_url(
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

/// `JARVIS_PUBLIC_URL`: an http(s) URL with a host.
pub(super) fn public_url(raw: String) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid { name: "JARVIS_PUBLIC_URL", reason };
    let url = Url::parse(&raw).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("expected an http:// or https:// URL with a host".into()));
    }
    Ok(url)
}
