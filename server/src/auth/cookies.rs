//! The session cookies: the short-lived access token and the rotating refresh token, both
//! HttpOnly and SameSite=Lax (Secure unless the public URL is plain-http localhost).

use axum::{
    http::{HeaderValue, header},
    response::Response,
};
use axum_extra::extract::cookie::{Cookie, SameSite};
use jarvis_backend::accounts::SignedIn;

use crate::state::AppState;

pub const ACCESS_COOKIE: &str = "jarvis_access";
pub const REFRESH_COOKIE: &str = "jarvis_refresh";

/// Adds our cookies to a response, unless the handler set cookies of the same name itself
/// (log-out clearing them must win over a refresh done on the way in).
pub(super) fn with_cookies_unless_set(response: Response, mut cookies: Vec<Cookie<'static>>) -> Response {
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
