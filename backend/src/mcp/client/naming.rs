//! How a connector's tool is presented to the model: named `connector__tool` within the rule the
//! Messages API and OpenAI set for tool names (`^[a-zA-Z0-9_-]{1,64}$`), described as coming from
//! that server, and with an object schema for its input whatever the server sent.

use jarvis_types::connections::CONNECTOR_TOOL_SEPARATOR;
use serde_json::{Value, json};

/// The longest tool name the model APIs accept.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// The longest description passed on: a server's description is its own text in every request
/// of every run, so a long one is cut rather than paid for again and again.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// `connector__tool` as the model sees it. Characters a tool name may not have become `_` and a
/// name over 64 characters is cut (the call still uses the server's own name); `None` when the
/// server's name has nothing usable in it.
pub fn exposed_name(connector: &str, tool: &str) -> Option<String> {
    let tool: String = tool
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    if !tool.chars().any(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut name = format!("{connector}{CONNECTOR_TOOL_SEPARATOR}{tool}");
    // Only ASCII is left, so a byte index is a character index.
    name.truncate(MAX_TOOL_NAME_LEN);
    is_valid_tool_name(&name).then_some(name)
}

/// Whether the model APIs accept `name` as a tool name.
pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=MAX_TOOL_NAME_LEN).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The tool's description, saying which server it comes from.
pub fn description(connector: &str, description: &str) -> String {
    let description = description.trim();
    if description.is_empty() {
        return format!("A tool of the MCP server {connector}.");
    }
    let mut text = format!("From the MCP server {connector}: ");
    let mut chars = description.chars();
    text.extend(chars.by_ref().take(MAX_DESCRIPTION_CHARS));
    if chars.next().is_some() {
        text.push('…');
    }
    text
}

/// The server's input schema as an object schema: the MCP spec requires `"type": "object"`, and
/// the model APIs refuse anything else; a schema of another type (or none) becomes one that
/// takes any object.
pub fn object_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) if map.get("type").is_none_or(|kind| kind == "object") => {
            let mut map = map.clone();
            map.insert("type".into(), json!("object"));
            if !map.get("properties").is_some_and(Value::is_object) {
                map.insert("properties".into(), json!({}));
            }
            Value::Object(map)
        }
        _ => json!({"type": "object", "properties": {}}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_join_the_connector_and_the_tool_within_the_apis_rule() {
        assert_eq!(exposed_name("notes_server", "add_note").as_deref(), Some("notes_server__add_note"));
        assert_eq!(exposed_name("gh", "repos.list-all").as_deref(), Some("gh__repos_list-all"));
        assert_eq!(exposed_name("gh", "créer un ticket").as_deref(), Some("gh__cr_er_un_ticket"));
        assert_eq!(exposed_name("gh", "..."), None);
        assert_eq!(exposed_name("gh", ""), None);
        let long = exposed_name("a_very_long_server_n", &"x".repeat(100)).unwrap();
        assert_eq!(long.len(), MAX_TOOL_NAME_LEN);
        assert!(is_valid_tool_name(&long) && long.starts_with("a_very_long_server_n__x"));
        for name in ["notes__add", "a-b__c_d"] {
            assert!(is_valid_tool_name(name), "{name}");
        }
        for name in ["", "notes add", "notes.add", &"n".repeat(65)] {
            assert!(!is_valid_tool_name(name), "{name}");
        }
    }

    #[test]
    fn descriptions_name_the_server_and_are_bounded() {
        assert_eq!(description("notes", " Adds a note. "), "From the MCP server notes: Adds a note.");
        assert_eq!(description("notes", ""), "A tool of the MCP server notes.");
        let long = description("notes", &"é".repeat(MAX_DESCRIPTION_CHARS + 10));
        assert!(long.ends_with('…'));
        assert_eq!(long.chars().count(), "From the MCP server notes: ".len() + MAX_DESCRIPTION_CHARS + 1);
    }

    #[test]
    fn schemas_are_always_objects() {
        let given =
            json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]});
        assert_eq!(object_schema(&given), given);
        assert_eq!(
            object_schema(&json!({"required": []})),
            json!({"type": "object", "properties": {}, "required": []})
        );
        for odd in [json!({"type": "string"}), json!(null), json!([1]), json!("object")] {
            assert_eq!(object_schema(&odd), json!({"type": "object", "properties": {}}), "{odd}");
        }
    }
}
