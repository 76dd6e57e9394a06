//! The `http.request` span of every request, as OpenTelemetry's HTTP server conventions name
//! it: a server span (`otel.kind`) carrying the method, path and request id, joined to the
//! caller's trace when the request carries a W3C `traceparent` (a proxy or a client that traces),
//! and given `http.response.status_code` (and an error status on 5xx) when it is answered.

use std::time::Duration;

use axum::http::{HeaderMap, Request, Response};
use opentelemetry::propagation::Extractor;
use tower_http::trace::{DefaultOnResponse, OnResponse};
use tracing::{Level, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Opens the request's span. With traces off, the parent lookup finds nothing and costs a
/// header lookup.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let request_id =
        request.headers().get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or_default();
    let span = tracing::info_span!(
        "http.request",
        otel.kind = "server",
        http.method = %request.method(),
        http.path = %loggable_path(request.uri().path()),
        request_id = %request_id,
        user.id = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Headers(request.headers()))
    });
    // No remote parent (or traces off): the span stays a root, as it was.
    let _ = span.set_parent(parent);
    span
}

/// A request's path as the log and the traces may keep it: a share link's token is a secret
/// (whoever has it reads the conversation; only its hash is stored), so it is not written down.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/share/") {
        Some(token) if !token.is_empty() => "/share/{token}".into(),
        _ => path.into(),
    }
}

/// Records the answer on the request's span, then logs it as tower-http always did (its
/// `finished processing request` line, under `RUST_LOG`'s `tower_http` target).
pub fn record_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    let status = response.status();
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    DefaultOnResponse::new().level(Level::INFO).on_response(response, latency, span);
}

/// Reads `traceparent`/`tracestate` from a request's headers for the propagator.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn a_share_token_never_reaches_the_log() {
        assert_eq!(loggable_path("/share/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"), "/share/{token}");
        assert_eq!(loggable_path("/share/x/y"), "/share/{token}");
        assert_eq!(loggable_path("/api/documents/42/download"), "/api/documents/42/download");
        assert_eq!(loggable_path("/share/"), "/share/");
    }
}
