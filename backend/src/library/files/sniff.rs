//! What an upload is, from its content and never from its name: a well-known binary format, or
//! UTF-8 text (without NUL bytes) of a kind the name's extension chooses (Markdown, code…).

use super::name::split_name;
use crate::library::documents::Kind;

/// What the content of an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// UTF-8 text (after an optional byte-order mark) without NUL bytes: becomes a document.
    Text { kind: Kind, language: Option<&'static str> },
    /// Anything else. `extension` is `None` when the type is not recognised
    /// (`application/octet-stream`).
    Binary { content_type: &'static str, extension: Option<&'static str> },
}

pub(super) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decides what `bytes` are from their content: a well-known binary format, else UTF-8 text. A
/// text that merely starts like a binary format (`GIF`, `SQLite`…) stays text; only a PDF, which
/// can be all ASCII, wins over text. The name only chooses among kinds of text (Markdown,
/// code…), never between text and binary.
pub fn sniff(bytes: &[u8], filename: &str) -> Sniffed {
    let text = as_text(bytes);
    if let Some((content_type, extension)) = binary_format(bytes)
        && (text.is_none() || content_type == "application/pdf")
    {
        return Sniffed::Binary { content_type, extension: Some(extension) };
    }
    match text {
        Some(text) => {
            let (_, extension) = split_name(filename);
            let (kind, language) = text_kind(extension.as_deref(), text);
            Sniffed::Text { kind, language }
        }
        None => Sniffed::Binary { content_type: "application/octet-stream", extension: None },
    }
}

/// The text of `bytes` without a leading byte-order mark, if they are UTF-8 without NUL bytes.
fn as_text(bytes: &[u8]) -> Option<&str> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// A matcher of the `infer` crate, and the type and extension we store what it matches under.
type Format = (fn(&[u8]) -> bool, &'static str, &'static str);

/// The binary formats we recognise, the more specific before the more general.
const FORMATS: &[Format] = {
    use infer::{app, archive, audio, image, video};
    &[
        (image::is_png, "image/png", "png"),
        (image::is_jpeg, "image/jpeg", "jpg"),
        (image::is_gif, "image/gif", "gif"),
        (image::is_webp, "image/webp", "webp"),
        (audio::is_wav, "audio/wav", "wav"),
        (video::is_avi, "video/x-msvideo", "avi"),
        (image::is_tiff, "image/tiff", "tif"),
        (image::is_ico, "image/x-icon", "ico"),
        (archive::is_pdf, "application/pdf", "pdf"),
        (archive::is_gz, "application/gzip", "gz"),
        (archive::is_xz, "application/x-xz", "xz"),
        (archive::is_zst, "application/zstd", "zst"),
        (archive::is_7z, "application/x-7z-compressed", "7z"),
        (archive::is_bz2, "application/x-bzip2", "bz2"),
        (archive::is_tar, "application/x-tar", "tar"),
        (audio::is_mp3, "audio/mpeg", "mp3"),
        (is_mpeg_audio_frame, "audio/mpeg", "mp3"),
        (audio::is_ogg, "audio/ogg", "ogg"),
        (audio::is_flac, "audio/flac", "flac"),
        (audio::is_m4a, "audio/mp4", "m4a"),
        (video::is_mov, "video/quicktime", "mov"),
        (image::is_heif, "image/heic", "heic"),
        (image::is_avif, "image/avif", "avif"),
        (video::is_mp4, "video/mp4", "mp4"),
        (is_iso_media, "video/mp4", "mp4"),
        (video::is_mkv, "video/x-matroska", "mkv"),
        (video::is_webm, "video/webm", "webm"),
        (app::is_wasm, "application/wasm", "wasm"),
        (archive::is_sqlite, "application/vnd.sqlite3", "sqlite"),
    ]
};

/// An MPEG audio frame header: the sync bits and a valid layer (`infer` knows only MPEG-1
/// layer 3 without CRC, `FF FB`; LAME writes `FF F3` at 22.05 kHz, for one).
fn is_mpeg_audio_frame(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0 && b[1] & 0x06 != 0
}

/// An ISO base media file (`ftyp` box) of a brand the more specific matchers above did not claim.
fn is_iso_media(b: &[u8]) -> bool {
    b.len() >= 12 && &b[4..8] == b"ftyp"
}

/// The type and usual extension of a well-known binary format; a ZIP archive is told apart
/// further by its entries.
fn binary_format(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if infer::archive::is_zip(bytes) {
        return Some(zip_type(bytes));
    }
    FORMATS
        .iter()
        .find(|(matches, ..)| matches(bytes))
        .map(|&(_, content_type, extension)| (content_type, extension))
}

/// ZIP archives, and the document formats that are ZIP archives inside, told apart by content.
/// (`infer` takes `…opendocument.text-template` for a text and needs whole local headers for
/// Office files, so this stays ours.)
fn zip_type(b: &[u8]) -> (&'static str, &'static str) {
    // OpenDocument and EPUB: the first entry is a file "mimetype", stored uncompressed, holding
    // the type. Its local header gives the name's and the data's lengths.
    let le16 = |at: usize| b.get(at..at + 2).map(|v| usize::from(u16::from_le_bytes([v[0], v[1]])));
    let le32 = |at: usize| b.get(at..at + 4).map(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]));
    if let (Some(8), Some(extra), Some(size)) = (le16(26), le16(28), le32(18))
        && b.get(30..38) == Some(b"mimetype")
    {
        let start = 38 + extra;
        let declared = usize::try_from(size).ok().and_then(|size| b.get(start..start + size.min(100)));
        for (content_type, extension) in [
            ("application/vnd.oasis.opendocument.text", "odt"),
            ("application/vnd.oasis.opendocument.spreadsheet", "ods"),
            ("application/vnd.oasis.opendocument.presentation", "odp"),
            ("application/epub+zip", "epub"),
        ] {
            if declared == Some(content_type.as_bytes()) {
                return (content_type, extension);
            }
        }
    }
    // Office Open XML: the entry names of the main part (in the local headers, uncompressed).
    let head = &b[..b.len().min(1024 * 1024)];
    let contains = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if contains(b"word/document.xml") {
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
    } else if contains(b"xl/workbook.xml") {
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
    } else if contains(b"ppt/presentation.xml") {
        ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx")
    } else {
        ("application/zip", "zip")
    }
}

/// The kind of a text document: by extension, and for JSON only if the content parses; a file
/// without an extension but with a `#!` line is code in that interpreter's language.
fn text_kind(extension: Option<&str>, text: &str) -> (Kind, Option<&'static str>) {
    let Some(extension) = extension else {
        return match shebang_language(text) {
            Some(language) => (Kind::Code, Some(language)),
            None => (Kind::Text, None),
        };
    };
    match extension {
        "md" | "markdown" => (Kind::Markdown, None),
        "json" if serde_json::from_str::<serde_json::Value>(text).is_ok() => (Kind::Json, None),
        "csv" => (Kind::Csv, None),
        "html" | "htm" => (Kind::Html, None),
        other => match code_language(other) {
            Some(language) => (Kind::Code, Some(language)),
            None => (Kind::Text, None),
        },
    }
}

/// Languages by extension: the ones a document's file name can carry.
fn code_language(extension: &str) -> Option<&'static str> {
    Some(match extension {
        "rs" => "rust",
        "py" | "pyw" => "python",
        "js" | "mjs" | "cjs" | "jsx" => "javascript",
        "ts" | "tsx" | "mts" | "cts" => "typescript",
        "go" => "go",
        "java" => "java",
        "c" | "h" => "c",
        "cpp" | "cc" | "cxx" | "hpp" | "hh" | "hxx" => "cpp",
        "rb" => "ruby",
        "sh" | "bash" | "zsh" => "shell",
        "sql" => "sql",
        "toml" => "toml",
        "yaml" | "yml" => "yaml",
        "css" => "css",
        "swift" => "swift",
        "kt" | "kts" => "kotlin",
        _ => return None,
    })
}

fn shebang_language(text: &str) -> Option<&'static str> {
    let line = text.lines().next()?.strip_prefix("#!")?;
    let interpreter =
        line.split_whitespace().flat_map(|word| word.rsplit('/').next()).find(|word| *word != "env")?;
    Some(match interpreter {
        i if i.starts_with("python") => "python",
        "sh" | "bash" | "zsh" | "dash" | "ksh" => "shell",
        "node" | "deno" | "bun" => "javascript",
        "ruby" => "ruby",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn binary(content_type: &'static str, extension: &'static str) -> Sniffed {
        Sniffed::Binary { content_type, extension: Some(extension) }
    }

    fn text(kind: Kind, language: Option<&'static str>) -> Sniffed {
        Sniffed::Text { kind, language }
    }

    #[test]
    fn the_content_decides_never_the_name() {
        assert_eq!(sniff(PNG, "notes.txt"), binary("image/png", "png"));
        assert_eq!(sniff(b"just words", "photo.png"), text(Kind::Text, None));
        assert_eq!(sniff(b"%PDF-1.7\n% plain ascii pdf", "readme.md"), binary("application/pdf", "pdf"));
        assert_eq!(sniff(b"# Title", "report.pdf"), text(Kind::Text, None));
    }

    #[test]
    fn well_known_binary_formats_are_recognised_by_their_magic_numbers() {
        let cases: &[(&[u8], &str, &str)] = &[
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF", "image/jpeg", "jpg"),
            (b"GIF89a\x01\0\x01\0", "image/gif", "gif"),
            (b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp", "webp"),
            (b"RIFF\x24\0\0\0WAVEfmt ", "audio/wav", "wav"),
            (b"PK\x03\x04\x14\0\0\0\x08\0", "application/zip", "zip"),
            (b"\x1F\x8B\x08\0\0\0\0\0", "application/gzip", "gz"),
            (b"ID3\x04\0\0\0\0\0\x21", "audio/mpeg", "mp3"),
            (b"\xFF\xFB\x90\x64\0", "audio/mpeg", "mp3"),
            (b"\xFF\xF3\x64\xC4\0", "audio/mpeg", "mp3"),
            (b"\xFF\xE3\x18\xC4\0", "audio/mpeg", "mp3"),
            (b"\0\0\0\x1Cftypdash\0\0\0\0", "video/mp4", "mp4"),
            (b"OggS\0\x02\0\0", "audio/ogg", "ogg"),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", "video/mp4", "mp4"),
            (b"\0\0\0\x20ftypM4A \0\0\0\0", "audio/mp4", "m4a"),
            (b"\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\x82\x84webm", "video/webm", "webm"),
            (b"fLaC\0\0\0\x22", "audio/flac", "flac"),
        ];
        for (bytes, content_type, extension) in cases {
            assert_eq!(sniff(bytes, "upload.txt"), binary(content_type, extension), "{content_type}");
        }
    }

    #[test]
    fn text_that_starts_like_a_binary_format_stays_text() {
        assert_eq!(sniff(b"GIF or JIF? A long debate.", "notes.md"), text(Kind::Markdown, None));
        assert_eq!(sniff(b"SQLite is fine for this.", "notes.txt"), text(Kind::Text, None));
        assert_eq!(sniff(b"BZh, said the bee", "bee.txt"), text(Kind::Text, None));
        let matroska = b"\x1A\x45\xDF\xA3\x93\x42\x82\x88matroska\0";
        assert_eq!(sniff(matroska, "film.webm"), binary("video/x-matroska", "mkv"));
    }

    #[test]
    fn zip_based_document_formats_are_told_apart_by_their_entries() {
        let mut docx = b"PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0".to_vec();
        docx.extend_from_slice(b"[Content_Types].xml ... PK\x03\x04 word/document.xml");
        assert_eq!(
            sniff(&docx, "letter.zip"),
            binary("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
        );
        let odt_entry = |declared: &[u8]| {
            let mut odt = b"PK\x03\x04\x0A\0\0\0\0\0".to_vec();
            odt.resize(30, 0);
            odt[18..22].copy_from_slice(&u32::try_from(declared.len()).unwrap().to_le_bytes());
            odt[26] = 8; // the name's length
            odt.extend_from_slice(b"mimetype");
            odt.extend_from_slice(declared);
            odt.extend_from_slice(b"PK\x03\x04");
            odt
        };
        let odt = odt_entry(b"application/vnd.oasis.opendocument.text");
        assert_eq!(sniff(&odt, "x"), binary("application/vnd.oasis.opendocument.text", "odt"));
        let epub = odt_entry(b"application/epub+zip");
        assert_eq!(sniff(&epub, "x"), binary("application/epub+zip", "epub"));
        let template = odt_entry(b"application/vnd.oasis.opendocument.text-template");
        assert_eq!(sniff(&template, "x.odt"), binary("application/zip", "zip"));
    }

    #[test]
    fn text_is_utf8_without_nul_and_a_byte_order_mark_is_dropped() {
        assert_eq!(sniff(b"\xEF\xBB\xBF# Hello", "a.md"), text(Kind::Markdown, None));
        assert_eq!(as_text(b"\xEF\xBB\xBFhi"), Some("hi"));
        assert_eq!(
            sniff(b"text\0with nul", "a.txt"),
            Sniffed::Binary { content_type: "application/octet-stream", extension: None }
        );
        assert_eq!(
            sniff(b"caf\xE9 latin-1", "a.txt"),
            Sniffed::Binary { content_type: "application/octet-stream", extension: None }
        );
        assert_eq!(sniff("Grüße 🚀".as_bytes(), "a.txt"), text(Kind::Text, None));
    }

    #[test]
    fn the_kind_of_text_comes_from_the_extension_and_json_must_parse() {
        assert_eq!(sniff(b"# x", "Notes.MD"), text(Kind::Markdown, None));
        assert_eq!(sniff(b"# x", "notes.markdown"), text(Kind::Markdown, None));
        assert_eq!(sniff(br#"{"a": [1, 2]}"#, "data.json"), text(Kind::Json, None));
        assert_eq!(sniff(b"{not json", "data.json"), text(Kind::Text, None));
        assert_eq!(sniff(b"a,b\n1,2\n", "t.csv"), text(Kind::Csv, None));
        assert_eq!(sniff(b"<p>hi</p>", "page.htm"), text(Kind::Html, None));
        assert_eq!(sniff(b"fn main() {}", "main.rs"), text(Kind::Code, Some("rust")));
        assert_eq!(sniff(b"print(1)", "x.py"), text(Kind::Code, Some("python")));
        assert_eq!(sniff(b"SELECT 1;", "q.sql"), text(Kind::Code, Some("sql")));
        assert_eq!(sniff(b"a: 1", "c.yml"), text(Kind::Code, Some("yaml")));
        assert_eq!(sniff(b"int x;", "x.h"), text(Kind::Code, Some("c")));
        assert_eq!(sniff(b"plain", "README"), text(Kind::Text, None));
        assert_eq!(sniff(b"#!/usr/bin/env python3\nprint(1)", "tool"), text(Kind::Code, Some("python")));
        assert_eq!(sniff(b"#!/bin/bash\necho", "run"), text(Kind::Code, Some("shell")));
        assert_eq!(sniff(b"#!/bin/bash\necho", "run.txt"), text(Kind::Text, None));
    }
}
