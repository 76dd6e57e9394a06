//! "‹ 2/3 ›" under a message that has versions (an edited question, a regenerated reply):
//! "Previous version" and "Next version" show the branch through the neighbouring version.

use leptos::prelude::*;

use super::context::{ChatContext, version_button_id};
use super::ui_message::UiMessage;

#[component]
pub fn VersionSwitcher(message: Memo<UiMessage>) -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let key = message.with_untracked(|m| m.key);
    let version = Memo::new(move |_| message.with(UiMessage::version));
    let button = "min-h-8 min-w-8 rounded px-2 text-slate-600 hover:bg-slate-100 disabled:opacity-40";
    move || {
        version.get().map(|(number, count)| {
            view! {
                <div class="inline-flex items-center gap-1 text-sm" data-testid="version-switcher">
                    <button
                        type="button"
                        class=button
                        id=version_button_id(key, -1)
                        aria-label="Previous version"
                        disabled=move || number == 1 || chat.running()
                        on:click=move |_| chat.switch_version(key, -1)
                    >
                        "‹"
                    </button>
                    <span data-testid="version-number">{format!("{number}/{count}")}</span>
                    <button
                        type="button"
                        class=button
                        id=version_button_id(key, 1)
                        aria-label="Next version"
                        disabled=move || number == count || chat.running()
                        on:click=move |_| chat.switch_version(key, 1)
                    >
                        "›"
                    </button>
                </div>
            }
        })
    }
}
