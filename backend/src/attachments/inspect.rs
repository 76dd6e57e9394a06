//! What an upload is, from its bytes (never its name or the client's word), and whether the
//! model can take it: an image (PNG, JPEG, GIF, WebP), a PDF whose pages can be counted, or
//! UTF-8 text. Anything else is refused with a sentence that says what is accepted.

use image::ImageFormat;

use super::error::AttachmentError;
use super::limits::{AttachmentLimits, human_size};
use crate::library::documents::{Kind, filename::sanitize_stem};
use crate::library::files::{Sniffed, sniff};

/// The sentence every refusal of a type ends with.
pub(super) const ACCEPTED: &str = "Attach an image (PNG, JPEG, GIF or WebP), a PDF, or a text or code file.";

/// What an upload was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Recognised {
    Image {
        format: ImageFormat,
        content_type: &'static str,
        extension: &'static str,
    },
    Pdf,
    /// UTF-8 without NUL bytes. `content_type` is `text/…` by the name's extension.
    Text {
        content_type: &'static str,
    },
}

/// Recognises `bytes` and checks the limits of their kind that need no decoding (size; a PDF's
/// pages are counted by [`pdf_pages`]).
pub(super) fn recognise(
    bytes: &[u8],
    filename: &str,
    limits: &AttachmentLimits,
) -> Result<Recognised, AttachmentError> {
    if bytes.is_empty() {
        return Err(AttachmentError::Empty);
    }
    if bytes.len() > limits.upload_max_bytes {
        return Err(too_large_upload(limits));
    }
    let recognised = match sniff(bytes, filename) {
        Sniffed::Binary { content_type, extension: Some(extension) } => match content_type {
            "image/png" => Recognised::Image { format: ImageFormat::Png, content_type, extension },
            "image/jpeg" => Recognised::Image { format: ImageFormat::Jpeg, content_type, extension },
            "image/gif" => Recognised::Image { format: ImageFormat::Gif, content_type, extension },
            "image/webp" => Recognised::Image { format: ImageFormat::WebP, content_type, extension },
            "application/pdf" => Recognised::Pdf,
            other => {
                return Err(AttachmentError::Unsupported(format!(
                    "This file is {} ({other}), which cannot be attached. {ACCEPTED}",
                    describe(other)
                )));
            }
        },
        Sniffed::Binary { .. } => {
            return Err(AttachmentError::Unsupported(format!(
                "This file is neither an image, a PDF nor UTF-8 text. {ACCEPTED}"
            )));
        }
        Sniffed::Text { kind, .. } => Recognised::Text { content_type: text_content_type(kind) },
    };
    match recognised {
        Recognised::Pdf if bytes.len() > limits.pdf_max_bytes => Err(AttachmentError::TooLarge(format!(
            "The PDF is {}; PDFs may be at most {}.",
            human_size(bytes.len()),
            human_size(limits.pdf_max_bytes)
        ))),
        Recognised::Text { .. } if bytes.len() > limits.text_max_bytes => {
            Err(AttachmentError::TooLarge(format!(
                "The text file is {}; text files may be at most {}.",
                human_size(bytes.len()),
                human_size(limits.text_max_bytes)
            )))
        }
        other => Ok(other),
    }
}

/// The refusal of anything past the upload limit, whatever it is.
pub(super) fn too_large_upload(limits: &AttachmentLimits) -> AttachmentError {
    AttachmentError::TooLarge(format!(
        "The file is too large: attachments are limited to {}.",
        human_size(limits.upload_max_bytes)
    ))
}

/// "an audio file", "a ZIP archive"…: a word for the kind of a refused type.
fn describe(content_type: &str) -> &'static str {
    match content_type.split('/').next() {
        Some("audio") => "an audio file",
        Some("video") => "a video",
        Some("image") => "an image of a kind the models do not read",
        _ if content_type.contains("zip") || content_type.contains("compressed") => "an archive",
        _ => "a binary file",
    }
}

/// The type a text attachment is served and described as. Never `text/html`: it is shown as
/// text, not run as a page.
fn text_content_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Markdown => "text/markdown",
        Kind::Csv => "text/csv",
        Kind::Text | Kind::Code | Kind::Html | Kind::Json => "text/plain",
    }
}

/// The page count of a PDF, from its page tree (object streams and cross-reference streams
/// included). A PDF that does not parse, is locked by a password or has too many pages is
/// refused with a sentence.
pub(super) fn pdf_pages(bytes: &[u8], limits: &AttachmentLimits) -> Result<u32, AttachmentError> {
    let unreadable = || {
        AttachmentError::Unreadable(
            "This PDF could not be read: it may be damaged. Try saving it again.".into(),
        )
    };
    // A parser fed hostile bytes must refuse them, never take the request down.
    let metadata = std::panic::catch_unwind(|| lopdf::Document::load_metadata_mem(bytes))
        .map_err(|_| unreadable())?
        .map_err(|error| {
            tracing::info!(%error, "attachments.pdf_unreadable");
            unreadable()
        })?;
    if metadata.encrypted && metadata.page_count == 0 {
        return Err(AttachmentError::Unreadable(
            "This PDF is protected by a password; remove the password and attach it again.".into(),
        ));
    }
    match metadata.page_count {
        0 => Err(unreadable()),
        pages if pages > limits.pdf_max_pages => Err(AttachmentError::TooLarge(format!(
            "The PDF has {pages} pages; PDFs may have at most {}.",
            limits.pdf_max_pages
        ))),
        pages => Ok(pages),
    }
}

/// The name an attachment is kept under: the sanitised stem of the last path component, with the
/// sniffed type's extension for an image or a PDF, and the original one (if any) for text.
pub(super) fn attachment_filename(raw: &str, extension: Option<&str>) -> String {
    let raw = crate::text::strip_bidi_controls(raw);
    let raw: &str = &raw;
    let base = raw.rsplit(['/', '\\']).find(|part| !part.trim().is_empty()).unwrap_or(raw);
    let (stem, original) = match base.rsplit_once('.') {
        Some((stem, ext))
            if !stem.trim_matches('.').trim().is_empty()
                && (1..=10).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (stem, Some(ext.to_ascii_lowercase()))
        }
        _ => (base, None),
    };
    let stem = match sanitize_stem(stem) {
        // `sanitize_stem`'s fallback is a document's; this is an attachment.
        stem if stem == "document" && !base.contains("document") => "attachment".to_owned(),
        stem => stem,
    };
    match extension.map(str::to_owned).or(original) {
        Some(extension) => format!("{stem}.{extension}"),
        None => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AttachmentLimits {
        AttachmentLimits::default()
    }

    /// A minimal PDF of `pages` empty pages with a correct cross-reference table.
    pub(crate) fn pdf_with_pages(pages: usize) -> Vec<u8> {
        let mut objects = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {pages} >>",
                (0..pages).map(|i| format!("{} 0 R", i + 3)).collect::<Vec<_>>().join(" ")
            ),
        ];
        for _ in 0..pages {
            objects.push("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_owned());
        }
        let mut pdf = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, object) in objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
        }
        let xref = pdf.len();
        pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for offset in offsets {
            pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        pdf.extend_from_slice(
            format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
                .as_bytes(),
        );
        pdf
    }

    #[test]
    fn the_four_image_formats_a_pdf_and_text_are_recognised_from_their_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert!(matches!(
            recognise(png, "x.txt", &limits()),
            Ok(Recognised::Image { format: ImageFormat::Png, content_type: "image/png", .. })
        ));
        let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF";
        assert!(matches!(
            recognise(jpeg, "x", &limits()),
            Ok(Recognised::Image { format: ImageFormat::Jpeg, .. })
        ));
        assert!(matches!(
            recognise(b"GIF89a\x01\0\x01\0\x80\0\0", "x", &limits()),
            Ok(Recognised::Image { format: ImageFormat::Gif, .. })
        ));
        assert!(matches!(
            recognise(b"RIFF\x24\0\0\0WEBPVP8 ", "x", &limits()),
            Ok(Recognised::Image { format: ImageFormat::WebP, .. })
        ));
        assert_eq!(recognise(&pdf_with_pages(1), "x.txt", &limits()).unwrap(), Recognised::Pdf);
        assert_eq!(
            recognise(b"# Notes", "notes.md", &limits()).unwrap(),
            Recognised::Text { content_type: "text/markdown" }
        );
        assert_eq!(
            recognise(b"fn main() {}", "main.rs", &limits()).unwrap(),
            Recognised::Text { content_type: "text/plain" }
        );
        assert_eq!(
            recognise(b"<script>alert(1)</script>", "page.html", &limits()).unwrap(),
            Recognised::Text { content_type: "text/plain" }
        );
    }

    #[test]
    fn anything_else_is_refused_with_a_sentence_naming_what_is_accepted() {
        for (bytes, name) in [
            (&b"PK\x03\x04\x14\0\0\0\x08\0"[..], "a.zip"),
            (b"ID3\x04\0\0\0\0\0\x21", "song.png"),
            (b"caf\xE9 latin-1", "a.txt"),
            (b"text\0with nul", "a.txt"),
            (b"II*\0\x08\0\0\0", "scan.tif"),
        ] {
            match recognise(bytes, name, &limits()) {
                Err(AttachmentError::Unsupported(sentence)) => {
                    assert!(sentence.ends_with(ACCEPTED), "{sentence}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(matches!(recognise(b"", "a.txt", &limits()), Err(AttachmentError::Empty)));
    }

    #[test]
    fn text_is_limited_to_a_mebibyte_and_every_upload_to_the_upload_limit() {
        let text = vec![b'a'; 1024 * 1024 + 1];
        match recognise(&text, "big.txt", &limits()) {
            Err(AttachmentError::TooLarge(sentence)) => {
                assert_eq!(sentence, "The text file is 1.0 MiB; text files may be at most 1 MiB.");
            }
            other => panic!("{other:?}"),
        }
        assert!(recognise(&text[..1024 * 1024], "ok.txt", &limits()).is_ok());
        let small = AttachmentLimits { upload_max_bytes: 10, ..limits() };
        match recognise(b"eleven byte", "a.txt", &small) {
            Err(AttachmentError::TooLarge(sentence)) => {
                assert_eq!(sentence, "The file is too large: attachments are limited to 10 bytes.");
            }
            other => panic!("{other:?}"),
        }
        let pdf = pdf_with_pages(1);
        let tight = AttachmentLimits { pdf_max_bytes: pdf.len() - 1, ..limits() };
        assert!(matches!(recognise(&pdf, "a.pdf", &tight), Err(AttachmentError::TooLarge(_))));
    }

    #[test]
    fn a_pdfs_pages_are_counted_and_more_than_a_hundred_are_refused() {
        assert_eq!(pdf_pages(&pdf_with_pages(1), &limits()).unwrap(), 1);
        assert_eq!(pdf_pages(&pdf_with_pages(3), &limits()).unwrap(), 3);
        assert_eq!(pdf_pages(&pdf_with_pages(100), &limits()).unwrap(), 100);
        match pdf_pages(&pdf_with_pages(101), &limits()) {
            Err(AttachmentError::TooLarge(sentence)) => {
                assert_eq!(sentence, "The PDF has 101 pages; PDFs may have at most 100.");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_pdf_that_does_not_parse_is_refused_with_a_sentence() {
        for broken in [&b"%PDF-1.7\n% plain ascii, no objects at all"[..], b"%PDF-1.4\n1 0 obj\n<< /Type"] {
            match pdf_pages(broken, &limits()) {
                Err(AttachmentError::Unreadable(sentence)) => {
                    assert!(sentence.starts_with("This PDF could not be read"), "{sentence}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn names_keep_a_safe_stem_and_the_extension_of_what_the_content_is() {
        assert_eq!(attachment_filename("photo.txt", Some("png")), "photo.png");
        assert_eq!(attachment_filename("../../etc/passwd", Some("pdf")), "passwd.pdf");
        assert_eq!(attachment_filename("C:\\Users\\x\\Main.RS", None), "Main.rs");
        assert_eq!(attachment_filename("README", None), "README");
        assert_eq!(attachment_filename("", Some("png")), "attachment.png");
        assert_eq!(attachment_filename("invoice\u{202E}fdp.exe", None), "invoicefdp.exe");
    }
}
