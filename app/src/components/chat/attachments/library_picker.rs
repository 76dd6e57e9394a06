//! "Attach from library": a small menu of the library's uploaded files; the one picked is
//! attached to the next message as it is stored (no upload from this browser). It closes as a
//! menu does: on Esc, on a click anywhere else, and when the focus leaves it.

use leptos::prelude::*;

use super::upload;
use crate::components::chat::ChatContext;
use crate::format::format_size;

#[component]
pub fn AttachFromLibrary() -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let open = RwSignal::new(false);
    let files = Memo::new(move |_| chat.library.library.with(|library| library.files.clone()));
    let menu = NodeRef::<leptos::html::Div>::new();
    // An effect, so that only the browser listens.
    Effect::new(move |_| {
        let listener = window_event_listener(leptos::ev::click, move |ev| {
            if open.get_untracked()
                && menu.get_untracked().is_some_and(|menu| !crate::browser::holds(&menu, ev.target()))
            {
                open.set(false);
            }
        });
        on_cleanup(move || listener.remove());
    });
    view! {
        <div
            node_ref=menu
            class="relative"
            on:focusout=move |ev: leptos::ev::FocusEvent| {
                if ev.related_target().is_some()
                    && menu.get_untracked().is_some_and(|menu| !crate::browser::holds(&menu, ev.related_target()))
                {
                    open.set(false);
                }
            }
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" && open.get_untracked() {
                    ev.stop_propagation();
                    open.set(false);
                }
            }
        >
            <button
                type="button"
                aria-expanded=move || open.get().to_string()
                aria-controls="library-attach-menu"
                aria-label="Attach from library"
                title="Attach from library"
                class="flex h-11 w-11 shrink-0 items-center justify-center rounded-lg text-slate-600 ring-1 ring-slate-300 hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                on:click=move |_| open.update(|open| *open = !*open)
            >
                // A book: the library.
                <svg aria-hidden="true" viewBox="0 0 24 24" class="h-5 w-5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
                    <path d="M4 19.5A2.5 2.5 0 0 1 6.5 17H20" />
                    <path d="M6.5 2H20v20H6.5A2.5 2.5 0 0 1 4 19.5v-15A2.5 2.5 0 0 1 6.5 2z" />
                </svg>
            </button>
            <Show when=move || open.get()>
                <div
                    id="library-attach-menu"
                    class="absolute bottom-full left-0 z-20 mb-2 max-h-64 w-72 overflow-y-auto rounded-lg bg-white p-1 shadow-lg ring-1 ring-slate-200"
                >
                    <Show
                        when=move || !files.with(Vec::is_empty)
                        fallback=|| view! {
                            <p class="p-2 text-sm text-slate-500">"No uploaded files yet: upload one in the Documents panel to attach it here. Jarvis reads the documents he saved without them being attached."</p>
                        }
                    >
                        <ul aria-label="Library files" class="space-y-0.5">
                            <For each=move || files.get() key=|file| file.id.clone() let(file)>
                                {
                                    let name = file.filename.clone();
                                    let size = format_size(u64::try_from(file.size_bytes).unwrap_or(0));
                                    view! {
                                        <li>
                                            <button
                                                type="button"
                                                class="w-full rounded-md px-2 py-1.5 text-left hover:bg-slate-100 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                                                on:click=move |_| {
                                                    open.set(false);
                                                    upload::from_library(chat, file.clone());
                                                }
                                            >
                                                <span class="block truncate text-sm text-slate-900">{name}</span>
                                                <span class="block text-xs text-slate-500">{size}</span>
                                            </button>
                                        </li>
                                    }
                                }
                            </For>
                        </ul>
                    </Show>
                </div>
            </Show>
        </div>
    }
}
