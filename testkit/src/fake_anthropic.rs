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
use tokio::net::{TcpListener, TcpStream};

use crate::http;

mod validate;

pub use validate::{unanswered_tool_use, validate_request};

/// One content block of a scripted reply.
#[derive(Debug, Clone)]
pub enum Block {
    Text(String),
    ToolUse { id: String, name: String, input: Value },
    Thinking { thinking: String, signature: String },
}

/// A scripted successful reply, streamed as SSE.
#[derive(Debug, Clone)]
pub struct Reply {
    pub blocks: Vec<Block>,
    pub stop_reason: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Bytes per HTTP chunk (0: one event per chunk).
    pub chunk_size: usize,
    /// Pause between chunks, so that streaming can be watched.
    pub chunk_delay: Duration,
    /// How long the reply takes to start (before the response headers), like a model thinking.
    pub first_delay: Duration,
    /// Cut by `max_tokens`: the last block stops halfway (see [`Reply::truncated`]).
    pub truncated: bool,
    /// `stop_details` of the `message_delta` (a refusal's).
    pub stop_details: Option<Value>,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            blocks: vec![Block::Text(text.into())],
            stop_reason: "end_turn".into(),
            input_tokens: 20,
            output_tokens: 10,
            chunk_size: 0,
            chunk_delay: Duration::ZERO,
            first_delay: Duration::ZERO,
            truncated: false,
            stop_details: None,
        }
    }

    /// No content blocks at all, `stop_reason` `end_turn`: what the API sometimes sends right
    /// after tool results (a couple of output tokens, nothing to show).
    pub fn empty() -> Self {
        let mut reply = Self::text("");
        reply.blocks.clear();
        reply.output_tokens = 3;
        reply
    }

    /// `text_before` (none if empty), then `stop_reason` `refusal` with its `stop_details`, as the
    /// streaming classifiers end a reply they stop.
    pub fn refusal(text_before: impl Into<String>) -> Self {
        let text = text_before.into();
        let mut reply = Self::text(text.as_str());
        if text.is_empty() {
            reply.blocks.clear();
        }
        reply.stop_reason = "refusal".into();
        reply.stop_details = Some(json!({"type": "refusal", "category": null, "explanation": null}));
        reply
    }

    pub fn tool_use(id: &str, name: &str, input: Value) -> Self {
        let mut reply = Self::text("");
        reply.blocks.clear();
        reply.stop_reason = "tool_use".into();
        reply.with_tool_use(id, name, input)
    }

    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Text(text.into()));
        self
    }

    pub fn with_tool_use(mut self, id: &str, name: &str, input: Value) -> Self {
        self.blocks.push(Block::ToolUse { id: id.into(), name: name.into(), input });
        self.stop_reason = "tool_use".into();
        self
    }

    pub fn with_thinking(mut self, thinking: &str, signature: &str) -> Self {
        self.blocks.insert(0, Block::Thinking { thinking: thinking.into(), signature: signature.into() });
        self
    }

    pub fn stop_reason(mut self, reason: &str) -> Self {
        self.stop_reason = reason.into();
        self
    }

    /// Cut by `max_tokens` inside the last block, as the real stream ends then: a tool call's
    /// `input_json_delta`s stop after the first half of its JSON (which does not parse), a text
    /// stops after half its characters; then `content_block_stop`, `message_delta` with
    /// `stop_reason` `max_tokens`, and `message_stop`.
    pub fn truncated(mut self) -> Self {
        self.truncated = true;
        self.stop_reason = "max_tokens".into();
        self
    }

    pub fn usage(mut self, input_tokens: u64, output_tokens: u64) -> Self {
        self.input_tokens = input_tokens;
        self.output_tokens = output_tokens;
        self
    }

    pub fn chunked(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Starts answering only after `delay`.
    pub fn after(mut self, delay: Duration) -> Self {
        self.first_delay = delay;
        self
    }

    pub fn slowly(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// The SSE events of this reply, as (event name, data) pairs.
    pub fn events(&self) -> Vec<(String, Value)> {
        let mut events = vec![(
            "message_start".to_owned(),
            json!({"type": "message_start", "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "content": [],
                "model": "claude-fake", "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": self.input_tokens, "output_tokens": 1}
            }}),
        )];
        if self.blocks.is_empty() {
            events.push(("ping".into(), json!({"type": "ping"})));
        }
        for (index, block) in self.blocks.iter().enumerate() {
            let cut = self.truncated && index + 1 == self.blocks.len();
            match block {
                Block::Text(text) => {
                    events.push(start(index, json!({"type": "text", "text": ""})));
                    let text = if cut { &text[..middle(text)] } else { text.as_str() };
                    for piece in split_words(text) {
                        events.push(delta(index, json!({"type": "text_delta", "text": piece})));
                    }
                }
                Block::ToolUse { id, name, input } => {
                    events
                        .push(start(index, json!({"type": "tool_use", "id": id, "name": name, "input": {}})));
                    let whole = input.to_string();
                    let json = if cut { &whole[..middle(&whole)] } else { whole.as_str() };
                    let half = middle(json);
                    events.push(delta(index, json!({"type": "input_json_delta", "partial_json": ""})));
                    for part in [&json[..half], &json[half..]] {
                        events.push(delta(index, json!({"type": "input_json_delta", "partial_json": part})));
                    }
                }
                Block::Thinking { thinking, signature } => {
                    events.push(start(index, json!({"type": "thinking", "thinking": ""})));
                    events.push(delta(index, json!({"type": "thinking_delta", "thinking": thinking})));
                    events.push(delta(index, json!({"type": "signature_delta", "signature": signature})));
                }
            }
            events.push(("content_block_stop".into(), json!({"type": "content_block_stop", "index": index})));
            if index == 0 {
                events.push(("ping".into(), json!({"type": "ping"})));
            }
        }
        let mut stop = json!({"stop_reason": self.stop_reason, "stop_sequence": null});
        if let Some(details) = &self.stop_details {
            stop["stop_details"] = details.clone();
        }
        events.push((
            "message_delta".into(),
            json!({"type": "message_delta", "delta": stop, "usage": {"output_tokens": self.output_tokens}}),
        ));
        events.push(("message_stop".into(), json!({"type": "message_stop"})));
        events
    }
}

/// The byte offset of the middle character of `text`.
fn middle(text: &str) -> usize {
    text.char_indices().nth(text.chars().count() / 2).map_or(text.len(), |(offset, _)| offset)
}

fn start(index: usize, block: Value) -> (String, Value) {
    (
        "content_block_start".into(),
        json!({"type": "content_block_start", "index": index, "content_block": block}),
    )
}

fn delta(index: usize, delta: Value) -> (String, Value) {
    ("content_block_delta".into(), json!({"type": "content_block_delta", "index": index, "delta": delta}))
}

/// Words with their following space, as the model streams them.
fn split_words(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

fn sse(event: &(String, Value)) -> Vec<u8> {
    format!("event: {}\ndata: {}\n\n", event.0, event.1).into_bytes()
}

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
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
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

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let Ok(Some(request)) = http::read_request(&mut stream).await else { return };
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
        let _ = http::write_whole(&mut stream, 404, &json_headers(&no_retry), &error).await;
        return;
    }
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(_) => {
            let error =
                error_body("invalid_request_error", "The request body is not valid JSON.", &request_id);
            let _ = http::write_whole(&mut stream, 400, &json_headers(&no_retry), &error).await;
            return;
        }
    };
    state.lock().expect("fake state").requests.push(Recorded {
        headers: request.headers.clone(),
        body: body.clone(),
        request_id: request_id.clone(),
    });

    let refusal = match request.header("anthropic-version") {
        None => Err("anthropic-version: header is required".to_owned()),
        Some(_) => validate_request(&body),
    };
    if let Err(message) = refusal {
        let error = error_body("invalid_request_error", &message, &request_id);
        let _ = http::write_whole(&mut stream, 400, &json_headers(&no_retry), &error).await;
        return;
    }

    let script = {
        let mut state = state.lock().expect("fake state");
        let queued = state.scripts.pop_front();
        queued.or_else(|| state.fallback.as_ref().map(|fallback| fallback(&body)))
    };
    let sse_headers = [
        ("content-type".to_owned(), "text/event-stream; charset=utf-8".to_owned()),
        ("cache-control".to_owned(), "no-cache".to_owned()),
        ("request-id".to_owned(), request_id.clone()),
    ];
    match script {
        None => {
            let error =
                error_body("api_error", "The fake has no scripted reply for this request.", &request_id);
            let _ = http::write_whole(&mut stream, 500, &json_headers(&no_retry), &error).await;
        }
        Some(Script::Status { status, kind, message, headers }) => {
            let error = error_body(&kind, &message, &request_id);
            let _ = http::write_whole(&mut stream, status, &json_headers(&headers), &error).await;
        }
        Some(Script::Reply(reply)) => {
            tokio::time::sleep(reply.first_delay).await;
            if stream_events(&mut stream, &sse_headers, &reply.events(), reply.chunk_size, reply.chunk_delay)
                .await
                .is_ok()
            {
                let _ = http::finish_chunked(&mut stream).await;
            }
        }
        Some(Script::ErrorEvent { reply, after_events, kind }) => {
            let mut events: Vec<(String, Value)> = reply.events().into_iter().take(after_events).collect();
            events.push((
                "error".into(),
                json!({"type": "error", "error": {"type": kind, "message": "Overloaded"}}),
            ));
            if stream_events(&mut stream, &sse_headers, &events, reply.chunk_size, reply.chunk_delay)
                .await
                .is_ok()
            {
                let _ = http::finish_chunked(&mut stream).await;
            }
        }
        Some(Script::Stall { reply, after_events }) => {
            let events: Vec<(String, Value)> = reply.events().into_iter().take(after_events).collect();
            let _ =
                stream_events(&mut stream, &sse_headers, &events, reply.chunk_size, reply.chunk_delay).await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
}

/// Streams events as HTTP chunks: one per event (`chunk_size` 0) or cut every `chunk_size` bytes,
/// wherever that falls.
async fn stream_events(
    stream: &mut TcpStream,
    headers: &[(String, String)],
    events: &[(String, Value)],
    chunk_size: usize,
    delay: Duration,
) -> std::io::Result<()> {
    http::write_chunked_head(stream, 200, headers).await?;
    let chunks: Vec<Vec<u8>> = if chunk_size == 0 {
        events.iter().map(sse).collect()
    } else {
        events.iter().flat_map(sse).collect::<Vec<u8>>().chunks(chunk_size).map(<[u8]>::to_vec).collect()
    };
    for chunk in &chunks {
        http::write_chunk(stream, chunk).await?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    Ok(())
}
