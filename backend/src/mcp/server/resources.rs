//! The user's documents as MCP resources: each is `jarvis://documents/{id}`, named by its title,
//! with the media type of its kind, and read as its current text.

use rmcp::model::{Resource, ResourceContents, ResourceTemplate};
use uuid::Uuid;

use crate::library::documents::{Document, DocumentSummary, Kind};

/// The URI of every document, `{id}` its id.
pub const TEMPLATE: &str = "jarvis://documents/{id}";
const PREFIX: &str = "jarvis://documents/";

/// Documents per page of `resources/list`.
pub const PAGE_SIZE: i64 = 100;

pub fn uri(id: Uuid) -> String {
    format!("{PREFIX}{id}")
}

/// The document a URI names; `None` for anything that is not one of our document URIs.
pub fn document_id(uri: &str) -> Option<Uuid> {
    Uuid::parse_str(uri.strip_prefix(PREFIX)?).ok()
}

/// The media type of a kind, without parameters (`text/markdown`), as MCP's `mimeType` is.
pub fn mime_type(kind: &str) -> &'static str {
    let content_type = Kind::parse(kind).unwrap_or(Kind::Text).content_type();
    content_type.split(';').next().unwrap_or(content_type)
}

pub fn listed(document: &DocumentSummary) -> Resource {
    Resource::new(uri(document.id), document.title.clone())
        .with_title(document.title.clone())
        .with_description(format!("{}, version {}", document.filename, document.version))
        .with_mime_type(mime_type(&document.kind))
        .with_size(u64::try_from(document.size_bytes).unwrap_or(0))
}

pub fn contents(document: &Document) -> ResourceContents {
    ResourceContents::text(document.content.clone(), uri(document.id))
        .with_mime_type(mime_type(&document.kind))
}

pub fn template() -> ResourceTemplate {
    ResourceTemplate::new(TEMPLATE, "document")
        .with_title("A document in your Jarvis library")
        .with_description(
            "A document's current text, by its id (as list_documents and search_documents give it).",
        )
}

/// The offset a `resources/list` cursor stands for (the cursor is the offset, as text).
pub fn offset(cursor: Option<&str>) -> Option<i64> {
    match cursor {
        None => Some(0),
        Some(cursor) => cursor.parse::<i64>().ok().filter(|offset| *offset >= 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_uri_round_trips_and_nothing_else_names_a_document() {
        let id = Uuid::new_v4();
        assert_eq!(document_id(&uri(id)), Some(id));
        assert_eq!(document_id(&format!("file:///{id}")), None);
        assert_eq!(document_id("jarvis://documents/not-an-id"), None);
        assert_eq!(document_id(&format!("jarvis://documents/{id}/x")), None);
    }

    #[test]
    fn media_types_come_without_parameters() {
        assert_eq!(mime_type("markdown"), "text/markdown");
        assert_eq!(mime_type("code"), "text/plain");
        assert_eq!(mime_type("json"), "application/json");
        assert_eq!(mime_type("unknown"), "text/plain");
    }

    #[test]
    fn cursors_are_non_negative_offsets() {
        assert_eq!(offset(None), Some(0));
        assert_eq!(offset(Some("200")), Some(200));
        assert_eq!(offset(Some("-1")), None);
        assert_eq!(offset(Some("x")), None);
    }
}
