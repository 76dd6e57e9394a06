//! What a document is: its kind, its fields as stored and as listed, who wrote a version, how an
//! update changes the content, and the orders a list can take.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Largest document, in bytes of UTF-8.
pub const MAX_CONTENT_BYTES: usize = 1024 * 1024;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Markdown,
    Text,
    Code,
    Html,
    Json,
    Csv,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Markdown => "markdown",
            Self::Text => "text",
            Self::Code => "code",
            Self::Html => "html",
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }

    /// Every kind, as the tools' JSON schemas list them.
    pub const ALL: [Self; 6] = [Self::Markdown, Self::Text, Self::Code, Self::Html, Self::Json, Self::Csv];

    /// The content type a document of this kind is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Text | Self::Code => "text/plain; charset=utf-8",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.into_iter().map(Self::as_str).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    User,
    Agent {
        run_id: Uuid,
    },
    /// The user's connected app, through `/mcp` with a personal access token.
    Connection,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct Document {
    pub id: Uuid,
    pub title: String,
    pub filename: String,
    pub kind: String,
    pub language: Option<String>,
    pub content: String,
    pub size_bytes: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A document without its content, for lists.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct DocumentSummary {
    pub id: Uuid,
    pub title: String,
    pub filename: String,
    pub kind: String,
    pub language: Option<String>,
    pub size_bytes: i32,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize)]
pub struct SearchHit {
    #[sqlx(flatten)]
    pub document: DocumentSummary,
    pub rank: f32,
    /// The best passage, matches between « and ».
    pub snippet: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct VersionSummary {
    pub version: i32,
    pub title: String,
    pub size_bytes: i32,
    pub author: String,
    pub run_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A new document's fields.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub title: String,
    pub kind: Kind,
    pub language: Option<String>,
    pub content: String,
}

/// How the content changes.
#[derive(Debug, Clone)]
pub enum Edit {
    Replace(String),
    /// Replace exactly one occurrence of `find`.
    FindReplace {
        find: String,
        replace: String,
    },
}

/// Sort orders of [`list`](super::list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    RecentlyUpdated,
    Title,
    Created,
}

impl Sort {
    /// `updated`, `title` or `created`, as the tools and the UI name them.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "updated" => Some(Self::RecentlyUpdated),
            "title" => Some(Self::Title),
            "created" => Some(Self::Created),
            _ => None,
        }
    }
}
