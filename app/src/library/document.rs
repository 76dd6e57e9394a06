//! An open document: its header (download, rename, delete) and the tabs that show it, edit it or
//! list its history.

use jarvis_types::documents::DocumentView;
use leptos::prelude::*;

use super::editor::Editor;
use super::history::History;
use super::list::kind_label;
use super::server_fns::{delete_document, rename_document};
use super::state::{LibraryState, Mode, Opened};
use super::viewer::Viewer;

/// The open document: header, tabs and the tab shown.
#[component]
pub(super) fn DocumentPane(document: DocumentView) -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let mode = state.mode;
    // The tabs as the ARIA pattern has them: one stop for Tab (the selected one), the arrows,
    // Home and End move between them (and show the tab reached), each controls the one panel.
    const TABS: [(Mode, &str); 3] = [(Mode::View, "View"), (Mode::Edit, "Edit"), (Mode::History, "History")];
    let tab_id =
        |target: Mode| format!("document-tab-{}", TABS.iter().position(|(m, _)| *m == target).unwrap_or(0));
    let tab = move |target: Mode, label: &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                id=tab_id(target)
                aria-controls="document-tab-panel"
                aria-selected=move || (mode.get() == target).to_string()
                tabindex=move || if mode.get() == target { "0" } else { "-1" }
                class=move || format!(
                    "rounded-md px-2.5 py-1 text-sm {}",
                    if mode.get() == target { "bg-slate-800 text-white" } else { "text-slate-700 hover:bg-slate-100" },
                )
                on:click=move |_| mode.set(target)
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    let at = TABS.iter().position(|(m, _)| *m == target).unwrap_or(0);
                    let to = match ev.key().as_str() {
                        "ArrowRight" => (at + 1) % TABS.len(),
                        "ArrowLeft" => (at + TABS.len() - 1) % TABS.len(),
                        "Home" => 0,
                        "End" => TABS.len() - 1,
                        _ => return,
                    };
                    ev.prevent_default();
                    mode.set(TABS[to].0);
                    crate::browser::focus(&tab_id(TABS[to].0));
                }
            >
                {label}
            </button>
        }
    };
    let id = document.id.clone();
    let rename = {
        let (id, title) = (id.clone(), document.title.clone());
        move |_| {
            let Some(new_title) = crate::browser::prompt("Rename document", &title) else { return };
            state.run(rename_document(id.clone(), new_title), move |renamed| {
                state.opened.update(|opened| {
                    if let Some(Opened::Document(d)) = opened {
                        d.title = renamed.title;
                        d.filename = renamed.filename;
                    }
                });
                state.reload();
            });
        }
    };
    let delete = {
        let id = id.clone();
        move |_| {
            if !crate::browser::confirm("Delete this document and all its versions? This cannot be undone.") {
                return;
            }
            state.run(delete_document(id.clone()), move |()| {
                state.close();
                state.changed("Document deleted.".into());
            });
        }
    };
    let meta =
        format!("{} · version {} · {}", kind_label(&document.kind), document.version, document.filename);
    let title = document.title.clone();
    let full_title = title.clone();
    let download = format!("/api/documents/{}/download", document.id);
    view! {
        <div class="flex flex-wrap items-center gap-2 border-b border-slate-200 p-3">
            <button type="button" class="text-sm text-slate-600 hover:underline" on:click=move |_| state.close()>"← Documents"</button>
            // At least 10rem for the title: on a phone the buttons go to the next line instead.
            <div class="min-w-0 flex-1 basis-40">
                <h2 class="truncate text-base font-semibold text-slate-900" title=full_title data-testid="document-title">{title}</h2>
                <p class="truncate text-xs text-slate-500" data-testid="document-meta">{meta}</p>
            </div>
            <div class="flex flex-wrap items-center gap-1 text-xs">
                <a href=download download class="rounded px-2 py-1 ring-1 ring-slate-300 hover:bg-slate-50">"Download"</a>
                <button type="button" class="rounded px-2 py-1 ring-1 ring-slate-300 hover:bg-slate-50" on:click=rename>"Rename"</button>
                <button type="button" class="rounded px-2 py-1 text-rose-700 ring-1 ring-rose-300 hover:bg-rose-50" on:click=delete>"Delete"</button>
            </div>
        </div>
        <div class="flex gap-1 border-b border-slate-200 px-3 py-2" role="tablist" aria-label="Document">
            {TABS.into_iter().map(|(target, label)| tab(target, label)).collect_view()}
        </div>
        <div id="document-tab-panel" role="tabpanel" aria-labelledby=move || tab_id(mode.get()) class="flex min-h-0 flex-1 flex-col">
            {move || match mode.get() {
                Mode::View => view! { <Viewer document=document.clone() /> }.into_any(),
                Mode::Edit => view! { <Editor document=document.clone() /> }.into_any(),
                Mode::History => view! { <History document=document.clone() /> }.into_any(),
            }}
        </div>
    }
    .into_any()
}
