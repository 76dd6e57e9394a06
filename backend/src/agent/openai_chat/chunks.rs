//! The Chat Completions stream, chunk by chunk, assembled into one [`ModelReply`]: `data:` lines
//! of `chat.completion.chunk` objects, then `data: [DONE]`. Text arrives in
//! `choices[0].delta.content`; each tool call arrives as `delta.tool_calls` fragments that share
//! an `index` (the first carries the `id` and the function's `name`, later ones pieces of the
//! `arguments` JSON string); `finish_reason` says why the reply ended; with
//! `stream_options.include_usage` a last chunk with `choices: []` carries the `usage`. Unknown
//! fields are ignored (the API and the compatible servers add them: `logprobs`, `refusal`,
//! `reasoning_content`, `timings`…); reasoning text is dropped, as nothing could send it back.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::errors::OpenAiError;
use crate::agent::messages::{ContentBlock, Message, ModelReply, Role, StopReason, Usage};
use crate::agent::stream::{Assembled, StreamError};

/// One `chat.completion.chunk` (or an error in its place).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Chunk {
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// `null` on every chunk but the last when usage is asked for; some servers (vLLM with
    /// continuous usage) send it on every chunk, cumulative.
    #[serde(default)]
    pub usage: Option<ChunkUsage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Choice {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub delta: Option<Delta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    /// What a model that declines says instead of content (OpenAI's structured refusal).
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ToolCallDelta {
    /// Which tool call this fragment belongs to. A few servers leave it out.
    #[serde(default)]
    pub index: Option<usize>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct ChunkUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct PromptTokensDetails {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

impl ChunkUsage {
    /// Ours: `prompt_tokens` counts the cached ones too, which are priced as cache reads.
    pub fn to_usage(self) -> Usage {
        let cached = self.prompt_tokens_details.and_then(|details| details.cached_tokens).unwrap_or(0);
        let cached = cached.min(self.prompt_tokens);
        Usage {
            input_tokens: self.prompt_tokens - cached,
            output_tokens: self.completion_tokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: cached,
        }
    }
}

/// A tool call being assembled from its fragments.
#[derive(Debug, Default)]
struct ToolCall {
    id: String,
    name: String,
    arguments: String,
    announced: bool,
}

/// Builds a reply from the `data` of each server-sent event, one at a time.
#[derive(Debug, Default)]
pub struct ChunkAssembler {
    text: String,
    refusal: String,
    calls: Vec<ToolCall>,
    /// The stream's `index` of a tool call → its place in `calls`.
    by_index: HashMap<usize, usize>,
    finish_reason: Option<String>,
    usage: Usage,
    done: bool,
}

impl ChunkAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the reply has used, as the stream reported it (zero until the usage chunk).
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The text received so far.
    pub fn partial_text(&self) -> &str {
        &self.text
    }

    /// Applies one event's `data`: what it means for the listener, in order (one chunk may
    /// carry text and the starts of several tool calls). `[DONE]` completes the reply.
    pub fn apply_data(&mut self, data: &str) -> Result<Vec<Assembled>, StreamError> {
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(vec![Assembled::Done(self.reply()?)]);
        }
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data)
            .map_err(|error| StreamError::Malformed { what: "chunk", detail: error.to_string() })?;
        if let Some(error) = OpenAiError::from_document(&value) {
            return Err(StreamError::Api(error.into_stream_error()));
        }
        let chunk: Chunk = serde_json::from_value(value)
            .map_err(|error| StreamError::Malformed { what: "chunk", detail: error.to_string() })?;
        self.apply(chunk)
    }

    pub fn apply(&mut self, chunk: Chunk) -> Result<Vec<Assembled>, StreamError> {
        let mut out = Vec::new();
        if let Some(usage) = chunk.usage {
            self.usage = usage.to_usage();
        }
        // We ask for one choice (`n` is left at 1); another index is not ours.
        for choice in chunk.choices.into_iter().filter(|choice| choice.index == 0) {
            if let Some(delta) = choice.delta {
                if let Some(mut text) = delta.content.filter(|text| !text.is_empty()) {
                    // Postgres cannot store U+0000: it never gets further than here.
                    crate::text::replace_nul_in_string(&mut text);
                    self.text.push_str(&text);
                    out.push(Assembled::Text(text));
                }
                if let Some(mut refusal) = delta.refusal.filter(|text| !text.is_empty()) {
                    crate::text::replace_nul_in_string(&mut refusal);
                    self.refusal.push_str(&refusal);
                    out.push(Assembled::Text(refusal));
                }
                for fragment in delta.tool_calls.unwrap_or_default() {
                    if let Some(started) = self.apply_tool_fragment(fragment) {
                        out.push(started);
                    }
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|reason| !reason.is_empty()) {
                self.finish_reason = Some(reason);
            }
        }
        Ok(out)
    }

    /// Adds one fragment to its tool call; announces the call once its name is known.
    fn apply_tool_fragment(&mut self, fragment: ToolCallDelta) -> Option<Assembled> {
        let id = fragment.id.filter(|id| !id.is_empty());
        let slot = self.slot_for(fragment.index, id.as_deref());
        let call = &mut self.calls[slot];
        if call.id.is_empty()
            && let Some(id) = id
        {
            call.id = id;
        }
        if let Some(function) = fragment.function {
            if call.name.is_empty()
                && let Some(name) = function.name.filter(|name| !name.is_empty())
            {
                call.name = name;
            }
            if let Some(arguments) = function.arguments {
                call.arguments.push_str(&arguments);
            }
        }
        if call.announced || call.name.is_empty() {
            return None;
        }
        call.announced = true;
        if call.id.is_empty() {
            // Some local servers send no id; ours must exist, for the tool result to name it.
            call.id = format!("call_{}_{slot}", uuid::Uuid::new_v4().simple());
        }
        Some(Assembled::ToolUseStarted { id: call.id.clone(), name: call.name.clone() })
    }

    /// Which call a fragment belongs to: the one of its `index`, unless it brings a different id
    /// (a server numbering every call 0); without an index, the last call, unless it brings a
    /// new id.
    fn slot_for(&mut self, index: Option<usize>, id: Option<&str>) -> usize {
        let differs = |call: &ToolCall| id.is_some_and(|id| !call.id.is_empty() && call.id != id);
        let existing = match index {
            Some(index) => self.by_index.get(&index).copied(),
            None => self.calls.len().checked_sub(1),
        };
        match existing {
            Some(slot) if !differs(&self.calls[slot]) => slot,
            _ => {
                self.calls.push(ToolCall::default());
                let slot = self.calls.len() - 1;
                if let Some(index) = index {
                    self.by_index.insert(index, slot);
                }
                slot
            }
        }
    }

    /// Call when the byte stream ends before `[DONE]`: a reply whose `finish_reason` came is
    /// whole (its usage may be missing); any other is incomplete.
    pub fn finish(&mut self) -> Result<ModelReply, StreamError> {
        if self.done || self.finish_reason.is_some() {
            self.done = true;
            self.reply()
        } else {
            Err(StreamError::Incomplete)
        }
    }

    fn stop_reason(&self) -> StopReason {
        let has_calls = !self.calls.is_empty();
        match self.finish_reason.as_deref() {
            Some("length") => StopReason::MaxTokens,
            Some("tool_calls" | "function_call") => StopReason::ToolUse,
            Some("content_filter") => StopReason::Refusal,
            _ if !self.refusal.is_empty() => StopReason::Refusal,
            // Some servers (older Ollama) say `stop` after tool calls: the calls are what counts.
            Some("stop") | None if has_calls => StopReason::ToolUse,
            Some("stop") => StopReason::EndTurn,
            _ => StopReason::Other,
        }
    }

    fn reply(&self) -> Result<ModelReply, StreamError> {
        let stop_reason = self.stop_reason();
        let mut content = Vec::new();
        let text = format!("{}{}", self.text, self.refusal);
        if !text.is_empty() {
            content.push(ContentBlock::Text { text });
        }
        let mut truncated_tool_use = false;
        for call in &self.calls {
            match parse_arguments(call) {
                Ok(input) => content.push(ContentBlock::ToolUse {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    input,
                }),
                // Cut by the output limit inside the call: left out, and the reply says so (the
                // turn asks again with a larger limit), as with the Messages API.
                Err(_) if stop_reason == StopReason::MaxTokens => truncated_tool_use = true,
                Err(detail) => return Err(StreamError::Malformed { what: "tool input", detail }),
            }
        }
        Ok(ModelReply {
            message: Message { role: Role::Assistant, content },
            stop_reason,
            usage: self.usage,
            truncated_tool_use,
        })
    }
}

/// A call's arguments as a JSON object: none at all is `{}` (a tool without parameters), as is
/// `null`; anything else that is not an object would be refused by a provider when sent back.
fn parse_arguments(call: &ToolCall) -> Result<Value, String> {
    if call.name.is_empty() {
        return Err(format!("tool call {} has no function name", call.id));
    }
    if call.arguments.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(Value::Null) => Ok(Value::Object(Default::default())),
        Ok(mut object @ Value::Object(_)) => {
            crate::text::replace_nul_in_json(&mut object);
            Ok(object)
        }
        Ok(other) => Err(format!("the arguments of {} are not a JSON object: {other}", call.name)),
        Err(error) => Err(format!("the arguments of {} are not JSON: {error}", call.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(data: &[&str]) -> (Vec<Assembled>, Result<ModelReply, StreamError>) {
        let mut assembler = ChunkAssembler::new();
        let mut out = Vec::new();
        for item in data {
            match assembler.apply_data(item) {
                Ok(items) => {
                    for item in items {
                        if let Assembled::Done(reply) = item {
                            return (out, Ok(reply));
                        }
                        out.push(item);
                    }
                }
                Err(error) => return (out, Err(error)),
            }
        }
        let end = assembler.finish();
        (out, end)
    }

    /// Two tool calls as OpenAI streams them, with text first and the usage chunk last.
    const TOOL_STREAM: &[&str] = &[
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Let me "},"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"check."},"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_current_time","arguments":""}}]},"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"tim"}}]},"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"search_documents","arguments":"{\"query\""}}]},"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ezone\": \"UTC\"}"}}]},"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":": \"tents\"}"}}]},"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":100,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#,
        "[DONE]",
    ];

    #[test]
    fn two_interleaved_tool_calls_are_assembled_by_index_after_the_text() {
        let (out, reply) = run(TOOL_STREAM);
        let reply = reply.unwrap();
        assert_eq!(
            out,
            vec![
                Assembled::Text("Let me ".into()),
                Assembled::Text("check.".into()),
                Assembled::ToolUseStarted { id: "call_a".into(), name: "get_current_time".into() },
                Assembled::ToolUseStarted { id: "call_b".into(), name: "search_documents".into() },
            ]
        );
        assert_eq!(
            reply.message.content,
            vec![
                ContentBlock::Text { text: "Let me check.".into() },
                ContentBlock::ToolUse {
                    id: "call_a".into(),
                    name: "get_current_time".into(),
                    input: json!({"timezone": "UTC"})
                },
                ContentBlock::ToolUse {
                    id: "call_b".into(),
                    name: "search_documents".into(),
                    input: json!({"query": "tents"})
                },
            ]
        );
        assert_eq!(reply.stop_reason, StopReason::ToolUse);
        assert!(!reply.truncated_tool_use);
    }

    #[test]
    fn usage_comes_from_the_last_chunk_with_cached_tokens_as_cache_reads() {
        let (_, reply) = run(TOOL_STREAM);
        assert_eq!(
            reply.unwrap().usage,
            Usage {
                input_tokens: 20,
                output_tokens: 30,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 100
            }
        );
    }

    #[test]
    fn each_finish_reason_maps_to_ours() {
        for (reason, ours) in [
            ("stop", StopReason::EndTurn),
            ("length", StopReason::MaxTokens),
            ("content_filter", StopReason::Refusal),
            ("something_new", StopReason::Other),
        ] {
            let finish = format!(r#"{{"choices":[{{"index":0,"delta":{{}},"finish_reason":"{reason}"}}]}}"#);
            let (_, reply) = run(&[TOOL_STREAM[1], &finish, "[DONE]"]);
            assert_eq!(reply.unwrap().stop_reason, ours, "{reason}");
        }
    }

    #[test]
    fn a_whole_tool_call_in_one_fragment_without_index_or_id_is_still_a_call() {
        let (out, reply) = run(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"function":{"name":"list_documents","arguments":"{}"}}]},"finish_reason":"stop"}]}"#,
            "[DONE]",
        ]);
        let reply = reply.unwrap();
        let Assembled::ToolUseStarted { id, .. } = &out[0] else { panic!("{out:?}") };
        assert!(id.starts_with("call_"), "{id}");
        assert_eq!(
            reply.message.tool_uses().next().map(|(i, n, _)| (i.to_owned(), n.to_owned())),
            Some((id.clone(), "list_documents".into()))
        );
        assert_eq!(reply.stop_reason, StopReason::ToolUse, "a `stop` with calls still runs them");
    }

    #[test]
    fn calls_all_numbered_zero_but_with_their_own_ids_stay_apart() {
        let (_, reply) = run(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"a","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_2","function":{"name":"b","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]);
        let names: Vec<String> =
            reply.unwrap().message.tool_uses().map(|(_, name, _)| name.to_owned()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn invalid_argument_json_is_an_error_unless_the_reply_was_cut_by_the_limit() {
        let start = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"save_document","arguments":"{\"content\": \"A long do"}}]}}]}"#;
        let (_, reply) =
            run(&[start, r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#, "[DONE]"]);
        assert!(matches!(reply, Err(StreamError::Malformed { what: "tool input", .. })), "{reply:?}");

        let (_, reply) = run(&[
            TOOL_STREAM[1],
            start,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"#,
            "[DONE]",
        ]);
        let reply = reply.unwrap();
        assert!(reply.truncated_tool_use);
        assert_eq!(reply.stop_reason, StopReason::MaxTokens);
        assert_eq!(reply.message.content, vec![ContentBlock::Text { text: "Let me ".into() }]);

        let (_, reply) = run(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"x","arguments":"[1]"}}]},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]);
        assert!(matches!(reply, Err(StreamError::Malformed { .. })), "an array is not an object");
    }

    #[test]
    fn an_error_object_in_the_stream_is_an_error() {
        let (out, reply) = run(&[
            TOOL_STREAM[1],
            r#"{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}"#,
        ]);
        assert_eq!(out, vec![Assembled::Text("Let me ".into())]);
        let Err(StreamError::Api(api)) = reply else { panic!("{reply:?}") };
        assert_eq!(api.kind, "api_error");
        assert!(api.message.contains("server_error"), "{}", api.message);
    }

    #[test]
    fn a_stream_that_ends_without_done_or_finish_reason_is_incomplete() {
        let (_, reply) = run(&TOOL_STREAM[..5]);
        assert_eq!(reply, Err(StreamError::Incomplete));
        let (_, reply) = run(&TOOL_STREAM[..9]);
        assert_eq!(reply.unwrap().stop_reason, StopReason::ToolUse, "finished, only [DONE] missing");
    }

    #[test]
    fn a_refusal_is_shown_and_stops_the_turn() {
        let (out, reply) = run(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":"I can't help with that."}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            "[DONE]",
        ]);
        assert_eq!(out, vec![Assembled::Text("I can't help with that.".into())]);
        assert_eq!(reply.unwrap().stop_reason, StopReason::Refusal);
    }

    #[test]
    fn nul_in_text_and_arguments_becomes_the_replacement_character() {
        let (out, reply) = run(&[
            r#"{"choices":[{"index":0,"delta":{"content":"a\u0000b"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"x","arguments":"{\"t\": \"x\\u0000y\"}"}}]},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]);
        assert_eq!(out[0], Assembled::Text("a\u{FFFD}b".into()));
        assert_eq!(
            reply.unwrap().message.content[1],
            ContentBlock::ToolUse { id: "c".into(), name: "x".into(), input: json!({"t": "x\u{FFFD}y"}) }
        );
    }
}
