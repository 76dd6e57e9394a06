//! The chat header's "Jarvis mode" toggle, with a line saying what it does (it hides the tool
//! steps under replies, so they read as plain answers). The choice is remembered in this browser
//! (`localStorage`) and read once the page is live, so the server's render and the first
//! hydrated one agree.

use leptos::prelude::*;

use super::context::ChatContext;

/// Where this browser keeps the choice.
const KEY: &str = "jarvis.jarvis-mode";

/// What the toggle does, in one line.
pub const DESCRIPTION: &str = "Hides the tool steps under replies; answers and saved documents stay.";

/// The stored value read back: on only when it was stored on.
pub fn from_stored(stored: Option<&str>) -> bool {
    stored == Some("on")
}

/// The value stored for a choice.
pub fn to_stored(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// The toggle, its description next to it (on wide screens; always its accessible description
/// and tooltip).
#[component]
pub fn JarvisModeToggle() -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    // In the browser, after hydration: the remembered choice.
    Effect::new(move |_| {
        if let Some(stored) = crate::browser::stored(KEY) {
            chat.jarvis_mode.set(from_stored(Some(&stored)));
        }
    });
    let change = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        chat.jarvis_mode.set(on);
        crate::browser::store(KEY, to_stored(on));
    };
    view! {
        <div class="flex items-center gap-2" title=DESCRIPTION>
            <label class="flex items-center gap-2 text-sm text-slate-700">
                <input
                    type="checkbox"
                    data-testid="jarvis-mode"
                    aria-describedby="jarvis-mode-description"
                    prop:checked=move || chat.jarvis_mode.get()
                    on:change=change
                />
                "Jarvis mode"
            </label>
            <span id="jarvis-mode-description" class="hidden max-w-[16rem] text-xs leading-tight text-slate-500 xl:inline">
                {DESCRIPTION}
            </span>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_choice_round_trips_through_storage_and_defaults_to_off() {
        assert!(from_stored(Some(to_stored(true))));
        assert!(!from_stored(Some(to_stored(false))));
        assert!(!from_stored(None), "a first visit shows the tool steps");
        assert!(!from_stored(Some("garbage")));
    }

    /// The toggle renders its description, tied to the checkbox for assistive technology.
    #[cfg(feature = "ssr")]
    #[test]
    fn the_toggle_says_what_it_does() {
        use leptos::tachys::view::RenderHtml;

        use crate::components::chat::{ChatContext, ChatState};
        use crate::components::voice::VoiceState;
        use crate::library::LibraryState;

        let html = Owner::new().with(|| {
            provide_context(ChatContext::new(
                ChatState::default(),
                None,
                LibraryState::new(Default::default()),
                VoiceState::new(None),
            ));
            view! { <JarvisModeToggle /> }.to_html()
        });
        assert!(html.contains(r#"aria-describedby="jarvis-mode-description""#), "{html}");
        assert!(html.contains(r#"id="jarvis-mode-description""#), "{html}");
        assert!(html.contains("Hides the tool steps under replies"), "{html}");
        assert!(html.contains("Jarvis mode"), "{html}");
    }
}
