//! A scripted reply and the SSE events it streams as: `message_start`, each content block's
//! start, deltas (words of text, halves of a tool call's JSON, thinking and its signature) and
//! stop, `ping`s where the API sends them, `message_delta` with the usage, `message_stop`.

use std::time::Duration;

use serde_json::{Value, json};

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

pub(super) fn sse(event: &(String, Value)) -> Vec<u8> {
    format!("event: {}\ndata: {}\n\n", event.0, event.1).into_bytes()
}
