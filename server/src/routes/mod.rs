//! The HTTP endpoints that are not Leptos pages.

pub mod auth;
pub mod billing;
pub mod export;
pub mod health;
pub mod library;
pub mod server_fns;
pub mod voice;
pub mod ws;
