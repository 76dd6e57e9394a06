//! The editor of a document: line numbers, a Markdown preview, Ctrl+S; it saves a new version on
//! top of the one it opened, and a refused save leaves the draft where it is.

use jarvis_types::documents::DocumentView;
use leptos::prelude::*;

use super::document::tab_id;
use super::server_fns::SaveDocument;
use super::state::{LibraryState, Mode, PaneFocus};

/// The Edit tab.
#[component]
pub(super) fn Editor(document: DocumentView) -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let draft = state.draft;
    let save_action = ServerAction::<SaveDocument>::new();
    let saving = save_action.pending();
    // Runs in the browser only: a saved version is shown; a refused save keeps the draft.
    Effect::new(move |_| match save_action.value().get() {
        Some(Ok(saved)) => {
            let version = saved.version;
            // The Save button goes with the editor: the focus goes to the View tab showing it.
            state.focus.set(Some(PaneFocus::ViewTab));
            state.show(saved);
            state.changed(format!("Saved as version {version}."));
        }
        Some(Err(error)) => state.fail(error),
        None => {}
    });
    let is_markdown = document.kind == "markdown";
    let preview = RwSignal::new(false);
    let gutter = NodeRef::<leptos::html::Div>::new();
    let area = NodeRef::<leptos::html::Textarea>::new();
    let numbers = move || {
        let count = draft.with(|text| text.split('\n').count());
        (1..=count).map(|n| n.to_string()).collect::<Vec<_>>().join("\n")
    };
    let (id, version) = (document.id.clone(), document.version);
    let changed = {
        let original = document.content.clone();
        move || draft.with(|text| *text != original)
    };
    let save = move || {
        if saving.get_untracked() {
            return;
        }
        save_action.dispatch(SaveDocument { id: id.clone(), version, content: draft.get_untracked() });
    };
    let preview_html = move || crate::markdown::render(&draft.get());
    view! {
        {move || state.newer.get().map(|newer| view! {
            <p role="alert" class="mx-3 mt-2 rounded-md bg-amber-50 px-3 py-1.5 text-sm text-amber-900 ring-1 ring-amber-200">
                {format!("Jarvis saved version {newer} while you were editing. Your text stays here; saving will ask you to reload first.")}
            </p>
        })}
        <div class="flex items-center gap-2 px-3 py-2">
            <button
                type="button"
                class="rounded-md bg-indigo-600 px-3 py-1 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-50"
                disabled=move || saving.get()
                on:click={ let save = save.clone(); move |_| save() }
            >
                {move || if saving.get() { "Saving…" } else { "Save" }}
            </button>
            <button
                type="button"
                class="rounded-md px-3 py-1 text-sm ring-1 ring-slate-300 hover:bg-slate-50"
                on:click={
                    let content = document.content.clone();
                    move |_| {
                        if !changed() || crate::browser::confirm("Discard your changes?") {
                            draft.set(content.clone());
                            state.mode.set(Mode::View);
                            crate::browser::focus(&tab_id(Mode::View));
                        }
                    }
                }
            >
                "Cancel"
            </button>
            {is_markdown.then(|| view! {
                <label class="ml-auto flex items-center gap-1 text-sm text-slate-700">
                    <input type="checkbox" prop:checked=move || preview.get() on:change=move |ev| preview.set(event_target_checked(&ev)) />
                    "Preview"
                </label>
            })}
        </div>
        <div class="flex min-h-0 flex-1 gap-2 px-3 pb-3">
            <div class="flex min-h-0 flex-1 overflow-hidden rounded-md border border-slate-300 focus-within:ring-2 focus-within:ring-indigo-200">
                <div
                    node_ref=gutter
                    aria-hidden="true"
                    class="select-none overflow-hidden whitespace-pre bg-slate-50 px-2 py-2 text-right font-mono text-xs leading-5 text-slate-600"
                    data-testid="line-numbers"
                >
                    {numbers}
                </div>
                <label for="document-editor" class="sr-only">"Document text"</label>
                <textarea
                    id="document-editor"
                    node_ref=area
                    spellcheck=if is_markdown { "true" } else { "false" }
                    class="min-h-[16rem] flex-1 resize-none whitespace-pre px-2 py-2 font-mono text-xs leading-5 outline-none"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:scroll=move |_| {
                        if let (Some(area), Some(gutter)) = (area.get(), gutter.get()) {
                            gutter.set_scroll_top(area.scroll_top());
                        }
                    }
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if (ev.ctrl_key() || ev.meta_key()) && ev.key() == "s" {
                            ev.prevent_default();
                            save();
                        }
                    }
                ></textarea>
            </div>
            <Show when=move || preview.get()>
                <div class="markdown min-h-0 flex-1 space-y-2 overflow-y-auto rounded-md border border-slate-200 p-3 break-words" data-testid="markdown-preview" inner_html=preview_html></div>
            </Show>
        </div>
    }
    .into_any()
}
