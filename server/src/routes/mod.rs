//! The HTTP endpoints that are not Leptos pages, and the site's static files.

pub mod account_export;
pub mod assets;
pub mod attachments;
pub mod auth;
pub mod billing;
pub mod export;
pub mod health;
pub mod library;
pub mod mcp;
pub mod models;
pub mod server_fns;
pub mod transcriptions;
pub mod voice;
pub mod ws;
