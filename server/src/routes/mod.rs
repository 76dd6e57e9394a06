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

/// Whether the browser itself opened the address (a link followed, a download), so that a
/// refusal is shown as a page rather than JSON: it asks for HTML, or says it navigates.
pub fn wants_page(request: &axum::http::HeaderMap) -> bool {
    let header = |name: &str| request.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default();
    header("sec-fetch-mode") == "navigate"
        || header("accept").split(',').any(|kind| kind.trim().starts_with("text/html"))
}
