//! A connector's `tools/call` result as the text the model reads: its text parts joined, other
//! parts described in a few words (the model is not sent a server's images or audio),
//! `structuredContent` as JSON when there is no text, all cut at a bound.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

/// The most of a result the model is given, in characters.
pub const MAX_RESULT_CHARS: usize = 100_000;

/// The text of a result, and whether the server marked it as an error.
pub fn render(result: &CallToolResult) -> (String, bool) {
    let parts: Vec<String> = result.content.iter().map(part).collect();
    let has_text = result.content.iter().any(|block| matches!(block, ContentBlock::Text(_)));
    let mut text = parts.join("\n");
    if !has_text && let Some(structured) = &result.structured_content {
        let json = serde_json::to_string(structured).unwrap_or_default();
        text = if text.is_empty() { json } else { format!("{json}\n{text}") };
    }
    if text.trim().is_empty() {
        text = "(The tool returned no content.)".to_owned();
    }
    (cap(text), result.is_error == Some(true))
}

fn part(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text.clone(),
        ContentBlock::Image(image) => format!("[image: {}]", image.mime_type),
        ContentBlock::Audio(audio) => format!("[audio: {}]", audio.mime_type),
        ContentBlock::ResourceLink(link) => format!("[resource: {}]", link.uri),
        ContentBlock::Resource(embedded) => match &embedded.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => format!("[resource: {uri}]\n{text}"),
            ResourceContents::BlobResourceContents { uri, mime_type, .. } => match mime_type {
                Some(mime_type) => format!("[resource: {uri} ({mime_type})]"),
                None => format!("[resource: {uri}]"),
            },
            _ => "[resource]".to_owned(),
        },
        _ => "[content of a kind Jarvis does not read]".to_owned(),
    }
}

/// `text` cut at [`MAX_RESULT_CHARS`], saying so.
fn cap(text: String) -> String {
    match text.char_indices().nth(MAX_RESULT_CHARS) {
        None => text,
        Some((end, _)) => format!("{}\n[… cut at {MAX_RESULT_CHARS} characters]", &text[..end]),
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::ContentBlock;
    use serde_json::json;

    use super::*;

    fn result(value: serde_json::Value) -> CallToolResult {
        serde_json::from_value(value).expect("a CallToolResult as the spec writes it")
    }

    #[test]
    fn text_parts_are_joined_and_other_parts_described() {
        let (text, is_error) = render(&result(json!({
            "content": [
                {"type": "text", "text": "Noted: milk"},
                {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"},
                {"type": "resource_link", "uri": "file:///notes/1", "name": "note 1"},
                {"type": "resource", "resource": {"uri": "file:///notes/2", "text": "eggs"}},
                {"type": "text", "text": "Done."}
            ]
        })));
        assert_eq!(
            text,
            "Noted: milk\n[image: image/png]\n[resource: file:///notes/1]\n[resource: file:///notes/2]\neggs\nDone."
        );
        assert!(!is_error);
    }

    #[test]
    fn structured_content_stands_in_for_missing_text_and_errors_are_flagged() {
        let (text, is_error) =
            render(&result(json!({"content": [], "structuredContent": {"temperature": 21}})));
        assert_eq!((text.as_str(), is_error), (r#"{"temperature":21}"#, false));
        let with_text =
            result(json!({"content": [{"type": "text", "text": "21 °C"}], "structuredContent": {"t": 21}}));
        assert_eq!(render(&with_text).0, "21 °C", "the text is what the server meant for reading");
        let (text, is_error) =
            render(&result(json!({"content": [{"type": "text", "text": "No such note."}], "isError": true})));
        assert_eq!((text.as_str(), is_error), ("No such note.", true));
        assert_eq!(render(&result(json!({"content": []}))).0, "(The tool returned no content.)");
    }

    #[test]
    fn a_huge_result_is_cut_on_a_character_boundary() {
        let long = CallToolResult::success(vec![ContentBlock::text("é".repeat(MAX_RESULT_CHARS + 5))]);
        let (text, _) = render(&long);
        assert!(text.starts_with(&"é".repeat(MAX_RESULT_CHARS)));
        assert!(text.ends_with("[… cut at 100000 characters]"), "{}", &text[text.len() - 40..]);
    }
}
