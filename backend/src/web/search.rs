//! `web_search`: the web's results for a query, from the search API the operator configured:
//! a SearXNG instance (its JSON API, `GET /search?q=…&format=json`) or Brave Search
//! (`GET /res/v1/web/search`, key in `X-Subscription-Token`). The API is the operator's, so the
//! outbound policy does not apply to it. Results are numbered with title, URL and snippet, for
//! the model to cite.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::agent::messages::ToolSpec;
use crate::agent::tools::{Tool, ToolContext, ToolError, ToolOutput};

/// Results given when the model does not say how many.
pub const DEFAULT_COUNT: u8 = 5;
/// The most results one call may ask for.
pub const MAX_COUNT: u8 = 10;
/// Brave Search's API, when `JARVIS_SEARCH_URL` does not say otherwise.
pub const BRAVE_DEFAULT_URL: &str = "https://api.search.brave.com";

/// The search API behind `web_search`.
#[derive(Debug, Clone)]
pub struct SearchSettings {
    pub provider: SearchProvider,
    /// One search, from connecting to the last byte.
    pub timeout: Duration,
}

/// Which search API, and where.
#[derive(Debug, Clone)]
pub enum SearchProvider {
    /// `JARVIS_SEARCH_PROVIDER=searxng`: the instance's base URL (`JARVIS_SEARCH_URL`), whose
    /// `settings.yml` must list `json` in `search.formats`.
    SearXng { base_url: Url },
    /// `JARVIS_SEARCH_PROVIDER=brave`: the API's base URL (default [`BRAVE_DEFAULT_URL`]) and the
    /// subscription token (`JARVIS_SEARCH_API_KEY`).
    Brave { base_url: Url, api_key: SecretString },
}

/// Why the `web_search` tool could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SearchSetupError {
    #[error("the search API's base URL `{0}` cannot take an endpoint path")]
    BaseUrl(String),
    #[error("building the search API's HTTP client failed")]
    Client(#[from] reqwest::Error),
}

/// The `web_search` tool.
#[derive(Debug, Clone)]
pub struct WebSearch {
    client: reqwest::Client,
    provider: SearchProvider,
    /// The search endpoint, resolved against the base URL once.
    endpoint: Url,
    timeout: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    query: String,
    #[serde(default)]
    count: Option<u8>,
}

/// One result, from either API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    pub title: String,
    pub url: String,
    pub snippet: String,
}

#[derive(Deserialize)]
struct SearxAnswer {
    #[serde(default)]
    results: Vec<SearxResult>,
}

#[derive(Deserialize)]
struct SearxResult {
    url: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct BraveAnswer {
    #[serde(default)]
    web: Option<BraveWeb>,
}

#[derive(Deserialize)]
struct BraveWeb {
    #[serde(default)]
    results: Vec<BraveResult>,
}

#[derive(Deserialize)]
struct BraveResult {
    url: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// Brave's error body: `{"type": "ErrorResponse", "error": {"code", "detail", "status", …}}`.
#[derive(Deserialize)]
struct BraveErrorAnswer {
    error: BraveError,
}

#[derive(Deserialize)]
struct BraveError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    meta: serde_json::Value,
}

impl BraveError {
    /// Brave answers 422 (sometimes 401) with `SUBSCRIPTION_TOKEN_INVALID` for a wrong key, and
    /// 422 `VALIDATION` naming the `x-subscription-token` header for a missing one.
    fn is_about_the_key(&self) -> bool {
        self.code.as_deref() == Some("SUBSCRIPTION_TOKEN_INVALID")
            || self.meta.to_string().to_ascii_lowercase().contains("x-subscription-token")
    }
}

impl WebSearch {
    pub fn new(settings: SearchSettings) -> Result<Self, SearchSetupError> {
        let (base, path) = match &settings.provider {
            SearchProvider::SearXng { base_url } => (base_url, "search"),
            SearchProvider::Brave { base_url, .. } => (base_url, "res/v1/web/search"),
        };
        let endpoint = endpoint(base, path).ok_or_else(|| SearchSetupError::BaseUrl(base.to_string()))?;
        let client = reqwest::Client::builder().timeout(settings.timeout).build()?;
        Ok(Self { client, provider: settings.provider, endpoint, timeout: settings.timeout })
    }

    /// Searches the web for `query`, at most `count` results.
    #[tracing::instrument(name = "web.search", skip_all, fields(count))]
    pub async fn search(&self, query: &str, count: u8) -> Result<Vec<SearchResult>, ToolError> {
        let mut url = self.endpoint.clone();
        let request = match &self.provider {
            SearchProvider::SearXng { .. } => {
                url.query_pairs_mut().append_pair("q", query).append_pair("format", "json");
                self.client.get(url)
            }
            SearchProvider::Brave { api_key, .. } => {
                url.query_pairs_mut().append_pair("q", query).append_pair("count", &count.to_string());
                self.client.get(url).header("X-Subscription-Token", api_key.expose_secret())
            }
        };
        let response = request
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("Jarvis/", env!("CARGO_PKG_VERSION")))
            .send()
            .await
            .map_err(|error| self.failed(&error))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| self.failed(&error))?;
        if !status.is_success() {
            return Err(self.refused(status, &body));
        }
        let unreadable = |error: serde_json::Error| {
            tracing::warn!(%error, "web.search_answer_unreadable");
            ToolError(
                "The web search service answered something Jarvis could not read; try again later.".into(),
            )
        };
        let results: Vec<SearchResult> = match &self.provider {
            SearchProvider::SearXng { .. } => serde_json::from_slice::<SearxAnswer>(&body)
                .map_err(unreadable)?
                .results
                .into_iter()
                .map(|result| SearchResult::new(result.title, result.url, result.content))
                .collect(),
            SearchProvider::Brave { .. } => serde_json::from_slice::<BraveAnswer>(&body)
                .map_err(unreadable)?
                .web
                .map(|web| web.results)
                .unwrap_or_default()
                .into_iter()
                .map(|result| SearchResult::new(result.title, result.url, result.description))
                .collect(),
        };
        Ok(results.into_iter().take(usize::from(count)).collect())
    }

    fn failed(&self, error: &reqwest::Error) -> ToolError {
        tracing::warn!(error = %crate::error::with_causes(error), "web.search_failed");
        if error.is_timeout() {
            ToolError(format!(
                "The web search service did not answer within {}; try again, or answer without searching.",
                super::seconds(self.timeout)
            ))
        } else {
            ToolError("Jarvis could not reach the web search service; try again later.".into())
        }
    }

    /// An error status as a sentence; what only the operator can fix is logged for them.
    fn refused(&self, status: StatusCode, body: &[u8]) -> ToolError {
        let searxng = matches!(self.provider, SearchProvider::SearXng { .. });
        tracing::warn!(status = status.as_u16(), searxng, "web.search_refused");
        let brave_error = if searxng {
            None
        } else {
            serde_json::from_slice::<BraveErrorAnswer>(body).ok().map(|answer| answer.error)
        };
        let key_refused = "Web search is not available: the search service refused Jarvis's API key.";
        let sentence = match status {
            StatusCode::FORBIDDEN if searxng => "Web search is not available: the SearXNG instance does not allow JSON \
                                                 results (its operator must add `json` to `search.formats` in \
                                                 settings.yml)."
                .to_owned(),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => key_refused.to_owned(),
            _ if brave_error.as_ref().is_some_and(BraveError::is_about_the_key) => key_refused.to_owned(),
            StatusCode::TOO_MANY_REQUESTS => "The web search service is limiting how often Jarvis may search; try \
                                              again in a minute, or answer without searching."
                .to_owned(),
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                match brave_error.and_then(|error| error.detail) {
                    Some(detail) => format!("The web search service refused the query: {}", end_sentence(&detail)),
                    None => "The web search service refused the query; try different words.".to_owned(),
                }
            }
            other => format!("The web search service answered {}; try again later.", other.as_u16()),
        };
        ToolError(sentence)
    }
}

impl SearchResult {
    fn new(title: Option<String>, url: String, snippet: Option<String>) -> Self {
        let title = title.map(|title| plain(&title)).filter(|title| !title.is_empty());
        Self {
            title: title.unwrap_or_else(|| url.clone()),
            snippet: snippet.map(|snippet| plain(&snippet)).unwrap_or_default(),
            url,
        }
    }
}

/// `base` with `path` after its own path (a SearXNG instance may live under `/searx/`).
fn endpoint(base: &Url, path: &str) -> Option<Url> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let with_slash = format!("{}/", base.path());
        base.set_path(&with_slash);
    }
    base.join(path).ok()
}

fn end_sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) { text.to_owned() } else { format!("{text}.") }
}

/// A snippet without the markup search APIs put in it (Brave bolds matches with `<strong>`),
/// its common entities decoded and whitespace collapsed.
fn plain(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for character in html.chars() {
        match character {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => text.push(character),
            _ => {}
        }
    }
    let decoded = text
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The results as the model reads them.
pub fn render(query: &str, results: &[SearchResult]) -> String {
    if results.is_empty() {
        return format!("No web results for \"{query}\". Try other words.");
    }
    let mut out = format!("Web results for \"{query}\" (cite the URLs you use):\n");
    for (number, result) in results.iter().enumerate() {
        out.push_str(&format!("\n{}. {}\n   {}\n", number + 1, result.title, result.url));
        if !result.snippet.is_empty() {
            out.push_str(&format!("   {}\n", result.snippet));
        }
    }
    out.trim_end().to_owned()
}

impl Tool for WebSearch {
    type Args = SearchArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "web_search".into(),
            description: "Searches the web and returns numbered results with title, URL and snippet. Use \
                          fetch_url to read a result in full. Cite the URLs you use."
                .into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "query": { "type": "string", "description": "What to search for." },
                    "count": {
                        "type": "integer", "minimum": 1, "maximum": MAX_COUNT,
                        "description": format!("How many results, {DEFAULT_COUNT} when omitted.")
                    }
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, _context: ToolContext, args: SearchArgs) -> Result<ToolOutput, ToolError> {
        let query = args.query.trim();
        if query.is_empty() {
            return Err(ToolError("The search query is empty; say what to search for.".into()));
        }
        let count = args.count.unwrap_or(DEFAULT_COUNT);
        if !(1..=MAX_COUNT).contains(&count) {
            return Err(ToolError(format!("`count` must be between 1 and {MAX_COUNT}.")));
        }
        let results = self.search(query, count).await?;
        Ok(render(query, &results).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_base_path() {
        let base = Url::parse("https://search.example.org/searx").expect("a URL");
        assert_eq!(
            endpoint(&base, "search").map(String::from).as_deref(),
            Some("https://search.example.org/searx/search")
        );
        let brave = Url::parse(BRAVE_DEFAULT_URL).expect("a URL");
        assert_eq!(
            endpoint(&brave, "res/v1/web/search").map(String::from).as_deref(),
            Some("https://api.search.brave.com/res/v1/web/search")
        );
    }

    #[test]
    fn snippets_lose_their_markup_and_results_are_numbered() {
        assert_eq!(plain("The <strong>Rust</strong> &amp; Cargo   book"), "The Rust & Cargo book");
        let results = vec![
            SearchResult::new(
                Some("Rust".into()),
                "https://rust-lang.org/".into(),
                Some("A <b>language</b>".into()),
            ),
            SearchResult::new(None, "https://example.com/".into(), None),
        ];
        assert_eq!(
            render("rust", &results),
            "Web results for \"rust\" (cite the URLs you use):\n\n1. Rust\n   https://rust-lang.org/\n   A language\n\n\
             2. https://example.com/\n   https://example.com/"
        );
        assert_eq!(render("zzz", &[]), "No web results for \"zzz\". Try other words.");
    }
}
