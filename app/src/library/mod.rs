//! The library: the user's documents (versioned text, written by them or by Jarvis) and uploaded
//! files, in one panel beside the chat. The list is grouped by kind, sortable and searched in full
//! text; uploads come by drag and drop or a button; an open document has a viewer, an editor
//! (line numbers; Markdown with a preview) that saves a new version, a history with a diff
//! between any two versions and restore, rename, delete and downloads. Uploaded files (images,
//! PDFs, audio) open in a viewer of their own.
//!
//! The panel updates when a run saves a document (the socket's `document_saved` event), without
//! a reload. An editor's draft is never thrown away: if the document changed underneath it, the
//! save is refused and the draft stays in the editor.
//!
//! `server_fns` is the server side; `state` holds the panel's signals; the rest are its views.

mod document;
mod editor;
mod file;
mod history;
mod list;
mod panel;
pub mod server_fns;
mod state;
mod upload;
pub mod viewer;

pub use panel::LibraryPanel;
pub use state::{LibraryState, Mode, Opened, PaneFocus};
