//! The conversation as the model sees it: messages of content blocks, in the shape of the
//! Anthropic Messages API (which Claude, Ollama and llama.cpp's server all accept). Stored as
//! JSON in Postgres and sent back unchanged, thinking blocks and their signatures included.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Stored as `messages.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

impl Message {
    pub fn user_text(text: impl Into<String>) -> Self {
        Self { role: Role::User, content: vec![ContentBlock::Text { text: text.into() }] }
    }

    /// The `tool_use` blocks of this message, in order.
    pub fn tool_uses(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.content.iter().filter_map(|block| match block {
            ContentBlock::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
    }

    /// The text of this message's text blocks, joined.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
    /// Kept and sent back unchanged: the API checks the signature.
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    /// An image for the model (Anthropic's `image` block). Only ever built for a request from
    /// an [`ContentBlock::Attachment`]; never stored.
    Image {
        source: MediaSource,
    },
    /// A PDF for the model (Anthropic's `document` block). As for `Image`.
    Document {
        source: MediaSource,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    /// How a stored question refers to one of the user's attachments (`attachments.id`). Before a
    /// model call, `crate::attachments` replaces it with an `Image`, a `Document` or a `Text`
    /// block holding the bytes; no provider is ever sent one.
    Attachment {
        id: String,
    },
}

/// The bytes of an image or a document, inline (`{"type": "base64", "media_type", "data"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediaSource {
    Base64 { media_type: String, data: String },
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    PauseTurn,
    Refusal,
    ModelContextWindowExceeded,
    #[serde(other)]
    Other,
}

/// Token usage of one model call (the last `message_delta` carries cumulative counts). A count
/// may be missing or `null` (the API documents the input and cache counts as nullable, and
/// compatible servers send `null` for what they do not count): either is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default, deserialize_with = "count")]
    pub input_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    pub output_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    pub cache_creation_input_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    pub cache_read_input_tokens: u64,
}

/// A token count that may be `null`.
fn count<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    Ok(Option::<u64>::deserialize(deserializer)?.unwrap_or(0))
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens
            + self.output_tokens
            + self.cache_creation_input_tokens
            + self.cache_read_input_tokens
    }

    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_creation_input_tokens += other.cache_creation_input_tokens;
        self.cache_read_input_tokens += other.cache_read_input_tokens;
    }
}

/// One complete reply of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    pub message: Message,
    pub stop_reason: StopReason,
    pub usage: Usage,
    /// The reply was cut by `max_tokens` inside a tool call's input; that call is not in
    /// `message`.
    pub truncated_tool_use: bool,
}

/// Joins a reply's text as the user reads it, live and reloaded alike: text runs on directly
/// (a continued turn, consecutive blocks), and text after a tool call starts a new paragraph.
#[derive(Debug, Clone, Default)]
pub struct ReplyText {
    text: String,
    after_tool_call: bool,
}

impl ReplyText {
    pub fn new() -> Self {
        Self::default()
    }

    /// What to show for the next piece of text: the piece, after a paragraph break when it is
    /// the first text after a tool call.
    pub fn push_text(&mut self, piece: &str) -> String {
        if piece.is_empty() {
            return String::new();
        }
        let mut shown = String::new();
        if std::mem::take(&mut self.after_tool_call) && !self.text.is_empty() {
            shown.push_str("\n\n");
        }
        shown.push_str(piece);
        self.text.push_str(&shown);
        shown
    }

    pub fn push_tool_call(&mut self) {
        self.after_tool_call = true;
    }

    /// Feeds a stored block.
    pub fn push_block(&mut self, block: &ContentBlock) {
        match block {
            ContentBlock::Text { text } => {
                self.push_text(text);
            }
            ContentBlock::ToolUse { .. } => self.push_tool_call(),
            _ => {}
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn into_string(self) -> String {
        self.text
    }
}

/// A tool as the model is told about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_or_missing_token_count_is_zero() {
        let usage: Usage = serde_json::from_str(
            r#"{"input_tokens":25,"output_tokens":3,"cache_creation_input_tokens":null,"cache_read_input_tokens":null}"#,
        )
        .unwrap();
        assert_eq!(usage, Usage { input_tokens: 25, output_tokens: 3, ..Usage::default() });
        let usage: Usage = serde_json::from_str(r#"{"output_tokens":7}"#).unwrap();
        assert_eq!(usage, Usage { output_tokens: 7, ..Usage::default() });
        assert!(serde_json::from_str::<Usage>(r#"{"output_tokens":"seven"}"#).is_err(), "not a count at all");
    }

    #[test]
    fn blocks_use_the_wire_names_of_the_messages_api() {
        let message = Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Thinking { thinking: "hmm".into(), signature: "sig".into() },
                ContentBlock::Text { text: "Hi".into() },
                ContentBlock::ToolUse {
                    id: "toolu_1".into(),
                    name: "get_current_time".into(),
                    input: serde_json::json!({}),
                },
            ],
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Hi"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_current_time", "input": {}},
            ]})
        );
        assert_eq!(serde_json::from_value::<Message>(json).unwrap(), message);
    }

    #[test]
    fn a_successful_tool_result_omits_is_error() {
        let ok = ContentBlock::ToolResult { tool_use_id: "t".into(), content: "4".into(), is_error: false };
        let failed =
            ContentBlock::ToolResult { tool_use_id: "t".into(), content: "no".into(), is_error: true };
        assert_eq!(
            serde_json::to_value(ok).unwrap(),
            serde_json::json!({"type": "tool_result", "tool_use_id": "t", "content": "4"})
        );
        assert_eq!(serde_json::to_value(failed).unwrap()["is_error"], true);
    }

    #[test]
    fn reply_text_runs_on_and_breaks_a_paragraph_after_a_tool_call() {
        let mut live = ReplyText::new();
        let shown: String = ["Let me ", "check."].iter().map(|piece| live.push_text(piece)).collect();
        live.push_tool_call();
        let after = live.push_text("It is noon.");
        assert_eq!(shown, "Let me check.");
        assert_eq!(after, "\n\nIt is noon.");

        let mut reloaded = ReplyText::new();
        for block in [
            ContentBlock::Text { text: "Let me check.".into() },
            ContentBlock::ToolUse { id: "t".into(), name: "x".into(), input: serde_json::json!({}) },
            ContentBlock::Text { text: "It is noon.".into() },
        ] {
            reloaded.push_block(&block);
        }
        assert_eq!(reloaded.as_str(), live.as_str());

        let mut first = ReplyText::new();
        first.push_tool_call();
        assert_eq!(first.push_text("Done."), "Done.", "no break before the first text");
    }

    #[test]
    fn an_unknown_stop_reason_does_not_fail_parsing() {
        assert_eq!(serde_json::from_str::<StopReason>("\"something_new\"").unwrap(), StopReason::Other);
        assert_eq!(serde_json::from_str::<StopReason>("\"pause_turn\"").unwrap(), StopReason::PauseTurn);
    }
}
