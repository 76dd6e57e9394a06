//! Documents: the user's texts in the library. Every change is a new version, and an update names
//! the version it was based on, so that nobody — above all the agent — silently overwrites a
//! change made in between (`store`). The agent reaches them through [`tools`].

pub mod diff;
mod error;
pub mod filename;
mod model;
mod store;
pub mod tools;

pub use error::DocumentError;
pub(crate) use error::database_kind;
pub use model::{
    Author, Document, DocumentSummary, Edit, Kind, MAX_CONTENT_BYTES, MAX_TITLE_CHARS, NewDocument,
    SearchHit, Sort, VersionSummary,
};
pub use store::{
    all, create, delete, list, read, rename, restore, search, update, version_content, versions,
};
