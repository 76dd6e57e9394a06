//! The messages of the open conversation, scrolled to follow new text while the reader is at the
//! bottom (and not once they scroll up), and "Jarvis is thinking…" while an answer shows nothing
//! yet. A screen reader hears a reply once it has ended, from a status line of its own.

use leptos::prelude::*;

use super::context::ChatContext;
use super::first_run::FirstRunGuide;
use super::message_view::MessageView;

#[component]
pub fn MessageList() -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let container = NodeRef::<leptos::html::Div>::new();
    // Follow new text while the reader is at the bottom; stop when they scroll up.
    let stick = RwSignal::new(true);
    // The empty chat's guide is read from its top (on a phone it is taller than the screen).
    Effect::new(move |_| {
        let empty = chat.state.with(|state| state.messages.is_empty());
        if let Some(element) = container.get() {
            if empty {
                element.set_scroll_top(0);
            } else if stick.get_untracked() {
                element.set_scroll_top(element.scroll_height());
            }
        }
    });
    let keys =
        Memo::new(move |_| chat.state.with(|state| state.messages.iter().map(|m| m.key).collect::<Vec<_>>()));
    let thinking = Memo::new(move |_| chat.state.with(|state| state.thinking()));
    let announcement = Memo::new(move |_| chat.state.with(|state| state.announcement.clone()));
    view! {
        // Not the list itself (every streamed word, player tick and button would be read out):
        // a screen reader is told of a reply once it ends. A live region without the `status`
        // role, so that the page's status (the connection) stays the one status there is.
        <div class="sr-only" aria-live="polite" aria-atomic="true" data-testid="reply-announcement">{move || announcement.get()}</div>
        <div
            node_ref=container
            class="min-h-0 flex-1 space-y-4 overflow-y-auto px-4 py-4"
            data-testid="messages"
            on:scroll=move |_| {
                if let Some(element) = container.get() {
                    let distance = element.scroll_height() - element.scroll_top() - element.client_height();
                    stick.set(distance < 48);
                }
            }
        >
            <Show when=move || chat.state.with(|state| state.messages.is_empty())>
                <FirstRunGuide />
            </Show>
            <For each=move || keys.get() key=|key| *key let(key)>
                <MessageView message=chat.message(key) />
            </For>
            <Show when=move || thinking.get()>
                <p role="status" class="flex items-center gap-2 px-1 text-sm text-slate-500" data-testid="thinking">
                    <span class="inline-block h-2 w-2 animate-pulse rounded-full bg-indigo-500" aria-hidden="true"></span>
                    "Jarvis is thinking…"
                </p>
            </Show>
        </div>
    }
    .into_any()
}
