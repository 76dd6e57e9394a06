//! The library panel: the list or the open document or file, the notice and the alert, and
//! uploads by dropping files anywhere on it. An open document or file (viewer, editor, history
//! and diff) is a lazy view: in a split build its code is a wasm chunk of its own, fetched when
//! the first one is opened, so a cold `/app` does not download it.

use jarvis_types::documents::{DocumentView, FileItem};
use leptos::prelude::*;

use super::document::DocumentPane;
use super::file::FilePane;
use super::list::LibraryList;
use super::state::{LibraryState, Opened};
use super::upload;

/// The whole panel.
#[component]
pub fn LibraryPanel() -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let dragging = RwSignal::new(false);
    view! {
        <div
            class=move || format!(
                "relative flex min-h-0 flex-1 flex-col {}",
                if dragging.get() { "ring-4 ring-inset ring-indigo-300" } else { "" },
            )
            data-testid="documents-panel"
            on:dragover=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                dragging.set(false);
                upload::from_drop(state, &ev);
            }
        >
            {move || state.notice.get().map(|notice| view! {
                <p role="status" class="mx-3 mt-2 rounded-md bg-emerald-50 px-3 py-1.5 text-sm text-emerald-900 ring-1 ring-emerald-200">
                    {notice}
                    <button type="button" class="ml-2 text-xs underline" on:click=move |_| state.notice.set(None)>"Dismiss"</button>
                </p>
            })}
            {move || state.error.get().map(|error| view! {
                <p role="alert" class="mx-3 mt-2 rounded-md bg-rose-50 px-3 py-1.5 text-sm text-rose-800 ring-1 ring-rose-200">
                    {error}
                    <button type="button" class="ml-2 text-xs underline" on:click=move |_| state.error.set(None)>"Dismiss"</button>
                </p>
            })}
            {move || match state.opened.get() {
                None => view! { <LibraryList /> }.into_any(),
                Some(Opened::Document(document)) => view! {
                    <Suspense fallback=opening>{Suspend::new(document_pane(document))}</Suspense>
                }
                .into_any(),
                Some(Opened::File(file)) => view! {
                    <Suspense fallback=opening>{Suspend::new(file_pane(file))}</Suspense>
                }
                .into_any(),
            }}
        </div>
    }
    .into_any()
}

/// Shown while an open document's or file's code is fetched (a split build's first opening).
fn opening() -> impl IntoView {
    view! { <p role="status" class="p-3 text-sm text-slate-500">"Opening…"</p> }
}

/// The open document's pane (a wasm chunk of its own in a split build; see
/// `pages::lazy` for the `split` feature switch).
#[cfg_attr(any(feature = "ssr", feature = "split"), leptos::lazy)]
async fn document_pane(document: DocumentView) -> AnyView {
    view! { <DocumentPane document /> }.into_any()
}

/// The open file's pane (a wasm chunk of its own in a split build).
#[cfg_attr(any(feature = "ssr", feature = "split"), leptos::lazy)]
async fn file_pane(file: FileItem) -> AnyView {
    view! { <FilePane file /> }.into_any()
}
