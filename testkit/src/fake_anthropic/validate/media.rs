//! The checks the Messages API makes on `image` and `document` blocks (vision and PDF support):
//! the source's shape, the media types it accepts, base64 that decodes, bytes that are what
//! the media type says, and the documented size limits (5 MB per image through the API, 8000
//! pixels a side, 32 MB per request for PDFs).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// The media types an image block's base64 source may declare.
const IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];
/// The API's limit on one image's bytes.
const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// The API's limit on one side of an image.
const MAX_IMAGE_SIDE: u32 = 8000;
/// The API's limit on a request's size, which bounds a PDF.
const MAX_PDF_BYTES: usize = 32 * 1024 * 1024;

/// An `image` block (`path` is the block's, e.g. `messages.0.content.1`).
pub(super) fn check_image(path: &str, block: &Value) -> Result<(), String> {
    let source = source(path, "image", block)?;
    let here = format!("{path}.image.source");
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let media_type = media_type(&format!("{here}.base64"), source)?;
            if !IMAGE_TYPES.contains(&media_type) {
                return Err(format!(
                    "{here}.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
                ));
            }
            let bytes = data(&format!("{here}.base64"), source)?;
            if bytes.len() > MAX_IMAGE_BYTES {
                return Err(format!(
                    "{here}.base64.data: image exceeds 5 MB maximum: {} bytes > {MAX_IMAGE_BYTES} bytes",
                    bytes.len()
                ));
            }
            if sniff_image(&bytes) != Some(media_type) {
                return Err(format!(
                    "{here}.base64.data: Image does not match the provided media type {media_type}"
                ));
            }
            if let Some((width, height)) = png_size(&bytes)
                && (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE)
            {
                return Err(format!(
                    "{here}.base64.data: At least one of the image dimensions exceed max allowed size: {MAX_IMAGE_SIDE} pixels"
                ));
            }
            Ok(())
        }
        Some("url") => string_field(&format!("{here}.url"), source, "url"),
        _ => Err(format!(
            "{here}: Input tag found using 'type' does not match any of the expected tags: 'base64', 'url'"
        )),
    }
}

/// A `document` block: a PDF as base64, plain text, or a URL.
pub(super) fn check_document(path: &str, block: &Value) -> Result<(), String> {
    let source = source(path, "document", block)?;
    let here = format!("{path}.document.source");
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            if media_type(&format!("{here}.base64"), source)? != "application/pdf" {
                return Err(format!("{here}.base64.media_type: Input should be 'application/pdf'"));
            }
            let bytes = data(&format!("{here}.base64"), source)?;
            if bytes.len() > MAX_PDF_BYTES {
                return Err(format!("{here}.base64.data: PDF exceeds 32 MB maximum"));
            }
            if !bytes.starts_with(b"%PDF-") {
                return Err(format!("{here}.base64.data: The PDF specified was not valid."));
            }
            Ok(())
        }
        Some("text") => {
            if media_type(&format!("{here}.text"), source)? != "text/plain" {
                return Err(format!("{here}.text.media_type: Input should be 'text/plain'"));
            }
            string_field(&format!("{here}.text"), source, "data")
        }
        Some("url") => string_field(&format!("{here}.url"), source, "url"),
        _ => Err(format!(
            "{here}: Input tag found using 'type' does not match any of the expected tags: 'base64', 'text', 'content', 'url'"
        )),
    }
}

fn source<'a>(path: &str, kind: &str, block: &'a Value) -> Result<&'a Value, String> {
    match block.get("source") {
        None => Err(format!("{path}.{kind}.source: Field required")),
        Some(source @ Value::Object(_)) => Ok(source),
        Some(_) => Err(format!("{path}.{kind}.source: Input should be a valid dictionary")),
    }
}

fn media_type<'a>(here: &str, source: &'a Value) -> Result<&'a str, String> {
    match source.get("media_type") {
        None => Err(format!("{here}.media_type: Field required")),
        Some(Value::String(media_type)) => Ok(media_type),
        Some(_) => Err(format!("{here}.media_type: Input should be a valid string")),
    }
}

fn string_field(here: &str, source: &Value, field: &str) -> Result<(), String> {
    match source.get(field) {
        None => Err(format!("{here}.{field}: Field required")),
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(format!("{here}.{field}: Input should be a valid string")),
    }
}

fn data(here: &str, source: &Value) -> Result<Vec<u8>, String> {
    match source.get("data") {
        None => Err(format!("{here}.data: Field required")),
        Some(Value::String(data)) => {
            STANDARD.decode(data).map_err(|_| format!("{here}.data: Input should be a valid base64 string"))
        }
        Some(_) => Err(format!("{here}.data: Input should be a valid string")),
    }
}

/// The media type the bytes start like, if they are one of the API's image types.
fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A PNG's width and height, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let word = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((word(16), word(20)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bytes.extend(width.to_be_bytes());
        bytes.extend(height.to_be_bytes());
        bytes.extend([8, 6, 0, 0, 0]);
        bytes
    }

    fn image(media_type: &str, bytes: &[u8]) -> Value {
        json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": STANDARD.encode(bytes)}})
    }

    #[test]
    fn an_image_whose_bytes_match_its_media_type_is_accepted() {
        assert_eq!(check_image("messages.0.content.0", &image("image/png", &png(10, 10))), Ok(()));
    }

    #[test]
    fn an_image_declared_as_another_type_is_refused() {
        let error = check_image("messages.0.content.0", &image("image/jpeg", &png(10, 10))).unwrap_err();
        assert!(error.ends_with("Image does not match the provided media type image/jpeg"), "{error}");
    }

    #[test]
    fn an_image_media_type_the_api_does_not_take_is_refused() {
        let error = check_image("m", &image("image/bmp", b"BM")).unwrap_err();
        assert!(error.contains("Input should be 'image/jpeg'"), "{error}");
    }

    #[test]
    fn an_image_wider_than_8000_pixels_is_refused() {
        let error = check_image("m", &image("image/png", &png(8001, 10))).unwrap_err();
        assert!(error.contains("8000 pixels"), "{error}");
    }

    #[test]
    fn base64_that_does_not_decode_is_refused() {
        let block =
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "%%%"}});
        assert!(check_image("m", &block).unwrap_err().contains("valid base64"));
    }

    #[test]
    fn a_pdf_document_must_be_a_pdf() {
        let good = json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": STANDARD.encode(b"%PDF-1.4\n")}});
        let bad = json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": STANDARD.encode(b"hello")}});
        assert_eq!(check_document("m", &good), Ok(()));
        assert!(check_document("m", &bad).unwrap_err().contains("not valid"));
    }

    #[test]
    fn a_document_without_a_source_is_refused() {
        let error = check_document("messages.0.content.2", &json!({"type": "document"})).unwrap_err();
        assert_eq!(error, "messages.0.content.2.document.source: Field required");
    }
}
