//! Everything the server knows, with no HTTP framework and no UI framework: the database,
//! accounts and sessions, the agent, and outgoing mail. Documents, voice and billing join here.

pub mod accounts;
pub mod admin;
pub mod agent;
pub mod attachments;
pub mod billing;
pub mod chat;
pub mod connections;
pub mod db;
pub mod error;
pub mod export;
pub mod library;
pub mod mail;
pub mod mcp;
pub mod models;
pub mod openai_http;
pub mod openai_retry;
pub mod shares;
pub mod stderr_tail;
pub mod storage;
pub mod text;
pub mod transcription;
pub mod voice;
pub mod web;

pub use error::{Error, ErrorKind, Kinded};
