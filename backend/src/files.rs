//! Uploads and the user's binary files. What an upload is comes from its content, never from its
//! name: text (UTF-8 without NUL bytes) becomes a document in the library, where the agent can
//! read it with its tools; anything else is stored as a file, its bytes in object storage under
//! the user's prefix and its metadata in Postgres. Names are sanitised, sizes bounded, and every
//! function acts for one user inside a user-scoped transaction: another user's file is "not
//! found", never its content.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::user_transaction;
use crate::documents::{self, Author, Document, DocumentError, Kind, NewDocument, filename};
use crate::storage::{BlobStore, StorageError};

/// A stored file, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct FileRecord {
    pub id: Uuid,
    /// Sanitised, with an extension that matches `content_type`.
    pub filename: String,
    /// Sniffed from the content.
    pub content_type: String,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
}

/// What an upload became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Uploaded {
    /// Text: a new document (version 1, written by the user).
    Document(Document),
    /// Anything else: a stored file.
    File(FileRecord),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("No file with that id.")]
    NotFound,
    #[error("The file is empty.")]
    Empty,
    #[error("The file is too large: uploads are limited to {}.", human_size(*limit))]
    TooLarge { limit: usize },
    /// The upload is text but cannot be a document (e.g. larger than a document may be).
    #[error("{0}")]
    Invalid(String),
    #[error("object storage: {0}")]
    Storage(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for FileError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(format!("database: {error}"))
    }
}

impl From<StorageError> for FileError {
    fn from(error: StorageError) -> Self {
        Self::Storage(error.to_string())
    }
}

impl From<DocumentError> for FileError {
    fn from(error: DocumentError) -> Self {
        match error {
            DocumentError::NotFound => Self::NotFound,
            DocumentError::Invalid(message) => Self::Invalid(message),
            DocumentError::VersionConflict { .. } | DocumentError::Internal(_) => {
                Self::Internal(error.to_string())
            }
        }
    }
}

/// A size as people read it: `10 MiB`, `64 KiB`, `1500 bytes`.
pub fn human_size(bytes: usize) -> String {
    match bytes {
        b if b >= 1024 * 1024 && b % (1024 * 1024) == 0 => format!("{} MiB", b / (1024 * 1024)),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

/// What the content of an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// UTF-8 text (after an optional byte-order mark) without NUL bytes: becomes a document.
    Text { kind: Kind, language: Option<&'static str> },
    /// Anything else. `extension` is `None` when the type is not recognised
    /// (`application/octet-stream`).
    Binary { content_type: &'static str, extension: Option<&'static str> },
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decides what `bytes` are from their content: magic numbers first, then UTF-8 text. The name
/// only chooses among kinds of text (Markdown, code…), never between text and binary.
pub fn sniff(bytes: &[u8], filename: &str) -> Sniffed {
    if let Some((content_type, extension)) = magic(bytes) {
        return Sniffed::Binary { content_type, extension: Some(extension) };
    }
    match as_text(bytes) {
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

/// The type and usual extension of well-known binary formats, by their magic numbers.
fn magic(b: &[u8]) -> Option<(&'static str, &'static str)> {
    let starts = |m: &[u8]| b.starts_with(m);
    let at = |offset: usize, m: &[u8]| b.get(offset..offset + m.len()) == Some(m);
    let found = if starts(b"\x89PNG\r\n\x1a\n") {
        ("image/png", "png")
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        ("image/jpeg", "jpg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        ("image/gif", "gif")
    } else if starts(b"RIFF") && at(8, b"WEBP") {
        ("image/webp", "webp")
    } else if starts(b"RIFF") && at(8, b"WAVE") {
        ("audio/wav", "wav")
    } else if starts(b"RIFF") && at(8, b"AVI ") {
        ("video/x-msvideo", "avi")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        ("image/tiff", "tif")
    } else if starts(&[0, 0, 1, 0]) && b.len() > 6 {
        ("image/x-icon", "ico")
    } else if starts(b"%PDF-") {
        ("application/pdf", "pdf")
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        zip_type(b)
    } else if starts(&[0x1F, 0x8B]) {
        ("application/gzip", "gz")
    } else if starts(&[0xFD, b'7', b'z', b'X', b'Z', 0]) {
        ("application/x-xz", "xz")
    } else if starts(&[0x28, 0xB5, 0x2F, 0xFD]) {
        ("application/zstd", "zst")
    } else if starts(&[b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C]) {
        ("application/x-7z-compressed", "7z")
    } else if starts(b"BZh") && at(4, b"1AY&SY") {
        ("application/x-bzip2", "bz2")
    } else if at(257, b"ustar") && b[..257].contains(&0) {
        ("application/x-tar", "tar")
    } else if starts(b"ID3") && b.get(3).is_some_and(|v| (2..=4).contains(v)) {
        ("audio/mpeg", "mp3")
    } else if b.len() >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0 && b[1] & 0x06 != 0 {
        // An MPEG audio frame header (sync bits, a valid layer).
        ("audio/mpeg", "mp3")
    } else if starts(b"OggS\0") {
        ("audio/ogg", "ogg")
    } else if starts(b"fLaC") {
        ("audio/flac", "flac")
    } else if at(4, b"ftyp") && b.len() >= 12 {
        match &b[8..12] {
            b"M4A " | b"M4B " => ("audio/mp4", "m4a"),
            b"qt  " => ("video/quicktime", "mov"),
            b"heic" | b"heix" | b"heim" | b"heis" | b"mif1" | b"msf1" => ("image/heic", "heic"),
            b"avif" | b"avis" => ("image/avif", "avif"),
            _ => ("video/mp4", "mp4"),
        }
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        if b[..b.len().min(64)].windows(4).any(|w| w == b"webm") {
            ("video/webm", "webm")
        } else {
            ("video/x-matroska", "mkv")
        }
    } else if starts(b"\0asm") {
        ("application/wasm", "wasm")
    } else if starts(b"SQLite format 3\0") {
        ("application/vnd.sqlite3", "sqlite")
    } else {
        return None;
    };
    Some(found)
}

/// ZIP archives, and the document formats that are ZIP archives inside, told apart by content.
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

/// The stem and lower-case extension of the last component of an uploaded name. Anything before
/// a `/` or `\` is dropped; an extension is at most 10 ASCII letters and digits.
fn split_name(raw: &str) -> (&str, Option<String>) {
    let base = raw.rsplit(['/', '\\']).find(|part| !part.trim().is_empty()).unwrap_or(raw);
    match base.rsplit_once('.') {
        Some((stem, extension))
            if !stem.trim_matches('.').trim().is_empty()
                && (1..=10).contains(&extension.len())
                && extension.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (stem, Some(extension.to_ascii_lowercase()))
        }
        _ => (base, None),
    }
}

/// Extensions never kept on a file of unknown type: a browser or desktop would run or render them.
const ACTIVE_EXTENSIONS: &[&str] = &["htm", "html", "xhtml", "shtml", "svg", "svgz", "xml", "js", "mjs"];

/// The name a binary upload is stored under: the sanitised stem, with the extension of the
/// sniffed type (or, for an unknown type, the original extension unless it is active content).
fn binary_filename(raw: &str, extension: Option<&'static str>) -> String {
    let (stem, original) = split_name(raw);
    let extension = match extension {
        Some(extension) => extension.to_owned(),
        None => {
            original.filter(|e| !ACTIVE_EXTENSIONS.contains(&e.as_str())).unwrap_or_else(|| "bin".to_owned())
        }
    };
    format!("{}.{extension}", filename::sanitize_stem(stem))
}

/// A document's title from an uploaded name: the sanitised stem.
fn document_title(raw: &str) -> String {
    filename::sanitize_stem(split_name(raw).0)
}

/// The object name of a file inside its owner's prefix.
fn object_name(id: Uuid) -> String {
    format!("files/{id}")
}

/// Takes an upload of `user_id` (from the verified session): text becomes a document, anything
/// else a stored file. Empty and over-large uploads are refused before anything is written. A
/// file's bytes go to the store first; if recording it then fails, the object is deleted again.
#[tracing::instrument(name = "files.upload", skip_all, fields(user.id = %user_id, upload.size = bytes.len()))]
pub async fn upload(
    pool: &PgPool,
    store: &BlobStore,
    user_id: Uuid,
    filename: &str,
    bytes: Bytes,
    max_bytes: usize,
) -> Result<Uploaded, FileError> {
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    if bytes.len() > max_bytes {
        return Err(FileError::TooLarge { limit: max_bytes });
    }
    // The name is only a label: it loses its bidirectional controls before it is split into a
    // stem and an extension, so that `invoice\u{202E}fdp.exe` is an `.exe`, named as it reads.
    let filename = &*crate::text::strip_bidi_controls(filename);
    match sniff(&bytes, filename) {
        Sniffed::Text { kind, language } => {
            let content = as_text(&bytes)
                .ok_or_else(|| FileError::Internal("sniffed text is not text".into()))?
                .to_owned();
            let new = NewDocument {
                title: document_title(filename),
                kind,
                language: language.map(str::to_owned),
                content,
            };
            let document = documents::create(pool, user_id, new, Author::User).await?;
            tracing::info!(document.id = %document.id, document.kind = document.kind, "upload stored as a document");
            Ok(Uploaded::Document(document))
        }
        Sniffed::Binary { content_type, extension } => {
            let id = Uuid::new_v4();
            let name = object_name(id);
            let filename = binary_filename(filename, extension);
            let size = i64::try_from(bytes.len()).map_err(|_| FileError::TooLarge { limit: max_bytes })?;
            let sha256 = Sha256::digest(&bytes).to_vec();
            let key = store.put(user_id, &name, bytes).await?;
            match insert(pool, user_id, id, &filename, content_type, size, &sha256, &key).await {
                Ok(record) => {
                    tracing::info!(file.id = %id, file.content_type = content_type, "upload stored as a file");
                    Ok(Uploaded::File(record))
                }
                Err(error) => {
                    if let Err(cleanup) = store.delete(user_id, &name).await {
                        tracing::error!(storage.key = key, error = %cleanup, "could not delete the object of a failed upload");
                    }
                    Err(error.into())
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
    filename: &str,
    content_type: &str,
    size: i64,
    sha256: &[u8],
    key: &str,
) -> Result<FileRecord, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    let record = sqlx::query_as::<_, FileRecord>(
        "INSERT INTO files (id, user_id, filename, content_type, size_bytes, sha256, storage_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, filename, content_type, size_bytes, created_at",
    )
    .bind(id)
    .bind(user_id)
    .bind(filename)
    .bind(content_type)
    .bind(size)
    .bind(sha256)
    .bind(key)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(record)
}

/// The user's files, newest first.
#[tracing::instrument(name = "files.list", skip_all, fields(user.id = %user_id))]
pub async fn list(pool: &PgPool, user_id: Uuid) -> Result<Vec<FileRecord>, FileError> {
    let mut tx = user_transaction(pool, user_id).await?;
    let records = sqlx::query_as::<_, FileRecord>(
        "SELECT id, filename, content_type, size_bytes, created_at FROM files
          WHERE user_id = $1 ORDER BY created_at DESC, id",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(records)
}

/// One file's record, or [`FileError::NotFound`] (also when it is someone else's).
#[tracing::instrument(name = "files.get", skip_all, fields(user.id = %user_id, file.id = %id))]
pub async fn get(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<FileRecord, FileError> {
    let mut tx = user_transaction(pool, user_id).await?;
    let record = sqlx::query_as::<_, FileRecord>(
        "SELECT id, filename, content_type, size_bytes, created_at FROM files WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    record.ok_or(FileError::NotFound)
}

/// A file's record and its bytes. The record is looked up first, as the user: a file that is not
/// theirs is never fetched from the store.
#[tracing::instrument(name = "files.open", skip_all, fields(user.id = %user_id, file.id = %id))]
pub async fn open(
    pool: &PgPool,
    store: &BlobStore,
    user_id: Uuid,
    id: Uuid,
) -> Result<(FileRecord, Bytes), FileError> {
    let record = get(pool, user_id, id).await?;
    let bytes = store.get(user_id, &object_name(id)).await.map_err(|error| {
        tracing::error!(file.id = %id, %error, "a recorded file is missing from object storage");
        FileError::from(error)
    })?;
    Ok((record, bytes))
}

/// Deletes a file: its object, then (in the same transaction that found it) its row. If the store
/// fails, the row stays and the delete can be retried.
#[tracing::instrument(name = "files.delete", skip_all, fields(user.id = %user_id, file.id = %id))]
pub async fn delete(pool: &PgPool, store: &BlobStore, user_id: Uuid, id: Uuid) -> Result<(), FileError> {
    let mut tx = user_transaction(pool, user_id).await?;
    let deleted: Option<Uuid> =
        sqlx::query_scalar("DELETE FROM files WHERE id = $1 AND user_id = $2 RETURNING id")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    if deleted.is_none() {
        return Err(FileError::NotFound);
    }
    store.delete(user_id, &object_name(id)).await?;
    tx.commit().await?;
    Ok(())
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

    #[test]
    fn names_are_reduced_to_a_safe_stem_and_an_extension_that_matches_the_content() {
        assert_eq!(binary_filename("notes.txt", Some("png")), "notes.png");
        assert_eq!(binary_filename("../../etc/passwd", Some("pdf")), "passwd.pdf");
        assert_eq!(binary_filename("C:\\Users\\x\\scan.PDF", Some("pdf")), "scan.pdf");
        assert_eq!(binary_filename("evil\0name.bin", None), "evil-name.bin");
        assert_eq!(binary_filename("page.html", None), "page.bin");
        assert_eq!(binary_filename("setup.EXE", None), "setup.exe");
        assert_eq!(binary_filename(".hidden", Some("png")), "hidden.png");
        assert_eq!(binary_filename("../..", Some("png")), "document.png");
        assert_eq!(binary_filename("Fotos für Oma 🚀.jpeg", Some("jpg")), "Fotos für Oma 🚀.jpg");
        let long = binary_filename(&format!("{}.png", "ü".repeat(500)), Some("png"));
        assert!(long.len() <= 120 && long.ends_with(".png") && long.starts_with('ü'), "{long}");
        assert_eq!(document_title("../../etc/passwd"), "passwd");
        assert_eq!(document_title("photo.png"), "photo");
        assert_eq!(document_title("archive.tar.gz"), "archive.tar");
    }

    #[test]
    fn limits_read_as_people_write_them() {
        assert_eq!(
            FileError::TooLarge { limit: 25 * 1024 * 1024 }.to_string(),
            "The file is too large: uploads are limited to 25 MiB."
        );
        assert_eq!(
            FileError::TooLarge { limit: 100 }.to_string(),
            "The file is too large: uploads are limited to 100 bytes."
        );
    }
}
