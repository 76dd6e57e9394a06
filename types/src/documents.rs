//! What the library UI shows of documents, their versions and uploaded files.

use serde::{Deserialize, Serialize};

/// A document that a run saved or changed: enough for a chat card and the panel to update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRef {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub version: i32,
    /// Whether this call created the document (else it made a new version).
    pub created: bool,
}

/// A document in the library list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentItem {
    pub id: String,
    pub title: String,
    pub filename: String,
    pub kind: String,
    pub language: Option<String>,
    pub size_bytes: i64,
    pub version: i32,
    /// RFC 3339.
    pub updated_at: String,
    /// For search results: the best passage, matches between « and ».
    pub snippet: Option<String>,
}

/// An uploaded file that is not text (an image, a PDF, …), kept in object storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileItem {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// RFC 3339.
    pub created_at: String,
}

/// The library panel's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Library {
    pub documents: Vec<DocumentItem>,
    pub files: Vec<FileItem>,
}

/// One document with its current content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentView {
    pub id: String,
    pub title: String,
    pub filename: String,
    pub kind: String,
    pub language: Option<String>,
    pub content: String,
    pub version: i32,
    /// RFC 3339.
    pub updated_at: String,
}

/// One entry of a document's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionItem {
    pub version: i32,
    pub title: String,
    pub size_bytes: i64,
    /// `user` or `agent`.
    pub author: String,
    /// RFC 3339.
    pub created_at: String,
}

/// One line of a diff between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub change: DiffChange,
    /// Line number in the older version, for kept and removed lines.
    pub old_line: Option<u32>,
    /// Line number in the newer version, for kept and added lines.
    pub new_line: Option<u32>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffChange {
    Kept,
    Added,
    Removed,
}

/// What an upload became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Uploaded {
    Document { document: DocumentItem },
    File { file: FileItem },
}

/// The answer of `POST /api/uploads`: what each file became, or why it was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UploadReport {
    pub uploaded: Vec<Uploaded>,
    pub refused: Vec<UploadRefusal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRefusal {
    pub filename: String,
    pub reason: String,
}
