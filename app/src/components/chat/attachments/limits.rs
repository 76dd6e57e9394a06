//! What the composer accepts before anything is sent: the kinds of file an attachment may be
//! (images, PDFs, text and code) and the largest of each, in one place. The server checks again
//! from the bytes (it may resize an image, count a PDF's pages, refuse what is not text); this
//! check only spares the user an upload that could never succeed.

use jarvis_types::chat::AttachmentKind;

use crate::format::format_size;

const MIB: u64 = 1024 * 1024;

/// The largest image picked: the server scales larger images down to what the model takes, so
/// this bounds the raw file, not what is sent.
pub const IMAGE_MAX_BYTES: u64 = 20 * MIB;
/// The largest PDF: the server's limit (a PDF travels base64-encoded in a request of at most
/// 32 MB, with room left for the conversation).
pub const PDF_MAX_BYTES: u64 = 20 * MIB;
/// The largest text or code file: far more than most contexts already.
pub const TEXT_MAX_BYTES: u64 = MIB;

/// The file input's `accept`: what the picker offers.
pub const ACCEPT: &str = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/*,.md,.txt,.rs,.py,.js,.ts,.json,.toml,.yaml,.yml,.csv,.html,.css,.sql,.sh";

/// Image types the models read.
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
/// Names taken as text whatever type the browser gives them (often none, or `application/…`).
const TEXT_EXTENSIONS: [&str; 15] =
    ["md", "txt", "rs", "py", "js", "ts", "json", "toml", "yaml", "yml", "csv", "html", "css", "sql", "sh"];

/// The sentence every refusal of a type ends with (the server's words).
const ACCEPTED: &str = "Attach an image (PNG, JPEG, GIF or WebP), a PDF, or a text or code file.";

/// What a picked file would be to the model, or the sentence saying why it cannot be attached.
/// `content_type` is the browser's guess (`File.type`, often empty), `filename` its name.
pub fn check(filename: &str, content_type: &str, size_bytes: u64) -> Result<AttachmentKind, String> {
    let kind = kind_of(filename, content_type)
        .ok_or_else(|| format!("{filename} cannot be attached. {ACCEPTED}"))?;
    if size_bytes == 0 {
        return Err(format!("{filename} is empty."));
    }
    let max = max_bytes(kind);
    if size_bytes > max {
        return Err(format!(
            "{filename} is too large ({}): {} can be at most {}.",
            format_size(size_bytes),
            kind_plural(kind),
            format_size(max)
        ));
    }
    Ok(kind)
}

/// The largest file of a kind.
pub fn max_bytes(kind: AttachmentKind) -> u64 {
    match kind {
        AttachmentKind::Image => IMAGE_MAX_BYTES,
        AttachmentKind::Pdf => PDF_MAX_BYTES,
        AttachmentKind::Text => TEXT_MAX_BYTES,
    }
}

/// "images", "PDFs", "text files": how a sentence names a kind.
pub fn kind_plural(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::Image => "images",
        AttachmentKind::Pdf => "PDFs",
        AttachmentKind::Text => "text files",
    }
}

/// The kind by the browser's type, else by the name's extension; `None`: not attachable.
fn kind_of(filename: &str, content_type: &str) -> Option<AttachmentKind> {
    let content_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let extension = filename.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    if IMAGE_TYPES.contains(&content_type.as_str()) {
        Some(AttachmentKind::Image)
    } else if content_type == "application/pdf" || extension == "pdf" {
        Some(AttachmentKind::Pdf)
    } else if content_type.starts_with("image/") {
        // SVG, HEIC, TIFF…: images the models do not read.
        None
    } else if content_type.starts_with("text/") || TEXT_EXTENSIONS.contains(&extension.as_str()) {
        Some(AttachmentKind::Text)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_pdfs_and_text_files_are_recognised_by_type_or_name() {
        assert_eq!(check("cat.png", "image/png", 10), Ok(AttachmentKind::Image));
        assert_eq!(check("scan.PDF", "", 10), Ok(AttachmentKind::Pdf));
        assert_eq!(check("main.rs", "", 10), Ok(AttachmentKind::Text));
        assert_eq!(check("data.json", "application/json", 10), Ok(AttachmentKind::Text));
        assert_eq!(check("notes", "text/plain; charset=utf-8", 10), Ok(AttachmentKind::Text));
    }

    #[test]
    fn an_unsupported_file_is_refused_with_a_sentence_that_says_what_is_accepted() {
        let refusal = check("logo.svg", "image/svg+xml", 10).unwrap_err();
        assert!(refusal.starts_with("logo.svg cannot be attached."), "{refusal}");
        assert!(refusal.contains("PDF"), "{refusal}");
        assert!(check("archive.zip", "application/zip", 10).is_err());
    }

    #[test]
    fn a_file_larger_than_its_kinds_cap_is_refused_and_one_at_the_cap_is_not() {
        assert!(check("big.png", "image/png", IMAGE_MAX_BYTES).is_ok());
        assert!(check("big.png", "image/png", IMAGE_MAX_BYTES + 1).is_err());
        assert_eq!(
            check("big.png", "image/png", 25 * MIB),
            Err("big.png is too large (25 MB): images can be at most 20 MB.".to_owned())
        );
        assert!(check("big.pdf", "application/pdf", PDF_MAX_BYTES + 1).unwrap_err().contains("PDFs"));
        assert_eq!(
            check("log.txt", "text/plain", 3 * MIB),
            Err("log.txt is too large (3 MB): text files can be at most 1 MB.".to_owned())
        );
    }

    #[test]
    fn an_empty_file_is_refused() {
        assert_eq!(check("empty.txt", "text/plain", 0), Err("empty.txt is empty.".to_owned()));
    }
}
