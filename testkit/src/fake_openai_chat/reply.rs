//! A scripted reply and the `chat.completion.chunk` objects it streams as, in OpenAI's order: a
//! first chunk with `delta.role` and empty `content`; the text word by word; each tool call as a
//! first fragment (`index`, `id`, `type`, `function.name`, empty `arguments`) and then its
//! arguments' JSON in three pieces (one call after another, as OpenAI sends them, or interleaved,
//! as a test of assembly by `index` wants); a chunk with an empty `delta` and the
//! `finish_reason`; with `stream_options.include_usage`, `"usage": null` on every chunk and a
//! last chunk with `choices: []` and the usage; then `data: [DONE]`.

use std::time::Duration;

use serde_json::{Value, json};

/// A scripted successful reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    /// `(id, name, arguments)`; the arguments are sent as written, JSON or not.
    pub tool_calls: Vec<(String, String, String)>,
    pub finish_reason: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    /// Tool-call fragments alternate between the calls instead of one call after another.
    pub interleaved: bool,
    /// Bytes per HTTP chunk (0: one SSE event per HTTP chunk).
    pub chunk_size: usize,
    pub chunk_delay: Duration,
    /// How long the reply takes to start (before the response headers).
    pub first_delay: Duration,
    /// `: keep-alive` comment lines between events, as proxies and some servers send.
    pub keep_alive: bool,
    /// Lines end in `\r\n` rather than `\n`.
    pub crlf: bool,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            tool_calls: Vec::new(),
            finish_reason: "stop".into(),
            prompt_tokens: 20,
            completion_tokens: 10,
            cached_tokens: 0,
            interleaved: false,
            chunk_size: 0,
            chunk_delay: Duration::ZERO,
            first_delay: Duration::ZERO,
            keep_alive: false,
            crlf: false,
        }
    }

    pub fn tool_call(id: &str, name: &str, arguments: Value) -> Self {
        Self::text("").with_tool_call(id, name, arguments)
    }

    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = text.into();
        self
    }

    pub fn with_tool_call(self, id: &str, name: &str, arguments: Value) -> Self {
        self.with_raw_tool_call(id, name, &arguments.to_string())
    }

    /// A tool call whose `arguments` string is sent exactly as given (invalid JSON included).
    pub fn with_raw_tool_call(mut self, id: &str, name: &str, arguments: &str) -> Self {
        self.tool_calls.push((id.into(), name.into(), arguments.into()));
        self.finish_reason = "tool_calls".into();
        self
    }

    pub fn finish_reason(mut self, reason: &str) -> Self {
        self.finish_reason = reason.into();
        self
    }

    pub fn usage(mut self, prompt_tokens: u64, completion_tokens: u64, cached_tokens: u64) -> Self {
        self.prompt_tokens = prompt_tokens;
        self.completion_tokens = completion_tokens;
        self.cached_tokens = cached_tokens;
        self
    }

    pub fn interleaved(mut self) -> Self {
        self.interleaved = true;
        self
    }

    pub fn chunked(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes.max(1);
        self
    }

    pub fn slowly(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.first_delay = delay;
        self
    }

    pub fn with_keep_alive(mut self) -> Self {
        self.keep_alive = true;
        self
    }

    pub fn with_crlf(mut self) -> Self {
        self.crlf = true;
        self
    }

    /// The `delta` and `finish_reason` of each choice chunk, in order (the usage chunk and
    /// `[DONE]` are added by [`Reply::events`]).
    pub fn deltas(&self) -> Vec<(Value, Option<String>)> {
        let mut out = vec![(json!({"role": "assistant", "content": "", "refusal": null}), None)];
        for word in split_words(&self.text) {
            out.push((json!({"content": word}), None));
        }
        let mut fragments: Vec<Vec<Value>> = Vec::new();
        for (index, (id, name, arguments)) in self.tool_calls.iter().enumerate() {
            let mut call = vec![json!({"tool_calls": [{
                "index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}
            }]})];
            for piece in thirds(arguments) {
                call.push(json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}));
            }
            fragments.push(call);
        }
        if self.interleaved {
            let longest = fragments.iter().map(Vec::len).max().unwrap_or(0);
            for step in 0..longest {
                for call in &fragments {
                    if let Some(fragment) = call.get(step) {
                        out.push((fragment.clone(), None));
                    }
                }
            }
        } else {
            out.extend(fragments.into_iter().flatten().map(|fragment| (fragment, None)));
        }
        out.push((json!({}), Some(self.finish_reason.clone())));
        out
    }

    /// The SSE `data` payloads of this reply for a request for `model`, `[DONE]` last.
    pub fn events(&self, model: &str, include_usage: bool) -> Vec<String> {
        let base = |choices: Value| {
            let mut chunk = json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 1_764_000_000,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": choices,
            });
            if include_usage {
                chunk["usage"] = Value::Null;
            }
            chunk
        };
        let mut events: Vec<String> = self
            .deltas()
            .into_iter()
            .map(|(delta, finish_reason)| {
                base(json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]))
                    .to_string()
            })
            .collect();
        if include_usage {
            let mut last = base(json!([]));
            last["usage"] = json!({
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
                "prompt_tokens_details": {"cached_tokens": self.cached_tokens, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                    "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
            });
            events.push(last.to_string());
        }
        events.push("[DONE]".into());
        events
    }

    /// One event's bytes, framed as this reply frames them.
    pub fn frame(&self, data: &str) -> Vec<u8> {
        let end = if self.crlf { "\r\n" } else { "\n" };
        let keep_alive = if self.keep_alive { format!(": keep-alive{end}{end}") } else { String::new() };
        format!("{keep_alive}data: {data}{end}{end}").into_bytes()
    }
}

/// Words with their following space, as models stream them.
fn split_words(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' || c == '\n' {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// `text` in three pieces, cut at character boundaries (empty pieces left out).
fn thirds(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let third = chars.len().div_ceil(3).max(1);
    chars.chunks(third).map(|piece| piece.iter().collect()).collect()
}
