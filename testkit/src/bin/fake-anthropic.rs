//! The fake Anthropic server as a process, for the browser tests. It answers by looking at the
//! user's last message:
//! - a message with "slow" in it: 60 words, one every 80 ms;
//! - "time": a `get_current_time` tool call, then "The time is <result>." once the result comes;
//! - anything else: "Hello! You said: <message>", a word every 30 ms.
//! Prints its base URL on the first line of standard output. `FAKE_ANTHROPIC_ADDR` picks the
//! address (default `127.0.0.1:0`).

use std::sync::Arc;
use std::time::Duration;

use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply, Script};
use serde_json::{Value, json};

fn last_user_blocks(body: &Value) -> Vec<Value> {
    body["messages"]
        .as_array()
        .and_then(|messages| messages.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|message| message["content"].as_array().cloned())
        .unwrap_or_default()
}

fn respond(body: &Value) -> Script {
    let blocks = last_user_blocks(body);
    if let Some(result) = blocks.iter().find(|b| b["type"] == "tool_result") {
        let time = result["content"].as_str().unwrap_or("unknown");
        return Script::Reply(Reply::text(format!("The time is {time}.")).slowly(Duration::from_millis(30)));
    }
    let text: String = blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join(" ");
    let lower = text.to_lowercase();
    if lower.contains("slow") {
        let words: Vec<String> = (1..=60).map(|n| format!("word{n}")).collect();
        Script::Reply(Reply::text(words.join(" ")).slowly(Duration::from_millis(80)))
    } else if lower.contains("time") {
        Script::Reply(
            Reply::tool_use("toolu_fake_time", "get_current_time", json!({}))
                .with_text("Let me check. ")
                .slowly(Duration::from_millis(20)),
        )
    } else {
        Script::Reply(Reply::text(format!("Hello! You said: {text}")).slowly(Duration::from_millis(30)))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::var("FAKE_ANTHROPIC_ADDR").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let fake = FakeAnthropic::start_on(&addr).await;
    fake.set_fallback(Arc::new(respond));
    println!("{}", fake.base_url());
    let _ = tokio::signal::ctrl_c().await;
}
