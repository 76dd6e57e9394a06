//! The checks the real Chat Completions endpoint makes before it answers, with its own 400
//! messages: a `model` and a non-empty `messages` array; each message's role; a `tool` message
//! answering a `tool_call_id` of the assistant message before it; every `tool_calls` id answered
//! by a `tool` message before the next message of another role; tool-call `arguments` sent as a
//! string; content parts of the documented types, an `image_url` with an http(s) or `data:` URL
//! and a `file` with `file_data` or a `file_id`; and only one of `max_tokens` and
//! `max_completion_tokens`.

use serde_json::Value;

/// Why the request is refused: `(param, message)` for the error body.
pub type Refusal = (Option<String>, String);

pub fn validate_request(body: &Value) -> Result<(), Refusal> {
    if !body.get("model").is_some_and(Value::is_string) {
        return Err((None, "you must provide a model parameter".into()));
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err((None, "Missing required parameter: 'messages'.".into()));
    };
    if messages.is_empty() {
        return Err((Some("messages".into()), "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.".into()));
    }
    if body.get("max_tokens").is_some() && body.get("max_completion_tokens").is_some() {
        return Err((
            Some("max_tokens".into()),
            "max_tokens and max_completion_tokens cannot both be set.".into(),
        ));
    }
    // Tool call ids of the last assistant message still waiting for their `tool` message.
    let mut waiting: Vec<String> = Vec::new();
    let mut answerable: Vec<String> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or_default();
        if role != "tool" && !waiting.is_empty() {
            return Err((
                Some(format!("messages.[{}].role", i - 1)),
                format!(
                    "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                    waiting.join(", ")
                ),
            ));
        }
        match role {
            "system" | "developer" | "user" => {
                answerable.clear();
                content(message.get("content"), i, role == "user")?;
            }
            "assistant" => {
                answerable.clear();
                for (j, call) in
                    message.get("tool_calls").and_then(Value::as_array).into_iter().flatten().enumerate()
                {
                    let id = call.get("id").and_then(Value::as_str).unwrap_or_default();
                    if !call.pointer("/function/arguments").is_some_and(Value::is_string) {
                        return Err((
                            Some(format!("messages.[{i}].tool_calls.[{j}].function.arguments")),
                            format!(
                                "Invalid type for 'messages[{i}].tool_calls[{j}].function.arguments': expected a string."
                            ),
                        ));
                    }
                    waiting.push(id.to_owned());
                    answerable.push(id.to_owned());
                }
                let has_calls = !answerable.is_empty();
                if !has_calls && message.get("content").is_none_or(Value::is_null) {
                    return Err((
                        Some(format!("messages.[{i}].content")),
                        "Invalid value for 'content': expected a string, got null.".into(),
                    ));
                }
            }
            "tool" => {
                let id = message.get("tool_call_id").and_then(Value::as_str).unwrap_or_default();
                if !answerable.iter().any(|known| known == id) {
                    return Err((
                        Some(format!("messages.[{i}].role")),
                        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.".into(),
                    ));
                }
                waiting.retain(|known| known != id);
            }
            other => {
                return Err((
                    Some(format!("messages[{i}].role")),
                    format!(
                        "Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'."
                    ),
                ));
            }
        }
    }
    if !waiting.is_empty() {
        return Err((
            Some(format!("messages.[{}].role", messages.len() - 1)),
            format!(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                waiting.join(", ")
            ),
        ));
    }
    Ok(())
}

/// A message's content: a string, or (for a user) an array of documented parts.
fn content(content: Option<&Value>, i: usize, user: bool) -> Result<(), Refusal> {
    match content {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                let param = Some(format!("messages.[{i}].content.[{j}]"));
                match part.get("type").and_then(Value::as_str).unwrap_or_default() {
                    "text" if part.get("text").is_some_and(Value::is_string) => {}
                    "image_url" if user => {
                        let url = part.pointer("/image_url/url").and_then(Value::as_str).unwrap_or_default();
                        let data_url = url.starts_with("data:image/") && url.contains(";base64,");
                        if !(data_url || url.starts_with("https://") || url.starts_with("http://")) {
                            return Err((param, "Invalid 'image_url'. Expected a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got an invalid value.".into()));
                        }
                    }
                    "file" if user => {
                        let data = part.pointer("/file/file_data").and_then(Value::as_str);
                        let id = part.pointer("/file/file_id").and_then(Value::as_str);
                        if data.is_none() && id.is_none() {
                            return Err((
                                param,
                                "Missing required parameter: 'file_data' or 'file_id'.".into(),
                            ));
                        }
                        if data.is_some_and(|data| !data.starts_with("data:") || !data.contains(";base64,")) {
                            return Err((
                                param,
                                "Invalid file data: expected a base64-encoded data URL.".into(),
                            ));
                        }
                    }
                    "input_audio" if user => {}
                    other => {
                        return Err((
                            param,
                            format!(
                                "Invalid value: '{other}'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal', 'audio', and 'file'."
                            ),
                        ));
                    }
                }
            }
            Ok(())
        }
        _ => Err((
            Some(format!("messages.[{i}].content")),
            "Invalid type for 'content': expected one of a string or array of objects.".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_tool_call_left_unanswered_is_refused() {
        let body = json!({"model": "m", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_a", "type": "function", "function": {"name": "x", "arguments": "{}"}}]},
            {"role": "user", "content": "hello?"},
        ]});
        let (_, message) = validate_request(&body).unwrap_err();
        assert!(message.contains("call_a"), "{message}");
    }

    #[test]
    fn a_tool_message_answering_nothing_is_refused_and_an_answered_call_passes() {
        let stray = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "x", "content": "1"}]});
        assert!(validate_request(&stray).is_err());
        let answered = json!({"model": "m", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_a", "type": "function", "function": {"name": "x", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_a", "content": "1"},
        ]});
        assert_eq!(validate_request(&answered), Ok(()));
    }

    #[test]
    fn an_image_part_must_carry_a_data_or_http_url() {
        let body = |url: &str| json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]});
        assert!(validate_request(&body("data:image/png;base64,iVBO")).is_ok());
        assert!(validate_request(&body("iVBO")).is_err());
    }
}
