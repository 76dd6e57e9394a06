//! The search box: a combobox labelled "Search conversations", its results below it (the title
//! and a snippet of each, the matched words in `<mark>` elements), the arrow keys and Enter to
//! pick one, Esc to clear and leave, and Ctrl/Cmd+K anywhere on the page to come back to it.

use leptos::prelude::*;

use super::state::{Effect as SearchEffect, Key, SearchState};
use crate::search::{Highlighted, SearchResult, search_conversations};

/// How long typing must pause before the server is asked, in milliseconds.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const PAUSE_MS: u64 = 150;

/// The box's element id.
const SEARCH_BOX_ID: &str = "conversation-search";

/// Classes a revealed message wears for a moment.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const FOUND: &str = "outline-4 outline-offset-2 outline-amber-400";

/// The box and what performs its reducer's effects. `Copy`: signals only.
#[derive(Clone, Copy)]
struct Search {
    state: RwSignal<SearchState>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    input: NodeRef<leptos::html::Input>,
    on_open: Callback<(String, Option<String>)>,
    /// What had the focus before the box (Ctrl/Cmd+K, a click, Tab): Esc on an empty box gives
    /// the focus back to it.
    #[cfg(feature = "hydrate")]
    came_from: StoredValue<Option<web_sys::HtmlElement>, LocalStorage>,
}

impl Search {
    /// Runs one step of the reducer, then performs the effects it answered.
    fn run(self, step: impl FnOnce(&mut SearchState) -> Vec<SearchEffect>) {
        for effect in self.state.try_update(step).unwrap_or_default() {
            self.perform(effect);
        }
    }

    fn perform(self, effect: SearchEffect) {
        match effect {
            SearchEffect::Search { generation, query } => {
                let state = self.state;
                leptos::task::spawn_local(async move {
                    #[cfg(feature = "hydrate")]
                    gloo_timers::future::sleep(std::time::Duration::from_millis(PAUSE_MS)).await;
                    if !state.with_untracked(|s| s.is_current(generation)) {
                        return;
                    }
                    let answer = search_conversations(query).await.map_err(|error| error.to_string());
                    state.update(|s| s.answered(generation, answer));
                });
            }
            SearchEffect::Open { conversation_id, message_id } => {
                self.on_open.run((conversation_id, message_id))
            }
            SearchEffect::Focus =>
            {
                #[cfg(feature = "hydrate")]
                if let Some(input) = self.input.get_untracked() {
                    let _ = input.focus();
                    input.select();
                }
            }
            SearchEffect::Blur => {
                #[cfg(feature = "hydrate")]
                if let Some(input) = self.input.get_untracked() {
                    let _ = input.blur();
                    // Back where the user was, or the message box when that is gone (never the
                    // page's body, where the keyboard would be lost).
                    match self.came_from.get_value().filter(|element| element.is_connected()) {
                        Some(element) => {
                            let _ = element.focus();
                        }
                        None => crate::browser::focus(crate::components::chat::composer::COMPOSER_ID),
                    }
                }
            }
        }
    }
}

/// The search box. `on_open` opens a conversation (at a message, if named); `on_summon` is told
/// when Ctrl/Cmd+K brings the box up (a phone then shows the list it is in).
#[component]
pub fn SearchBox(on_open: Callback<(String, Option<String>)>, on_summon: Callback<()>) -> impl IntoView {
    let state = RwSignal::new(SearchState::default());
    let input = NodeRef::<leptos::html::Input>::new();
    let search = Search {
        state,
        input,
        on_open,
        #[cfg(feature = "hydrate")]
        came_from: StoredValue::new_local(None),
    };
    // A query typed while the page loaded is searched for once it has hydrated (hydration
    // first writes the empty query into the box; the effect puts the typed one back).
    let typed_early = crate::browser::typed_text(SEARCH_BOX_ID);
    Effect::new(move |_| {
        if !typed_early.is_empty() {
            let query = typed_early.clone();
            search.run(|s| s.typed(query));
        }
    });
    // An effect, so that only the browser listens.
    Effect::new(move |_| {
        let listener = window_event_listener(leptos::ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key()) && !ev.alt_key() && ev.key().eq_ignore_ascii_case("k") {
                ev.prevent_default();
                on_summon.run(());
                search.run(SearchState::summon);
            }
        });
        on_cleanup(move || listener.remove());
    });
    let showing = Memo::new(move |_| state.with(SearchState::showing));
    let results = Memo::new(move |_| state.with(|s| s.results.clone()));
    let selected = Memo::new(move |_| state.with(|s| s.selected));
    view! {
        <div class="relative px-3 pt-3">
            <input
                node_ref=input
                id=SEARCH_BOX_ID
                type="search"
                role="combobox"
                aria-label="Search conversations"
                aria-autocomplete="list"
                aria-controls="conversation-search-results"
                aria-expanded=move || showing.get().to_string()
                aria-activedescendant=move || selected.get().map(result_id)
                autocomplete="off"
                placeholder="Search (Ctrl+K)"
                class="w-full rounded-lg border border-slate-300 px-3 py-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
                prop:value=move || state.with(|s| s.query.clone())
                on:input=move |ev| search.run(|s| s.typed(event_target_value(&ev)))
                on:focus=move |_ev: leptos::ev::FocusEvent| {
                    #[cfg(feature = "hydrate")]
                    {
                        use leptos::wasm_bindgen::JsCast;
                        let from = _ev.related_target().and_then(|target| target.dyn_into::<web_sys::HtmlElement>().ok());
                        search.came_from.set_value(from);
                    }
                }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.is_composing() {
                        return;
                    }
                    if let Some(key) = Key::from_name(&ev.key()) {
                        ev.prevent_default();
                        search.run(|s| s.key(key));
                    }
                }
            />
            <div
                class=move || format!(
                    "absolute inset-x-3 top-full z-20 mt-1 max-h-[70vh] overflow-y-auto rounded-lg bg-white shadow-lg ring-1 ring-slate-200 {}",
                    if showing.get() { "" } else { "hidden" },
                )
                data-testid="search-results"
            >
                <p role="status" class="px-3 py-2 text-xs text-slate-500">{move || state.with(SearchState::summary)}</p>
                <ul id="conversation-search-results" role="listbox" aria-label="Search results" class="pb-1">
                    {move || results.get().into_iter().enumerate().map(|(index, result)| {
                        view! { <ResultOption index result selected=Signal::derive(move || selected.get() == Some(index)) on_pick=move || search.run(|s| s.pick(index)) /> }
                    }).collect_view()}
                </ul>
            </div>
        </div>
    }
    .into_any()
}

/// One result: the conversation's title and, when a message matched, a snippet of it.
#[component]
fn ResultOption(
    index: usize,
    result: SearchResult,
    #[prop(into)] selected: Signal<bool>,
    on_pick: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <li
            id=result_id(index)
            role="option"
            aria-selected=move || selected.get().to_string()
            class=move || format!(
                "cursor-pointer px-3 py-2 {}",
                if selected.get() { "bg-indigo-50" } else { "hover:bg-slate-100" },
            )
            on:click=move |_| on_pick()
        >
            <div class="truncate text-sm font-medium text-slate-900">{highlighted(result.title)}</div>
            {(!result.snippet.is_empty()).then(|| view! {
                <div class="mt-0.5 line-clamp-3 break-words text-xs text-slate-600">{highlighted(result.snippet)}</div>
            })}
        </li>
    }
}

/// The id of the `index`th result's element (the box names the selected one to screen readers).
fn result_id(index: usize) -> String {
    format!("conversation-search-result-{index}")
}

/// Text with its matched words in `<mark>` elements: every piece a text node, never markup.
fn highlighted(pieces: Vec<Highlighted>) -> impl IntoView {
    pieces
        .into_iter()
        .map(|piece| {
            if piece.mark {
                view! { <mark class="rounded-sm bg-amber-200 px-0.5 text-inherit">{piece.text}</mark> }
                    .into_any()
            } else {
                piece.text.into_any()
            }
        })
        .collect_view()
}

/// Once the conversation just opened shows the message `message_id` (its element is
/// `message-<id>`), scrolls it into view, gives it the focus and outlines it for a moment.
pub fn reveal_message(message_id: String) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        use gloo_timers::future::sleep;
        use std::time::Duration;

        let element_id = format!("message-{message_id}");
        // The messages render after the state changes, and the list then follows its end: look
        // after that, for up to two seconds.
        for _ in 0..40 {
            sleep(Duration::from_millis(50)).await;
            let Some(element) = document().get_element_by_id(&element_id) else { continue };
            element.scroll_into_view();
            // The focus goes to the message found (not left on the page's body once the list of
            // results is gone), so that a screen reader reads it and Tab goes on from there.
            if !element.has_attribute("tabindex") {
                let _ = element.set_attribute("tabindex", "-1");
            }
            if let Some(element) = leptos::wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(&element) {
                let _ = element.focus();
            }
            let classes = element.class_name();
            element.set_class_name(&format!("{classes} {FOUND}"));
            let _ = element.set_attribute("data-found", "true");
            sleep(Duration::from_millis(2000)).await;
            element.set_class_name(&classes);
            let _ = element.remove_attribute("data-found");
            return;
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = message_id;
}

// Rendering to HTML needs the server's renderer.
#[cfg(all(test, feature = "ssr"))]
mod tests {
    use leptos::prelude::*;
    use leptos::tachys::view::RenderHtml;

    use super::*;

    #[test]
    fn a_result_marks_its_matched_words_and_keeps_stored_text_as_text() {
        let result = SearchResult {
            conversation_id: "c".into(),
            title: vec![
                Highlighted { text: "<b>Zebra</b> ".into(), mark: false },
                Highlighted { text: "crossing".into(), mark: true },
            ],
            message_id: Some("m".into()),
            snippet: vec![
                Highlighted { text: "see the ".into(), mark: false },
                Highlighted { text: "<img src=x onerror=alert(1)>".into(), mark: true },
            ],
        };
        let html = Owner::new().with(|| {
            view! { <ResultOption index=2 result selected=Signal::stored(true) on_pick=|| () /> }.to_html()
        });
        assert!(html.contains(r#"id="conversation-search-result-2""#), "{html}");
        assert!(html.contains(r#"role="option""#));
        assert!(html.contains(r#"aria-selected="true""#));
        assert!(html.contains("&lt;b&gt;Zebra&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>"));
        assert!(!html.contains("<img"));
        assert_eq!(html.matches("<mark").count(), 2);
        assert!(html.contains(">crossing</mark>"));
    }

    #[test]
    fn the_chat_renders_the_search_box_and_names_each_loaded_message() {
        use jarvis_types::chat::{ChatMessageView, ConversationView};

        let question = ChatMessageView {
            id: "0b1c".into(),
            role: "user".into(),
            text: "Hello".into(),
            tools: Vec::new(),
            partial: false,
            run_id: None,
            clips: Vec::new(),
            refused: false,
            versions: Vec::new(),
            attachments: Vec::new(),
            model: None,
        };
        let open = ConversationView {
            id: "c".into(),
            title: "Hi".into(),
            messages: vec![question],
            running_run_id: None,
            running_reply_versions: Vec::new(),
            model: None,
        };
        let html = Owner::new().with(|| {
            view! { <crate::components::chat::Chat conversations=Vec::new() open=Some(open) library=Default::default() voice=None /> }
                .to_html()
        });
        assert!(html.contains(r#"aria-label="Search conversations""#), "{html}");
        assert!(html.contains(r#"role="combobox""#));
        assert!(html.contains(r#"id="message-0b1c""#));
    }
}
