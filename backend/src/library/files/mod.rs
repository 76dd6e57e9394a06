//! Uploads and the user's binary files. What an upload is comes from its content, never from its
//! name (`sniff`): text (UTF-8 without NUL bytes) becomes a document in the library, where the
//! agent can read it with its tools; anything else is stored as a file, its bytes in object
//! storage under the user's prefix and its metadata in Postgres (`store`). Names are sanitised
//! (`name`), sizes bounded, and every function acts for one user.

mod error;
mod name;
mod sniff;
mod store;

pub use error::{FileError, human_size};
pub use sniff::{Sniffed, sniff};
pub use store::{FileRecord, Uploaded, delete, get, list, open, upload};
