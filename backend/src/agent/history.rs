//! Keeping the conversation inside the model's context window: the oldest exchanges are dropped
//! first, and a cut only ever falls before a user message that starts an exchange (plain text,
//! not `tool_result`s), so a `tool_use` is never separated from its `tool_result`.

use super::messages::{ContentBlock, MediaSource, Message, Role};

/// A rough token count (4 bytes a token) that errs on the high side for English text.
pub fn estimate_tokens(message: &Message) -> usize {
    message
        .content
        .iter()
        .map(|block| match block {
            ContentBlock::Text { text } => text.len(),
            ContentBlock::ToolUse { name, input, .. } => name.len() + input.to_string().len(),
            ContentBlock::ToolResult { content, .. } => content.len(),
            ContentBlock::Thinking { thinking, signature } => thinking.len() + signature.len(),
            ContentBlock::RedactedThinking { data } => data.len(),
            // Counted in bytes like the rest (4 a token): an image costs the model about 1,600
            // tokens whatever its encoded size (Anthropic: width × height / 750, at most about
            // 1.15 megapixels); a PDF about 1,500–3,000 a page, which its size only hints at.
            ContentBlock::Image { .. } => 1_600 * 4,
            ContentBlock::Document { source: MediaSource::Base64 { data, .. }, .. } => {
                (data.len() / 25).max(8_000)
            }
            // Resolved before any call; never sent as such.
            ContentBlock::Attachment { id } => id.len(),
        })
        .sum::<usize>()
        / 4
        + 4
}

fn starts_exchange(message: &Message) -> bool {
    message.role == Role::User
        && !message.content.iter().any(|block| matches!(block, ContentBlock::ToolResult { .. }))
}

/// The newest suffix of `history` that fits in `budget` tokens and starts an exchange. The
/// last exchange is always kept whole, even when it alone is over budget.
pub fn fit(history: &[Message], budget: usize) -> &[Message] {
    let mut total: usize = history.iter().map(estimate_tokens).sum();
    let mut start = 0;
    while total > budget {
        // The next exchange boundary after `start`.
        let Some(next) = (start + 1..history.len()).find(|&i| starts_exchange(&history[i])) else { break };
        total -= history[start..next].iter().map(estimate_tokens).sum::<usize>();
        start = next;
    }
    &history[start..]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn exchange_with_tool(question: &str) -> Vec<Message> {
        vec![
            Message::user_text(question),
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::ToolUse {
                    id: "t".into(),
                    name: "get_current_time".into(),
                    input: json!({}),
                }],
            },
            Message {
                role: Role::User,
                content: vec![ContentBlock::ToolResult {
                    tool_use_id: "t".into(),
                    content: "x".repeat(400),
                    is_error: false,
                }],
            },
            Message { role: Role::Assistant, content: vec![ContentBlock::Text { text: "y".repeat(400) }] },
        ]
    }

    #[test]
    fn a_history_within_budget_is_kept_whole() {
        let history = exchange_with_tool("first");
        assert_eq!(fit(&history, 10_000).len(), 4);
    }

    #[test]
    fn the_oldest_exchanges_go_first_and_never_split_a_tool_use_from_its_result() {
        let mut history = exchange_with_tool("first");
        history.extend(exchange_with_tool("second"));
        history.extend(exchange_with_tool("third"));
        let per_exchange: usize = history[..4].iter().map(estimate_tokens).sum();

        let kept = fit(&history, per_exchange * 2);

        assert_eq!(kept.len(), 8);
        assert_eq!(kept[0].text(), "second");
        for (i, message) in kept.iter().enumerate() {
            if message.content.iter().any(|b| matches!(b, ContentBlock::ToolResult { .. })) {
                assert!(
                    i > 0 && kept[i - 1].tool_uses().count() > 0,
                    "a tool_result without its tool_use at {i}"
                );
            }
        }
    }

    #[test]
    fn the_last_exchange_survives_even_over_budget() {
        let history = exchange_with_tool("only");
        assert_eq!(fit(&history, 1).len(), 4);
    }
}
