//! The library's backend types in the shapes of `jarvis_types::documents`, as the panel and the
//! API show them.

use jarvis_types::documents as view;

use super::documents::{Document, DocumentSummary, SearchHit, VersionSummary};
use super::files::{FileRecord, Uploaded};

impl From<DocumentSummary> for view::DocumentItem {
    fn from(d: DocumentSummary) -> Self {
        Self {
            id: d.id.to_string(),
            title: d.title,
            filename: d.filename,
            kind: d.kind,
            language: d.language,
            size_bytes: i64::from(d.size_bytes),
            version: d.version,
            updated_at: d.updated_at.to_rfc3339(),
            snippet: None,
        }
    }
}

impl From<SearchHit> for view::DocumentItem {
    fn from(hit: SearchHit) -> Self {
        Self { snippet: Some(hit.snippet), ..hit.document.into() }
    }
}

impl From<Document> for view::DocumentItem {
    fn from(d: Document) -> Self {
        view::DocumentItem::from(DocumentSummary {
            id: d.id,
            title: d.title,
            filename: d.filename,
            kind: d.kind,
            language: d.language,
            size_bytes: d.size_bytes,
            version: d.version,
            updated_at: d.updated_at,
        })
    }
}

impl From<Document> for view::DocumentView {
    fn from(d: Document) -> Self {
        Self {
            id: d.id.to_string(),
            title: d.title,
            filename: d.filename,
            kind: d.kind,
            language: d.language,
            content: d.content,
            version: d.version,
            updated_at: d.updated_at.to_rfc3339(),
        }
    }
}

impl From<VersionSummary> for view::VersionItem {
    fn from(v: VersionSummary) -> Self {
        Self {
            version: v.version,
            title: v.title,
            size_bytes: i64::from(v.size_bytes),
            author: v.author,
            created_at: v.created_at.to_rfc3339(),
        }
    }
}

impl From<FileRecord> for view::FileItem {
    fn from(f: FileRecord) -> Self {
        Self {
            id: f.id.to_string(),
            filename: f.filename,
            content_type: f.content_type,
            size_bytes: f.size_bytes,
            created_at: f.created_at.to_rfc3339(),
        }
    }
}

impl From<Uploaded> for view::Uploaded {
    fn from(uploaded: Uploaded) -> Self {
        match uploaded {
            Uploaded::Document(document) => Self::Document { document: document.into() },
            Uploaded::File(file) => Self::File { file: file.into() },
        }
    }
}
