//! Everything the server knows, with no HTTP framework and no UI framework: so far the database.
//! Accounts, billing, the agent loop, documents and voice join here as they are built.

pub mod db;
pub mod error;

pub use error::Error;
