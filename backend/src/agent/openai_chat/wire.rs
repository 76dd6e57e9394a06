//! Our [`ModelRequest`] as a Chat Completions request body. The conversation is kept in the
//! Messages API's shape (content blocks), so here it is translated: the system prompt becomes a
//! `system` message; user text becomes `content` (a plain string when it is only text, which
//! every compatible server reads; an array of parts when it holds an image or a PDF); an
//! `Image` becomes an `image_url` part with a `data:` URL and a `Document` a `file` part with
//! `file_data`; an assistant's `tool_use` blocks become its `tool_calls` (arguments as a JSON
//! string); each `tool_result` becomes a `tool` message, sent before the rest of the user's
//! message since the API wants them right after the calls they answer. Thinking blocks are
//! dropped (their signatures mean nothing here).

use serde_json::{Value, json};

use super::OpenAiChatSettings;
use crate::agent::messages::{ContentBlock, MediaSource, Message, Role, ToolSpec};
use crate::agent::provider::ModelRequest;

/// The name under which the request's output limit is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TokenParameter {
    /// `max_completion_tokens`: OpenAI's current name. OpenAI deprecated `max_tokens` for chat
    /// completions and its reasoning models (o1, o3, gpt-5…) refuse it with a 400.
    #[default]
    MaxCompletionTokens,
    /// `max_tokens`: the older name, which is the one that many local servers (older vLLM,
    /// llama.cpp's server, Ollama's `/v1`) read; they ignore the new one, so the reply would
    /// run to their own default limit.
    MaxTokens,
}

impl TokenParameter {
    pub fn field(self) -> &'static str {
        match self {
            Self::MaxCompletionTokens => "max_completion_tokens",
            Self::MaxTokens => "max_tokens",
        }
    }

    /// Reads a models-file value: `max_completion_tokens` or `max_tokens`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "max_completion_tokens" => Some(Self::MaxCompletionTokens),
            "max_tokens" => Some(Self::MaxTokens),
            _ => None,
        }
    }
}

/// The whole request body, streaming with usage.
pub fn body(settings: &OpenAiChatSettings, request: &ModelRequest) -> Value {
    let max_tokens = if request.largest_output {
        settings.largest_output_tokens.max(settings.max_output_tokens)
    } else {
        settings.max_output_tokens
    };
    let mut body = json!({
        "model": request.model.as_deref().unwrap_or(&settings.model),
        "messages": messages(&request.system, &request.messages),
        "stream": true,
        "stream_options": { "include_usage": true },
    });
    body[settings.token_parameter.field()] = json!(max_tokens);
    // Some servers refuse an empty `tools` array: with none, the field is left out.
    if !request.tools.is_empty() {
        body["tools"] = Value::Array(request.tools.iter().map(tool).collect());
    }
    body
}

fn tool(spec: &ToolSpec) -> Value {
    json!({
        "type": "function",
        "function": { "name": spec.name, "description": spec.description, "parameters": spec.input_schema },
    })
}

/// The system prompt, then each of our messages as one or more of theirs.
pub fn messages(system: &str, conversation: &[Message]) -> Vec<Value> {
    let mut out = Vec::new();
    if !system.is_empty() {
        out.push(json!({ "role": "system", "content": system }));
    }
    for message in conversation {
        match message.role {
            Role::User => user(message, &mut out),
            Role::Assistant => out.push(assistant(message)),
        }
    }
    out
}

fn user(message: &Message, out: &mut Vec<Value>) {
    let mut parts = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::ToolResult { tool_use_id, content, is_error } => {
                // The API has no error flag on a tool message: the model reads that it failed.
                let content = if *is_error { format!("Error: {content}") } else { content.clone() };
                out.push(json!({ "role": "tool", "tool_call_id": tool_use_id, "content": content }));
            }
            ContentBlock::Text { text } => parts.push(json!({ "type": "text", "text": text })),
            ContentBlock::Image { source: MediaSource::Base64 { media_type, data } } => parts.push(json!({
                "type": "image_url",
                "image_url": { "url": format!("data:{media_type};base64,{data}") },
            })),
            ContentBlock::Document { source: MediaSource::Base64 { media_type, data }, title } => {
                parts.push(json!({
                    "type": "file",
                    "file": {
                        "filename": filename(title.as_deref()),
                        "file_data": format!("data:{media_type};base64,{data}"),
                    },
                }))
            }
            ContentBlock::Attachment { id } => {
                // `crate::attachments` replaces these before any model call; one here is our bug,
                // and sending it would only get the request refused.
                tracing::error!(attachment.id = %id, "agent.openai_chat.unresolved_attachment_skipped");
            }
            ContentBlock::ToolUse { .. }
            | ContentBlock::Thinking { .. }
            | ContentBlock::RedactedThinking { .. } => {}
        }
    }
    if parts.is_empty() {
        return;
    }
    let only_text = parts.iter().all(|part| part["type"] == "text");
    let content = if only_text {
        Value::String(parts.iter().filter_map(|part| part["text"].as_str()).collect::<Vec<_>>().join("\n\n"))
    } else {
        Value::Array(parts)
    };
    out.push(json!({ "role": "user", "content": content }));
}

fn assistant(message: &Message) -> Value {
    let text = message.text();
    let calls: Vec<Value> = message
        .tool_uses()
        .map(|(id, name, input)| {
            json!({ "id": id, "type": "function", "function": { "name": name, "arguments": input.to_string() } })
        })
        .collect();
    let mut out = json!({ "role": "assistant" });
    // With tool calls and no text, the documented content is `null`.
    out["content"] = if text.is_empty() && !calls.is_empty() { Value::Null } else { Value::String(text) };
    if !calls.is_empty() {
        out["tool_calls"] = Value::Array(calls);
    }
    out
}

/// A document's file name as the API wants one: its title, else a generic one, ending `.pdf`.
fn filename(title: Option<&str>) -> String {
    let title = title.map(str::trim).filter(|title| !title.is_empty()).unwrap_or("document");
    if title.to_ascii_lowercase().ends_with(".pdf") { title.to_owned() } else { format!("{title}.pdf") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(token_parameter: TokenParameter) -> OpenAiChatSettings {
        OpenAiChatSettings {
            base_url: "http://localhost:11434".parse().unwrap(),
            api_key: None,
            model: "gpt-test".into(),
            max_output_tokens: 1024,
            largest_output_tokens: 16384,
            token_parameter,
            first_byte_timeout: Duration::from_secs(1),
            stall_timeout: Duration::from_secs(1),
        }
    }

    fn request(messages: Vec<Message>) -> ModelRequest {
        ModelRequest {
            model: None,
            system: "You are Jarvis.".into(),
            messages,
            tools: vec![ToolSpec {
                name: "get_current_time".into(),
                description: "The time.".into(),
                input_schema: json!({"type": "object", "properties": {}}),
            }],
            largest_output: false,
        }
    }

    #[test]
    fn the_body_streams_with_usage_tools_and_the_configured_limit_name() {
        let body =
            body(&settings(TokenParameter::MaxCompletionTokens), &request(vec![Message::user_text("Hi")]));
        assert_eq!(
            body,
            json!({
                "model": "gpt-test",
                "messages": [{"role": "system", "content": "You are Jarvis."}, {"role": "user", "content": "Hi"}],
                "stream": true,
                "stream_options": {"include_usage": true},
                "max_completion_tokens": 1024,
                "tools": [{"type": "function", "function": {"name": "get_current_time", "description": "The time.", "parameters": {"type": "object", "properties": {}}}}],
            })
        );
        let mut longer = request(vec![Message::user_text("Hi")]);
        longer.largest_output = true;
        longer.tools.clear();
        let body = super::body(&settings(TokenParameter::MaxTokens), &longer);
        assert_eq!(body["max_tokens"], 16384);
        assert!(body.get("max_completion_tokens").is_none());
        assert!(body.get("tools").is_none());
    }

    #[test]
    fn a_tool_round_becomes_tool_calls_then_tool_messages_then_the_users_words() {
        let conversation = vec![
            Message::user_text("What time is it?"),
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Thinking { thinking: "hmm".into(), signature: "sig".into() },
                    ContentBlock::ToolUse {
                        id: "call_a".into(),
                        name: "get_current_time".into(),
                        input: json!({}),
                    },
                    ContentBlock::ToolUse {
                        id: "call_b".into(),
                        name: "search".into(),
                        input: json!({"q": "x"}),
                    },
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    ContentBlock::ToolResult {
                        tool_use_id: "call_a".into(),
                        content: "12:00".into(),
                        is_error: false,
                    },
                    ContentBlock::ToolResult {
                        tool_use_id: "call_b".into(),
                        content: "no index".into(),
                        is_error: true,
                    },
                    ContentBlock::Text { text: "Thanks".into() },
                ],
            },
        ];
        assert_eq!(
            messages("", &conversation),
            vec![
                json!({"role": "user", "content": "What time is it?"}),
                json!({"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_a", "type": "function", "function": {"name": "get_current_time", "arguments": "{}"}},
                    {"id": "call_b", "type": "function", "function": {"name": "search", "arguments": "{\"q\":\"x\"}"}},
                ]}),
                json!({"role": "tool", "tool_call_id": "call_a", "content": "12:00"}),
                json!({"role": "tool", "tool_call_id": "call_b", "content": "Error: no index"}),
                json!({"role": "user", "content": "Thanks"}),
            ]
        );
    }

    #[test]
    fn images_and_pdfs_become_data_url_parts_and_attachments_are_skipped() {
        let conversation = vec![Message {
            role: Role::User,
            content: vec![
                ContentBlock::Text { text: "Compare these.".into() },
                ContentBlock::Image {
                    source: MediaSource::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgo=".into(),
                    },
                },
                ContentBlock::Document {
                    source: MediaSource::Base64 {
                        media_type: "application/pdf".into(),
                        data: "JVBERi0x".into(),
                    },
                    title: Some("Invoice".into()),
                },
                ContentBlock::Attachment { id: "att_1".into() },
            ],
        }];
        assert_eq!(
            messages("", &conversation),
            vec![json!({"role": "user", "content": [
                {"type": "text", "text": "Compare these."},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "file", "file": {"filename": "Invoice.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}},
            ]})]
        );
    }

    #[test]
    fn an_assistant_reply_with_text_and_a_call_keeps_both() {
        let reply = Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Text { text: "Let me check. ".into() },
                ContentBlock::ToolUse { id: "c".into(), name: "t".into(), input: json!({}) },
            ],
        };
        let sent = assistant(&reply);
        assert_eq!(sent["content"], "Let me check. ");
        assert_eq!(sent["tool_calls"][0]["id"], "c");
    }

    #[test]
    fn the_token_parameter_reads_both_names_and_nothing_else() {
        assert_eq!(TokenParameter::parse("max_tokens"), Some(TokenParameter::MaxTokens));
        assert_eq!(TokenParameter::parse("max_completion_tokens"), Some(TokenParameter::MaxCompletionTokens));
        assert_eq!(TokenParameter::parse("tokens"), None);
        assert_eq!(TokenParameter::default(), TokenParameter::MaxCompletionTokens);
    }
}
