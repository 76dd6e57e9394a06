//! The fake OpenAI Chat Completions server as a process, for the browser tests. Every reply
//! starts "Reply from <model>." with the `model` of the request, so a test sees which model
//! answered. By the user's last message:
//! - "markdown": a short Markdown reply (a heading, a list, bold and code);
//! - "time": a `get_current_time` tool call, then "Reply from <model>. The time is <result>."
//!   once the result comes;
//! - an image or a PDF attached: says how many of each it received;
//! - "slow": 40 words, one every 80 ms;
//! - anything else: "Reply from <model>.", a word every 30 ms.
//!
//! Prints its base URL on the first line of standard output. `FAKE_OPENAI_CHAT_ADDR` picks the
//! address (default `127.0.0.1:0`).

use std::sync::Arc;
use std::time::Duration;

use jarvis_testkit::fake_openai_chat::{FakeOpenAiChat, Reply, Script};
use serde_json::{Value, json};

/// The parts of the last user message (a string content is one text part).
fn last_user_parts(body: &Value) -> Vec<Value> {
    let Some(message) =
        body["messages"].as_array().and_then(|messages| messages.iter().rev().find(|m| m["role"] == "user"))
    else {
        return Vec::new();
    };
    match &message["content"] {
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        Value::Array(parts) => parts.clone(),
        _ => Vec::new(),
    }
}

/// The `tool` message answering the last assistant message, if the conversation ends with one.
fn trailing_tool_result(body: &Value) -> Option<String> {
    let last = body["messages"].as_array()?.last()?;
    (last["role"] == "tool").then(|| last["content"].as_str().unwrap_or_default().to_owned())
}

fn respond(body: &Value) -> Script {
    let model = body["model"].as_str().unwrap_or("an unnamed model");
    let said = format!("Reply from {model}.");
    let slowly =
        |text: String, delay: u64| Script::Reply(Reply::text(text).slowly(Duration::from_millis(delay)));
    if let Some(result) = trailing_tool_result(body) {
        return slowly(format!("{said} The time is {result}."), 30);
    }
    let parts = last_user_parts(body);
    let text: String = parts.iter().filter_map(|part| part["text"].as_str()).collect::<Vec<_>>().join(" ");
    let lower = text.to_lowercase();
    let images = parts.iter().filter(|part| part["type"] == "image_url").count();
    let pdfs = parts.iter().filter(|part| part["type"] == "file").count();
    if images + pdfs > 0 {
        return slowly(format!("{said} I received {images} image(s) and {pdfs} PDF(s)."), 30);
    }
    if lower.contains("markdown") {
        return slowly(
            format!(
                "{said}\n\n## Packing list\n\n- **Tent** for two\n- `stove` and fuel\n- A map\n\nThat is all."
            ),
            30,
        );
    }
    if lower.contains("time") {
        let n = body["messages"].as_array().map_or(0, Vec::len);
        return Script::Reply(
            Reply::tool_call(&format!("call_time_{n}"), "get_current_time", json!({}))
                .with_text(format!("{said} Let me check. "))
                .slowly(Duration::from_millis(20)),
        );
    }
    if lower.contains("slow") {
        let words: Vec<String> = (1..=40).map(|n| format!("word{n}")).collect();
        return slowly(format!("{said} {}", words.join(" ")), 80);
    }
    slowly(said, 30)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::var("FAKE_OPENAI_CHAT_ADDR").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let fake = FakeOpenAiChat::start_on(&addr).await;
    fake.set_fallback(Arc::new(respond));
    println!("{}", fake.base_url());
    let _ = tokio::signal::ctrl_c().await;
}
