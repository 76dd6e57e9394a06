//! What surrounds the Leptos server functions (`POST /api/{name}`): their body limit, and the
//! status of the answers they give to a client's mistake.
//!
//! Leptos answers every failed server function with 500, which the request log records as an
//! ERROR. A body past the limit (which `server_fn` reads as a failed body) and arguments that do
//! not parse are the client's doing, not ours: they get 413 and 400, with a sentence, and a
//! warning at most. Server functions set a status of their own for the mistakes they find
//! (unknown ids: 404) through `leptos_axum::ResponseOptions`.
//!
//! Leptos routes each registered server function itself (`leptos_routes_with_context`), so
//! [`guard_server_fns`] runs for the whole router and picks their requests out by path.

use std::collections::HashSet;
use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, Request, State},
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The largest body a server function takes: axum's default body limit, which reading the body
/// as [`Bytes`] enforces where no route sets another (a unit test holds the two equal).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The paths of the registered server functions taken by POST.
pub fn paths() -> Arc<HashSet<&'static str>> {
    Arc::new(
        leptos::server_fn::axum::server_fn_paths()
            .filter(|(_, method)| *method == Method::POST)
            .map(|(path, _)| path)
            .collect(),
    )
}

/// [`guard`] for the requests to a server function among [`paths`]; others pass untouched.
pub async fn guard_server_fns(
    State(paths): State<Arc<HashSet<&'static str>>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST && paths.contains(request.uri().path()) {
        guard(request, next).await
    } else {
        next.run(request).await
    }
}

/// The error bodies `server_fn` writes when a request's arguments cannot be read:
/// `<kind>|<detail>`.
const ARGUMENT_ERRORS: [&str; 3] = ["Args|", "MissingArg|", "Deserialization|"];

/// Reads the body within [`BODY_LIMIT`] before the server function runs (413 past it), and turns
/// a 500 for unreadable arguments into a 400.
pub async fn guard(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), &()).await {
        Ok(bytes) => bytes,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            tracing::warn!(limit = BODY_LIMIT, "server_fn.body_too_large");
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("This request is too large: at most {} MiB.", BODY_LIMIT / (1024 * 1024)),
            )
                .into_response();
        }
        Err(rejection) => {
            tracing::warn!(error = %rejection.body_text(), "server_fn.body_unreadable");
            return (StatusCode::BAD_REQUEST, "The request could not be read.").into_response();
        }
    };
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    // An error body is one short line; anything longer is not an argument error.
    let (mut head, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, crate::error::INTERNAL_MESSAGE).into_response();
    };
    if ARGUMENT_ERRORS.iter().any(|kind| body.starts_with(kind.as_bytes())) {
        tracing::warn!(error = %String::from_utf8_lossy(&body), "server_fn.bad_arguments");
        head.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(head, Body::from(body))
}

#[cfg(test)]
mod tests {
    use axum::{Router, middleware, routing::post};
    use tower::ServiceExt;

    use super::*;

    async fn answer(status: StatusCode, body: &'static str, request_body: Vec<u8>) -> (StatusCode, String) {
        let app = Router::new()
            .route("/api/x", post(move || async move { (status, body) }))
            .layer(middleware::from_fn(guard));
        let response = app
            .oneshot(Request::post("/api/x").body(Body::from(request_body)).expect("a request"))
            .await
            .expect("an answer");
        let status = response.status();
        let text = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
        (status, String::from_utf8_lossy(&text).into_owned())
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_413_with_a_sentence() {
        let (status, text) = answer(StatusCode::OK, "ran", vec![b'a'; BODY_LIMIT + 1]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(text, "This request is too large: at most 2 MiB.");
        let (status, text) = answer(StatusCode::OK, "ran", vec![b'a'; BODY_LIMIT]).await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, "ran"));
    }

    #[tokio::test]
    async fn unreadable_arguments_are_400_and_real_failures_stay_500() {
        let bad = answer(StatusCode::INTERNAL_SERVER_ERROR, "Args|missing field `id`", Vec::new()).await;
        assert_eq!(bad, (StatusCode::BAD_REQUEST, "Args|missing field `id`".to_owned()));
        let failed =
            answer(StatusCode::INTERNAL_SERVER_ERROR, "ServerError|Something went wrong", Vec::new()).await;
        assert_eq!(failed.0, StatusCode::INTERNAL_SERVER_ERROR);
        let found = answer(StatusCode::NOT_FOUND, "ServerError|No such conversation.", Vec::new()).await;
        assert_eq!(found.0, StatusCode::NOT_FOUND);
    }
}
