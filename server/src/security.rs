//! Security headers on every response, and the Content Security Policy of every page.
//!
//! - Every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy:
//!   strict-origin-when-cross-origin`, `X-Frame-Options: DENY` (unless the handler chose
//!   otherwise: an uploaded PDF may be framed by our own viewer), and, when the public URL is
//!   https, `Strict-Transport-Security`. These are tower-http's `SetResponseHeaderLayer`s.
//! - Every HTML page: a CSP whose `script-src` names a nonce made for that response alone. The
//!   nonce travels to Leptos in the request's extensions ([`provide_page_nonce`]), which puts it
//!   on the hydration script and on the scripts of streamed resources. Nothing else may run: no
//!   inline script, no script or image from another origin, no `<base>`, no framing, and forms
//!   post only to us (and to Stripe's hosted pages, where Checkout's redirects lead).
//!   Other answers carry a CSP that allows nothing, unless the handler set its own (files).
//! - `Cache-Control: no-store` on every answer whose handler set none: pages (Back after logging
//!   out must not show a private page), the API, errors. Static files set their own first
//!   (`routes::assets`), as do voice clips (`private, max-age=…, immutable`).

use std::sync::Arc;

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderName, HeaderValue, header},
    middleware::{self, Next},
    response::Response,
};
use leptos::nonce::Nonce;
use tower_http::set_header::SetResponseHeaderLayer;
use url::Url;

/// HSTS for two years, subdomains included (only sent when the public URL is https).
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// The policy of answers that are not pages (JSON, redirects, static files): nothing may load,
/// nothing may frame them.
const NON_PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Where Stripe's hosted Checkout and Customer Portal live; their form posts end there.
const STRIPE_HOSTED_PAGES: &[&str] = &["https://checkout.stripe.com", "https://billing.stripe.com"];

/// What the page policy allows beyond our own origin.
#[derive(Debug, Clone)]
pub struct Policy {
    connect_src: String,
    form_action: String,
}

impl Policy {
    /// `public_url`: where users reach us (its WebSocket origin is allowed to connect).
    /// `stripe_api`: Stripe's API base when billing is on; a base other than Stripe's own (a
    /// fake or a mock) serves the hosted pages too, so its origin may receive form posts.
    /// `reload_port`: cargo-leptos' live-reload socket, allowed only under `cargo leptos watch`.
    pub fn new(public_url: &Url, stripe_api: Option<&Url>, reload_port: Option<u32>) -> Self {
        let mut connect_src = vec!["'self'".to_owned()];
        if let Some(ws) = websocket_origin(public_url) {
            connect_src.push(ws);
        }
        if let Some(port) = reload_port {
            connect_src.push(format!("ws://*:{port}"));
        }
        let mut form_action = vec!["'self'".to_owned()];
        if let Some(api) = stripe_api {
            form_action.extend(STRIPE_HOSTED_PAGES.iter().map(|origin| (*origin).to_owned()));
            if api.host_str() != Some("api.stripe.com") {
                form_action.push(api.origin().ascii_serialization());
            }
        }
        Self { connect_src: connect_src.join(" "), form_action: form_action.join(" ") }
    }

    /// The CSP of one HTML page.
    pub fn page(&self, nonce: &str) -> String {
        format!(
            "default-src 'self'; \
             script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' 'nonce-{nonce}'; \
             img-src 'self' data: blob:; \
             media-src 'self' blob:; \
             font-src 'self'; \
             connect-src {connect}; \
             frame-src 'self'; \
             object-src 'none'; \
             frame-ancestors 'none'; \
             base-uri 'none'; \
             form-action {form}",
            connect = self.connect_src,
            form = self.form_action,
        )
    }
}

/// `ws://host[:port]` for an http public URL, `wss://…` for https.
fn websocket_origin(public_url: &Url) -> Option<String> {
    let scheme = match public_url.scheme() {
        "https" => "wss",
        "http" => "ws",
        _ => return None,
    };
    let host = public_url.host_str()?;
    Some(match public_url.port() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Wraps the whole router in the security headers (see the module documentation).
pub fn layers<S: Clone + Send + Sync + 'static>(router: Router<S>, policy: Policy, https: bool) -> Router<S> {
    let static_header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    let router = router
        .layer(middleware::from_fn_with_state(Arc::new(policy), csp_and_cache))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(static_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(static_header(header::REFERRER_POLICY, "strict-origin-when-cross-origin"));
    if https { router.layer(static_header(header::STRICT_TRANSPORT_SECURITY, HSTS)) } else { router }
}

/// Makes a nonce for the request (for Leptos to use), then sets the CSP and `Cache-Control` of
/// the answer where its handler did not.
async fn csp_and_cache(State(policy): State<Arc<Policy>>, mut request: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let html = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim_start().to_ascii_lowercase().starts_with("text/html"));
        let csp = if html { policy.page(&nonce) } else { NON_PAGE_POLICY.to_owned() };
        if let Ok(value) = HeaderValue::from_str(&csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Hands this request's nonce (made by the layer above) to Leptos, in place of the one
/// `leptos_axum` made, so that the page's scripts carry the nonce its CSP header names. Call it
/// in the additional context of every page route.
pub fn provide_page_nonce() {
    let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        leptos::prelude::provide_context(nonce);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn the_page_policy_names_the_nonce_and_the_websocket_origin() {
        let policy = Policy::new(&url("https://jarvis.example"), None, None);
        let csp = policy.page("abc123");
        assert!(csp.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"), "{csp}");
        assert!(csp.contains("connect-src 'self' wss://jarvis.example;"), "{csp}");
        assert!(csp.contains("img-src 'self' data: blob:;"), "{csp}");
        assert!(csp.ends_with("form-action 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");

        let local = Policy::new(&url("http://localhost:3000"), None, Some(3001)).page("n");
        assert!(local.contains("connect-src 'self' ws://localhost:3000 ws://*:3001;"), "{local}");
    }

    #[test]
    fn forms_may_end_at_stripes_hosted_pages_when_billing_is_on() {
        let real = Policy::new(&url("https://jarvis.example"), Some(&url("https://api.stripe.com/")), None);
        assert!(
            real.page("n")
                .ends_with("form-action 'self' https://checkout.stripe.com https://billing.stripe.com"),
            "{}",
            real.page("n")
        );
        let fake = Policy::new(&url("http://localhost:3000"), Some(&url("http://127.0.0.1:4242/")), None);
        assert!(fake.page("n").ends_with(" http://127.0.0.1:4242"), "{}", fake.page("n"));
    }
}
