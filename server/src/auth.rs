//! Who is asking. One session layer reads the cookies of every request, verifies the access
//! token (and that its session is live), transparently rotates an expired one with the refresh
//! token, and puts the [`CurrentUser`] in the request's extensions. Axum handlers and the
//! WebSocket upgrade take it with the [`RequireUser`] extractor; Leptos server functions read
//! the same extension. Nothing else decides who the user is.
//!
//! A second layer refuses state-changing requests from other sites (CSRF): their `Origin` (or,
//! failing that, `Referer`) must be our public origin.

use std::net::SocketAddr;

use axum::{
    Json,
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use jarvis_backend::accounts::{ClientInfo, CurrentUser, SignedIn};
use serde_json::json;

use crate::{
    routes::origin::{self, OriginCheck},
    state::AppState,
};

pub const ACCESS_COOKIE: &str = "jarvis_access";
pub const REFRESH_COOKIE: &str = "jarvis_refresh";

/// Pages that only a signed-in user may see; others are sent to log in first.
const PROTECTED_PAGES: &[&str] = &["/app", "/settings", "/billing"];

/// Paths that never need to know the user (static files, probes).
fn is_anonymous_path(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/healthz" | "/readyz" | "/favicon.ico")
}

fn is_protected_page(path: &str) -> bool {
    PROTECTED_PAGES.iter().any(|page| path == *page || path.starts_with(&format!("{page}/")))
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
                tracing::error!(%error, "auth.session_lookup_failed");
                return service_unavailable();
            }
        }
    }
    if user.is_none() {
        if let Some(refresh) = jar.get(REFRESH_COOKIE) {
            match state.accounts.refresh(refresh.value()).await {
                Ok(signed_in) => {
                    user = Some(signed_in.user);
                    new_cookies = session_cookies(&state, &signed_in);
                }
                Err(jarvis_backend::accounts::sessions::RefreshError::Database(error)) => {
                    tracing::error!(%error, "auth.refresh_failed");
                    return service_unavailable();
                }
                Err(reason) => {
                    tracing::info!(%reason, "auth.refresh_refused");
                    new_cookies = cleared_cookies(&state);
                }
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
            let mut login = url::Url::parse("http://x/login").expect("static URL");
            login.query_pairs_mut().append_pair("next", &path);
            Redirect::to(&format!("/login?{}", login.query().unwrap_or_default())).into_response()
        }
        None => next.run(request).await,
    };
    with_cookies_unless_set(response, new_cookies)
}

fn service_unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "Jarvis cannot reach its database right now. Try again shortly.")
        .into_response()
}

/// Adds our cookies to a response, unless the handler set cookies of the same name itself
/// (log-out clearing them must win over a refresh done on the way in).
fn with_cookies_unless_set(response: Response, mut cookies: Vec<Cookie<'static>>) -> Response {
    let already_set: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split('=').next().map(str::to_owned))
        .collect();
    cookies.retain(|cookie| !already_set.iter().any(|name| name == cookie.name()));
    set_cookies(response, cookies)
}

fn base_cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .secure(state.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/")
        .build()
}

/// The cookies that carry a signed-in session.
pub fn session_cookies(state: &AppState, signed_in: &SignedIn) -> Vec<Cookie<'static>> {
    let mut access = base_cookie(state, ACCESS_COOKIE, signed_in.access_token.clone());
    let access_ttl = state.accounts.access_tokens().lifetime();
    access.set_max_age(time_duration(access_ttl));
    let mut cookies = vec![access];
    if let Some(refresh) = &signed_in.refresh {
        let mut cookie = base_cookie(state, REFRESH_COOKIE, refresh.token.expose().to_owned());
        let remaining = (refresh.expires_at - chrono::Utc::now()).to_std().unwrap_or_default();
        cookie.set_max_age(time_duration(remaining));
        cookies.push(cookie);
    }
    cookies
}

/// Cookies that delete both session cookies.
pub fn cleared_cookies(state: &AppState) -> Vec<Cookie<'static>> {
    [ACCESS_COOKIE, REFRESH_COOKIE]
        .into_iter()
        .map(|name| {
            let mut cookie = base_cookie(state, name, String::new());
            cookie.make_removal();
            cookie
        })
        .collect()
}

fn time_duration(duration: std::time::Duration) -> time::Duration {
    time::Duration::seconds(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
}

/// Appends `Set-Cookie` headers to a response.
pub fn set_cookies(mut response: Response, cookies: Vec<Cookie<'static>>) -> Response {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The verified user, for axum handlers and the WebSocket upgrade. Without one: 401.
pub struct RequireUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for RequireUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<CurrentUser>().copied().map(Self).ok_or_else(|| {
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": "unauthenticated", "message": "Log in first." })),
            )
                .into_response()
        })
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

/// Refuses state-changing requests whose `Origin` (or `Referer`) is not our public origin. A
/// request with neither is refused too: every browser sends one of them on a form post.
pub async fn same_origin_layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    // Stripe's webhook comes from Stripe, not a page: its signature is its authentication.
    if safe || request.uri().path() == crate::routes::billing::WEBHOOK_PATH {
        return next.run(request).await;
    }
    let headers = request.headers();
    let verdict = match origin::check(headers, &state.public_url) {
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
            origin::check(&as_origin, public_url)
        }
        Err(_) => OriginCheck::Denied,
    }
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
