//! A fake of OpenAI's Chat Completions API (`POST /v1/chat/completions`, `stream: true`), scripted
//! reply by reply. It speaks the protocol as documented: `data: {chunk}` server-sent events ending
//! with `data: [DONE]`, sent in HTTP chunks of a chosen size (so a test can split events
//! anywhere); text and tool-call deltas ([`Reply`]); the usage chunk only when the request asks
//! for it with `stream_options.include_usage`; error statuses with the documented body
//! (`{"error": {"message", "type", "param", "code"}}`) and headers (`retry-after`,
//! `retry-after-ms`), an `x-request-id` on every response; an error object in the middle of a
//! stream; a stream that ends early or whose connection drops; a stall.
//!
//! Like the real API it checks every request first ([`validate_request`]), and, when given a key
//! ([`FakeOpenAiChat::require_key`]), the `Authorization: Bearer` header, refusing with the real
//! 400 and 401 bodies. Every request is recorded, headers and body, refused or not.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::http::{self, Request, Response};

mod reply;
mod validate;

pub use reply::Reply;
pub use validate::validate_request;

/// What the fake does with one request.
#[derive(Debug, Clone)]
pub enum Script {
    Reply(Reply),
    /// An error status with the documented body and extra headers.
    Status {
        status: u16,
        error: Value,
        headers: Vec<(String, String)>,
    },
    /// A 200 whose stream sends the first `after_events` events of `reply`, then `data:` with an
    /// error object.
    ErrorMidStream {
        reply: Reply,
        after_events: usize,
        error: Value,
    },
    /// A 200 whose stream sends the first `after_events` events of `reply`, then drops the
    /// connection (the body never ends properly).
    Drop {
        reply: Reply,
        after_events: usize,
    },
    /// A 200 whose stream sends the first `after_events` events of `reply`, then ends the body
    /// cleanly, with no `finish_reason` or `[DONE]`.
    EndEarly {
        reply: Reply,
        after_events: usize,
    },
    /// A 200 whose stream sends the first `after_events` events of `reply`, then goes silent.
    Stall {
        reply: Reply,
        after_events: usize,
    },
}

/// The documented error object.
pub fn error_object(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({"message": message, "type": kind, "param": null, "code": code})
}

impl Script {
    pub fn status(status: u16, message: &str, kind: &str, code: Option<&str>) -> Self {
        Self::Status { status, error: error_object(message, kind, code), headers: Vec::new() }
    }

    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Self::Status { status, error, mut headers } => {
                headers.push((name.into(), value.into()));
                Self::Status { status, error, headers }
            }
            other => other,
        }
    }

    /// A 429 for too many requests, as OpenAI words it.
    pub fn rate_limited() -> Self {
        Self::status(
            429,
            "Rate limit reached for gpt-4o in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
            "requests",
            Some("rate_limit_exceeded"),
        )
    }

    /// A 429 for a spent budget, which waiting does not lift.
    pub fn insufficient_quota() -> Self {
        Self::status(
            429,
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
            "insufficient_quota",
            Some("insufficient_quota"),
        )
    }

    pub fn invalid_api_key() -> Self {
        Self::status(
            401,
            "Incorrect API key provided: sk-wrong. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
        )
    }

    pub fn server_error(status: u16) -> Self {
        Self::status(
            status,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        )
    }

    /// The error object OpenAI sends in a stream that fails after it started.
    pub fn error_mid_stream(reply: Reply, after_events: usize) -> Self {
        Self::ErrorMidStream {
            reply,
            after_events,
            error: error_object(
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            ),
        }
    }
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// The `x-request-id` the fake answered it with.
    pub request_id: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The key of `Authorization: Bearer <key>`, if sent.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }
}

/// Decides the reply to a request when no script is queued.
pub type Fallback = Arc<dyn Fn(&Value) -> Script + Send + Sync>;

#[derive(Default)]
struct State {
    scripts: VecDeque<Script>,
    requests: Vec<Recorded>,
    fallback: Option<Fallback>,
    key: Option<String>,
}

/// The running fake. Dropping it stops it.
pub struct FakeOpenAiChat {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeOpenAiChat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeOpenAiChat {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind the fake");
        let addr = listener.local_addr().expect("a local address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(http::serve(listener, move |request| serve(request, Arc::clone(&shared))));
        Self { addr, state, task }
    }

    /// The base URL to configure; requests go to `{base_url}/v1/chat/completions`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, refuses a request without `Authorization: Bearer <key>` with OpenAI's 401.
    pub fn require_key(&self, key: &str) {
        self.state.lock().expect("fake state").key = Some(key.to_owned());
    }

    /// Queues what the next request gets.
    pub fn push(&self, script: Script) {
        self.state.lock().expect("fake state").scripts.push_back(script);
    }

    pub fn reply(&self, reply: Reply) {
        self.push(Script::Reply(reply));
    }

    /// Answers requests with no queued script by looking at them.
    pub fn set_fallback(&self, fallback: Fallback) {
        self.state.lock().expect("fake state").fallback = Some(fallback);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("fake state").requests.clone()
    }
}

fn next_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("req_fake{:024x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn error_response(
    status: u16,
    error: Value,
    mut headers: Vec<(String, String)>,
    request_id: &str,
) -> Response {
    headers.insert(0, ("content-type".into(), "application/json".into()));
    headers.push(("x-request-id".into(), request_id.into()));
    Response::whole(status, headers, json!({ "error": error }).to_string())
}

async fn serve(request: Request, state: Arc<Mutex<State>>) -> Response {
    let request_id = next_request_id();
    if request.method != "POST" || request.path != "/v1/chat/completions" {
        let message = format!("Invalid URL ({} {})", request.method, request.path);
        return error_response(
            404,
            error_object(&message, "invalid_request_error", None),
            Vec::new(),
            &request_id,
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        let message = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)";
        return error_response(
            400,
            error_object(message, "invalid_request_error", None),
            Vec::new(),
            &request_id,
        );
    };
    let key = {
        let mut state = state.lock().expect("fake state");
        state.requests.push(Recorded {
            path: request.path.clone(),
            headers: request.headers.clone(),
            body: body.clone(),
            request_id: request_id.clone(),
        });
        state.key.clone()
    };
    if let Some(key) = key {
        let sent = request.header("authorization").and_then(|value| value.strip_prefix("Bearer "));
        let refusal = match sent {
            None => Some(error_object(
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                None,
            )),
            Some(sent) if sent != key => Some(error_object(
                &format!(
                    "Incorrect API key provided: {sent}. You can find your API key at https://platform.openai.com/account/api-keys."
                ),
                "invalid_request_error",
                Some("invalid_api_key"),
            )),
            Some(_) => None,
        };
        if let Some(error) = refusal {
            return error_response(401, error, Vec::new(), &request_id);
        }
    }
    if let Err((param, message)) = validate_request(&body) {
        let error =
            json!({"message": message, "type": "invalid_request_error", "param": param, "code": null});
        return error_response(400, error, Vec::new(), &request_id);
    }
    if body.get("stream") != Some(&Value::Bool(true)) {
        let error =
            error_object("This fake only streams: send \"stream\": true.", "invalid_request_error", None);
        return error_response(400, error, Vec::new(), &request_id);
    }

    let script = {
        let mut state = state.lock().expect("fake state");
        let queued = state.scripts.pop_front();
        queued.or_else(|| state.fallback.as_ref().map(|fallback| fallback(&body)))
    };
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let include_usage = body.pointer("/stream_options/include_usage") == Some(&Value::Bool(true));
    let headers = vec![
        ("content-type".to_owned(), "text/event-stream; charset=utf-8".to_owned()),
        ("cache-control".to_owned(), "no-cache".to_owned()),
        ("x-request-id".to_owned(), request_id.clone()),
        ("openai-processing-ms".to_owned(), "12".to_owned()),
    ];
    let events = |reply: &Reply, after: usize| -> Vec<Vec<u8>> {
        reply.events(&model, include_usage).iter().take(after).map(|data| reply.frame(data)).collect()
    };
    match script {
        None => error_response(
            500,
            error_object("The fake has no scripted reply for this request.", "server_error", None),
            Vec::new(),
            &request_id,
        ),
        Some(Script::Status { status, error, headers }) => {
            error_response(status, error, headers, &request_id)
        }
        Some(Script::Reply(reply)) => {
            tokio::time::sleep(reply.first_delay).await;
            stream(headers, events(&reply, usize::MAX), &reply, Ending::Finish)
        }
        Some(Script::ErrorMidStream { reply, after_events, error }) => {
            let mut events = events(&reply, after_events);
            events.push(reply.frame(&json!({ "error": error }).to_string()));
            stream(headers, events, &reply, Ending::Finish)
        }
        Some(Script::Drop { reply, after_events }) => {
            stream(headers, events(&reply, after_events), &reply, Ending::Drop)
        }
        Some(Script::EndEarly { reply, after_events }) => {
            stream(headers, events(&reply, after_events), &reply, Ending::Finish)
        }
        Some(Script::Stall { reply, after_events }) => {
            stream(headers, events(&reply, after_events), &reply, Ending::Stall)
        }
    }
}

/// What a stream does after its last event.
enum Ending {
    Finish,
    /// Drops the connection mid-body.
    Drop,
    /// Goes silent for an hour, then drops the connection.
    Stall,
}

/// Streams framed events as HTTP chunks: one per event (`chunk_size` 0) or cut every
/// `chunk_size` bytes, wherever that falls.
fn stream(headers: Vec<(String, String)>, events: Vec<Vec<u8>>, reply: &Reply, ending: Ending) -> Response {
    let (response, sender) = Response::streamed(200, headers);
    let chunks: Vec<Vec<u8>> = if reply.chunk_size == 0 {
        events
    } else {
        events.concat().chunks(reply.chunk_size).map(<[u8]>::to_vec).collect()
    };
    let delay = reply.chunk_delay;
    tokio::spawn(async move {
        for chunk in &chunks {
            if sender.send(chunk).await.is_err() {
                return;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        match ending {
            Ending::Finish => {}
            Ending::Drop => sender.abort().await,
            Ending::Stall => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                sender.abort().await;
            }
        }
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_streamed_only_when_asked_for_and_done_comes_last() {
        let reply = Reply::text("Hi there").usage(50, 7, 32);
        let with = reply.events("gpt-x", true);
        assert_eq!(with.last().map(String::as_str), Some("[DONE]"));
        let usage: Value = serde_json::from_str(&with[with.len() - 2]).unwrap();
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 32);
        let without = reply.events("gpt-x", false);
        assert_eq!(without.len(), with.len() - 1);
        assert!(without.iter().all(|event| !event.contains("\"usage\"")));
    }

    #[test]
    fn tool_call_arguments_arrive_in_pieces_that_join_to_the_whole() {
        let reply = Reply::tool_call("call_a", "x", json!({"query": "tents and stoves"}));
        let pieces: String = reply
            .deltas()
            .iter()
            .filter_map(|(delta, _)| {
                delta.pointer("/tool_calls/0/function/arguments")?.as_str().map(str::to_owned)
            })
            .collect();
        assert_eq!(pieces, r#"{"query":"tents and stoves"}"#);
        assert_eq!(reply.deltas().last().unwrap().1.as_deref(), Some("tool_calls"));
    }
}
