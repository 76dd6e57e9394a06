//! The agent's web tools: `fetch_url` (a page as readable Markdown, a PDF as text) and
//! `web_search` (through a configured search API), and the outbound HTTP policy they share with
//! MCP connectors: no loopback, link-local or private addresses unless the operator allows them,
//! checked again on every redirect.

pub mod fetch;
pub mod outbound;
mod pdf_text;
pub mod readable;
pub mod search;

use std::time::Duration;

use crate::agent::tools::ToolRegistry;

pub use fetch::{FetchLimits, FetchUrl};
pub use outbound::{OutboundError, OutboundPolicy};
pub use search::{SearchProvider, SearchSettings, WebSearch};

/// How the web tools behave (from the server's configuration).
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Where outbound requests may go (`JARVIS_MCP_ALLOW_PRIVATE`).
    pub outbound: OutboundPolicy,
    /// How much of a page `fetch_url` reads, and for how long.
    pub fetch: FetchLimits,
    /// The search API behind `web_search`; `None`: no `web_search` tool.
    pub search: Option<SearchSettings>,
}

/// How long `fetch_url` waits for a site, by default.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// How many bytes of a page `fetch_url` reads, by default: 5 MiB.
pub const DEFAULT_FETCH_MAX_BYTES: usize = 5 * 1024 * 1024;

/// Registers `fetch_url`, and `web_search` when a search API is configured.
pub fn register(registry: &mut ToolRegistry, settings: &WebSettings) {
    match FetchUrl::new(settings.outbound, settings.fetch) {
        Ok(fetch) => registry.register(fetch),
        Err(error) => {
            tracing::error!(error = %crate::error::with_causes(&error), "web.fetch_url_unavailable")
        }
    }
    if let Some(search) = &settings.search {
        match WebSearch::new(search.clone()) {
            Ok(search) => registry.register(search),
            Err(error) => {
                tracing::error!(error = %crate::error::with_causes(&error), "web.web_search_unavailable")
            }
        }
    }
}

/// A duration as a sentence says it: "1 second", "20 seconds", "2.5 seconds".
pub(crate) fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if (secs - 1.0).abs() < f64::EPSILON {
        "1 second".to_owned()
    } else if secs.fract() == 0.0 {
        format!("{secs:.0} seconds")
    } else {
        format!("{secs:.1} seconds")
    }
}
