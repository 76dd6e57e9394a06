//! The fake Anthropic server as a process, for the browser tests. It answers by looking at the
//! user's last message:
//! - "speak later": the same, starting after 7 s;
//! - "speak": four sentences, a word every 120 ms (for the voice tests);
//! - a message with "slow" in it: 60 words, one every 80 ms;
//! - "time": a `get_current_time` tool call, then "The time is <result>." once the result comes;
//! - "save": a `save_document` call for a Markdown note "Trip notes", then a sentence;
//! - "update": an `update_document` call adding a line to the last document it saved or read,
//!   based on the version it last saw; when that is refused as stale, a `read_document` call and
//!   then the update again on the version it read — what a careful model does;
//! - "connector": a call to the first tool offered whose name has "__" in it (a connector's,
//!   `server__tool`) and ends with "add_note", else to the first with "__", with the input
//!   `{"text": <the message>}`; once the result comes, "The connector said: <result>" (or "The
//!   connector failed: <error>"); "No connector tools are available." when none is offered;
//! - a message with images or PDFs: "I received 1 image (image/png, 123 bytes) and 1 PDF (456
//!   bytes). You said: <message>";
//! - anything else: "Hello! You said: <message>", a word every 30 ms.
//! Prints its base URL on the first line of standard output. `FAKE_ANTHROPIC_ADDR` picks the
//! address (default `127.0.0.1:0`); `FAKE_ANTHROPIC_API_KEY`, when set, is the `x-api-key` every
//! request must carry (401 `authentication_error` otherwise, as the real API answers).

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

/// The text of the user's last typed message (not a tool result).
fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|messages| {
            messages.iter().rev().filter(|m| m["role"] == "user").find_map(|m| {
                let blocks = m["content"].as_array()?;
                let texts: Vec<&str> = blocks.iter().filter_map(|b| b["text"].as_str()).collect();
                (!texts.is_empty()).then(|| texts.join(" "))
            })
        })
        .unwrap_or_default()
}

/// The tool a tool_use id was made for: this fake puts the name in the id.
fn tool_of(tool_use_id: &str) -> &str {
    tool_use_id.strip_prefix("toolu_").and_then(|rest| rest.rsplit_once('_')).map_or("", |(name, _)| name)
}

/// The last document id and version seen in any successful tool result of the conversation.
fn last_known_document(body: &Value) -> Option<(String, i64)> {
    let messages = body["messages"].as_array()?;
    messages.iter().rev().filter(|m| m["role"] == "user").find_map(|m| {
        m["content"].as_array()?.iter().rev().find_map(|b| {
            if b["type"] != "tool_result" || b["is_error"] == true {
                return None;
            }
            let output: Value = serde_json::from_str(result_text(b).as_str()).ok()?;
            Some((output["id"].as_str()?.to_owned(), output["version"].as_i64()?))
        })
    })
}

fn result_text(block: &Value) -> String {
    match &block["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        _ => String::new(),
    }
}

fn call(body: &Value, name: &str, input: Value, text: &str) -> Script {
    let n = body["messages"].as_array().map_or(0, Vec::len);
    Script::Reply(
        Reply::tool_use(&format!("toolu_{name}_{n}"), name, input)
            .with_text(text)
            .slowly(Duration::from_millis(10)),
    )
}

const MAP_LINE: &str = "- Bring a map";

/// The documents scenario: save, or update with a stale version, read again, update.
fn documents(body: &Value, lower: &str, result: Option<&Value>) -> Option<Script> {
    let said = |text: String| Some(Script::Reply(Reply::text(text).slowly(Duration::from_millis(10))));
    if let Some(result) = result {
        let name = tool_of(result["tool_use_id"].as_str().unwrap_or_default());
        let text = result_text(result);
        let output: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        return match name {
            "save_document" if result["is_error"] != true => {
                said(format!("Saved “{}” to your documents.", output["title"].as_str().unwrap_or("?")))
            }
            "update_document" if result["is_error"] == true && text.contains("Read it again") => {
                let (id, _) = last_known_document(body)?;
                Some(call(body, "read_document", json!({"id": id}), "It changed since; reading it again. "))
            }
            "update_document" if result["is_error"] != true => {
                said(format!("Updated it: now at version {}.", output["version"]))
            }
            "read_document" if result["is_error"] != true => {
                let content = output["content"].as_str().unwrap_or_default().trim_end();
                Some(call(
                    body,
                    "update_document",
                    json!({"id": output["id"], "version": output["version"], "content": format!("{content}\n{MAP_LINE}\n")}),
                    "",
                ))
            }
            "save_document" | "update_document" | "read_document" => said(format!("That failed: {text}")),
            _ => None,
        };
    }
    if lower.contains("save") {
        return Some(call(
            body,
            "save_document",
            json!({"title": "Trip notes", "kind": "markdown", "content": "# Trip notes\n\n- Pack the tent\n- Buy snacks\n"}),
            "Saving that for you. ",
        ));
    }
    if lower.contains("update") {
        let Some((id, version)) = last_known_document(body) else {
            return said("I have no document to update yet.".to_owned());
        };
        return Some(call(
            body,
            "update_document",
            json!({"id": id, "version": version, "content": format!("# Trip notes\n\n- Pack the tent\n- Buy snacks\n{MAP_LINE}\n")}),
            "Adding the map. ",
        ));
    }
    None
}

/// What a question's image and document blocks hold, as a sentence ("I received 1 image
/// (image/png, 1024 bytes) and 1 PDF (2 KB)."), or `None` without any.
fn attachments_seen(blocks: &[Value]) -> Option<String> {
    use base64::Engine;
    let size = |block: &Value| {
        let data = block["source"]["data"].as_str().unwrap_or_default();
        base64::engine::general_purpose::STANDARD.decode(data).map_or(0, |bytes| bytes.len())
    };
    let images: Vec<String> = blocks
        .iter()
        .filter(|b| b["type"] == "image")
        .map(|b| format!("{}, {} bytes", b["source"]["media_type"].as_str().unwrap_or("?"), size(b)))
        .collect();
    let pdfs: Vec<String> =
        blocks.iter().filter(|b| b["type"] == "document").map(|b| format!("{} bytes", size(b))).collect();
    if images.is_empty() && pdfs.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !images.is_empty() {
        parts.push(format!(
            "{} image{} ({})",
            images.len(),
            if images.len() == 1 { "" } else { "s" },
            images.join("; ")
        ));
    }
    if !pdfs.is_empty() {
        parts.push(format!(
            "{} PDF{} ({})",
            pdfs.len(),
            if pdfs.len() == 1 { "" } else { "s" },
            pdfs.join("; ")
        ));
    }
    Some(format!("I received {}.", parts.join(" and ")))
}

/// The connector scenario: a connector tool's result answered, or a message with "connector" in it
/// turned into a call of one (see the list at the top).
fn connector(body: &Value, text: &str, result: Option<&Value>) -> Option<Script> {
    let said = |text: String| Some(Script::Reply(Reply::text(text).slowly(Duration::from_millis(10))));
    if let Some(result) = result {
        let name = tool_of(result["tool_use_id"].as_str().unwrap_or_default());
        if !name.contains("__") {
            return None;
        }
        let output = result_text(result);
        return if result["is_error"] == true {
            said(format!("The connector failed: {output}"))
        } else {
            said(format!("The connector said: {output}"))
        };
    }
    if !text.to_lowercase().contains("connector") {
        return None;
    }
    let offered: Vec<&str> = body["tools"]
        .as_array()
        .map(|tools| {
            tools.iter().filter_map(|tool| tool["name"].as_str()).filter(|name| name.contains("__")).collect()
        })
        .unwrap_or_default();
    let chosen = offered.iter().find(|name| name.ends_with("add_note")).or_else(|| offered.first());
    match chosen {
        Some(name) => Some(call(body, name, json!({"text": text}), "Asking the connector. ")),
        None => said("No connector tools are available.".to_owned()),
    }
}

/// The reply to a message with "speak" in it.
const SPOKEN: &str = "Here is the first sentence of a spoken reply. The second sentence follows right after it. \
                      A third sentence keeps the voice going. And the fourth sentence ends the reply.";

fn respond(body: &Value) -> Script {
    let blocks = last_user_blocks(body);
    let typed = last_user_text(body);
    let lower = typed.to_lowercase();
    let result = blocks.iter().find(|b| b["type"] == "tool_result");
    // Before the documents: "Use the connector to save this" is about the connector.
    if let Some(script) = connector(body, &typed, result) {
        return script;
    }
    if let Some(script) = documents(body, &lower, result) {
        return script;
    }
    if let Some(result) = result {
        let time = result["content"].as_str().unwrap_or("unknown");
        return Script::Reply(Reply::text(format!("The time is {time}.")).slowly(Duration::from_millis(30)));
    }
    let text: String = blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join(" ");
    let lower = text.to_lowercase();
    if let Some(seen) = attachments_seen(&blocks) {
        Script::Reply(Reply::text(format!("{seen} You said: {text}")).slowly(Duration::from_millis(30)))
    } else if lower.contains("speak later") {
        // The same after seven seconds of silence: long enough for a click or key press before
        // it to stop counting as the user's gesture when the first clip is played.
        Script::Reply(Reply::text(SPOKEN).slowly(Duration::from_millis(120)).after(Duration::from_secs(7)))
    } else if lower.contains("speak") {
        // Four sentences over about four seconds: the first is spoken long before the last arrives.
        Script::Reply(Reply::text(SPOKEN).slowly(Duration::from_millis(120)))
    } else if lower.contains("slow") {
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
    if let Ok(key) = std::env::var("FAKE_ANTHROPIC_API_KEY") {
        fake.require_api_key(&key);
    }
    fake.set_fallback(Arc::new(respond));
    println!("{}", fake.base_url());
    let _ = tokio::signal::ctrl_c().await;
}
