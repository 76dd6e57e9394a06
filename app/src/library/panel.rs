//! The library panel: the list or the open document or file, the notice and the alert, and
//! uploads by dropping files anywhere on it. An open document or file (viewer, editor, history
//! and diff) is a lazy view: in a split build its code is a wasm chunk of its own, fetched when
//! the first one is opened, so a cold `/app` does not download it (`components::lazy_view`).

use jarvis_types::documents::{DocumentView, FileItem};
use leptos::prelude::*;

use super::document::DocumentPane;
use super::file::FilePane;
use super::list::LibraryList;
use super::state::{LibraryState, Opened};
use super::upload;
use crate::components::lazy_view::{ChunkUnavailable, lazy_view, load};

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
                Some(Opened::Document(document)) => lazy_view(move || {
                    let document = document.clone();
                    async move { load!(document_pane(document)) }
                })
                .into_any(),
                Some(Opened::File(file)) => lazy_view(move || {
                    let file = file.clone();
                    async move { load!(file_pane(file)) }
                })
                .into_any(),
            }}
        </div>
    }
    .into_any()
}

/// The open document's pane (a wasm chunk of its own in a split build: `components::lazy_view`).
#[cfg_attr(
    all(feature = "hydrate", feature = "split"),
    leptos::wasm_split::wasm_split(library_document, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn document_pane(document: DocumentView) -> Result<AnyView, ChunkUnavailable> {
    Ok(view! { <DocumentPane document /> }.into_any())
}

/// The open file's pane (a wasm chunk of its own in a split build).
#[cfg_attr(
    all(feature = "hydrate", feature = "split"),
    leptos::wasm_split::wasm_split(library_file, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn file_pane(file: FileItem) -> Result<AnyView, ChunkUnavailable> {
    Ok(view! { <FilePane file /> }.into_any())
}
