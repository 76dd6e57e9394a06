//! The fake Anthropic API: over HTTP, a refused request gets the real 400 body and headers, every
//! response a unique `request-id`, and a refused request is recorded but uses up no script; and
//! the scripted streams end as the real ones do (cut by `max_tokens`, refused, empty).

use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply, Script};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// POSTs `body` to the fake's `/v1/messages` and reads the whole response (`connection: close`: the fake
/// closes after answering).
async fn post(fake: &FakeAnthropic, body: &Value) -> Response {
    let address = fake.base_url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let body = body.to_string();
    let request = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: fake\r\nanthropic-version: 2023-06-01\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.expect("read");
    let text = String::from_utf8(bytes).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|code| code.parse().ok());
    let headers = lines
        .filter_map(|line| line.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
        .collect();
    Response { status: status.expect("a status"), headers, body: body.to_owned() }
}

fn valid() -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": true,
           "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]})
}

#[tokio::test]
async fn a_refused_request_gets_the_real_400_and_keeps_the_script() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Hello."));
    let mut bad = valid();
    bad["messages"][0]["content"][0]["text"] = json!("");

    let refused = post(&fake, &bad).await;

    assert_eq!(refused.status, 400);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    assert_eq!(refused.header("x-should-retry"), Some("false"));
    let id = refused.header("request-id").expect("a request-id").to_owned();
    assert!(id.starts_with("req_"), "{id}");
    let expected = format!(
        r#"{{"type":"error","error":{{"type":"invalid_request_error","message":"messages: text content blocks must be non-empty"}},"request_id":"{id}"}}"#
    );
    assert_eq!(refused.body, expected);
    // Recorded, with the id it was answered with.
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body, bad);
    assert_eq!(requests[0].request_id, id);
    assert_eq!(requests[0].max_tokens(), Some(1024));

    // The scripted reply is still there for the next, valid request.
    let answered = post(&fake, &valid()).await;
    assert_eq!(answered.status, 200);
    assert!(answered.body.contains("Hello."), "{}", answered.body);
    let second = answered.header("request-id").expect("a request-id");
    assert_ne!(second, id);
    assert_eq!(fake.requests()[1].request_id, second);
}

#[tokio::test]
async fn every_error_body_carries_its_request_id() {
    let fake = FakeAnthropic::start().await;
    fake.push(Script::overloaded());

    let overloaded = post(&fake, &valid()).await;
    let unscripted = post(&fake, &valid()).await;

    for (response, status, kind) in [(&overloaded, 529, "overloaded_error"), (&unscripted, 500, "api_error")]
    {
        assert_eq!(response.status, status);
        let body: Value = serde_json::from_str(&response.body).expect("JSON");
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], kind);
        assert_eq!(body["request_id"], response.header("request-id").expect("a request-id"));
    }
    assert_ne!(overloaded.header("request-id"), unscripted.header("request-id"));
}

// The scripted streams.

fn named<'a>(events: &'a [(String, Value)], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|(event, _)| event == name).map(|(_, data)| data).collect()
}

fn partial_json(events: &[(String, Value)], index: u64) -> String {
    named(events, "content_block_delta")
        .into_iter()
        .filter(|data| data["index"] == index && data["delta"]["type"] == "input_json_delta")
        .map(|data| data["delta"]["partial_json"].as_str().expect("a string").to_owned())
        .collect()
}

/// The text of every `text_delta`, joined.
fn streamed_text(events: &[(String, Value)]) -> String {
    named(events, "content_block_delta")
        .into_iter()
        .filter_map(|data| data["delta"]["text"].as_str())
        .collect()
}

fn stop_reason(events: &[(String, Value)]) -> Value {
    named(events, "message_delta")[0]["delta"]["stop_reason"].clone()
}

#[test]
fn a_whole_tool_call_streams_its_whole_input() {
    let input = json!({"title": "Trip notes", "content": "# Trip notes\n\n- Pack the tent\n"});
    let events = Reply::tool_use("toolu_01", "save_document", input.clone()).events();
    let json: Value = serde_json::from_str(&partial_json(&events, 0)).expect("whole JSON");
    assert_eq!(json, input);
    assert_eq!(stop_reason(&events), "tool_use");
}

#[test]
fn a_truncated_tool_call_stops_partway_through_its_json() {
    let input = json!({"title": "Trip notes", "content": "# Trip notes\n\n- Pack the tent\n"});
    let events = Reply::text("Saving it. ")
        .with_tool_use("toolu_01", "save_document", input.clone())
        .truncated()
        .events();
    let sent = partial_json(&events, 1);
    assert!(!sent.is_empty() && input.to_string().starts_with(&sent), "{sent}");
    assert!(serde_json::from_str::<Value>(&sent).is_err(), "{sent} parses");
    // Then the block and the message end as usual, with max_tokens.
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names[names.len() - 4..],
        ["content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    );
    assert_eq!(named(&events, "content_block_stop").last().unwrap()["index"], 1);
    assert_eq!(stop_reason(&events), "max_tokens");
    // The text before it is whole.
    assert_eq!(partial_json(&events, 0), "");
    assert_eq!(streamed_text(&events), "Saving it. ");
}

#[test]
fn even_an_empty_input_is_cut() {
    let events = Reply::tool_use("toolu_01", "get_current_time", json!({})).truncated().events();
    assert_eq!(partial_json(&events, 0), "{");
    assert_eq!(stop_reason(&events), "max_tokens");
}

#[test]
fn a_truncated_text_stops_halfway() {
    let events = Reply::text("one two three four").truncated().events();
    assert_eq!(streamed_text(&events), "one two t");
    assert_eq!(stop_reason(&events), "max_tokens");
}

#[test]
fn an_empty_reply_has_no_blocks() {
    let events = Reply::empty().events();
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["message_start", "ping", "message_delta", "message_stop"]);
    assert_eq!(stop_reason(&events), "end_turn");
}

#[test]
fn a_refusal_streams_its_text_then_stops_with_details() {
    let events = Reply::refusal("I can help with ").events();
    assert_eq!(streamed_text(&events), "I can help with ");
    let delta = &named(&events, "message_delta")[0]["delta"];
    assert_eq!(delta["stop_reason"], "refusal");
    assert_eq!(delta["stop_details"]["type"], "refusal");
    assert!(named(&Reply::refusal("").events(), "content_block_start").is_empty());
}
