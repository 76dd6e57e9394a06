//! The Messages API's streaming events, and the assembler that turns them into one
//! [`ModelReply`]. Unknown event, block and delta types are ignored (the API adds them over
//! time); `tool_use` input arrives as JSON fragments and is parsed when its block stops (a
//! tool call cut by `max_tokens` is left out of the reply, which says so; malformed input with
//! any other ending is an error); thinking blocks keep their signature so they can be sent
//! back unchanged.

use serde::Deserialize;
use serde_json::Value;

use super::messages::{ContentBlock, Message, ModelReply, Role, StopReason, Usage};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    MessageStart {
        message: MessageStart,
    },
    ContentBlockStart {
        index: usize,
        content_block: BlockStart,
    },
    ContentBlockDelta {
        index: usize,
        delta: Delta,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Usage,
    },
    MessageStop,
    Ping,
    Error {
        error: ApiError,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessageStart {
    #[serde(default)]
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockStart {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    #[serde(other)]
    Unknown,
}

/// A `content_block_delta` event as a plain struct (see [`Assembler::apply_json`]); anything
/// else fails to read as one, or reads with other `type`s.
#[derive(Deserialize)]
struct TextDeltaEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    index: usize,
    #[serde(borrow)]
    delta: TextDeltaBody<'a>,
}

#[derive(Deserialize)]
struct TextDeltaBody<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessageDeltaBody {
    pub stop_reason: Option<StopReason>,
}

/// The `error` object of the API, in an `error` event or an error response body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("the model service reported {}: {}", .0.kind, .0.message)]
    Api(ApiError),
    #[error("the model sent malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("the stream ended before the message did")]
    Incomplete,
}

impl crate::Kinded for StreamError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::Api(api) if api.kind == "request_too_large" => ErrorKind::Invalid,
            Self::Api(api)
                if matches!(
                    api.kind.as_str(),
                    "invalid_request_error" | "authentication_error" | "permission_error" | "not_found_error"
                ) =>
            {
                ErrorKind::Internal
            }
            Self::Api(_) | Self::Incomplete => ErrorKind::Unavailable,
            Self::Malformed { .. } => ErrorKind::Internal,
        }
    }
}

/// What one event means for the listener.
#[derive(Debug, Clone, PartialEq)]
pub enum Assembled {
    /// Text to show now.
    Text(String),
    /// The model started calling a tool.
    ToolUseStarted { id: String, name: String },
    /// The message is complete.
    Done(ModelReply),
}

#[derive(Debug)]
enum Block {
    Text(String),
    /// `input` is set once the block stopped with input that parses.
    ToolUse {
        id: String,
        name: String,
        json: String,
        input: Option<Value>,
        error: Option<String>,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking(String),
    Ignored,
}

/// Builds a reply from stream events, one event at a time.
#[derive(Debug, Default)]
pub struct Assembler {
    blocks: Vec<(usize, Block)>,
    usage: Usage,
    stop_reason: Option<StopReason>,
    done: bool,
}

impl Assembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the message has used so far, as the stream reported it.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Parses one SSE `data` payload and applies it.
    pub fn apply_json(&mut self, data: &str) -> Result<Option<Assembled>, StreamError> {
        // Nearly every event of a reply is a text delta: read as a plain struct, it is parsed
        // once, where the tagged enum would buffer it whole (twice over, for the nested tag)
        // before reading it.
        if let Ok(delta) = serde_json::from_str::<TextDeltaEvent<'_>>(data)
            && delta.kind == "content_block_delta"
            && delta.delta.kind == "text_delta"
            && let Some(text) = delta.delta.text
        {
            return self.apply(StreamEvent::ContentBlockDelta {
                index: delta.index,
                delta: Delta::TextDelta { text: text.into_owned() },
            });
        }
        let event: StreamEvent = serde_json::from_str(data)
            .map_err(|error| StreamError::Malformed { what: "event", detail: error.to_string() })?;
        self.apply(event)
    }

    pub fn apply(&mut self, event: StreamEvent) -> Result<Option<Assembled>, StreamError> {
        match event {
            StreamEvent::MessageStart { message } => {
                self.usage = message.usage;
                Ok(None)
            }
            StreamEvent::ContentBlockStart { index, content_block } => {
                let (block, announce) = match content_block {
                    BlockStart::Text { text } => {
                        (Block::Text(crate::text::replace_nul(&text).into_owned()), None)
                    }
                    BlockStart::ToolUse { id, name } => (
                        Block::ToolUse {
                            id: id.clone(),
                            name: name.clone(),
                            json: String::new(),
                            input: None,
                            error: None,
                        },
                        Some(Assembled::ToolUseStarted { id, name }),
                    ),
                    BlockStart::Thinking { thinking, signature } => {
                        (Block::Thinking { thinking, signature }, None)
                    }
                    BlockStart::RedactedThinking { data } => (Block::RedactedThinking(data), None),
                    BlockStart::Unknown => (Block::Ignored, None),
                };
                self.blocks.push((index, block));
                Ok(announce)
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                let block = self.block(index)?;
                match (block, delta) {
                    (Block::Text(text), Delta::TextDelta { text: mut more }) => {
                        // Postgres cannot store U+0000: it never gets further than here.
                        crate::text::replace_nul_in_string(&mut more);
                        text.push_str(&more);
                        Ok(Some(Assembled::Text(more)))
                    }
                    (Block::ToolUse { json, .. }, Delta::InputJsonDelta { partial_json }) => {
                        json.push_str(&partial_json);
                        Ok(None)
                    }
                    (Block::Thinking { thinking, .. }, Delta::ThinkingDelta { thinking: more }) => {
                        thinking.push_str(&more);
                        Ok(None)
                    }
                    (Block::Thinking { signature, .. }, Delta::SignatureDelta { signature: more }) => {
                        signature.push_str(&more);
                        Ok(None)
                    }
                    // New delta kinds, and deltas for blocks we ignore, change nothing.
                    _ => Ok(None),
                }
            }
            StreamEvent::ContentBlockStop { index } => {
                // Whether input that does not parse is an error depends on why the message
                // stopped, which comes later.
                if let Block::ToolUse { json, input, error, .. } = self.block(index)? {
                    if json.trim().is_empty() {
                        *input = Some(Value::Object(Default::default()));
                    } else {
                        match serde_json::from_str::<Value>(json) {
                            Ok(mut parsed) => {
                                crate::text::replace_nul_in_json(&mut parsed);
                                *input = Some(parsed);
                            }
                            Err(parse_error) => *error = Some(parse_error.to_string()),
                        }
                    }
                }
                Ok(None)
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                // Counts in message_delta are cumulative: the latest wins, field by field.
                self.usage.output_tokens = usage.output_tokens.max(self.usage.output_tokens);
                if usage.input_tokens > 0 {
                    self.usage.input_tokens = usage.input_tokens;
                }
                if usage.cache_creation_input_tokens > 0 {
                    self.usage.cache_creation_input_tokens = usage.cache_creation_input_tokens;
                }
                if usage.cache_read_input_tokens > 0 {
                    self.usage.cache_read_input_tokens = usage.cache_read_input_tokens;
                }
                Ok(None)
            }
            StreamEvent::MessageStop => {
                self.done = true;
                Ok(Some(Assembled::Done(self.reply()?)))
            }
            StreamEvent::Ping | StreamEvent::Unknown => Ok(None),
            StreamEvent::Error { error } => Err(StreamError::Api(error)),
        }
    }

    /// Call when the byte stream ends: an unfinished message is an error.
    pub fn finish(&self) -> Result<(), StreamError> {
        if self.done { Ok(()) } else { Err(StreamError::Incomplete) }
    }

    /// The text received so far (kept when a run fails or is stopped).
    pub fn partial_text(&self) -> String {
        self.blocks
            .iter()
            .filter_map(|(_, block)| match block {
                Block::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    fn block(&mut self, index: usize) -> Result<&mut Block, StreamError> {
        self.blocks
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, block)| block)
            .ok_or(StreamError::Malformed { what: "event", detail: format!("no content block {index}") })
    }

    fn reply(&self) -> Result<ModelReply, StreamError> {
        let stop_reason = self.stop_reason.clone().unwrap_or(StopReason::Other);
        let mut content = Vec::new();
        let mut truncated_tool_use = false;
        for (_, block) in &self.blocks {
            content.push(match block {
                Block::Text(text) => ContentBlock::Text { text: text.clone() },
                Block::ToolUse { id, name, input: Some(input), .. } => {
                    ContentBlock::ToolUse { id: id.clone(), name: name.clone(), input: input.clone() }
                }
                Block::ToolUse { .. } if stop_reason == StopReason::MaxTokens => {
                    truncated_tool_use = true;
                    continue;
                }
                Block::ToolUse { error, .. } => {
                    return Err(StreamError::Malformed {
                        what: "tool input",
                        detail: error.clone().unwrap_or_else(|| "the tool call never ended".into()),
                    });
                }
                Block::Thinking { thinking, signature } => {
                    ContentBlock::Thinking { thinking: thinking.clone(), signature: signature.clone() }
                }
                Block::RedactedThinking(data) => ContentBlock::RedactedThinking { data: data.clone() },
                Block::Ignored => continue,
            });
        }
        Ok(ModelReply {
            message: Message { role: Role::Assistant, content },
            stop_reason,
            usage: self.usage,
            truncated_tool_use,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: &[&str]) -> (Vec<Assembled>, Result<(), StreamError>) {
        let mut assembler = Assembler::new();
        let mut out = Vec::new();
        for event in events {
            match assembler.apply_json(event) {
                Ok(Some(item)) => out.push(item),
                Ok(None) => {}
                Err(error) => return (out, Err(error)),
            }
        }
        (out, assembler.finish())
    }

    #[test]
    fn a_text_delta_read_the_fast_way_is_the_delta_the_event_carries() {
        let mut assembler = Assembler::new();
        assembler
            .apply_json(
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            )
            .unwrap();
        let escaped = r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"say \"hi\"\n\u00e9\u0000"}}"#;
        assert_eq!(
            assembler.apply_json(escaped).unwrap(),
            Some(Assembled::Text("say \"hi\"\né\u{FFFD}".into()))
        );
        let plain =
            r#"{"delta":{"text":"⟦u:1⟧ ","type":"text_delta"},"index":0,"type":"content_block_delta"}"#;
        assert_eq!(assembler.apply_json(plain).unwrap(), Some(Assembled::Text("⟦u:1⟧ ".into())));
        let missing = r#"{"type":"content_block_delta","index":7,"delta":{"type":"text_delta","text":"x"}}"#;
        assert!(assembler.apply_json(missing).is_err(), "a delta for no block is still refused");
        assert_eq!(assembler.partial_text(), "say \"hi\"\né\u{FFFD}⟦u:1⟧ ");
    }

    const TOOL_STREAM: &[&str] = &[
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1,"cache_read_input_tokens":10}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user wants"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAh"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"ping"}"#,
        r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Let me "}}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"check."}}"#,
        r#"{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{}}}"#,
        r#"{"type":"content_block_stop","index":1}"#,
        r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_current_time","input":{}}}"#,
        r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}"#,
        r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"timezone\": "}}"#,
        r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"\"UTC\"}"}}"#,
        r#"{"type":"content_block_stop","index":2}"#,
        r#"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_2","name":"get_current_time","input":{}}}"#,
        r#"{"type":"content_block_stop","index":3}"#,
        r#"{"type":"brand_new_event","whatever":true}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#,
        r#"{"type":"message_stop"}"#,
    ];

    #[test]
    fn a_stream_with_thinking_text_and_two_tool_calls_assembles_into_one_reply() {
        let (out, end) = run(TOOL_STREAM);
        end.unwrap();
        assert_eq!(out[0], Assembled::Text("Let me ".into()));
        assert_eq!(out[1], Assembled::Text("check.".into()));
        assert_eq!(
            out[2],
            Assembled::ToolUseStarted { id: "toolu_1".into(), name: "get_current_time".into() }
        );
        let Assembled::Done(reply) = out.last().unwrap() else { panic!("no reply") };
        assert_eq!(reply.stop_reason, StopReason::ToolUse);
        assert_eq!(
            reply.usage,
            Usage {
                input_tokens: 25,
                output_tokens: 89,
                cache_read_input_tokens: 10,
                cache_creation_input_tokens: 0
            }
        );
        assert_eq!(
            reply.message.content,
            vec![
                ContentBlock::Thinking { thinking: "The user wants".into(), signature: "EqQBCgIYAh".into() },
                ContentBlock::Text { text: "Let me check.".into() },
                ContentBlock::ToolUse {
                    id: "toolu_1".into(),
                    name: "get_current_time".into(),
                    input: serde_json::json!({"timezone": "UTC"})
                },
                ContentBlock::ToolUse {
                    id: "toolu_2".into(),
                    name: "get_current_time".into(),
                    input: serde_json::json!({})
                },
            ]
        );
    }

    #[test]
    fn an_error_event_after_a_200_fails_the_attempt() {
        let (out, end) = run(&[
            TOOL_STREAM[0],
            TOOL_STREAM[6],
            TOOL_STREAM[7],
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ]);
        assert_eq!(out, vec![Assembled::Text("Let me ".into())]);
        assert_eq!(
            end,
            Err(StreamError::Api(ApiError { kind: "overloaded_error".into(), message: "Overloaded".into() }))
        );
    }

    #[test]
    fn a_stream_that_stops_early_is_incomplete_and_keeps_its_partial_text() {
        let mut assembler = Assembler::new();
        for event in &TOOL_STREAM[..9] {
            assembler.apply_json(event).unwrap();
        }
        assert_eq!(assembler.finish(), Err(StreamError::Incomplete));
        assert_eq!(assembler.partial_text(), "Let me check.");
    }

    const CUT_TOOL_CALL: &str = r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"content\": \"A long docu"}}"#;

    #[test]
    fn malformed_tool_input_is_an_error_not_a_panic() {
        let (_, end) = run(&[
            TOOL_STREAM[0],
            TOOL_STREAM[11],
            CUT_TOOL_CALL,
            TOOL_STREAM[15],
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#,
            r#"{"type":"message_stop"}"#,
        ]);
        assert!(matches!(end, Err(StreamError::Malformed { what: "tool input", .. })), "{end:?}");
    }

    #[test]
    fn nul_in_text_and_tool_input_becomes_the_replacement_character() {
        let (out, end) = run(&[
            TOOL_STREAM[0],
            TOOL_STREAM[6],
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"a\u0000b"}}"#,
            TOOL_STREAM[10],
            TOOL_STREAM[11],
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"content\": \"x\\u0000y\"}"}}"#,
            TOOL_STREAM[15],
            TOOL_STREAM[19],
            TOOL_STREAM[20],
        ]);
        end.unwrap();
        assert_eq!(out[0], Assembled::Text("a\u{FFFD}b".into()));
        let Some(Assembled::Done(reply)) = out.last() else { panic!("{out:?}") };
        assert_eq!(
            reply.message.content[1],
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "get_current_time".into(),
                input: serde_json::json!({"content": "x\u{FFFD}y"})
            }
        );
    }

    #[test]
    fn a_tool_call_cut_by_max_tokens_is_left_out_and_reported() {
        let (out, end) = run(&[
            TOOL_STREAM[0],
            TOOL_STREAM[6],
            TOOL_STREAM[7],
            TOOL_STREAM[10],
            TOOL_STREAM[11],
            CUT_TOOL_CALL,
            TOOL_STREAM[15],
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":4096}}"#,
            r#"{"type":"message_stop"}"#,
        ]);
        end.unwrap();
        let Some(Assembled::Done(reply)) = out.last() else { panic!("{out:?}") };
        assert!(reply.truncated_tool_use);
        assert_eq!(reply.stop_reason, StopReason::MaxTokens);
        assert_eq!(reply.message.content, vec![ContentBlock::Text { text: "Let me ".into() }]);
    }
}
