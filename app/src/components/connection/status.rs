//! What the user is told about the link to the server: the [`ConnectionState`] and the badge
//! that shows it, in the words of a chat product ("Online", "Offline — reconnecting…") rather
//! than a developer's ("Connected", "socket").

use leptos::prelude::*;

/// What the user is told about the link to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// First attempt, before any pong came back.
    Connecting,
    /// A pong answered our ping on the current socket.
    Connected,
    /// The link dropped (or never came up) and the next attempt is scheduled.
    Reconnecting,
    /// The server speaks a newer protocol: the page must be reloaded.
    Outdated,
}

impl ConnectionState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "Connecting…",
            Self::Connected => "Online",
            Self::Reconnecting => "Offline — reconnecting…",
            Self::Outdated => "Jarvis was updated — reload the page",
        }
    }

    fn dot_class(self) -> &'static str {
        match self {
            Self::Connected => "bg-emerald-500",
            Self::Connecting | Self::Reconnecting => "bg-amber-400 animate-pulse",
            Self::Outdated => "bg-rose-500",
        }
    }
}

/// A badge with the connection state, announced politely to screen readers.
#[component]
pub fn ConnectionStatus(state: RwSignal<ConnectionState>) -> impl IntoView {
    view! {
        <p
            role="status"
            aria-live="polite"
            class="flex items-center gap-2 text-sm text-slate-600"
            data-state=move || format!("{:?}", state.get()).to_lowercase()
        >
            <span class=move || format!("inline-block h-2 w-2 rounded-full {}", state.get().dot_class()) aria-hidden="true"></span>
            {move || state.get().label()}
        </p>
    }
}
