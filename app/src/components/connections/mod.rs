//! Settings → Connections: personal access tokens (MCP clients reach the user's workspace with
//! one) and the user's MCP servers, whose tools join Jarvis's. Loaded with the page; every change
//! goes through a server function and the pure [`state::ConnectionsState::next`].
//!
//! The forms need JavaScript (a token must be shown once, in the page that asked for it): their
//! buttons wait until the page is hydrated, and without JavaScript a note says so.

pub mod servers;
pub mod state;
pub mod tokens;

use leptos::prelude::*;

use jarvis_types::connections::ConnectionsView;

use crate::error::AppError;
use state::{ConnectionsEvent, ConnectionsState};

/// What the section says with JavaScript off. Inner HTML, so that hydration (which sees a
/// `<noscript>`'s content as text) has no children to walk.
const NEEDS_JAVASCRIPT: &str =
    r#"<p class="text-sm text-amber-800">Connections need JavaScript: turn it on and reload the page.</p>"#;

/// Applies `event` to the section.
pub(crate) fn send(state: RwSignal<ConnectionsState>, event: ConnectionsEvent) {
    state.update(|current| *current = std::mem::take(current).next(event));
}

/// The "Connections" section of the settings page, from `loaded` (the page's resource of
/// [`crate::connections::get_connections`]).
#[component]
pub fn ConnectionsSettings(loaded: Resource<Result<ConnectionsView, AppError>>) -> impl IntoView {
    view! {
        <section aria-labelledby="connections-heading" class="space-y-6" data-testid="connections">
            <div class="space-y-1">
                <h2 id="connections-heading" class="text-lg font-semibold">"Connections"</h2>
                <p class="text-sm text-slate-600">
                    "Let other AI apps use your Jarvis workspace, and give Jarvis the tools of other MCP servers."
                </p>
                <noscript inner_html=NEEDS_JAVASCRIPT></noscript>
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || loaded.get().map(|result| match result {
                    Ok(view) => {
                        let state = RwSignal::new(ConnectionsState::new(view));
                        // Effects run only in the browser: the buttons work from here on.
                        let hydrated = RwSignal::new(false);
                        Effect::new(move |_| hydrated.set(true));
                        view! {
                            <tokens::AccessTokens state hydrated />
                            <servers::McpServers state hydrated />
                        }
                        .into_any()
                    }
                    Err(error) => view! {
                        <p role="alert" class="text-rose-700">
                            {format!("Your connections could not be loaded: {error} Reload the page.")}
                        </p>
                    }
                    .into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Classes shared by the section's controls.
pub(crate) mod style {
    pub const INPUT: &str = "block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200";
    pub const LABEL: &str = "block text-sm font-medium text-slate-700";
    pub const PRIMARY: &str =
        "rounded-lg bg-indigo-600 px-4 py-2 font-semibold text-white hover:bg-indigo-500 disabled:opacity-60";
    pub const QUIET: &str = "rounded-md px-3 py-1.5 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-100 disabled:opacity-60";
    pub const DANGER: &str = "rounded-md px-3 py-1.5 text-sm font-medium text-rose-700 ring-1 ring-rose-300 hover:bg-rose-50 disabled:opacity-60";
    pub const ALERT: &str = "rounded-lg bg-rose-50 px-4 py-3 text-sm text-rose-800 ring-1 ring-rose-200";
}
