//! A question edited in place: its text in a box with "Send" (a new version of the question,
//! answered anew; the earlier one stays a version away) and "Cancel" (or Esc).

use leptos::prelude::*;

use super::context::ChatContext;

#[component]
pub fn EditMessage() -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let draft = Memo::new(move |_| {
        chat.state
            .with(|state| state.editing.as_ref().map(|editing| editing.draft.clone()).unwrap_or_default())
    });
    let textarea = NodeRef::<leptos::html::Textarea>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(element) = textarea.get() {
            let _ = element.focus();
        }
    });
    view! {
        <form
            class="space-y-2"
            data-testid="edit-message"
            on:submit=move |ev| {
                ev.prevent_default();
                chat.submit_edit();
            }
        >
            <label for="edit-message" class="sr-only">"Edit your message"</label>
            <textarea
                node_ref=textarea
                id="edit-message"
                rows="3"
                class="block w-full min-w-[16rem] resize-y rounded-lg border border-slate-300 bg-white px-3 py-2 text-slate-900 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
                prop:value=move || draft.get()
                on:input=move |ev| chat.edit_draft(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        ev.prevent_default();
                        chat.cancel_edit();
                    } else if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        chat.submit_edit();
                    }
                }
            ></textarea>
            <div class="flex justify-end gap-2">
                <button
                    type="button"
                    class="min-h-9 rounded-lg px-3 py-1 text-white ring-1 ring-indigo-300 hover:bg-indigo-500"
                    on:click=move |_| chat.cancel_edit()
                >
                    "Cancel"
                </button>
                <button
                    type="submit"
                    class="min-h-9 rounded-lg bg-white px-3 py-1 font-semibold text-indigo-700 hover:bg-indigo-50 disabled:opacity-50"
                    disabled=move || draft.with(|text| text.trim().is_empty())
                >
                    "Send"
                </button>
            </div>
        </form>
    }
}
