//! The account forms' endpoints. Each takes a plain HTML form post (so every page works with
//! JavaScript off) and answers with a 303 redirect: onwards on success, back to the form with an
//! error code on failure. The pages turn codes into messages; nothing the user typed but the
//! email address travels back in the URL.

use axum::{
    Form,
    extract::{ConnectInfo, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use jarvis_backend::Kinded;
use jarvis_backend::accounts::{AccountError, CurrentUser};
use std::net::SocketAddr;

use secrecy::SecretString;
use serde::Deserialize;
use url::{Url, form_urlencoded};
use uuid::Uuid;

use crate::{
    auth::{RequireUser, cleared_cookies, client_info, session_cookies, set_cookies},
    error::{CauseChain, is_ours, log_failure},
    state::AppState,
};

#[derive(Deserialize)]
pub struct RegisterForm {
    email: String,
    password: String,
    #[serde(default)]
    display_name: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

#[derive(Deserialize)]
pub struct ResetForm {
    token: String,
    password: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

#[derive(Deserialize)]
pub struct ChangePasswordForm {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `path?key=value&…`, properly encoded.
fn to(path: &str, pairs: &[(&str, &str)]) -> Redirect {
    if pairs.is_empty() {
        return Redirect::to(path);
    }
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    Redirect::to(&format!("{path}?{query}"))
}

/// Sends the user back to a form with the error's code and the fields worth keeping (`keep`).
/// A failure of ours is logged here, once, and shown only as "something went wrong".
fn back_with_error(path: &str, error: &AccountError, keep: &[(&str, &str)]) -> Response {
    if is_ours(error.kind()) {
        log_failure(error.kind(), error.code(), error);
    }
    let retry;
    let mut pairs = vec![("error", error.code())];
    if let AccountError::Locked { retry_after } = error {
        retry = retry_after.as_secs().max(1).to_string();
        pairs.push(("retry", retry.as_str()));
    }
    pairs.extend(keep.iter().filter(|(_, value)| !value.is_empty()));
    to(path, &pairs).into_response()
}

/// Where to go after log-in: `next` when it is a path on our own origin, else `/app` (no open
/// redirect). `next` must be a path (`/…`) with no control character or backslash; it is then
/// resolved against our public URL as a browser would (dot segments and all), must stay on our
/// origin, and only the resulting path and query are kept, so nothing the user sent can name
/// another host, break the `Location` header or resolve to `//host`.
fn safe_next(next: &str, public_url: &Url) -> String {
    const HOME: &str = "/app";
    if !next.starts_with('/') || next.chars().any(|c| c.is_control() || c == '\\') {
        return HOME.to_owned();
    }
    let Ok(url) = public_url.join(next) else { return HOME.to_owned() };
    if url.origin() != public_url.origin() {
        return HOME.to_owned();
    }
    let mut local = url.path().to_owned();
    if let Some(query) = url.query() {
        local.push('?');
        local.push_str(query);
    }
    // `/..//host` resolves to the path `//host`, which a browser would read as a host.
    if !local.starts_with('/') || local.starts_with("//") {
        return HOME.to_owned();
    }
    local
}

pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Response {
    let client = client_info(&state, &headers, Some(peer));
    let password = SecretString::from(form.password);
    match state.accounts.register(&form.email, password, &form.display_name, &client).await {
        // A new account is signed in at once, as log-in would; the app asks it to verify.
        Ok(Some(signed_in)) => {
            let cookies = session_cookies(&state, &signed_in);
            set_cookies(Redirect::to("/app").into_response(), cookies)
        }
        // A taken address: no one is signed in, and the answer is the one every registration
        // got before (the owner is mailed a notice).
        Ok(None) => to("/login", &[("notice", "check_inbox"), ("email", form.email.trim())]).into_response(),
        Err(error) => back_with_error("/register", &error, &[("email", form.email.trim())]),
    }
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let client = client_info(&state, &headers, Some(peer));
    let next = if form.next.is_empty() { String::new() } else { safe_next(&form.next, &state.public_url) };
    match state.accounts.login(&form.email, SecretString::from(form.password), &client).await {
        Ok(signed_in) => {
            let cookies = session_cookies(&state, &signed_in);
            let to = if next.is_empty() { "/app" } else { next.as_str() };
            set_cookies(Redirect::to(to).into_response(), cookies)
        }
        // Keep the address and where the user was going.
        Err(error) => back_with_error("/login", &error, &[("email", form.email.trim()), ("next", &next)]),
    }
}

pub async fn logout(State(state): State<AppState>, user: Option<axum::Extension<CurrentUser>>) -> Response {
    if let Some(axum::Extension(user)) = user {
        if let Err(error) = state.accounts.revoke_session(user.user_id, user.session_id).await
            && !matches!(error, AccountError::NotFound)
        {
            return back_with_error("/app", &error, &[]);
        }
        tracing::info!(user.id = %user.user_id, session.id = %user.session_id, "auth.logged_out");
    }
    set_cookies(to("/login", &[("notice", "logged_out")]).into_response(), cleared_cookies(&state))
}

pub async fn logout_everywhere(State(state): State<AppState>, RequireUser(user): RequireUser) -> Response {
    match state.accounts.revoke_all_sessions(user.user_id).await {
        Ok(count) => {
            tracing::info!(user.id = %user.user_id, sessions = count, "auth.logged_out_everywhere");
            set_cookies(
                to("/login", &[("notice", "logged_out_everywhere")]).into_response(),
                cleared_cookies(&state),
            )
        }
        Err(error) => back_with_error("/settings", &error, &[]),
    }
}

pub async fn verify_email(
    State(state): State<AppState>,
    user: Option<axum::Extension<CurrentUser>>,
    Query(query): Query<TokenQuery>,
) -> Response {
    match state.accounts.verify_email(&query.token).await {
        Ok(_) if user.is_some() => to("/app", &[("notice", "verified")]).into_response(),
        Ok(_) => to("/login", &[("notice", "verified")]).into_response(),
        Err(error) => {
            // The link followed again (it is single-use) by someone signed in whose address is
            // verified: nothing is wrong, back to the app.
            if let Some(axum::Extension(user)) = user
                && state.accounts.profile(user.user_id).await.is_ok_and(|profile| profile.email_verified())
            {
                return to("/app", &[("notice", "already_verified")]).into_response();
            }
            back_with_error("/login", &error, &[])
        }
    }
}

pub async fn resend_verification(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RequireUser(user): RequireUser,
) -> Response {
    let client = client_info(&state, &headers, Some(peer));
    match state.accounts.resend_verification(user.user_id, &client).await {
        Ok(()) => to("/app", &[("notice", "verification_sent")]).into_response(),
        Err(error) => back_with_error("/app", &error, &[]),
    }
}

pub async fn forgot_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Response {
    let client = client_info(&state, &headers, Some(peer));
    match state.accounts.request_password_reset(&form.email, &client).await {
        Ok(()) => {
            to("/forgot-password", &[("notice", "reset_sent"), ("email", form.email.trim())]).into_response()
        }
        Err(error) => back_with_error("/forgot-password", &error, &[("email", form.email.trim())]),
    }
}

pub async fn reset_password(State(state): State<AppState>, Form(form): Form<ResetForm>) -> Response {
    match state.accounts.reset_password(&form.token, SecretString::from(form.password)).await {
        Ok(()) => set_cookies(
            to("/login", &[("notice", "password_reset")]).into_response(),
            cleared_cookies(&state),
        ),
        // The link stays usable: back to the form with it.
        Err(error @ AccountError::WeakPassword(_)) => {
            back_with_error("/reset-password", &error, &[("token", form.token.as_str())])
        }
        Err(error) => back_with_error("/forgot-password", &error, &[]),
    }
}

pub async fn revoke_session(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(session_id): Path<String>,
) -> Response {
    let Ok(session_id) = Uuid::parse_str(&session_id) else {
        return (StatusCode::NOT_FOUND, "No such session.").into_response();
    };
    match state.accounts.revoke_session(user.user_id, session_id).await {
        Ok(()) if session_id == user.session_id => {
            set_cookies(to("/login", &[("notice", "logged_out")]).into_response(), cleared_cookies(&state))
        }
        Ok(()) => to("/settings", &[("notice", "session_revoked")]).into_response(),
        Err(AccountError::NotFound) => (StatusCode::NOT_FOUND, "No such session.").into_response(),
        Err(error) => back_with_error("/settings", &error, &[]),
    }
}

/// Settings' "Change password": this device stays signed in, every other one is logged out.
pub async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RequireUser(user): RequireUser,
    Form(form): Form<ChangePasswordForm>,
) -> Response {
    let client = client_info(&state, &headers, Some(peer));
    let current = SecretString::from(form.current_password);
    let new = SecretString::from(form.new_password);
    match state.accounts.change_password(user, current, new, &client).await {
        Ok(_) => to("/settings", &[("notice", "password_changed")]).into_response(),
        Err(error) => back_with_error("/settings", &error, &[]),
    }
}

pub async fn delete_account(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Form(form): Form<PasswordForm>,
) -> Response {
    // Deleting the account would orphan a subscription Stripe keeps charging.
    match state.billing.has_live_subscription(user.user_id).await {
        Ok(false) => {}
        Ok(true) => return to("/settings", &[("error", "subscription_live")]).into_response(),
        Err(error) => {
            log_failure(error.kind(), "internal", &error);
            return to("/settings", &[("error", "internal")]).into_response();
        }
    }
    match state.accounts.delete_account(user.user_id, SecretString::from(form.password)).await {
        Ok(()) => {
            // The rows went with the account; the user's objects go too. A failure here leaves
            // only unreachable bytes behind, so it is logged, not shown.
            if let Err(error) = state.store.delete_user(user.user_id).await {
                tracing::error!(error = %CauseChain(&error), user.id = %user.user_id, "accounts.objects_not_deleted");
            }
            set_cookies(
                to("/login", &[("notice", "account_deleted")]).into_response(),
                cleared_cookies(&state),
            )
        }
        Err(error) => back_with_error("/settings", &error, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_log_in() {
        let public = Url::parse("https://jarvis.example").unwrap();
        let next = |value: &str| safe_next(value, &public);
        assert_eq!(next("/settings"), "/settings");
        assert_eq!(next("/app?c=42&x=%2F%2Fy"), "/app?c=42&x=%2F%2Fy");
        assert_eq!(next("/app/../settings#top"), "/settings");
        for refused in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\t\\evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/..//evil.example",
            "/%2e%2e//evil.example",
            "%2F%2Fevil.example",
            "javascript:alert(1)",
            " /settings",
            "/settings\r\nSet-Cookie: x=1",
        ] {
            assert_eq!(next(refused), "/app", "{refused:?}");
        }
        // Percent-encoded slashes stay encoded: a path, not a host.
        assert_eq!(next("/%2F%2Fevil.example"), "/%2F%2Fevil.example");
    }
}
