//! A conversation as a Markdown file: its title, then each message under its author, its text
//! as written (it is Markdown already), each tool call summarised on one line (its name and the
//! start of its input; outputs are left out), and a note on replies that were stopped.

use jarvis_types::chat::ConversationView;

/// How much of a tool call's input the summary keeps.
const INPUT_CHARS: usize = 120;

/// Renders the conversation to Markdown.
pub fn render(view: &ConversationView) -> String {
    let mut out = format!("# {}\n", one_line(&view.title));
    for message in &view.messages {
        let author = if message.role == "user" { "You" } else { "Jarvis" };
        out.push_str(&format!("\n## {author}\n\n"));
        let text = message.text.trim_end();
        if !text.is_empty() {
            out.push_str(text);
            out.push('\n');
        }
        if !message.tools.is_empty() {
            out.push('\n');
            for tool in &message.tools {
                let failed = if tool.is_error { " (failed)" } else { "" };
                out.push_str(&format!("> Tool call: {}{failed}", inline_code(&tool.name)));
                let input = summary(&tool.input);
                if !input.is_empty() {
                    out.push_str(&format!(" {}", inline_code(&input)));
                }
                out.push('\n');
            }
        }
        if message.partial {
            out.push_str("\n_(This reply was stopped before its end.)_\n");
        }
    }
    out
}

/// The download's name: `conversation-<title as a slug>.md`.
pub fn filename(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.chars().count() >= 60 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() { "conversation.md".to_owned() } else { format!("conversation-{slug}.md") }
}

/// A title on one line (a heading ends at a line break).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The start of a tool's input, on one line.
fn summary(input: &str) -> String {
    let input = one_line(input);
    if input == "{}" || input == "null" {
        return String::new();
    }
    let mut cut: String = input.chars().take(INPUT_CHARS).collect();
    if input.chars().count() > INPUT_CHARS {
        cut.push('…');
    }
    cut
}

/// `text` as inline code, fenced with more backticks than it contains in a row.
fn inline_code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use jarvis_types::chat::{ChatMessageView, ToolCallView};

    use super::*;

    fn message(role: &str, text: &str) -> ChatMessageView {
        ChatMessageView {
            id: "id".into(),
            role: role.into(),
            text: text.into(),
            tools: Vec::new(),
            partial: false,
            run_id: None,
            clips: Vec::new(),
            refused: false,
            versions: Vec::new(),
            attachments: Vec::new(),
            model: None,
        }
    }

    #[test]
    fn messages_appear_in_order_under_their_authors_with_tool_calls_summarised() {
        let mut reply = message("assistant", "I saved it.\n\n```rust\nfn main() {}\n```\n");
        reply.tools.push(ToolCallView {
            id: "t1".into(),
            name: "save_document".into(),
            input: r#"{"title":"Plan"}"#.into(),
            output: Some("secret document body".into()),
            is_error: false,
        });
        reply.tools.push(ToolCallView {
            id: "t2".into(),
            name: "read_document".into(),
            input: "{}".into(),
            output: None,
            is_error: true,
        });
        let mut stopped = message("assistant", "Half");
        stopped.partial = true;
        let view = ConversationView {
            id: "c".into(),
            title: "My\nplan".into(),
            messages: vec![message("user", "Write a plan"), reply, stopped],
            running_run_id: None,
            running_reply_versions: Vec::new(),
            model: None,
        };
        assert_eq!(
            render(&view),
            "# My plan\n\n## You\n\nWrite a plan\n\n## Jarvis\n\nI saved it.\n\n```rust\nfn main() {}\n```\n\n\
             > Tool call: `save_document` `{\"title\":\"Plan\"}`\n> Tool call: `read_document` (failed)\n\n\
             ## Jarvis\n\nHalf\n\n_(This reply was stopped before its end.)_\n"
        );
    }

    #[test]
    fn long_tool_inputs_are_cut_and_backticks_cannot_break_out_of_the_code_span() {
        assert_eq!(summary(&"x".repeat(200)).chars().count(), INPUT_CHARS + 1);
        assert_eq!(inline_code("a`b"), "``a`b``");
        assert_eq!(inline_code("`x"), "`` `x ``");
    }

    #[test]
    fn the_file_name_is_a_slug_of_the_title() {
        assert_eq!(filename("Trip to Lisbon: plan (v2)!"), "conversation-trip-to-lisbon-plan-v2.md");
        assert_eq!(filename("Résumé"), "conversation-résumé.md");
        assert_eq!(filename("../../etc/passwd"), "conversation-etc-passwd.md");
        assert_eq!(filename("  ***  "), "conversation.md");
    }
}
