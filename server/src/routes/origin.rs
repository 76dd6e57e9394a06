//! Which browser origins may talk to us. A page on another site must not be able to open a
//! socket or post a form with the user's cookies (cross-site WebSocket hijacking, CSRF).

use axum::http::{HeaderMap, header};
use url::Url;

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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

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
}
