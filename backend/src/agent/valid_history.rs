//! The one place that makes a conversation a valid Messages API request, whatever was stored:
//! no empty message or blank text block; roles strictly alternating from a user message (the
//! content of consecutive messages of one role is joined, as the API itself would); every
//! `tool_use` answered by a `tool_result` at the start of the next message (an unanswered one
//! gets an error result saying so) and no `tool_result` without its `tool_use`; and no trailing
//! whitespace at the end of a final assistant message.

use std::collections::HashSet;

use super::messages::{ContentBlock, Message, Role};

/// What the model is told about a tool call that was never answered.
pub const UNANSWERED_TOOL_CALL: &str =
    "This tool call was not run: the reply was interrupted before it could be.";

/// `history` made valid to send (see the module documentation). A history that is already
/// valid comes back unchanged.
pub fn make_valid(history: Vec<Message>) -> Vec<Message> {
    let mut messages: Vec<Message> = history.into_iter().filter_map(without_blank_text).collect();
    // Each pass can only remove blocks or join messages, so this ends; two passes are the most
    // a real history needs.
    for _ in 0..8 {
        let before = messages.clone();
        messages = join_same_roles(messages);
        messages = pair_tool_calls(messages);
        if messages == before {
            break;
        }
    }
    trim_final_assistant(&mut messages);
    messages
}

/// The message without empty or whitespace-only text blocks; `None` when nothing is left.
fn without_blank_text(mut message: Message) -> Option<Message> {
    message.content.retain(|block| !matches!(block, ContentBlock::Text { text } if text.trim().is_empty()));
    (!message.content.is_empty()).then_some(message)
}

/// Drops leading assistant messages and joins consecutive messages of one role. In a joined
/// user message the `tool_result` blocks come first, as the API requires.
fn join_same_roles(messages: Vec<Message>) -> Vec<Message> {
    let mut joined: Vec<Message> = Vec::with_capacity(messages.len());
    for message in messages {
        if message.content.is_empty() || (joined.is_empty() && message.role == Role::Assistant) {
            continue;
        }
        match joined.last_mut() {
            Some(last) if last.role == message.role => {
                last.content.extend(message.content);
                if last.role == Role::User {
                    let (results, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut last.content)
                        .into_iter()
                        .partition(|block| matches!(block, ContentBlock::ToolResult { .. }));
                    last.content = results.into_iter().chain(rest).collect();
                }
            }
            _ => joined.push(message),
        }
    }
    joined
}

/// Answers every `tool_use` at the start of the next message and drops `tool_result` blocks
/// that answer nothing.
fn pair_tool_calls(messages: Vec<Message>) -> Vec<Message> {
    let mut paired: Vec<Message> = Vec::with_capacity(messages.len() + 1);
    let mut asked: Vec<String> = Vec::new();
    for mut message in messages {
        if message.role == Role::Assistant {
            if !asked.is_empty() {
                // The previous assistant message asked and nothing came between.
                paired.push(answers(&asked, Vec::new()));
            }
            asked = message.tool_uses().map(|(id, _, _)| id.to_owned()).collect();
            paired.push(message);
            continue;
        }
        let ids = std::mem::take(&mut asked);
        let (results, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut message.content)
            .into_iter()
            .partition(|block| matches!(block, ContentBlock::ToolResult { .. }));
        let answered = answers(&ids, results);
        message.content = answered.content.into_iter().chain(rest).collect();
        if !message.content.is_empty() {
            paired.push(message);
        }
    }
    if !asked.is_empty() {
        paired.push(answers(&asked, Vec::new()));
    }
    paired
}

/// A user message answering `ids` in order, from `results` where they hold an answer.
fn answers(ids: &[String], results: Vec<ContentBlock>) -> Message {
    let mut seen = HashSet::new();
    let mut given: Vec<ContentBlock> = results
        .into_iter()
        .filter(|block| match block {
            ContentBlock::ToolResult { tool_use_id, .. } => {
                ids.contains(tool_use_id) && seen.insert(tool_use_id.clone())
            }
            _ => false,
        })
        .collect();
    let content = ids
        .iter()
        .map(|id| {
            let found = given.iter().position(
                |block| matches!(block, ContentBlock::ToolResult { tool_use_id, .. } if tool_use_id == id),
            );
            match found {
                Some(index) => given.remove(index),
                None => ContentBlock::ToolResult {
                    tool_use_id: id.clone(),
                    content: UNANSWERED_TOOL_CALL.to_owned(),
                    is_error: true,
                },
            }
        })
        .collect();
    Message { role: Role::User, content }
}

/// A final assistant message (sent back to be continued) may not end with whitespace.
fn trim_final_assistant(messages: &mut Vec<Message>) {
    let Some(last) = messages.last_mut().filter(|message| message.role == Role::Assistant) else { return };
    if let Some(ContentBlock::Text { text }) = last.content.last_mut() {
        let trimmed = text.trim_end().len();
        text.truncate(trimmed);
        if text.is_empty() {
            last.content.pop();
        }
    }
    if last.content.is_empty() {
        messages.pop();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(role: Role, text: &str) -> Message {
        Message { role, content: vec![ContentBlock::Text { text: text.into() }] }
    }

    fn tool_use(id: &str) -> ContentBlock {
        ContentBlock::ToolUse { id: id.into(), name: "get_current_time".into(), input: json!({}) }
    }

    fn result(id: &str, content: &str) -> ContentBlock {
        ContentBlock::ToolResult { tool_use_id: id.into(), content: content.into(), is_error: false }
    }

    #[test]
    fn a_valid_history_is_unchanged() {
        let history = vec![
            text(Role::User, "What time is it?"),
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::Text { text: "Checking.".into() }, tool_use("a")],
            },
            Message { role: Role::User, content: vec![result("a", "12:00")] },
            text(Role::Assistant, "It is noon."),
            text(Role::User, "Thanks"),
        ];
        assert_eq!(make_valid(history.clone()), history);
    }

    #[test]
    fn an_empty_reply_and_blank_text_blocks_are_left_out() {
        let history = vec![
            text(Role::User, "Hi"),
            Message { role: Role::Assistant, content: vec![] },
            text(Role::Assistant, "  \n"),
            text(Role::User, "Hello?"),
        ];
        let valid = make_valid(history);
        assert_eq!(valid.len(), 1, "{valid:?}");
        assert_eq!(valid[0].content.len(), 2, "the two user messages are joined");
    }

    #[test]
    fn an_unanswered_tool_use_gets_an_error_result_at_the_start_of_the_next_message() {
        let history = vec![
            text(Role::User, "Save it"),
            Message { role: Role::Assistant, content: vec![tool_use("a"), tool_use("b")] },
            Message {
                role: Role::User,
                content: vec![ContentBlock::Text { text: "and?".into() }, result("b", "saved")],
            },
        ];
        let valid = make_valid(history);
        assert_eq!(valid.len(), 3);
        assert_eq!(
            valid[2].content,
            vec![
                ContentBlock::ToolResult {
                    tool_use_id: "a".into(),
                    content: UNANSWERED_TOOL_CALL.into(),
                    is_error: true
                },
                result("b", "saved"),
                ContentBlock::Text { text: "and?".into() },
            ]
        );
    }

    #[test]
    fn a_tool_use_at_the_end_is_answered_and_a_stray_result_dropped() {
        let history = vec![
            Message {
                role: Role::User,
                content: vec![result("ghost", "x"), ContentBlock::Text { text: "Go".into() }],
            },
            Message { role: Role::Assistant, content: vec![tool_use("a")] },
        ];
        let valid = make_valid(history);
        assert_eq!(valid[0].content, vec![ContentBlock::Text { text: "Go".into() }]);
        assert_eq!(valid.len(), 3);
        assert!(matches!(&valid[2].content[..], [ContentBlock::ToolResult { is_error: true, .. }]));
    }

    #[test]
    fn a_history_starting_with_the_assistant_starts_with_the_user() {
        let valid = make_valid(vec![text(Role::Assistant, "Hello"), text(Role::User, "Hi")]);
        assert_eq!(valid, vec![text(Role::User, "Hi")]);
    }

    #[test]
    fn a_final_assistant_message_loses_its_trailing_whitespace() {
        let valid = make_valid(vec![text(Role::User, "Write"), text(Role::Assistant, "Part one \n\n")]);
        assert_eq!(valid[1], text(Role::Assistant, "Part one"));
    }

    #[test]
    fn two_assistant_messages_of_a_paused_turn_are_joined() {
        let valid = make_valid(vec![
            text(Role::User, "Write"),
            text(Role::Assistant, "Part one"),
            text(Role::Assistant, ", part two"),
            text(Role::User, "More"),
        ]);
        assert_eq!(valid.len(), 3);
        assert_eq!(valid[1].text(), "Part one, part two");
    }
}
