//! A fake of the Anthropic Messages API (`POST /v1/messages`, `stream: true`), scripted reply by
//! reply. It speaks the protocol as documented: `event:`/`data:` SSE framing sent in chunks of a
//! chosen size (so a test can split events anywhere), `ping` events, cumulative usage in
//! `message_delta`, error statuses with the documented JSON bodies and headers (`retry-after`,
//! `x-should-retry`, a unique `request-id` on every response, repeated as `request_id` in every
//! error body), an `error` event after a 200, and a stall. Scripted replies can also be empty,
//! end in a refusal, or be cut by `max_tokens` partway through a tool call's JSON.
//!
//! Like the real API it checks every request before answering ([`validate_request`]) and refuses
//! a bad one with the real 400 `invalid_request_error` body: a missing or invalid `model` or
//! `max_tokens`, no messages, a first message not the user's, roles not alternating, an empty
//! message other than a final assistant one, an empty or whitespace-only text block, a final
//! assistant message ending in whitespace, a `tool_use` not answered by `tool_result` blocks at
//! the start of the next message, a `tool_result` answering no `tool_use` of the previous message,
//! and more than four `cache_control` breakpoints. Every request is recorded, refused or not.

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

pub use reply::{Block, Reply};
pub use validate::{unanswered_tool_use, validate_request};

use reply::sse;

/// What the fake does with one request.
#[derive(Debug, Clone)]
pub enum Script {
    Reply(Reply),
    /// An error status with the documented body (`{"type":"error","error":{…}}`) and headers.
    Status {
        status: u16,
        kind: String,
        message: String,
        headers: Vec<(String, String)>,
    },
    /// A 200 whose stream sends the first `after_events` events of `reply`, then an `error` event.
    ErrorEvent {
        reply: Reply,
        after_events: usize,
        kind: String,
    },
    /// A 200 whose stream sends the first `after_events` events of `reply`, then goes silent.
    Stall {
        reply: Reply,
        after_events: usize,
    },
}

impl Script {
    pub fn status(status: u16, kind: &str, message: &str) -> Self {
        Self::Status { status, kind: kind.into(), message: message.into(), headers: Vec::new() }
    }

    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Self::Status { status, kind, message, mut headers } => {
                headers.push((name.into(), value.into()));
                Self::Status { status, kind, message, headers }
            }
            other => other,
        }
    }

    pub fn overloaded() -> Self {
        Self::status(529, "overloaded_error", "Overloaded")
    }
}

/// A request the fake received (recorded before it is checked, so refused ones too).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// The `request-id` the fake answered it with.
    pub request_id: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The request's `max_tokens`, for a fallback or an assertion that depends on it.
    pub fn max_tokens(&self) -> Option<u64> {
        self.body.get("max_tokens").and_then(Value::as_u64)
    }
}

/// Decides the reply to a request when no script is queued.
pub type Fallback = Arc<dyn Fn(&Value) -> Script + Send + Sync>;

#[derive(Default)]
struct State {
    scripts: VecDeque<Script>,
    requests: Vec<Recorded>,
    fallback: Option<Fallback>,
    /// The key `x-api-key` must carry, once [`FakeAnthropic::require_api_key`] set one (a local
    /// server needs none, so by default any or none is taken).
    api_key: Option<String>,
}

/// The running fake. Dropping it stops it.
pub struct FakeAnthropic {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeAnthropic {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeAnthropic {
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

    /// The base URL to configure (`ANTHROPIC_BASE_URL`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues what the next request gets.
    pub fn push(&self, script: Script) {
        self.state.lock().expect("fake state").scripts.push_back(script);
    }

    pub fn reply(&self, reply: Reply) {
        self.push(Script::Reply(reply));
    }

    /// From now on a request must carry `x-api-key: key`, as the real API requires: one without
    /// it, or with another key, is answered 401 `authentication_error`.
    pub fn require_api_key(&self, key: &str) {
        self.state.lock().expect("fake state").api_key = Some(key.to_owned());
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

/// A request id unique to this process, in the API's `req_…` form.
fn next_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("req_fake_{:016}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The API's error body, fields in its order:
/// `{"type":"error","error":{"type":…,"message":…},"request_id":…}`.
fn error_body(kind: &str, message: &str, request_id: &str) -> Vec<u8> {
    let [kind, message, request_id] = [kind, message, request_id].map(|text| Value::from(text).to_string());
    format!(r#"{{"type":"error","error":{{"type":{kind},"message":{message}}},"request_id":{request_id}}}"#)
        .into_bytes()
}

async fn serve(request: Request, state: Arc<Mutex<State>>) -> Response {
    let request_id = next_request_id();
    let json_headers = |extra: &[(String, String)]| {
        let mut headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("request-id".to_owned(), request_id.clone()),
        ];
        headers.extend(extra.iter().cloned());
        headers
    };
    let no_retry = [("x-should-retry".to_owned(), "false".to_owned())];
    if request.method != "POST" || request.path != "/v1/messages" {
        let error = error_body("not_found_error", "Not found", &request_id);
        return Response::whole(404, json_headers(&no_retry), error);
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(_) => {
            let error =
                error_body("invalid_request_error", "The request body is not valid JSON.", &request_id);
            return Response::whole(400, json_headers(&no_retry), error);
        }
    };
    state.lock().expect("fake state").requests.push(Recorded {
        headers: request.headers.clone(),
        body: body.clone(),
        request_id: request_id.clone(),
    });

    let required_key = state.lock().expect("fake state").api_key.clone();
    if let Some(required) = required_key {
        let refusal = match request.header("x-api-key") {
            None => Some("x-api-key header is required"),
            Some(key) if key != required => Some("invalid x-api-key"),
            Some(_) => None,
        };
        if let Some(message) = refusal {
            let error = error_body("authentication_error", message, &request_id);
            return Response::whole(401, json_headers(&no_retry), error);
        }
    }
    let refusal = match request.header("anthropic-version") {
        None => Err("anthropic-version: header is required".to_owned()),
        Some(_) => validate_request(&body),
    };
    if let Err(message) = refusal {
        let error = error_body("invalid_request_error", &message, &request_id);
        return Response::whole(400, json_headers(&no_retry), error);
    }

    let script = {
        let mut state = state.lock().expect("fake state");
        let queued = state.scripts.pop_front();
        queued.or_else(|| state.fallback.as_ref().map(|fallback| fallback(&body)))
    };
    let sse_headers = vec![
        ("content-type".to_owned(), "text/event-stream; charset=utf-8".to_owned()),
        ("cache-control".to_owned(), "no-cache".to_owned()),
        ("request-id".to_owned(), request_id.clone()),
    ];
    match script {
        None => {
            let error =
                error_body("api_error", "The fake has no scripted reply for this request.", &request_id);
            Response::whole(500, json_headers(&no_retry), error)
        }
        Some(Script::Status { status, kind, message, headers }) => {
            let error = error_body(&kind, &message, &request_id);
            Response::whole(status, json_headers(&headers), error)
        }
        Some(Script::Reply(reply)) => {
            tokio::time::sleep(reply.first_delay).await;
            stream_events(sse_headers, reply.events(), reply.chunk_size, reply.chunk_delay, Ending::Finish)
        }
        Some(Script::ErrorEvent { reply, after_events, kind }) => {
            let mut events: Vec<(String, Value)> = reply.events().into_iter().take(after_events).collect();
            events.push((
                "error".into(),
                json!({"type": "error", "error": {"type": kind, "message": "Overloaded"}}),
            ));
            stream_events(sse_headers, events, reply.chunk_size, reply.chunk_delay, Ending::Finish)
        }
        Some(Script::Stall { reply, after_events }) => {
            let events: Vec<(String, Value)> = reply.events().into_iter().take(after_events).collect();
            stream_events(sse_headers, events, reply.chunk_size, reply.chunk_delay, Ending::Stall)
        }
    }
}

/// What a stream does after its last event.
enum Ending {
    /// Ends the body.
    Finish,
    /// Goes silent for an hour, then drops the connection.
    Stall,
}

/// Streams events as HTTP chunks: one per event (`chunk_size` 0) or cut every `chunk_size` bytes,
/// wherever that falls.
fn stream_events(
    headers: Vec<(String, String)>,
    events: Vec<(String, Value)>,
    chunk_size: usize,
    delay: Duration,
    ending: Ending,
) -> Response {
    let (response, sender) = Response::streamed(200, headers);
    let chunks: Vec<Vec<u8>> = if chunk_size == 0 {
        events.iter().map(sse).collect()
    } else {
        events.iter().flat_map(sse).collect::<Vec<u8>>().chunks(chunk_size).map(<[u8]>::to_vec).collect()
    };
    tokio::spawn(async move {
        for chunk in &chunks {
            if sender.send(chunk).await.is_err() {
                return;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        if let Ending::Stall = ending {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            sender.abort().await;
        }
    });
    response
}
