//! The composer's "Attach" (a paperclip): opens the browser's file picker, limited to the kinds
//! that can be attached; the picked files upload at once.

use leptos::prelude::*;

use super::limits::ACCEPT;
use super::upload;
use crate::components::chat::ChatContext;

#[component]
pub fn AttachButton() -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let input = NodeRef::<leptos::html::Input>::new();
    view! {
        <button
            type="button"
            aria-label="Attach"
            title="Attach files (or drop them here, or paste an image)"
            class="flex h-11 w-11 shrink-0 items-center justify-center rounded-lg text-slate-600 ring-1 ring-slate-300 hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
            on:click=move |_| {
                if let Some(input) = input.get() {
                    input.click();
                }
            }
        >
            <svg aria-hidden="true" viewBox="0 0 24 24" class="h-5 w-5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
                <path d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48" />
            </svg>
        </button>
        // Out of the tab order and the accessibility tree: "Attach" is how it is reached.
        <input
            node_ref=input
            type="file"
            multiple
            accept=ACCEPT
            class="hidden"
            tabindex="-1"
            aria-hidden="true"
            data-testid="attach-input"
            on:change=move |ev| upload::from_input(chat, &ev)
        />
    }
}
