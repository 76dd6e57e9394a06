//! The composer: the notice above it (a refusal, a limit with its upgrade link), the message box
//! (Enter sends, Shift+Enter breaks the line, Esc stops) and Send, or Stop while a reply runs. A
//! refused message's text comes back into the box. The box is focused on load (unless the user
//! is already somewhere else) and grows with its text up to a maximum height, then scrolls.
//! "Speak" (or Space when the box is not focused) dictates into the box: the transcript lands
//! there to be edited, never sent by itself.
//!
//! Files ride along: "Attach" (or "Attach from library", a drop on the chat, a pasted image) puts
//! them above the box as chips that upload at once. Send waits while one uploads or one cannot go
//! (the chip says why), carries the uploaded ones (the text may then be empty), and clears them.

use leptos::prelude::*;

use super::attachments::{AttachButton, AttachFromLibrary, AttachmentChips, upload};
use super::context::ChatContext;
use super::state::ChatState;
use crate::components::voice_input::dictation::insert_transcript;
use crate::components::voice_input::{Conversation, DictationControl, DictationStatus, SpeakButton};

/// The message box's element id.
pub const COMPOSER_ID: &str = "composer";

/// Where the tab keeps what is in the message box (`sessionStorage`), so that a reload, a page
/// left and come back to with Back, or a server away when a link was followed, loses nothing.
/// Forgotten on logging out ([`forget_draft`]).
const DRAFT_KEY: &str = "jarvis-draft";

/// Forgets this tab's unsent message (the user logged out).
pub fn forget_draft() {
    crate::browser::tab_store(DRAFT_KEY, "");
}

#[component]
pub fn Composer() -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    // Text typed while the page loaded is kept: hydration writes the draft into the box.
    let draft = RwSignal::new(crate::browser::typed_text(COMPOSER_ID));
    let textarea = NodeRef::<leptos::html::Textarea>::new();
    // Focused on load, unless the user already went somewhere else while the page loaded.
    Effect::new(move |_| {
        if let Some(element) = textarea.get() {
            focus_unless_busy(&element);
        }
    });
    // Kept for this tab as it is typed; on load, what was kept comes back into an empty box
    // (text typed before hydration wins).
    Effect::new(move |kept: Option<()>| {
        if kept.is_none()
            && draft.get_untracked().is_empty()
            && let Some(saved) = crate::browser::tab_stored(DRAFT_KEY)
        {
            draft.set(saved);
        }
        crate::browser::tab_store(DRAFT_KEY, &draft.get());
    });
    // Grows with its text (the class caps its height; beyond that it scrolls).
    Effect::new(move |_| {
        draft.track();
        if let Some(element) = textarea.get() {
            fit_height(&element);
        }
    });
    // Dictation: the transcript goes after what is written, and the box takes the focus.
    let dictation = DictationControl::new(Callback::new(move |transcript: String| {
        draft.update(|draft| *draft = insert_transcript(draft, &transcript));
        #[cfg(feature = "hydrate")]
        if let Some(element) = textarea.get_untracked() {
            let _ = element.focus();
        }
    }));
    // The hands-free conversation holds the microphone while it is on.
    let conversation = use_context::<Conversation>();
    let conversing = Signal::derive(move || conversation.is_some_and(Conversation::is_on));
    let running = move || chat.running();
    let notice = Memo::new(move |_| chat.state.with(|state| state.notice.clone()));
    let upgrade_url = Memo::new(move |_| chat.state.with(|state| state.upgrade_url.clone()));
    // A refused message comes back into the box (unless something new was typed meanwhile).
    let returned = Memo::new(move |_| chat.state.with(|state| state.returned_text.is_some()));
    Effect::new(move |_| {
        if !returned.get() {
            return;
        }
        if let Some(text) = chat.state.try_update(ChatState::take_returned_text).flatten()
            && draft.get_untracked().trim().is_empty()
        {
            draft.set(text);
        }
    });
    // Why Send cannot go now, if an attachment holds it back.
    let held_back =
        Memo::new(move |_| chat.state.with(|state| state.attachments.blocker(state.model.selected_option())));
    let submit = move || {
        let text = draft.get_untracked();
        // While a reply runs the reducer says why nothing went, and the text stays here.
        if chat.submit(text) {
            draft.set(String::new());
            // Back to its first size at once: the grow effect may measure before the emptied
            // value reaches the box.
            if let Some(element) = textarea.get_untracked() {
                element.set_value("");
                fit_height(&element);
            }
        }
    };
    view! {
        <div class="border-t border-slate-200 bg-white p-3">
            {move || notice.get().map(|notice| view! {
                <p role="alert" class="mb-2 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-amber-200">
                    {notice}
                    {move || upgrade_url.get().map(|href| view! {
                        " " <a href=href rel="external" class="font-semibold underline" data-testid="upgrade-link">"See plans and upgrade"</a>
                    })}
                </p>
            })}
            <DictationStatus control=dictation />
            <AttachmentChips />
            <form
                class="flex items-end gap-2"
                on:submit=move |ev| {
                    ev.prevent_default();
                    submit();
                }
            >
                <AttachButton />
                <AttachFromLibrary />
                <label for=COMPOSER_ID class="sr-only">"Message"</label>
                <textarea
                    node_ref=textarea
                    id=COMPOSER_ID
                    name="message"
                    rows="2"
                    autofocus
                    placeholder="Message Jarvis…"
                    data-testid="composer"
                    class="max-h-60 min-h-[2.75rem] min-w-0 flex-1 resize-none overflow-y-auto rounded-lg border border-slate-300 px-3 py-2 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        dictation.dismiss();
                    }
                    on:paste=move |ev| upload::from_paste(chat, &ev)
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                            ev.prevent_default();
                            submit();
                        } else if ev.key() == "Escape" {
                            dictation.cancel();
                            chat.stop();
                        }
                    }
                ></textarea>
                <SpeakButton control=dictation disabled=conversing />
                <Show
                    when=running
                    fallback=move || view! {
                        <button
                            type="submit"
                            class="rounded-lg bg-indigo-600 px-4 py-2 font-semibold text-white hover:bg-indigo-500 disabled:cursor-not-allowed disabled:opacity-50"
                            disabled=move || held_back.with(Option::is_some)
                            title=move || held_back.get()
                        >
                            "Send"
                        </button>
                    }
                >
                    // Stopped, the box has the focus (Stop leaves the page as Send comes back).
                    <button
                        type="button"
                        class="rounded-lg bg-slate-800 px-4 py-2 font-semibold text-white hover:bg-slate-700"
                        on:click=move |_| {
                            chat.stop();
                            if let Some(element) = textarea.get_untracked() {
                                let _ = element.focus();
                            }
                        }
                    >
                        "Stop"
                    </button>
                </Show>
            </form>
        </div>
    }
    .into_any()
}

/// Focuses the box if nothing else has the focus.
#[cfg(feature = "hydrate")]
fn focus_unless_busy(element: &web_sys::HtmlTextAreaElement) {
    let idle = document().active_element().is_none_or(|active| active.tag_name() == "BODY");
    if idle {
        let _ = element.focus();
    }
}

#[cfg(not(feature = "hydrate"))]
fn focus_unless_busy<T>(_element: &T) {}

/// Sets the box's height to its text's (its `max-height` caps it, then it scrolls). Through the
/// CSSOM, which the CSP allows, never a `style` attribute, which `style-src` refuses.
#[cfg(feature = "hydrate")]
fn fit_height(element: &web_sys::HtmlTextAreaElement) {
    let style = web_sys::HtmlElement::style(element);
    let _ = style.set_property("height", "auto");
    let borders = element.offset_height() - element.client_height();
    let _ = style.set_property("height", &format!("{}px", element.scroll_height() + borders));
}

#[cfg(not(feature = "hydrate"))]
fn fit_height<T>(_element: &T) {}
