//! The HTTP endpoints that are not Leptos pages.

pub mod health;
pub mod origin;
pub mod ws;
