//! The benchmark's own model: an in-process server speaking the Anthropic Messages API's
//! streaming protocol (`POST /v1/messages`, `stream: true`, `text/event-stream`): message_start,
//! content_block_start, one `text_delta` every `interval`, content_block_stop, message_delta
//! (stop_reason `end_turn`, usage) and message_stop, as Anthropic documents them. Each delta is a
//! [`Marker`] stamped when it is written, and each reply's text is kept so that clients can check
//! what reached them against exactly what was sent.
//!
//! It is served by `jarvis-testkit`'s HTTP helper (axum, sockets without Nagle's delay); the
//! events are sent here, one HTTP chunk per event, flushed as sent, so that the fake adds no
//! latency of its own.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jarvis_testkit::http::{self, ChunkSender, Request, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::marker::{Marker, now_micros};

/// How replies are paced.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub deltas: u32,
    pub interval: Duration,
}

/// What the fake sent for one reply (the last attempt, if the server asked more than once).
#[derive(Debug, Clone, Default)]
pub struct Sent {
    pub text: String,
    pub deltas: u32,
    /// When the first delta was written, µs since the epoch.
    pub first_micros: Option<u64>,
    /// How many requests carried this tag (more than one: the server retried).
    pub requests: u32,
    /// The server hung up before the reply was complete.
    pub cut_off: bool,
}

#[derive(Default)]
struct Shared {
    sent: HashMap<String, Sent>,
    untagged_requests: u64,
}

/// The running fake; dropping it stops it.
pub struct FakeModel {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeModel {
    pub async fn start(addr: &str, pace: Pace) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = Arc::clone(&shared);
        // Out of file descriptors, say, the listener waits and accepts again: the server will retry
        // or fail the run, and the clients count it.
        let task =
            tokio::spawn(http::serve(listener, move |request| serve(request, Arc::clone(&state), pace)));
        Ok(Self { addr, shared, task })
    }

    /// The base URL to configure as `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What was sent for a reply tag, and forgets it.
    pub fn take(&self, tag: &str) -> Option<Sent> {
        self.shared.lock().expect("fake model state").sent.remove(tag)
    }

    /// Requests that named no reply tag (not from the benchmark's users).
    pub fn untagged_requests(&self) -> u64 {
        self.shared.lock().expect("fake model state").untagged_requests
    }
}

/// The tag a request is for: the last `[tag …]` in its messages (the user's message says it).
pub fn tag_of(body: &Value) -> Option<String> {
    let messages = body.get("messages")?.to_string();
    let start = messages.rfind("[tag ")? + "[tag ".len();
    let end = start + messages[start..].find(']')?;
    let tag = &messages[start..end];
    tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-').then(|| tag.to_owned())
}

/// The text of the user's message that asks for reply `tag`.
pub fn prompt_for(tag: &str) -> String {
    format!("Benchmark reply, please. [tag {tag}]")
}

async fn serve(request: Request, shared: Arc<Mutex<Shared>>, pace: Pace) -> Response {
    let json_headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if request.method != "POST" || request.path != "/v1/messages" {
        let body = json!({"type": "error", "error": {"type": "not_found_error", "message": "Not found"}});
        return Response::whole(404, json_headers, body.to_string());
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let tag = match tag_of(&body) {
        Some(tag) => tag,
        None => {
            shared.lock().expect("fake model state").untagged_requests += 1;
            "untagged".to_owned()
        }
    };
    let headers = vec![
        ("content-type".to_owned(), "text/event-stream; charset=utf-8".to_owned()),
        ("cache-control".to_owned(), "no-cache".to_owned()),
        ("request-id".to_owned(), format!("req_load_{tag}")),
    ];
    let (response, sender) = Response::streamed(200, headers);
    tokio::spawn(async move { reply(&sender, &shared, &tag, pace).await });
    response
}

fn event(name: &str, data: &Value) -> Vec<u8> {
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}

async fn reply(stream: &ChunkSender, shared: &Mutex<Shared>, tag: &str, pace: Pace) -> std::io::Result<()> {
    {
        let mut shared = shared.lock().expect("fake model state");
        let sent = shared.sent.entry(tag.to_owned()).or_default();
        let requests = sent.requests + 1;
        *sent = Sent { requests, ..Sent::default() };
    }
    let mut opening = event(
        "message_start",
        &json!({"type": "message_start", "message": {
            "id": format!("msg_load_{tag}"), "type": "message", "role": "assistant", "content": [],
            "model": "claude-load", "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 1}
        }}),
    );
    opening.extend(event(
        "content_block_start",
        &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ));
    stream.send(&opening).await?;

    let mut text = String::new();
    let mut first_micros = None;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + pace.interval, pace.interval);
    // A late tick is not made up with a burst: the pace stays one delta per interval at most.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for index in 0..pace.deltas {
        ticks.tick().await;
        let sent_micros = now_micros();
        let piece = Marker { tag: tag.to_owned(), index, sent_micros }.render();
        let chunk = event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}),
        );
        if let Err(error) = stream.send(&chunk).await {
            record(shared, tag, text, index, first_micros, true);
            return Err(error);
        }
        first_micros.get_or_insert(sent_micros);
        text.push_str(&piece);
    }
    // Recorded before the reply ends, so that it is there before the server can finish the run.
    record(shared, tag, text, pace.deltas, first_micros, false);
    let mut closing = event("content_block_stop", &json!({"type": "content_block_stop", "index": 0}));
    closing.extend(event(
        "message_delta",
        &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": pace.deltas}}),
    ));
    closing.extend(event("message_stop", &json!({"type": "message_stop"})));
    stream.send(&closing).await
}

fn record(
    shared: &Mutex<Shared>,
    tag: &str,
    text: String,
    deltas: u32,
    first_micros: Option<u64>,
    cut_off: bool,
) {
    let mut shared = shared.lock().expect("fake model state");
    let sent = shared.sent.entry(tag.to_owned()).or_default();
    sent.text = text;
    sent.deltas = deltas;
    sent.first_micros = first_micros;
    sent.cut_off = cut_off;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_read_from_the_users_message() {
        let body = json!({"messages": [{"role": "user", "content": [{"type": "text", "text": prompt_for("3.41")}]}]});
        assert_eq!(tag_of(&body).as_deref(), Some("3.41"));
        assert_eq!(tag_of(&json!({"messages": []})), None);
    }

    #[tokio::test]
    async fn a_reply_streams_the_documented_events_with_stamped_markers() {
        let fake = FakeModel::start("127.0.0.1:0", Pace { deltas: 3, interval: Duration::from_millis(5) })
            .await
            .expect("the fake starts");
        let body = json!({"stream": true, "messages": [{"role": "user", "content": prompt_for("1.2")}]});
        let status = http::post(
            &format!("{}/v1/messages", fake.base_url()),
            &[("content-type".into(), "application/json".into())],
            body.to_string().as_bytes(),
            Duration::from_secs(5),
        )
        .await
        .expect("the fake answers");
        assert_eq!(status, 200);
        let sent = fake.take("1.2").expect("the reply was recorded");
        assert_eq!((sent.deltas, sent.requests, sent.cut_off), (3, 1, false));
        let mut reader = crate::marker::MarkerReader::default();
        let markers = reader.push(&sent.text);
        assert_eq!(markers.iter().map(|m| m.index).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(sent.first_micros, Some(markers[0].sent_micros));
    }
}
