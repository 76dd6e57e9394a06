//! Who is asking. One session layer ([`session_layer`]) reads the cookies of every request,
//! verifies the access token (and that its session is live), transparently rotates an expired one
//! with the refresh token, and puts the [`CurrentUser`](jarvis_backend::accounts::CurrentUser) in
//! the request's extensions. Axum handlers and the WebSocket upgrade take it with the
//! [`RequireUser`] extractor; Leptos server functions read the same extension. Nothing else
//! decides who the user is.
//!
//! A second layer ([`same_origin_layer`]) refuses state-changing requests from other sites
//! (CSRF): their `Origin` (or, failing that, `Referer`) must be our public origin.

pub mod cookies;
pub mod origin;
pub mod session;

pub use cookies::{ACCESS_COOKIE, REFRESH_COOKIE, cleared_cookies, session_cookies, set_cookies};
pub use origin::same_origin_layer;
pub use session::{RequireUser, client_info, session_layer};
