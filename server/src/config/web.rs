//! The web section: where outbound requests (web pages, MCP connectors) may go, how much of a
//! page `fetch_url` reads, and the search API behind `web_search`.

use std::time::Duration;

use jarvis_backend::web::search::BRAVE_DEFAULT_URL;
use jarvis_backend::web::{
    DEFAULT_FETCH_MAX_BYTES, DEFAULT_FETCH_TIMEOUT, FetchLimits, OutboundPolicy, SearchProvider,
    SearchSettings, WebSettings,
};
use secrecy::SecretString;
use url::Url;

use super::ConfigError;
use super::parse::{parse_or, positive_secs, url_or};

/// One search waits this long at most.
const SEARCH_TIMEOUT: Duration = Duration::from_secs(15);

/// The agent's web tools and the outbound policy.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// `JARVIS_MCP_ALLOW_PRIVATE` (default `false`): whether `fetch_url` and MCP connectors may
    /// reach loopback, link-local and private addresses.
    /// `JARVIS_FETCH_MAX_BYTES` (default 5 MiB) and `JARVIS_FETCH_TIMEOUT_SECS` (default 20):
    /// how much of a page `fetch_url` reads, and for how long.
    /// `JARVIS_SEARCH_PROVIDER` (`searxng` or `brave`; unset: no `web_search` tool),
    /// `JARVIS_SEARCH_URL` (the SearXNG instance, required for it; Brave's API by default),
    /// `JARVIS_SEARCH_API_KEY` (Brave's subscription token, required for it).
    pub settings: WebSettings,
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<WebConfig, ConfigError> {
    let allow_private = parse_or("JARVIS_MCP_ALLOW_PRIVATE", get("JARVIS_MCP_ALLOW_PRIVATE"), false)?;
    let max_bytes =
        parse_or("JARVIS_FETCH_MAX_BYTES", get("JARVIS_FETCH_MAX_BYTES"), DEFAULT_FETCH_MAX_BYTES)?;
    if max_bytes < 1024 {
        return Err(ConfigError::Invalid {
            name: "JARVIS_FETCH_MAX_BYTES",
            reason: "must be at least 1024".into(),
        });
    }
    let timeout = positive_secs(
        "JARVIS_FETCH_TIMEOUT_SECS",
        get("JARVIS_FETCH_TIMEOUT_SECS"),
        DEFAULT_FETCH_TIMEOUT.as_secs_f64(),
    )?;
    Ok(WebConfig {
        settings: WebSettings {
            outbound: OutboundPolicy { allow_private },
            fetch: FetchLimits { max_bytes, timeout },
            search: search(get)?,
        },
    })
}

fn search(get: &impl Fn(&str) -> Option<String>) -> Result<Option<SearchSettings>, ConfigError> {
    let provider = match get("JARVIS_SEARCH_PROVIDER").map(|raw| raw.trim().to_ascii_lowercase()).as_deref() {
        None | Some("off" | "none") => return Ok(None),
        Some("searxng") => {
            let raw = get("JARVIS_SEARCH_URL").ok_or(ConfigError::Missing {
                name: "JARVIS_SEARCH_URL",
                hint: "the base URL of the SearXNG instance (with `json` in its search.formats), with JARVIS_SEARCH_PROVIDER=searxng",
            })?;
            SearchProvider::SearXng { base_url: http_url("JARVIS_SEARCH_URL", Some(raw), "")? }
        }
        Some("brave") => {
            let api_key =
                get("JARVIS_SEARCH_API_KEY").map(SecretString::from).ok_or(ConfigError::Missing {
                    name: "JARVIS_SEARCH_API_KEY",
                    hint: "the Brave Search API subscription token, with JARVIS_SEARCH_PROVIDER=brave",
                })?;
            SearchProvider::Brave {
                base_url: http_url("JARVIS_SEARCH_URL", get("JARVIS_SEARCH_URL"), BRAVE_DEFAULT_URL)?,
                api_key,
            }
        }
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "JARVIS_SEARCH_PROVIDER",
                reason: format!("expected `searxng`, `brave` or `off`, got `{other}`"),
            });
        }
    };
    Ok(Some(SearchSettings { provider, timeout: SEARCH_TIMEOUT }))
}

/// An http(s) URL with a host.
fn http_url(name: &'static str, value: Option<String>, default: &str) -> Result<Url, ConfigError> {
    let url = url_or(name, value, default)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ConfigError::Invalid { name, reason: "expected an http:// or https:// URL".into() });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jarvis_backend::web::SearchProvider;
    use secrecy::ExposeSecret;

    use crate::config::ConfigError;
    use crate::config::tests::{APP_DB, DB, config_from};

    #[test]
    fn by_default_private_addresses_are_refused_pages_are_capped_and_there_is_no_search() {
        let web = config_from(&[DB, APP_DB]).unwrap().web.settings;
        assert!(!web.outbound.allow_private);
        assert_eq!(web.fetch.max_bytes, 5 * 1024 * 1024);
        assert_eq!(web.fetch.timeout, Duration::from_secs(20));
        assert!(web.search.is_none());

        let tuned = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_MCP_ALLOW_PRIVATE", "true"),
            ("JARVIS_FETCH_MAX_BYTES", "65536"),
            ("JARVIS_FETCH_TIMEOUT_SECS", "2.5"),
        ])
        .unwrap()
        .web
        .settings;
        assert!(tuned.outbound.allow_private);
        assert_eq!(tuned.fetch.max_bytes, 65536);
        assert_eq!(tuned.fetch.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn searxng_needs_its_url_and_brave_its_key() {
        let searx = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_SEARCH_PROVIDER", "SearXNG"),
            ("JARVIS_SEARCH_URL", "https://search.example.org/searx/"),
        ])
        .unwrap();
        let Some(SearchProvider::SearXng { base_url }) =
            searx.web.settings.search.map(|search| search.provider)
        else {
            panic!("searxng")
        };
        assert_eq!(base_url.as_str(), "https://search.example.org/searx/");
        let missing = config_from(&[DB, APP_DB, ("JARVIS_SEARCH_PROVIDER", "searxng")]).unwrap_err();
        assert!(matches!(missing, ConfigError::Missing { name: "JARVIS_SEARCH_URL", .. }), "{missing}");

        let brave = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_SEARCH_PROVIDER", "brave"),
            ("JARVIS_SEARCH_API_KEY", "BSA-key"),
        ])
        .unwrap();
        let Some(SearchProvider::Brave { base_url, api_key }) =
            brave.web.settings.search.map(|search| search.provider)
        else {
            panic!("brave")
        };
        assert_eq!(base_url.as_str(), "https://api.search.brave.com/");
        assert_eq!(api_key.expose_secret(), "BSA-key");
        let keyless = config_from(&[DB, APP_DB, ("JARVIS_SEARCH_PROVIDER", "brave")]).unwrap_err();
        assert!(matches!(keyless, ConfigError::Missing { name: "JARVIS_SEARCH_API_KEY", .. }), "{keyless}");
    }

    #[test]
    fn unknown_providers_bad_urls_and_tiny_limits_are_refused_by_name() {
        let cases = [
            (vec![("JARVIS_SEARCH_PROVIDER", "google")], "JARVIS_SEARCH_PROVIDER"),
            (
                vec![
                    ("JARVIS_SEARCH_PROVIDER", "searxng"),
                    ("JARVIS_SEARCH_URL", "ftp://search.example.org"),
                ],
                "JARVIS_SEARCH_URL",
            ),
            (vec![("JARVIS_FETCH_MAX_BYTES", "12")], "JARVIS_FETCH_MAX_BYTES"),
            (vec![("JARVIS_FETCH_TIMEOUT_SECS", "0")], "JARVIS_FETCH_TIMEOUT_SECS"),
            (vec![("JARVIS_MCP_ALLOW_PRIVATE", "maybe")], "JARVIS_MCP_ALLOW_PRIVATE"),
        ];
        for (pairs, variable) in cases {
            let mut all = vec![DB, APP_DB];
            all.extend(pairs);
            let error = config_from(&all).unwrap_err();
            assert!(
                matches!(error, ConfigError::Invalid { name, .. } if name == variable),
                "{variable}: {error}"
            );
        }
    }
}
