//! A fake web search API for the tests: SearXNG's JSON API (`GET /search?q=…&format=json`) and
//! Brave Search's (`GET /res/v1/web/search`), answering from a fixed list of results or one the
//! test sets, recording every request.
//!
//! It validates what the real ones do. SearXNG: `q` required (400 otherwise), and a `format`
//! that the instance does not enable refused with 403 (JSON is enabled unless the test calls
//! [`FakeSearch::disable_searxng_json`], as in SearXNG's default `settings.yml`, which lists only
//! `html`); the answer is `{"query", "number_of_results", "results": [{"url", "title", "content",
//! "engine", …}], "answers", "suggestions", …}`. Brave: the `X-Subscription-Token` header required
//! (422 `VALIDATION` naming the header when missing, 422 `SUBSCRIPTION_TOKEN_INVALID` when wrong,
//! as the API answers), `q` required and `count` at most 20 (422 `VALIDATION`), errors as
//! `{"type": "ErrorResponse", "error": {"id", "status", "code", "detail", "meta"}, "time"}`; the
//! answer is `{"type": "search", "query": {…}, "web": {"type": "search", "results": [{"title",
//! "url", "description", …}]}}` with matches in `<strong>` as Brave marks them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::http::{self, Request, Response};

/// SearXNG's search path.
pub const SEARXNG_PATH: &str = "/search";
/// Brave's web search path.
pub const BRAVE_PATH: &str = "/res/v1/web/search";

/// One result the fake answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeResult {
    pub title: String,
    pub url: String,
    pub snippet: String,
}

impl FakeResult {
    pub fn new(title: &str, url: &str, snippet: &str) -> Self {
        Self { title: title.into(), url: url.into(), snippet: snippet.into() }
    }
}

/// The results a fresh fake answers with.
pub fn default_results() -> Vec<FakeResult> {
    vec![
        FakeResult::new(
            "The Rust Programming Language",
            "https://doc.rust-lang.org/book/",
            "An introductory book about Rust.",
        ),
        FakeResult::new(
            "Rust (programming language) - Wikipedia",
            "https://en.wikipedia.org/wiki/Rust_(programming_language)",
            "Rust is a general-purpose programming language.",
        ),
        FakeResult::new(
            "Tokio - An asynchronous Rust runtime",
            "https://tokio.rs/",
            "Tokio is an asynchronous runtime for Rust.",
        ),
    ]
}

/// What the next request gets instead of its results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchScript {
    /// 429, as each API says it (Brave: `RATE_LIMITED`; SearXNG's limiter: a bare 429).
    RateLimited,
    /// A 5xx status.
    ServerError(u16),
    /// Accept the request and never answer.
    Stall,
}

/// A request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub path: String,
    /// The query string's pairs, decoded.
    pub query: Vec<(String, String)>,
    pub subscription_token: Option<String>,
    pub accept: Option<String>,
}

impl Recorded {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

struct State {
    requests: Vec<Recorded>,
    results: Vec<FakeResult>,
    scripts: VecDeque<SearchScript>,
    searxng_json: bool,
}

/// Both APIs on one port of 127.0.0.1.
pub struct FakeSearch {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeSearch {
    /// Starts on a free port of 127.0.0.1; Brave requests must carry `brave_token`.
    pub async fn start(brave_token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fake search API");
        let addr = listener.local_addr().expect("a local address");
        let state = Arc::new(Mutex::new(State {
            requests: Vec::new(),
            results: default_results(),
            scripts: VecDeque::new(),
            searxng_json: true,
        }));
        let fake = Self { addr, state: Arc::clone(&state) };
        let token = brave_token.to_owned();
        tokio::spawn(http::serve(listener, move |request| {
            let state = Arc::clone(&state);
            let token = token.clone();
            async move { serve(request, &state, &token).await }
        }));
        fake
    }

    /// The base URL of both APIs (SearXNG's instance URL; Brave's API URL).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Later requests are answered with these results.
    pub fn set_results(&self, results: Vec<FakeResult>) {
        self.lock().results = results;
    }

    /// SearXNG refuses `format=json` from now on, as an instance whose `search.formats` lacks it.
    pub fn disable_searxng_json(&self) {
        self.lock().searxng_json = false;
    }

    /// The next request gets `script` instead of its results.
    pub fn push(&self, script: SearchScript) {
        self.lock().scripts.push_back(script);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::whole(
        status,
        vec![("content-type".to_owned(), "application/json".to_owned())],
        body.to_string().into_bytes(),
    )
}

fn text_response(status: u16, body: &str) -> Response {
    Response::whole(
        status,
        vec![("content-type".to_owned(), "text/html; charset=utf-8".to_owned())],
        body.to_owned(),
    )
}

/// Brave's error body.
fn brave_error(status: u16, code: &str, detail: &str, meta: Value) -> Response {
    json_response(
        status,
        &json!({
            "type": "ErrorResponse",
            "error": {"id": uuid::Uuid::new_v4().to_string(), "status": status, "code": code, "detail": detail, "meta": meta},
            "time": chrono::Utc::now().timestamp(),
        }),
    )
}

fn brave_missing(location: [&str; 2]) -> Response {
    brave_error(
        422,
        "VALIDATION",
        "Unable to validate request parameter(s)",
        json!({"errors": [{"type": "missing", "loc": location, "msg": "Field required", "input": null}]}),
    )
}

async fn serve(request: Request, state: &Mutex<State>, token: &str) -> Response {
    let (path, query_string) = request.path.split_once('?').unwrap_or((request.path.as_str(), ""));
    let recorded = Recorded {
        path: path.to_owned(),
        query: url::form_urlencoded::parse(query_string.as_bytes()).into_owned().collect(),
        subscription_token: request.header("x-subscription-token").map(str::to_owned),
        accept: request.header("accept").map(str::to_owned),
    };
    let (script, results, searxng_json) = {
        let mut state = lock(state);
        state.requests.push(recorded.clone());
        (state.scripts.pop_front(), state.results.clone(), state.searxng_json)
    };
    if request.method != "GET" && !(request.method == "POST" && path == SEARXNG_PATH) {
        return text_response(405, "Method Not Allowed");
    }
    match path {
        SEARXNG_PATH => searxng(&recorded, script, &results, searxng_json).await,
        BRAVE_PATH => brave(&recorded, script, &results, token).await,
        _ => text_response(404, "Not Found"),
    }
}

async fn searxng(
    recorded: &Recorded,
    script: Option<SearchScript>,
    results: &[FakeResult],
    json_enabled: bool,
) -> Response {
    let format = recorded.param("format").unwrap_or("html");
    if format != "html" && !(format == "json" && json_enabled) {
        // SearXNG: `flask.abort(403)` for a format not in `search.formats`.
        return text_response(403, "<!doctype html><title>403 Forbidden</title><h1>Forbidden</h1>");
    }
    let Some(query) = recorded.param("q").filter(|q| !q.trim().is_empty()) else {
        return text_response(400, "No query");
    };
    match script {
        Some(SearchScript::RateLimited) => return text_response(429, "Too Many Requests"),
        Some(SearchScript::ServerError(status)) => return text_response(status, "Internal Server Error"),
        Some(SearchScript::Stall) => return stall().await,
        None => {}
    }
    if format == "html" {
        return text_response(200, "<!doctype html><title>SearXNG</title><p>results</p>");
    }
    let items: Vec<Value> = results
        .iter()
        .enumerate()
        .map(|(index, result)| {
            json!({
                "url": result.url, "title": result.title, "content": result.snippet,
                "engine": "duckduckgo", "engines": ["duckduckgo"], "positions": [index + 1],
                "score": 1.0 / (index as f64 + 1.0), "category": "general", "template": "default.html",
                "parsed_url": parsed_url(&result.url),
            })
        })
        .collect();
    json_response(
        200,
        &json!({
            "query": query, "number_of_results": 0, "results": items, "answers": [], "corrections": [],
            "infoboxes": [], "suggestions": [], "unresponsive_engines": [],
        }),
    )
}

fn parsed_url(raw: &str) -> Value {
    match url::Url::parse(raw) {
        Ok(url) => json!([
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.path(),
            "",
            url.query().unwrap_or_default(),
            ""
        ]),
        Err(_) => json!([]),
    }
}

async fn brave(
    recorded: &Recorded,
    script: Option<SearchScript>,
    results: &[FakeResult],
    token: &str,
) -> Response {
    match recorded.subscription_token.as_deref() {
        None => return brave_missing(["header", "x-subscription-token"]),
        Some(given) if given != token => {
            return brave_error(
                422,
                "SUBSCRIPTION_TOKEN_INVALID",
                "The provided subscription token is invalid.",
                json!({"component": "authentication"}),
            );
        }
        Some(_) => {}
    }
    let Some(query) = recorded.param("q").filter(|q| !q.is_empty()) else {
        return brave_missing(["query", "q"]);
    };
    let count = match recorded.param("count").map(str::parse::<u32>) {
        None => 20,
        Some(Ok(count)) if (1..=20).contains(&count) => count,
        Some(_) => {
            return brave_error(
                422,
                "VALIDATION",
                "Unable to validate request parameter(s)",
                json!({"errors": [{"type": "less_than_equal", "loc": ["query", "count"], "msg": "Input should be less than or equal to 20"}]}),
            );
        }
    };
    match script {
        Some(SearchScript::RateLimited) => {
            return brave_error(
                429,
                "RATE_LIMITED",
                "Request rate limit exceeded for plan.",
                json!({"plan": "Free", "rate_limit": 1, "rate_current": 2, "quota_limit": 2000, "quota_current": 1, "component": "rate_limiter"}),
            );
        }
        Some(SearchScript::ServerError(status)) => {
            return brave_error(status, "INTERNAL_ERROR", "An internal error occurred.", json!({}));
        }
        Some(SearchScript::Stall) => return stall().await,
        None => {}
    }
    let items: Vec<Value> = results
        .iter()
        .take(count as usize)
        .map(|result| {
            json!({
                "type": "search_result", "subtype": "generic", "title": result.title, "url": result.url,
                "description": bold_first_word(&result.snippet), "is_source_local": false,
                "is_source_both": false, "family_friendly": true, "language": "en",
                "meta_url": {"scheme": "https", "netloc": url::Url::parse(&result.url).ok().and_then(|url| url.host_str().map(str::to_owned))},
            })
        })
        .collect();
    json_response(
        200,
        &json!({
            "type": "search",
            "query": {"original": query, "show_strict_warning": false, "is_navigational": false, "spellcheck_off": true},
            "mixed": {"type": "mixed", "main": [], "top": [], "side": []},
            "web": {"type": "search", "results": items, "family_friendly": true},
        }),
    )
}

/// Brave marks matched words with `<strong>`; the fake marks the first word.
fn bold_first_word(snippet: &str) -> String {
    match snippet.split_once(' ') {
        Some((first, rest)) => format!("<strong>{first}</strong> {rest}"),
        None => snippet.to_owned(),
    }
}

async fn stall() -> Response {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Response::whole(504, Vec::new(), Vec::new())
}
