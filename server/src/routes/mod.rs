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
pub fn wants_page(headers: &axum::http::HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default();
    header("sec-fetch-mode") == "navigate"
        || header("accept").split(',').any(|kind| kind.trim().starts_with("text/html"))
}

/// A refusal of an address a browser may open itself (a download link): a page with the
/// sentence and a link to `back_to` (`label`) when it did ([`wants_page`]), JSON otherwise;
/// `Vary` says which request headers chose.
pub fn refusal(
    headers: &axum::http::HeaderMap,
    error: crate::error::ApiError,
    back_to: &str,
    label: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response =
        if wants_page(headers) { error.into_page(back_to, label) } else { error.into_response() };
    response
        .headers_mut()
        .insert(axum::http::header::VARY, axum::http::HeaderValue::from_static("Accept, Sec-Fetch-Mode"));
    response
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::wants_page;

    fn with(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.parse().unwrap(), HeaderValue::from_static(value))).collect()
    }

    #[test]
    fn a_navigation_or_a_request_for_html_wants_a_page_and_an_api_client_json() {
        assert!(wants_page(&with(&[("sec-fetch-mode", "navigate")])));
        assert!(wants_page(&with(&[("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")])));
        assert!(!wants_page(&with(&[("accept", "application/json")])));
        assert!(!wants_page(&with(&[("accept", "*/*"), ("sec-fetch-mode", "cors")])));
        assert!(!wants_page(&HeaderMap::new()));
    }
}
