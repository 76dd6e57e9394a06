//! What the model is given for an attachment: an `image` block, a `document` block (PDF) or the
//! text of a text file, each holding the stored bytes. A stored question refers to its
//! attachments by id; these blocks are built for each request and never stored.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jarvis_types::chat::AttachmentKind;

use uuid::Uuid;

use crate::agent::messages::{ContentBlock, MediaSource};

/// The blocks the model reads for attachment `id` of `kind` with these bytes: for an image or a
/// PDF a line naming it (the id is what `save_attachment_to_library` takes) and the media block;
/// for a text file its text, marked with the same.
pub(super) fn blocks_for(
    id: Uuid,
    kind: AttachmentKind,
    content_type: &str,
    filename: &str,
    bytes: &[u8],
) -> Vec<ContentBlock> {
    let label = format!("<attachment id=\"{id}\" filename=\"{}\">", quote(filename));
    match kind {
        AttachmentKind::Image => vec![
            ContentBlock::Text { text: label },
            ContentBlock::Image {
                source: MediaSource::Base64 {
                    media_type: content_type.to_owned(),
                    data: STANDARD.encode(bytes),
                },
            },
        ],
        AttachmentKind::Pdf => vec![
            ContentBlock::Text { text: label },
            ContentBlock::Document {
                source: MediaSource::Base64 {
                    media_type: "application/pdf".to_owned(),
                    data: STANDARD.encode(bytes),
                },
                title: Some(filename.to_owned()),
            },
        ],
        AttachmentKind::Text => {
            // Checked as UTF-8 without NUL on upload; a byte-order mark is no part of the text.
            let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
            vec![ContentBlock::Text { text: format!("{label}\n{text}\n</attachment>") }]
        }
    }
}

/// What the model reads in place of an attachment that is no longer there (deleted with its
/// object, or an id that names nothing of the user's).
pub(super) fn gone(filename: Option<&str>) -> ContentBlock {
    let text = match filename {
        Some(name) => format!("[The attached file \"{}\" is no longer available.]", quote(name)),
        None => "[An attached file is no longer available.]".to_owned(),
    };
    ContentBlock::Text { text }
}

/// A name inside a double-quoted attribute: its quotes cannot end it.
fn quote(name: &str) -> String {
    name.replace('"', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_pdfs_become_base64_blocks_that_decode_to_the_same_bytes() {
        let bytes: Vec<u8> = (0..=255).collect();
        let id = Uuid::new_v4();
        let image = blocks_for(id, AttachmentKind::Image, "image/webp", "a.webp", &bytes);
        assert_eq!(
            image[0],
            ContentBlock::Text { text: format!("<attachment id=\"{id}\" filename=\"a.webp\">") }
        );
        match &image[1] {
            ContentBlock::Image { source: MediaSource::Base64 { media_type, data } } => {
                assert_eq!(media_type, "image/webp");
                assert_eq!(STANDARD.decode(data).unwrap(), bytes);
            }
            other => panic!("{other:?}"),
        }
        match &blocks_for(id, AttachmentKind::Pdf, "application/pdf", "report.pdf", &bytes)[1] {
            ContentBlock::Document { source: MediaSource::Base64 { media_type, data }, title } => {
                assert_eq!(media_type, "application/pdf");
                assert_eq!(title.as_deref(), Some("report.pdf"));
                assert_eq!(STANDARD.decode(data).unwrap(), bytes);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_blocks_serialise_as_the_anthropic_api_names_them() {
        let id = Uuid::new_v4();
        let image =
            serde_json::to_value(&blocks_for(id, AttachmentKind::Image, "image/png", "a.png", b"x")[1])
                .unwrap();
        assert_eq!(
            image,
            serde_json::json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "eA=="}})
        );
        let document =
            serde_json::to_value(&blocks_for(id, AttachmentKind::Pdf, "application/pdf", "r.pdf", b"x")[1])
                .unwrap();
        assert_eq!(document["type"], "document");
        assert_eq!(document["source"]["type"], "base64");
        assert_eq!(document["title"], "r.pdf");
    }

    #[test]
    fn a_text_file_becomes_text_marked_with_its_name() {
        let id = Uuid::new_v4();
        let blocks = blocks_for(
            id,
            AttachmentKind::Text,
            "text/plain",
            "ma\"in.rs",
            "\u{feff}fn main() {}".as_bytes(),
        );
        assert_eq!(
            blocks,
            vec![ContentBlock::Text {
                text: format!(
                    "<attachment id=\"{id}\" filename=\"ma'in.rs\">\nfn main() {{}}\n</attachment>"
                )
            }]
        );
        match gone(Some("x.png")) {
            ContentBlock::Text { text } => {
                assert_eq!(text, "[The attached file \"x.png\" is no longer available.]")
            }
            other => panic!("{other:?}"),
        }
    }
}
