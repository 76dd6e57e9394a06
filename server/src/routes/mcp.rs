//! `/mcp`: the MCP server (Streamable HTTP) for personal access tokens. Every request is
//! checked here before the MCP handler sees it: a browser page of another site is refused (the
//! MCP spec's rule against DNS rebinding: a present `Origin` must be ours), then the bearer
//! token is verified (401 with `WWW-Authenticate`, RFC 6750, when it is missing, unknown,
//! revoked, expired or its account disabled: checked on every request, so a revoked token is
//! refused at once), and its owner is left in the request for
//! [`WorkspaceServer`](jarvis_backend::mcp::server::WorkspaceServer).
//!
//! The server is stateless (rmcp's `legacy_session_mode` off): no session lives in memory, so
//! any instance behind a load balancer answers any request, and answers are plain JSON.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use jarvis_backend::connections::tokens::TokenOwner;
use jarvis_backend::mcp::server::WorkspaceServer;
use jarvis_types::connections::MCP_PATH;
use rmcp::model::Extensions;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;

use crate::auth::origin::{self, OriginCheck};
use crate::error::UNAVAILABLE_MESSAGE;
use crate::state::AppState;

/// JSON-RPC's code for our refusals before any method runs (in the range left to servers).
const UNAUTHORIZED_CODE: i64 = -32001;

const MISSING_TOKEN: &str = "Send a Jarvis personal access token as `Authorization: Bearer jvs_…`; create one in Settings → Connections.";
const INVALID_TOKEN: &str = "This token is not valid: it was revoked, it expired, or it is not a Jarvis token. Create a new one in Settings → Connections.";
const FOREIGN_ORIGIN: &str = "Jarvis's MCP server does not answer web pages of other sites.";

/// The `/mcp` route, with its own token and Origin checks: mounted outside the cookie session
/// and the same-origin layers, which are for pages.
pub fn router(state: &AppState) -> Router<AppState> {
    let server = WorkspaceServer::new(state.pool.clone(), state.billing.clone(), owner_of);
    // No Host allow-list: the public host is whatever the deployment's proxy forwards, and a
    // rebinding page can neither present a token nor pass the Origin check below.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .disable_allowed_hosts()
        .with_cancellation_token(state.shutdown.child_token());
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(MCP_PATH, service)
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
}

/// Where [`authorize`] left the owner: rmcp hands the handler the request's HTTP parts.
fn owner_of(extensions: &Extensions) -> Option<TokenOwner> {
    extensions.get::<http::request::Parts>()?.extensions.get::<TokenOwner>().copied()
}

/// Refuses a foreign `Origin` (403) and a request without a live token (401); otherwise leaves
/// the token's owner in the request.
async fn authorize(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if origin::check(request.headers(), &state.public_url) == OriginCheck::Denied {
        tracing::warn!(origin = ?request.headers().get(header::ORIGIN), "mcp.origin_refused");
        refused("origin");
        return refusal(StatusCode::FORBIDDEN, FOREIGN_ORIGIN, None);
    }
    let Some(presented) = bearer(request.headers()) else {
        refused("missing_token");
        return refusal(StatusCode::UNAUTHORIZED, MISSING_TOKEN, Some(r#"Bearer realm="jarvis""#));
    };
    match state.connections.tokens.verify(presented).await {
        Ok(Some(owner)) => {
            tracing::Span::current().record("user.id", tracing::field::display(owner.user_id));
            request.extensions_mut().insert(owner);
            next.run(request).await
        }
        Ok(None) => {
            tracing::info!("mcp.token_refused");
            refused("invalid_token");
            refusal(
                StatusCode::UNAUTHORIZED,
                INVALID_TOKEN,
                Some(r#"Bearer realm="jarvis", error="invalid_token""#),
            )
        }
        Err(error) => {
            tracing::error!(error = %error, "mcp.token_check_failed");
            refusal(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE, None)
        }
    }
}

/// The token of an `Authorization: Bearer …` header (the scheme in any case, RFC 7235).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn refused(reason: &'static str) {
    metrics::counter!("jarvis_mcp_refused_total", "reason" => reason).increment(1);
}

/// A refusal as a JSON-RPC error (no request id: the body was not read), so that an MCP client
/// shows the sentence; with `WWW-Authenticate` for a 401.
fn refusal(status: StatusCode, sentence: &'static str, challenge: Option<&'static str>) -> Response {
    let body =
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": UNAUTHORIZED_CODE, "message": sentence}});
    let mut response = (status, Json(body)).into_response();
    if let Some(challenge) = challenge {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
        headers
    }

    #[test]
    fn the_bearer_token_is_read_whatever_the_scheme_s_case() {
        assert_eq!(bearer(&headers("Bearer jvs_abc")), Some("jvs_abc"));
        assert_eq!(bearer(&headers("bearer  jvs_abc ")), Some("jvs_abc"));
        assert_eq!(bearer(&headers("Basic dXNlcjpwYXNz")), None);
        assert_eq!(bearer(&headers("Bearer")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
