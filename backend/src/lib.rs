//! Everything the server knows, with no HTTP framework and no UI framework: the database,
//! accounts and sessions, and outgoing mail. The agent, documents, voice and billing join here.

pub mod accounts;
pub mod db;
pub mod error;
pub mod mail;

pub use error::Error;
