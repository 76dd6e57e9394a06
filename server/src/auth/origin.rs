//! Which browser origins may talk to us. A page on another site must not be able to open a
//! socket or post a form with the user's cookies (cross-site WebSocket hijacking, CSRF): the
//! WebSocket upgrade checks [`check`], and [`same_origin_layer`] refuses every state-changing
//! request whose `Origin` (or, failing that, `Referer`) is not our public origin.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use url::Url;

use crate::state::AppState;

/// The verdict on a request's `Origin` header.
#[derive(Debug, PartialEq, Eq)]
pub enum OriginCheck {
    /// The header names our public origin.
    Allowed,
    /// No header: not a browser's cross-origin request (browsers always send it on WebSocket
    /// upgrades and cross-site posts), so nothing to protect against.
    Absent,
    /// Another site, or a header that does not parse.
    Denied,
}

/// Compares `Origin` with the public URL's scheme, host and port. When the public URL is on the
/// loopback interface, `localhost`, `127.0.0.1` and `[::1]` count as the same host, so a developer
/// may open either address.
pub fn check(headers: &HeaderMap, public_url: &Url) -> OriginCheck {
    let Some(value) = headers.get(header::ORIGIN) else { return OriginCheck::Absent };
    let Some(origin) = value.to_str().ok().and_then(|raw| Url::parse(raw).ok()) else {
        return OriginCheck::Denied;
    };
    let same_scheme = origin.scheme() == public_url.scheme();
    let same_port = origin.port_or_known_default() == public_url.port_or_known_default();
    let same_host = match (origin.host_str(), public_url.host_str()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b) || (is_loopback(a) && is_loopback(b)),
        _ => false,
    };
    if same_scheme && same_port && same_host { OriginCheck::Allowed } else { OriginCheck::Denied }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Refuses state-changing requests whose `Origin` (or `Referer`) is not our public origin. A
/// request with neither is refused too: every browser sends one of them on a form post. Routes
/// that other servers call (Stripe's webhook, authenticated by its signature) are mounted outside
/// this layer, where the router defines them.
pub async fn same_origin_layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    if safe {
        return next.run(request).await;
    }
    let headers = request.headers();
    let verdict = match check(headers, &state.public_url) {
        OriginCheck::Absent => referer_check(headers, &state.public_url),
        verdict => verdict,
    };
    if verdict == OriginCheck::Allowed {
        next.run(request).await
    } else {
        tracing::warn!(origin = ?headers.get(header::ORIGIN), referer = ?headers.get(header::REFERER), "auth.cross_origin_refused");
        (StatusCode::FORBIDDEN, "This request did not come from a Jarvis page.").into_response()
    }
}

fn referer_check(headers: &HeaderMap, public_url: &url::Url) -> OriginCheck {
    let Some(referer) = headers.get(header::REFERER).and_then(|value| value.to_str().ok()) else {
        return OriginCheck::Denied;
    };
    let Ok(referer) = url::Url::parse(referer) else { return OriginCheck::Denied };
    let mut as_origin = HeaderMap::new();
    let origin = referer.origin().ascii_serialization();
    match HeaderValue::from_str(&origin) {
        Ok(value) => {
            as_origin.insert(header::ORIGIN, value);
            check(&as_origin, public_url)
        }
        Err(_) => OriginCheck::Denied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(origin: Option<&str>, public: &str) -> OriginCheck {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        check(&headers, &Url::parse(public).unwrap())
    }

    #[test]
    fn the_public_origin_is_allowed() {
        assert_eq!(verdict(Some("https://jarvis.example"), "https://jarvis.example/"), OriginCheck::Allowed);
        assert_eq!(
            verdict(Some("https://jarvis.example:443"), "https://jarvis.example"),
            OriginCheck::Allowed
        );
    }

    #[test]
    fn other_sites_schemes_and_ports_are_denied() {
        let public = "https://jarvis.example";
        assert_eq!(verdict(Some("https://evil.example"), public), OriginCheck::Denied);
        assert_eq!(verdict(Some("http://jarvis.example"), public), OriginCheck::Denied);
        assert_eq!(verdict(Some("https://jarvis.example:8443"), public), OriginCheck::Denied);
        assert_eq!(verdict(Some("https://jarvis.example.evil.example"), public), OriginCheck::Denied);
        assert_eq!(verdict(Some("null"), public), OriginCheck::Denied);
    }

    #[test]
    fn loopback_names_are_interchangeable_only_for_a_loopback_public_url() {
        assert_eq!(verdict(Some("http://127.0.0.1:3000"), "http://localhost:3000"), OriginCheck::Allowed);
        assert_eq!(verdict(Some("http://localhost:3000"), "http://127.0.0.1:3000"), OriginCheck::Allowed);
        assert_eq!(verdict(Some("http://localhost:3001"), "http://localhost:3000"), OriginCheck::Denied);
        assert_eq!(verdict(Some("http://localhost"), "https://jarvis.example"), OriginCheck::Denied);
    }

    #[test]
    fn a_request_without_origin_is_not_a_cross_site_browser_request() {
        assert_eq!(verdict(None, "https://jarvis.example"), OriginCheck::Absent);
    }

    #[test]
    fn a_referer_counts_by_its_origin() {
        let public = url::Url::parse("https://jarvis.example").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::REFERER, HeaderValue::from_static("https://jarvis.example/login?x=1"));
        assert_eq!(referer_check(&headers, &public), OriginCheck::Allowed);
        headers.insert(header::REFERER, HeaderValue::from_static("https://evil.example/jarvis.example"));
        assert_eq!(referer_check(&headers, &public), OriginCheck::Denied);
        assert_eq!(referer_check(&HeaderMap::new(), &public), OriginCheck::Denied);
    }
}
