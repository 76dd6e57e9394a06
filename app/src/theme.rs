//! The colour theme: System (follow the device's light or dark setting), Light or Dark. The
//! choice is remembered per user on the server, and in a cookie for pages seen signed out, and
//! rendered into the server's `<html>` (`data-theme="dark"` or `"light"`; no attribute for
//! System) so that a page never flashes in the wrong theme. `style/tailwind.css` turns that
//! attribute (or, without it, `prefers-color-scheme`) into colours.

use leptos::prelude::*;
use leptos_meta::Html;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The cookie that carries the theme to pages rendered for a signed-out visitor (and to the
/// first render of any page, before the stored choice is read).
pub const THEME_COOKIE: &str = "jarvis_theme";

/// A year: the cookie outlives sessions, like the choice it mirrors.
const COOKIE_MAX_AGE_SECONDS: u32 = 365 * 24 * 60 * 60;

/// The colour theme a visitor chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    /// The choices, in the order the control shows them.
    pub const ALL: [Self; 3] = [Self::System, Self::Light, Self::Dark];

    /// The name on the wire, in the cookie and in the database: `system`, `light` or `dark`.
    pub fn name(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|choice| choice.name() == name)
    }

    /// What the control calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::System => "System",
            Self::Light => "Light",
            Self::Dark => "Dark",
        }
    }

    /// The `data-theme` attribute of `<html>`: none when following the system.
    pub fn html_attribute(self) -> Option<&'static str> {
        match self {
            Self::System => None,
            Self::Light => Some("light"),
            Self::Dark => Some("dark"),
        }
    }
}

/// The theme named by a request's `Cookie` header (System when it names none, or an unknown one).
pub fn theme_from_cookie_header(header: &str) -> ThemeChoice {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == THEME_COOKIE)
        .and_then(|(_, value)| ThemeChoice::parse(value.trim()))
        .unwrap_or_default()
}

/// The `Set-Cookie` value that remembers `theme` in this browser. Not a secret (it only picks
/// colours), so readable by no script all the same, and sent on top-level navigations; `Secure`
/// like the session's cookies (everywhere but a plain-HTTP loopback address).
pub fn theme_cookie(theme: ThemeChoice, secure: bool) -> String {
    format!(
        "{THEME_COOKIE}={}; Path=/; Max-Age={COOKIE_MAX_AGE_SECONDS}; SameSite=Lax; HttpOnly{}",
        theme.name(),
        if secure { "; Secure" } else { "" }
    )
}

/// The theme to render: the signed-in user's stored choice (and the cookie is brought in line
/// with it), otherwise the one the cookie names.
#[server(prefix = "/api", endpoint = "theme")]
pub async fn load_theme() -> Result<ThemeChoice, AppError> {
    use crate::server_context::{database, signed_in_user};

    let from_cookie = ssr::theme_in_cookie();
    let Some(user) = signed_in_user() else { return Ok(from_cookie) };
    let stored = ssr::choice(jarvis_backend::accounts::preferences::theme(&database()?, user.user_id).await?);
    if stored != from_cookie {
        ssr::remember_in_cookie(stored);
    }
    Ok(stored)
}

/// Remembers `theme` (`system`, `light` or `dark`): for the signed-in user on the server, and in
/// this browser's cookie (the only place for a signed-out visitor).
#[server(prefix = "/api", endpoint = "save_theme")]
pub async fn save_theme(theme: String) -> Result<ThemeChoice, AppError> {
    use jarvis_backend::accounts::preferences::{self, Theme};

    use crate::server_context::{database, signed_in_user};

    let parsed: Theme = theme.parse()?;
    if let Some(user) = signed_in_user() {
        preferences::set_theme(&database()?, user.user_id, parsed).await?;
    }
    let choice = ssr::choice(parsed);
    ssr::remember_in_cookie(choice);
    Ok(choice)
}

#[cfg(feature = "ssr")]
mod ssr {
    //! The server half: the request's cookie, the answer's cookie, the backend's theme.

    use jarvis_backend::accounts::preferences::Theme;
    use leptos::prelude::use_context;

    use super::{ThemeChoice, theme_cookie, theme_from_cookie_header};

    pub(super) fn choice(theme: Theme) -> ThemeChoice {
        match theme {
            Theme::System => ThemeChoice::System,
            Theme::Light => ThemeChoice::Light,
            Theme::Dark => ThemeChoice::Dark,
        }
    }

    /// The theme named by the cookie of the request being served.
    pub(crate) fn theme_in_cookie() -> ThemeChoice {
        use_context::<http::request::Parts>()
            .map(|parts| {
                parts
                    .headers
                    .get_all(http::header::COOKIE)
                    .iter()
                    .filter_map(|value| value.to_str().ok())
                    .map(theme_from_cookie_header)
                    .find(|theme| *theme != ThemeChoice::System)
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Sets the theme cookie on the answer being built (ignored once a streamed page's headers
    /// are gone: the next page sets it).
    pub(super) fn remember_in_cookie(theme: ThemeChoice) {
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else { return };
        let secure = crate::server_context::cookies_secure();
        if let Ok(value) = http::HeaderValue::from_str(&theme_cookie(theme, secure)) {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }
}

/// The page's theme, for every component: what the server rendered (the stored choice, or the
/// cookie's) until the visitor picks another here.
#[derive(Clone, Copy)]
pub struct ThemeState {
    loaded: Resource<Result<ThemeChoice, AppError>>,
    picked: RwSignal<Option<ThemeChoice>>,
    /// What the cookie of the page's request said (the server's first guess; System in the
    /// browser, where it is not needed).
    from_cookie: ThemeChoice,
}

impl ThemeState {
    /// The theme shown now (tracked), once the stored choice is known.
    pub fn current(self) -> Option<ThemeChoice> {
        self.picked.get().or_else(|| self.loaded.get().map(|loaded| loaded.unwrap_or(self.from_cookie)))
    }

    /// Waits for the stored choice; then the theme shown.
    pub async fn resolved(self) -> ThemeChoice {
        let loaded = self.loaded.await.unwrap_or(self.from_cookie);
        self.picked.get_untracked().unwrap_or(loaded)
    }

    /// Shows `theme` at once (the `<html>` attribute follows); the caller saves it.
    pub fn pick(self, theme: ThemeChoice) {
        self.picked.set(Some(theme));
    }
}

/// Loads the theme and offers it to every component (called once, by the root component).
pub fn provide_theme() -> ThemeState {
    #[cfg(feature = "ssr")]
    let from_cookie = ssr::theme_in_cookie();
    #[cfg(not(feature = "ssr"))]
    let from_cookie = ThemeChoice::System;
    let state = ThemeState {
        loaded: Resource::new(|| (), |()| load_theme()),
        picked: RwSignal::new(None),
        from_cookie,
    };
    provide_context(state);
    state
}

/// The theme as the `<html>` element's `data-theme`. Rendered after the routes, so that on a page
/// rendered whole (the signed-in ones) the stored choice is known when `<html>` is written; on a
/// streamed page the cookie's choice goes out with the first bytes.
#[component]
pub fn ThemeAttribute() -> impl IntoView {
    let state = expect_context::<ThemeState>();
    let from_cookie = state.from_cookie;
    view! {
        <Suspense fallback=move || view! { <Html {..} data-theme=from_cookie.html_attribute() /> }>
            {move || Suspend::new(async move {
                let _ = state.resolved().await;
                view! {
                    <Html {..} data-theme=move || state.current().unwrap_or(from_cookie).html_attribute() />
                }
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_names_the_theme_among_other_cookies() {
        assert_eq!(theme_from_cookie_header("a=1; jarvis_theme=dark; b=2"), ThemeChoice::Dark);
        assert_eq!(theme_from_cookie_header("jarvis_theme=light"), ThemeChoice::Light);
    }

    #[test]
    fn a_missing_or_unknown_theme_cookie_follows_the_system() {
        assert_eq!(theme_from_cookie_header("access=x"), ThemeChoice::System);
        assert_eq!(theme_from_cookie_header("jarvis_theme=\"><script>"), ThemeChoice::System);
        assert_eq!(theme_from_cookie_header("xjarvis_theme=dark"), ThemeChoice::System);
    }

    #[test]
    fn only_an_explicit_choice_marks_the_html_element() {
        assert_eq!(ThemeChoice::System.html_attribute(), None);
        assert_eq!(ThemeChoice::Light.html_attribute(), Some("light"));
        assert_eq!(ThemeChoice::Dark.html_attribute(), Some("dark"));
    }

    #[test]
    fn every_choice_round_trips_through_its_name_and_cookie() {
        for choice in ThemeChoice::ALL {
            assert_eq!(ThemeChoice::parse(choice.name()), Some(choice));
            let cookie = theme_cookie(choice, false);
            let pair = cookie.split(';').next().unwrap();
            assert_eq!(theme_from_cookie_header(pair), choice);
        }
    }

    #[test]
    fn the_cookie_is_secure_where_the_session_cookies_are() {
        let secure = theme_cookie(ThemeChoice::Dark, true);
        assert!(secure.split("; ").any(|attribute| attribute == "Secure"), "{secure}");
        assert!(secure.contains("HttpOnly") && secure.contains("SameSite=Lax"), "{secure}");
        let plain = theme_cookie(ThemeChoice::Dark, false);
        assert!(!plain.contains("Secure"), "{plain}");
    }
}
