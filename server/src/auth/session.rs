//! The session layer: reads the cookies of every request, verifies the access token (and that
//! its session is live), transparently rotates an expired one with the refresh token, and puts
//! the [`CurrentUser`] in the request's extensions, where [`RequireUser`] finds it.

use std::net::SocketAddr;

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::CookieJar;
use jarvis_backend::accounts::{ClientInfo, CurrentUser};
use jarvis_backend::{ErrorKind, Kinded};

use super::cookies::{
    ACCESS_COOKIE, REFRESH_COOKIE, cleared_cookies, session_cookies, with_cookies_unless_set,
};
use crate::{
    error::{ApiError, is_ours, log_failure},
    state::AppState,
};

/// Pages that only a signed-in user may see; others are sent to log in first.
const PROTECTED_PAGES: &[&str] = &["/app", "/settings", "/billing"];

/// Paths that never need to know the user (static files, probes).
fn is_anonymous_path(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/healthz" | "/readyz" | "/favicon.ico")
}

fn is_protected_page(path: &str) -> bool {
    PROTECTED_PAGES.iter().any(|page| path == *page || path.starts_with(&format!("{page}/")))
}

/// The page whose form posts to `path` and needs a session (billing's forms send a visitor to
/// log in themselves, with their own next page).
fn page_of_form(path: &str) -> Option<&'static str> {
    match path {
        "/logout-everywhere" => Some("/settings"),
        "/resend-verification" => Some("/app"),
        _ if path.starts_with("/settings/") => Some("/settings"),
        _ => None,
    }
}

/// Whether a request is an HTML form's (what a browser sends for `<form method="post">`).
fn is_form(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(|kind| {
        let kind = kind.to_ascii_lowercase();
        kind.starts_with("application/x-www-form-urlencoded") || kind.starts_with("multipart/form-data")
    })
}

/// The session layer (see the module documentation).
pub async fn session_layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if is_anonymous_path(&path) {
        return next.run(request).await;
    }
    let jar = CookieJar::from_headers(request.headers());
    let mut user = None;
    let mut new_cookies = Vec::new();

    if let Some(access) = jar.get(ACCESS_COOKIE) {
        match state.accounts.authenticate(access.value()).await {
            Ok(found) => user = found,
            Err(error) => {
                log_failure(ErrorKind::Unavailable, "session_lookup_failed", &error);
                return service_unavailable();
            }
        }
    }
    if user.is_none()
        && let Some(refresh) = jar.get(REFRESH_COOKIE)
    {
        match state.accounts.refresh(refresh.value()).await {
            Ok(signed_in) => {
                user = Some(signed_in.user);
                new_cookies = session_cookies(&state, &signed_in);
            }
            Err(error) if is_ours(error.kind()) => {
                log_failure(error.kind(), "refresh_failed", &error);
                return service_unavailable();
            }
            Err(reason) => {
                tracing::info!(%reason, "auth.refresh_refused");
                new_cookies = cleared_cookies(&state);
            }
        }
    }

    let response = match user {
        Some(user) => {
            tracing::Span::current().record("user.id", tracing::field::display(user.user_id));
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        None if request.method() == Method::GET && is_protected_page(&path) => {
            // The whole address, query included (`/app?c=<id>` opens that conversation after
            // the log-in); the log-in page keeps it only if it is a path of ours.
            let wanted = request.uri().path_and_query().map_or(path.as_str(), |wanted| wanted.as_str());
            let mut login = url::Url::parse("http://x/login").expect("static URL");
            login.query_pairs_mut().append_pair("next", wanted);
            Redirect::to(&format!("/login?{}", login.query().unwrap_or_default())).into_response()
        }
        // A form of a protected page sent after its session ended (logged out in another tab,
        // everywhere, or expired): back to log in, then to that page — not a JSON error page.
        None if request.method() == Method::POST && is_form(request.headers()) => match page_of_form(&path) {
            Some(page) => {
                let mut login = url::Url::parse("http://x/login").expect("static URL");
                login.query_pairs_mut().append_pair("notice", "session_ended").append_pair("next", page);
                Redirect::to(&format!("/login?{}", login.query().unwrap_or_default())).into_response()
            }
            None => next.run(request).await,
        },
        None => next.run(request).await,
    };
    with_cookies_unless_set(response, new_cookies)
}

/// Told to every request (pages too, so in plain text) while sessions cannot be checked.
fn service_unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "Jarvis cannot reach its database right now. Try again shortly.")
        .into_response()
}

/// The verified user, for axum handlers and the WebSocket upgrade. Without one: 401.
pub struct RequireUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for RequireUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .copied()
            .map(Self)
            .ok_or_else(|| ApiError::new(ErrorKind::Unauthenticated, "Log in first."))
    }
}

/// The client's address and browser, for sessions and throttling.
pub fn client_info(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> ClientInfo {
    let forwarded = state
        .config
        .trust_forwarded_for
        .then(|| {
            headers.get("x-forwarded-for")?.to_str().ok()?.rsplit(',').next().map(|ip| ip.trim().to_owned())
        })
        .flatten()
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    let ip = forwarded.or_else(|| peer.map(|addr| addr.ip().to_string())).unwrap_or_else(|| "unknown".into());
    let user_agent =
        headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    ClientInfo { ip, user_agent }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_app_and_settings_pages_are_protected() {
        assert!(is_protected_page("/app"));
        assert!(is_protected_page("/settings"));
        assert!(is_protected_page("/app/anything"));
        assert!(!is_protected_page("/application"));
        assert!(!is_protected_page("/"));
        assert!(!is_protected_page("/login"));
    }
}
