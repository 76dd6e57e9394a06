//! The checks the real Messages API makes on a request body before it answers, each refused with
//! the API's own `invalid_request_error` message, so that a regression in how Jarvis builds its
//! requests fails in tests the way it would fail in production.
//!
//! The messages are the real API's, as reported in 400 bodies (`messages.N: all messages must
//! have non-empty content …`, `A maximum of 4 blocks with cache_control may be provided. Found
//! N.`, …). Where no real text was found, the wording is the closest documented one: the field
//! errors follow the API's validator (`model: Field required`, `max_tokens: Input should be
//! greater than or equal to 1`). Consecutive messages of one role are combined into one turn
//! before the checks that look across turns, as the API documents ("Consecutive user or assistant
//! turns in your request will be combined into a single turn"). A NUL character is accepted, as
//! the API accepts it.

use serde_json::{Map, Value};

/// The block types a message may hold.
const BLOCK_TYPES: [&str; 7] =
    ["text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"];

/// The API's most `cache_control` breakpoints per request (tools, system and messages together).
const MAX_CACHE_BREAKPOINTS: usize = 4;

/// Checks `body` (a `POST /v1/messages` body) as the real API does; the error is the message of
/// the API's 400 `invalid_request_error`.
pub fn validate_request(body: &Value) -> Result<(), String> {
    let Some(fields) = body.as_object() else {
        return Err("Input should be a valid dictionary".into());
    };
    check_model(fields)?;
    let max_tokens = check_max_tokens(fields)?;
    check_thinking(fields, max_tokens)?;
    let messages = match fields.get("messages") {
        None => return Err("messages: Field required".into()),
        Some(Value::Array(messages)) if messages.is_empty() => {
            return Err("messages: at least one message is required".into());
        }
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err("messages: Input should be a valid list".into()),
    };
    if let Some(system) = fields.get("system") {
        check_system(system)?;
    }
    for (index, message) in messages.iter().enumerate() {
        check_message(index, message, index + 1 == messages.len())?;
    }
    check_cache_breakpoints(fields, messages)?;
    let turns = combined_turns(messages);
    check_first_role(&turns)?;
    if let Some(message) = unanswered_in(&turns) {
        return Err(message);
    }
    check_tool_results(&turns)?;
    check_final_assistant(&turns)
}

/// The messages with consecutive ones of a role combined into one turn (their content blocks in
/// order; a string content is a text block), as the API combines them.
fn combined_turns(messages: &[Value]) -> Vec<Value> {
    let mut turns: Vec<Value> = Vec::new();
    for message in messages {
        let role = message.get("role").cloned().unwrap_or(Value::Null);
        let content = match message.get("content") {
            Some(Value::String(text)) => vec![serde_json::json!({"type": "text", "text": text})],
            other => listed(other).to_vec(),
        };
        match turns.last_mut() {
            Some(turn) if turn.get("role") == Some(&role) => {
                if let Some(Value::Array(blocks)) = turn.get_mut("content") {
                    blocks.extend(content);
                }
            }
            _ => turns.push(serde_json::json!({"role": role, "content": content})),
        }
    }
    turns
}

/// The real API's check: each assistant `tool_use` must be answered by `tool_result` blocks at
/// the start of the next (user) turn. `None` when every one is.
pub fn unanswered_tool_use(body: &Value) -> Option<String> {
    unanswered_in(&combined_turns(body.get("messages")?.as_array()?))
}

fn unanswered_in(messages: &[Value]) -> Option<String> {
    for (index, message) in messages.iter().enumerate() {
        let ids = tool_use_ids(message);
        if ids.is_empty() {
            continue;
        }
        let answered: Vec<&str> = messages
            .get(index + 1)
            .map(blocks)
            .unwrap_or_default()
            .iter()
            .take_while(|block| block_type(block) == Some("tool_result"))
            .filter_map(|block| block.get("tool_use_id").and_then(Value::as_str))
            .collect();
        let missing: Vec<&str> = ids.into_iter().filter(|id| !answered.contains(id)).collect();
        if !missing.is_empty() {
            return Some(format!(
                "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                index + 1,
                missing.join(", ")
            ));
        }
    }
    None
}

fn check_model(fields: &Map<String, Value>) -> Result<(), String> {
    match fields.get("model") {
        None => Err("model: Field required".into()),
        Some(Value::String(model)) if model.is_empty() => {
            Err("model: String should have at least 1 character".into())
        }
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err("model: Input should be a valid string".into()),
    }
}

fn check_max_tokens(fields: &Map<String, Value>) -> Result<i64, String> {
    let value = fields.get("max_tokens").ok_or("max_tokens: Field required")?;
    let max_tokens = value.as_i64().ok_or("max_tokens: Input should be a valid integer")?;
    if max_tokens < 1 {
        return Err("max_tokens: Input should be greater than or equal to 1".into());
    }
    Ok(max_tokens)
}

fn check_thinking(fields: &Map<String, Value>, max_tokens: i64) -> Result<(), String> {
    let Some(thinking) = fields.get("thinking") else { return Ok(()) };
    if thinking.get("type").and_then(Value::as_str) != Some("enabled") {
        return Ok(());
    }
    let budget = thinking
        .get("budget_tokens")
        .and_then(Value::as_i64)
        .ok_or("thinking.enabled.budget_tokens: Field required")?;
    if budget >= max_tokens {
        return Err("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size".into());
    }
    Ok(())
}

/// The system prompt: a string, or text blocks held to the same rules as the messages' ones.
fn check_system(system: &Value) -> Result<(), String> {
    match system {
        Value::String(_) => Ok(()),
        Value::Array(blocks) => {
            for (index, block) in blocks.iter().enumerate() {
                let path = format!("system.{index}");
                if block_type(block) != Some("text") {
                    return Err(format!("{path}.type: Input should be 'text'"));
                }
                check_text(&path, "system", block)?;
            }
            Ok(())
        }
        _ => Err("system: Input should be a valid string".into()),
    }
}

fn check_message(index: usize, message: &Value, last: bool) -> Result<(), String> {
    let path = format!("messages.{index}");
    let Some(fields) = message.as_object() else {
        return Err(format!("{path}: Input should be a valid dictionary"));
    };
    let role = match fields.get("role") {
        None => return Err(format!("{path}.role: Field required")),
        Some(Value::String(role)) if role == "user" || role == "assistant" => role.as_str(),
        Some(_) => return Err(format!("{path}.role: Input should be 'user' or 'assistant'")),
    };
    let content = fields.get("content").ok_or_else(|| format!("{path}.content: Field required"))?;
    let empty = match content {
        Value::String(text) => text.is_empty(),
        Value::Array(blocks) => blocks.is_empty(),
        _ => false,
    };
    if empty && !(last && role == "assistant") {
        return Err(format!(
            "{path}: all messages must have non-empty content except for the optional final assistant message"
        ));
    }
    match content {
        Value::String(text) if text.is_empty() => Ok(()),
        Value::String(text) => check_text_value(text, "messages"),
        Value::Array(blocks) => {
            for (number, block) in blocks.iter().enumerate() {
                check_block(&format!("{path}.content.{number}"), block)?;
            }
            Ok(())
        }
        _ => Err(format!("{path}.content: Input should be a valid list")),
    }
}

/// One content block: a known type with its required fields (a `tool_result`'s own content
/// checked in turn).
fn check_block(path: &str, block: &Value) -> Result<(), String> {
    if !block.is_object() {
        return Err(format!("{path}: Input should be a valid dictionary"));
    }
    let kind = match block.get("type") {
        None => return Err(format!("{path}: Unable to extract tag using discriminator 'type'")),
        Some(Value::String(kind)) if BLOCK_TYPES.contains(&kind.as_str()) => kind.as_str(),
        Some(other) => {
            let tag = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
            let expected: Vec<String> = BLOCK_TYPES.iter().map(|kind| format!("'{kind}'")).collect();
            return Err(format!(
                "{path}: Input tag '{tag}' found using 'type' does not match any of the expected tags: {}",
                expected.join(", ")
            ));
        }
    };
    let required = |field: &str| -> Result<&Value, String> {
        block.get(field).ok_or_else(|| format!("{path}.{kind}.{field}: Field required"))
    };
    let string = |field: &str| -> Result<(), String> {
        match required(field)? {
            Value::String(_) => Ok(()),
            _ => Err(format!("{path}.{kind}.{field}: Input should be a valid string")),
        }
    };
    match kind {
        "text" => check_text(path, "messages", block),
        "tool_use" => {
            string("id")?;
            string("name")?;
            match required("input")? {
                Value::Object(_) => Ok(()),
                _ => Err(format!("{path}.tool_use.input: Input should be a valid dictionary")),
            }
        }
        "tool_result" => {
            string("tool_use_id")?;
            match block.get("content") {
                None | Some(Value::String(_)) => Ok(()),
                Some(Value::Array(parts)) => {
                    for (number, part) in parts.iter().enumerate() {
                        check_block(&format!("{path}.tool_result.content.{number}"), part)?;
                    }
                    Ok(())
                }
                Some(_) => Err(format!("{path}.tool_result.content: Input should be a valid list")),
            }
        }
        "thinking" => {
            string("thinking")?;
            string("signature")
        }
        "redacted_thinking" => string("data"),
        "image" => media::check_image(path, block),
        _ => media::check_document(path, block),
    }
}

/// A text block's `text`: present, a string, not empty, not only whitespace.
fn check_text(path: &str, field: &str, block: &Value) -> Result<(), String> {
    match block.get("text") {
        None => Err(format!("{path}.text.text: Field required")),
        Some(Value::String(text)) => check_text_value(text, field),
        Some(_) => Err(format!("{path}.text.text: Input should be a valid string")),
    }
}

fn check_text_value(text: &str, field: &str) -> Result<(), String> {
    if text.is_empty() {
        Err(format!("{field}: text content blocks must be non-empty"))
    } else if text.trim().is_empty() {
        Err(format!("{field}: text content blocks must contain non-whitespace text"))
    } else {
        Ok(())
    }
}

/// The first message is the user's.
fn check_first_role(turns: &[Value]) -> Result<(), String> {
    match turns.first().and_then(|turn| turn.get("role")).and_then(Value::as_str) {
        Some("user") => Ok(()),
        _ => Err("messages: first message must use the \"user\" role".into()),
    }
}

/// Each `tool_result` answers a `tool_use` of the message just before.
fn check_tool_results(messages: &[Value]) -> Result<(), String> {
    for (index, message) in messages.iter().enumerate() {
        let previous = index.checked_sub(1).and_then(|before| messages.get(before));
        let asked = previous.map(tool_use_ids).unwrap_or_default();
        for (number, block) in blocks(message).iter().enumerate() {
            if block_type(block) != Some("tool_result") {
                continue;
            }
            let id = block.get("tool_use_id").and_then(Value::as_str).unwrap_or_default();
            if !asked.contains(&id) {
                return Err(format!(
                    "messages.{index}.content.{number}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                ));
            }
        }
    }
    Ok(())
}

/// At most four blocks with `cache_control`, counting tools, system blocks, message blocks and
/// the blocks inside tool results.
fn check_cache_breakpoints(fields: &Map<String, Value>, messages: &[Value]) -> Result<(), String> {
    let marked = |block: &Value| block.get("cache_control").is_some_and(|control| !control.is_null());
    let mut found = listed(fields.get("tools")).iter().filter(|tool| marked(tool)).count()
        + listed(fields.get("system")).iter().filter(|block| marked(block)).count();
    for message in messages {
        for block in blocks(message) {
            found += usize::from(marked(block));
            found += listed(block.get("content")).iter().filter(|part| marked(part)).count();
        }
    }
    if found > MAX_CACHE_BREAKPOINTS {
        return Err(format!(
            "A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {found}."
        ));
    }
    Ok(())
}

/// A final assistant message (a prefill) may be empty, but may not end with whitespace.
fn check_final_assistant(messages: &[Value]) -> Result<(), String> {
    let Some(last) = messages.last() else { return Ok(()) };
    if last.get("role").and_then(Value::as_str) != Some("assistant") {
        return Ok(());
    }
    let ending = match last.get("content") {
        Some(Value::String(text)) => Some(text.as_str()),
        Some(Value::Array(blocks)) => blocks
            .last()
            .filter(|block| block_type(block) == Some("text"))
            .and_then(|block| block.get("text"))
            .and_then(Value::as_str),
        _ => None,
    };
    if ending.and_then(|text| text.chars().last()).is_some_and(char::is_whitespace) {
        return Err("messages: final assistant content cannot end with trailing whitespace".into());
    }
    Ok(())
}

/// A message's content blocks (none when its content is a string).
fn blocks(message: &Value) -> &[Value] {
    listed(message.get("content"))
}

/// The items of an array value (none when it is missing or not an array).
fn listed(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn block_type(block: &Value) -> Option<&str> {
    block.get("type").and_then(Value::as_str)
}

fn tool_use_ids(message: &Value) -> Vec<&str> {
    blocks(message)
        .iter()
        .filter(|block| block_type(block) == Some("tool_use"))
        .filter_map(|block| block.get("id").and_then(Value::as_str))
        .collect()
}

mod media;
#[cfg(test)]
mod tests;
