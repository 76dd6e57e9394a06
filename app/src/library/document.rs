//! An open document: its header (download, rename, delete) and the tabs that show it, edit it or
//! list its history.

use jarvis_types::documents::DocumentView;
use leptos::prelude::*;

use super::editor::Editor;
use super::history::History;
use super::list::kind_label;
use super::server_fns::{delete_document, rename_document};
use super::state::{LibraryState, Mode, Opened, PaneFocus};
use super::viewer::Viewer;

/// The document's tabs, in order.
const TABS: [(Mode, &str); 3] = [(Mode::View, "View"), (Mode::Edit, "Edit"), (Mode::History, "History")];

/// The element id of the tab that shows `mode`.
pub(super) fn tab_id(mode: Mode) -> String {
    format!("document-tab-{}", TABS.iter().position(|(m, _)| *m == mode).unwrap_or(0))
}

/// The open document: header, tabs and the tab shown. An earlier version (opened from the card
/// of the reply that saved it) is read-only: it says so, offers the latest, and has no Edit tab.
#[component]
pub(super) fn DocumentPane(document: DocumentView) -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let mode = state.mode;
    let latest = state.latest;
    // The tabs as the ARIA pattern has them: one stop for Tab (the selected one), the arrows,
    // Home and End move between them (and show the tab reached), each controls the one panel.
    let shown_tabs = move || {
        let earlier = latest.with(Option::is_some);
        TABS.into_iter().filter(|(m, _)| !(earlier && *m == Mode::Edit)).collect::<Vec<_>>()
    };
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
                    let tabs = shown_tabs();
                    let at = tabs.iter().position(|(m, _)| *m == target).unwrap_or(0);
                    let to = match ev.key().as_str() {
                        "ArrowRight" => (at + 1) % tabs.len(),
                        "ArrowLeft" => (at + tabs.len() - 1) % tabs.len(),
                        "Home" => 0,
                        "End" => tabs.len() - 1,
                        _ => return,
                    };
                    ev.prevent_default();
                    mode.set(tabs[to].0);
                    crate::browser::focus(&tab_id(tabs[to].0));
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
                // The pane is drawn again with the new title, which takes the focus.
                state.focus.set(Some(PaneFocus::Title));
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
                state.focus.set(Some(PaneFocus::ListSearch));
                state.changed("Document deleted.".into());
            });
        }
    };
    let meta =
        format!("{} · version {} · {}", kind_label(&document.kind), document.version, document.filename);
    let title = document.title.clone();
    let full_title = title.clone();
    let version = document.version;
    let download = {
        let base = format!("/api/documents/{}/download", document.id);
        move || match latest.get() {
            Some(_) => format!("{base}?version={version}"),
            None => base.clone(),
        }
    };
    // Opened by the user, the title takes the focus (what they used went away with the list or
    // the reply's card); after a save or a restore, the View tab that now shows it.
    let heading = NodeRef::<leptos::html::H2>::new();
    Effect::new(move |_| {
        let Some(_heading) = heading.get() else { return };
        match state.take_focus(|focus| matches!(focus, PaneFocus::Title | PaneFocus::ViewTab)) {
            Some(PaneFocus::Title) => {
                #[cfg(feature = "hydrate")]
                let _ = _heading.focus();
            }
            Some(_) => crate::browser::focus(&tab_id(Mode::View)),
            None => {}
        }
    });
    let to_latest = {
        let id = id.clone();
        move |_| state.open_document(id.clone())
    };
    view! {
        <div class="flex flex-wrap items-center gap-2 border-b border-slate-200 p-3">
            <button type="button" class="text-sm text-slate-600 hover:underline" on:click=move |_| state.close()>"← Documents"</button>
            // At least 10rem for the title: on a phone the buttons go to the next line instead.
            <div class="min-w-0 flex-1 basis-40">
                <h2 node_ref=heading tabindex="-1" class="truncate text-base font-semibold text-slate-900 outline-none" title=full_title data-testid="document-title">{title}</h2>
                <p class="truncate text-xs text-slate-500" data-testid="document-meta">{meta}</p>
            </div>
            <div class="flex flex-wrap items-center gap-1 text-xs">
                <a href=download download class="inline-flex items-center rounded px-2 py-1 ring-1 ring-slate-300 hover:bg-slate-50 pointer-coarse:min-h-11">"Download"</a>
                <button type="button" class="rounded px-2 py-1 ring-1 ring-slate-300 hover:bg-slate-50" on:click=rename>"Rename"</button>
                <button type="button" class="rounded px-2 py-1 text-rose-700 ring-1 ring-rose-300 hover:bg-rose-50" on:click=delete>"Delete"</button>
            </div>
        </div>
        {move || latest.get().map(|latest| view! {
            <p class="mx-3 mt-2 flex flex-wrap items-center gap-2 rounded-md bg-amber-50 px-3 py-1.5 text-sm text-amber-900 ring-1 ring-amber-200" data-testid="earlier-version">
                {format!("This is version {version}, as it was saved then. The document is now at version {latest}.")}
                <button type="button" class="rounded px-2 py-0.5 text-xs font-semibold ring-1 ring-amber-300 hover:bg-amber-100" on:click=to_latest.clone()>
                    "Show the latest version"
                </button>
            </p>
        })}
        <div class="flex gap-1 border-b border-slate-200 px-3 py-2" role="tablist" aria-label="Document">
            {move || shown_tabs().into_iter().map(|(target, label)| tab(target, label)).collect_view()}
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
