//! One module per page.

pub mod admin;
pub mod app_shell;
pub mod auth;
pub mod billing;
pub mod landing;
pub mod lazy;
pub mod not_found;
pub mod pricing;
pub mod settings;
pub mod share;
