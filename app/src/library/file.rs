//! An open uploaded file: shown by the browser when it can (images, PDFs, audio), downloadable,
//! deletable.

use jarvis_types::documents::FileItem;
use leptos::prelude::*;

use super::list::size;
use super::server_fns::delete_file;
use super::state::LibraryState;

/// The open file: its header and the browser's own viewer for it.
#[component]
pub(super) fn FilePane(file: FileItem) -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let url = format!("/api/files/{}", file.id);
    let download = format!("{url}?download=1");
    let body = if file.content_type.starts_with("image/") {
        view! { <img src=url.clone() alt=file.filename.clone() class="max-w-full rounded-md" data-testid="file-image" /> }.into_any()
    } else if file.content_type == "application/pdf" {
        view! { <iframe src=url.clone() title=file.filename.clone() class="h-[70vh] w-full rounded-md ring-1 ring-slate-200" data-testid="file-pdf"></iframe> }.into_any()
    } else if file.content_type.starts_with("audio/") {
        view! { <audio controls src=url.clone() class="w-full"></audio> }.into_any()
    } else {
        view! { <p class="text-sm text-slate-600">"This file cannot be shown here; download it to open it."</p> }.into_any()
    };
    let id = file.id.clone();
    let delete = move |_| {
        if !crate::browser::confirm("Delete this file? This cannot be undone.") {
            return;
        }
        state.run(delete_file(id.clone()), move |()| {
            state.close();
            state.changed("File deleted.".into());
        });
    };
    view! {
        <div class="flex flex-wrap items-center gap-2 border-b border-slate-200 p-3">
            <button type="button" class="text-sm text-slate-600 hover:underline" on:click=move |_| state.close()>"← Documents"</button>
            <div class="min-w-0 flex-1">
                <h2 class="truncate text-base font-semibold text-slate-900">{file.filename.clone()}</h2>
                <p class="text-xs text-slate-500">{format!("{} · {}", file.content_type, size(file.size_bytes))}</p>
            </div>
            <a href=download download class="rounded px-2 py-1 text-xs ring-1 ring-slate-300 hover:bg-slate-50">"Download"</a>
            <button type="button" class="rounded px-2 py-1 text-xs text-rose-700 ring-1 ring-rose-300 hover:bg-rose-50" on:click=delete>"Delete"</button>
        </div>
        <div class="min-h-0 flex-1 overflow-y-auto p-4">{body}</div>
    }
    .into_any()
}
