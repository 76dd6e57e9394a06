//! The documents panel: the library list (grouped by kind, sortable, searched in full text),
//! uploads by drag and drop or a button, and the open document — viewer, editor (line numbers;
//! Markdown with a preview) that saves a new version, history with a diff between any two
//! versions and restore, rename, delete, downloads. Uploaded files (images, PDFs, audio) open in
//! a viewer of their own.
//!
//! The panel updates when a run saves a document (the socket's `document_saved` event), without
//! a reload. An editor's draft is never thrown away: if the document changed underneath it, the
//! save is refused and the draft stays in the editor.

use jarvis_types::documents::{
    DiffChange, DiffLine, DocumentItem, DocumentRef, DocumentView, FileItem, Library, VersionItem,
};
use leptos::prelude::*;

use crate::documents::{
    SORTS, delete_document, delete_file, diff_versions, document_versions, error_message, load_document,
    load_library, rename_document, restore_version, save_document,
};
use crate::format::format_size;
use crate::viewer::{self, Rendered};

/// What the panel shows besides the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Document(DocumentView),
    File(FileItem),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    View,
    Edit,
    History,
}

/// Everything the panel shows. `Copy`: signals only.
#[derive(Clone, Copy)]
pub struct LibraryState {
    pub library: RwSignal<Library>,
    pub query: RwSignal<String>,
    pub sort: RwSignal<String>,
    pub opened: RwSignal<Option<Opened>>,
    pub mode: RwSignal<Mode>,
    /// The editor's text while editing (kept across a refused save).
    pub draft: RwSignal<String>,
    /// A newer version saved (by a run) while the open document is being edited.
    pub newer: RwSignal<Option<i32>>,
    pub notice: RwSignal<Option<String>>,
    pub error: RwSignal<Option<String>>,
    pub uploading: RwSignal<bool>,
    /// Incremented by every list request; answers to older ones are dropped.
    generation: StoredValue<u64>,
}

impl LibraryState {
    pub fn new(library: Library) -> Self {
        Self {
            library: RwSignal::new(library),
            query: RwSignal::new(String::new()),
            sort: RwSignal::new("updated".to_owned()),
            opened: RwSignal::new(None),
            mode: RwSignal::new(Mode::View),
            draft: RwSignal::new(String::new()),
            newer: RwSignal::new(None),
            notice: RwSignal::new(None),
            error: RwSignal::new(None),
            uploading: RwSignal::new(false),
            generation: StoredValue::new(0),
        }
    }

    /// Loads the list again with the current search and sort.
    pub fn reload(&self) {
        self.generation.update_value(|g| *g += 1);
        let generation = self.generation.get_value();
        let state = *self;
        let (sort, query) = (self.sort.get_untracked(), self.query.get_untracked());
        leptos::task::spawn_local(async move {
            let result = load_library(sort, query).await;
            if state.generation.get_value() != generation {
                return;
            }
            match result {
                Ok(library) => state.library.set(library),
                Err(error) => state.error.set(Some(error_message(&error))),
            }
        });
    }

    /// Opens a document by id, in the viewer.
    pub fn open_document(&self, id: String) {
        let state = *self;
        leptos::task::spawn_local(async move {
            match load_document(id).await {
                Ok(document) => state.show(document),
                Err(error) => state.error.set(Some(error_message(&error))),
            }
        });
    }

    fn show(&self, document: DocumentView) {
        self.draft.set(document.content.clone());
        self.opened.set(Some(Opened::Document(document)));
        self.mode.set(Mode::View);
        self.newer.set(None);
        self.error.set(None);
    }

    pub fn close(&self) {
        self.opened.set(None);
        self.mode.set(Mode::View);
        self.newer.set(None);
        self.error.set(None);
    }

    fn open_id(&self) -> Option<String> {
        match self.opened.get_untracked() {
            Some(Opened::Document(document)) => Some(document.id),
            _ => None,
        }
    }

    /// A run saved a document: the list reloads; the open document follows unless the user is
    /// editing it, in which case they are told and their draft stays.
    pub fn saved(&self, document: DocumentRef) {
        self.reload();
        if self.open_id().as_deref() == Some(document.id.as_str()) {
            if self.mode.get_untracked() == Mode::Edit {
                self.newer.set(Some(document.version));
            } else {
                self.open_document(document.id);
            }
        }
    }
}

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
                Some(Opened::Document(document)) => view! { <DocumentPane document /> }.into_any(),
                Some(Opened::File(file)) => view! { <FilePane file /> }.into_any(),
            }}
        </div>
    }
    .into_any()
}

const KIND_LABELS: [(&str, &str); 6] = [
    ("markdown", "Markdown"),
    ("code", "Code"),
    ("text", "Text"),
    ("html", "HTML"),
    ("json", "JSON"),
    ("csv", "CSV"),
];

/// A stored size as people read it (sizes are never negative).
fn size(bytes: i64) -> String {
    format_size(u64::try_from(bytes).unwrap_or(0))
}

fn kind_label(kind: &str) -> &'static str {
    KIND_LABELS.iter().find(|(k, _)| *k == kind).map_or("Other", |(_, label)| label)
}

#[component]
fn LibraryList() -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let groups = move || {
        let library = state.library.get();
        let searching = !state.query.get().trim().is_empty();
        let mut groups: Vec<(&'static str, Vec<DocumentItem>)> = Vec::new();
        if searching {
            groups.push(("Best matches", library.documents));
        } else {
            for (kind, label) in KIND_LABELS {
                let items: Vec<DocumentItem> =
                    library.documents.iter().filter(|d| d.kind == kind).cloned().collect();
                if !items.is_empty() {
                    groups.push((label, items));
                }
            }
        }
        groups
    };
    let files = move || state.library.with(|l| l.files.clone());
    let empty = move || state.library.with(|l| l.documents.is_empty() && l.files.is_empty());
    view! {
        <div class="space-y-2 border-b border-slate-200 p-3">
            <div class="flex items-center justify-between gap-2">
                <h2 class="text-sm font-semibold text-slate-800">"Documents"</h2>
                <div class="flex items-center gap-2">
                    <a href="/api/library.zip" download class="text-xs text-slate-600 hover:underline">"Download all"</a>
                    <label class=move || format!(
                        "cursor-pointer rounded-md bg-indigo-600 px-2.5 py-1 text-xs font-semibold text-white hover:bg-indigo-500 {}",
                        if state.uploading.get() { "opacity-60" } else { "" },
                    )>
                        {move || if state.uploading.get() { "Uploading…" } else { "Upload" }}
                        <input
                            type="file"
                            multiple
                            class="sr-only"
                            data-testid="upload-input"
                            on:change=move |ev| upload::from_input(state, &ev)
                        />
                    </label>
                </div>
            </div>
            <div class="flex gap-2">
                <label for="library-search" class="sr-only">"Search documents"</label>
                <input
                    id="library-search"
                    type="search"
                    placeholder="Search documents"
                    class="min-w-0 flex-1 rounded-md border border-slate-300 px-2 py-1 text-sm"
                    prop:value=move || state.query.get()
                    on:input=move |ev| {
                        state.query.set(event_target_value(&ev));
                        state.reload();
                    }
                />
                <label for="library-sort" class="sr-only">"Sort by"</label>
                <select
                    id="library-sort"
                    class="rounded-md border border-slate-300 px-1 py-1 text-sm"
                    on:change=move |ev| {
                        state.sort.set(event_target_value(&ev));
                        state.reload();
                    }
                >
                    {SORTS.iter().map(|(value, label)| view! {
                        <option value=*value selected=move || state.sort.get() == *value>{*label}</option>
                    }).collect_view()}
                </select>
            </div>
        </div>
        <div class="min-h-0 flex-1 overflow-y-auto p-2" data-testid="library-list">
            <Show when=empty>
                <p class="p-4 text-center text-sm text-slate-500">
                    {move || if state.query.get().trim().is_empty() {
                        "No documents yet. Ask Jarvis to write one, or drop files here."
                    } else {
                        "Nothing matches."
                    }}
                </p>
            </Show>
            {move || groups().into_iter().map(|(label, items)| view! {
                <section class="mb-3" aria-label=label>
                    <h3 class="px-2 pb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">{label}</h3>
                    <ul role="list">
                        {items.into_iter().map(|item| view! { <DocumentRow item /> }).collect_view()}
                    </ul>
                </section>
            }).collect_view()}
            <Show when=move || !files().is_empty()>
                <section class="mb-3" aria-label="Files">
                    <h3 class="px-2 pb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">"Files"</h3>
                    <ul role="list">
                        <For each=files key=|f| f.id.clone() let(file)>
                            {
                                let label = file.filename.clone();
                                let meta = format!("{} · {}", file.content_type, size(file.size_bytes));
                                view! {
                                    <li>
                                        <button
                                            type="button"
                                            class="w-full rounded-md px-2 py-1.5 text-left hover:bg-slate-100"
                                            on:click=move |_| state.opened.set(Some(Opened::File(file.clone())))
                                        >
                                            <span class="block truncate text-sm text-slate-900">{label}</span>
                                            <span class="block text-xs text-slate-500">{meta}</span>
                                        </button>
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                </section>
            </Show>
        </div>
    }
    .into_any()
}

#[component]
fn DocumentRow(item: DocumentItem) -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let meta = format!(
        "{}{} · v{} · {}",
        kind_label(&item.kind),
        item.language.as_deref().map(|l| format!(" ({l})")).unwrap_or_default(),
        item.version,
        size(item.size_bytes)
    );
    let id = item.id.clone();
    view! {
        <li>
            <button
                type="button"
                class="w-full rounded-md px-2 py-1.5 text-left hover:bg-slate-100"
                data-testid="document-row"
                on:click=move |_| state.open_document(id.clone())
            >
                <span class="block truncate text-sm text-slate-900">{item.title.clone()}</span>
                <span class="block text-xs text-slate-500">{meta}</span>
                {item.snippet.map(|snippet| view! { <Snippet snippet /> })}
            </button>
        </li>
    }
    .into_any()
}

/// A search snippet with its matches (between « and ») highlighted, as text nodes only.
#[component]
fn Snippet(snippet: String) -> impl IntoView {
    let mut parts = Vec::new();
    for (i, outer) in snippet.split('«').enumerate() {
        if i == 0 {
            parts.push(view! { <span>{outer.to_owned()}</span> }.into_any());
            continue;
        }
        let (hit, rest) = outer.split_once('»').unwrap_or((outer, ""));
        parts.push(view! { <mark class="bg-amber-100">{hit.to_owned()}</mark> }.into_any());
        parts.push(view! { <span>{rest.to_owned()}</span> }.into_any());
    }
    view! { <span class="mt-0.5 block text-xs text-slate-600" data-testid="snippet">{parts}</span> }
}

#[component]
fn DocumentPane(document: DocumentView) -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let mode = state.mode;
    let tab = move |target: Mode, label: &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                aria-selected=move || (mode.get() == target).to_string()
                class=move || format!(
                    "rounded-md px-2.5 py-1 text-sm {}",
                    if mode.get() == target { "bg-slate-800 text-white" } else { "text-slate-700 hover:bg-slate-100" },
                )
                on:click=move |_| mode.set(target)
            >
                {label}
            </button>
        }
    };
    let id = document.id.clone();
    let rename = {
        let (id, title) = (id.clone(), document.title.clone());
        move |_| {
            let Some(new_title) = crate::components::chat::prompt("Rename document", &title) else { return };
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match rename_document(id, new_title).await {
                    Ok(renamed) => {
                        state.opened.update(|opened| {
                            if let Some(Opened::Document(d)) = opened {
                                d.title = renamed.title;
                                d.filename = renamed.filename;
                            }
                        });
                        state.reload();
                    }
                    Err(error) => state.error.set(Some(error_message(&error))),
                }
            });
        }
    };
    let delete = {
        let id = id.clone();
        move |_| {
            if !crate::components::chat::confirm(
                "Delete this document and all its versions? This cannot be undone.",
            ) {
                return;
            }
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match delete_document(id).await {
                    Ok(()) => {
                        state.close();
                        state.notice.set(Some("Document deleted.".into()));
                        state.reload();
                    }
                    Err(error) => state.error.set(Some(error_message(&error))),
                }
            });
        }
    };
    let meta =
        format!("{} · version {} · {}", kind_label(&document.kind), document.version, document.filename);
    let title = document.title.clone();
    let download = format!("/api/documents/{}/download", document.id);
    view! {
        <div class="flex flex-wrap items-center gap-2 border-b border-slate-200 p-3">
            <button type="button" class="text-sm text-slate-600 hover:underline" on:click=move |_| state.close()>"← Documents"</button>
            <div class="min-w-0 flex-1">
                <h2 class="truncate text-base font-semibold text-slate-900" data-testid="document-title">{title}</h2>
                <p class="truncate text-xs text-slate-500" data-testid="document-meta">{meta}</p>
            </div>
            <div class="flex flex-wrap items-center gap-1 text-xs">
                <a href=download download class="rounded px-2 py-1 ring-1 ring-slate-300 hover:bg-slate-50">"Download"</a>
                <button type="button" class="rounded px-2 py-1 ring-1 ring-slate-300 hover:bg-slate-50" on:click=rename>"Rename"</button>
                <button type="button" class="rounded px-2 py-1 text-rose-700 ring-1 ring-rose-300 hover:bg-rose-50" on:click=delete>"Delete"</button>
            </div>
        </div>
        <div class="flex gap-1 border-b border-slate-200 px-3 py-2" role="tablist">
            {tab(Mode::View, "View")}
            {tab(Mode::Edit, "Edit")}
            {tab(Mode::History, "History")}
        </div>
        {move || match mode.get() {
            Mode::View => view! { <Viewer document=document.clone() /> }.into_any(),
            Mode::Edit => view! { <Editor document=document.clone() /> }.into_any(),
            Mode::History => view! { <History document=document.clone() /> }.into_any(),
        }}
    }
    .into_any()
}

#[component]
fn Viewer(document: DocumentView) -> impl IntoView {
    let body = match viewer::render(&document.kind, document.language.as_deref(), &document.content) {
        Rendered::Html(html) => view! {
            <div class="markdown space-y-2 break-words" data-testid="document-view" inner_html=html></div>
        }
        .into_any(),
        Rendered::Table { header, rows, truncated } => view! {
            <div class="overflow-x-auto" data-testid="document-view">
                <table class="min-w-full text-left text-sm">
                    <thead><tr>{header.into_iter().map(|cell| view! { <th class="border-b px-2 py-1 font-semibold">{cell}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {rows.into_iter().map(|row| view! {
                            <tr>{row.into_iter().map(|cell| view! { <td class="border-b border-slate-100 px-2 py-1 align-top whitespace-pre-wrap">{cell}</td> }).collect_view()}</tr>
                        }).collect_view()}
                    </tbody>
                </table>
                {truncated.then(|| view! { <p class="mt-2 text-xs text-slate-500">"Only the first 1,000 rows are shown; download the file for all of them."</p> })}
            </div>
        }
        .into_any(),
    };
    view! { <div class="min-h-0 flex-1 overflow-y-auto p-4">{body}</div> }
}

#[component]
fn Editor(document: DocumentView) -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let draft = state.draft;
    let saving = RwSignal::new(false);
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
        saving.set(true);
        let (id, content) = (id.clone(), draft.get_untracked());
        leptos::task::spawn_local(async move {
            match save_document(id, version, content).await {
                Ok(saved) => {
                    let version = saved.version;
                    state.show(saved);
                    state.notice.set(Some(format!("Saved as version {version}.")));
                    state.reload();
                }
                Err(error) => state.error.set(Some(error_message(&error))),
            }
            saving.set(false);
        });
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
                        if !changed() || crate::components::chat::confirm("Discard your changes?") {
                            draft.set(content.clone());
                            state.mode.set(Mode::View);
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
                    class="select-none overflow-hidden whitespace-pre bg-slate-50 px-2 py-2 text-right font-mono text-xs leading-5 text-slate-400"
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

#[component]
fn History(document: DocumentView) -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let id = document.id.clone();
    let versions: RwSignal<Vec<VersionItem>> = RwSignal::new(Vec::new());
    let from = RwSignal::new(document.version.saturating_sub(1).max(1));
    let to = RwSignal::new(document.version);
    let diff: RwSignal<Option<Vec<DiffLine>>> = RwSignal::new(None);
    {
        let id = id.clone();
        leptos::task::spawn_local(async move {
            match document_versions(id).await {
                Ok(list) => versions.set(list),
                Err(error) => state.error.set(Some(error_message(&error))),
            }
        });
    }
    {
        let id = id.clone();
        Effect::new(move |_| {
            let (a, b) = (from.get(), to.get());
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match diff_versions(id, a, b).await {
                    Ok(lines) => diff.set(Some(lines)),
                    Err(error) => state.error.set(Some(error_message(&error))),
                }
            });
        });
    }
    let current = document.version;
    let options = move || versions.get().into_iter().map(|v| v.version).collect::<Vec<_>>();
    let picker = move |label: &'static str, signal: RwSignal<i32>| {
        view! {
            <label class="flex items-center gap-1 text-sm">
                {label}
                <select
                    class="rounded-md border border-slate-300 px-1 py-0.5"
                    aria-label=format!("{label} version")
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse() { signal.set(v); }
                    }
                >
                    {move || options().into_iter().map(|v| view! {
                        <option value=v.to_string() selected=move || signal.get() == v>{format!("v{v}")}</option>
                    }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <div class="min-h-0 flex-1 overflow-y-auto p-3">
            <ol class="mb-4 divide-y divide-slate-100 rounded-md ring-1 ring-slate-200" data-testid="versions">
                <For each=move || versions.get() key=|v| v.version let(v)>
                    {
                        let id = id.clone();
                        let version = v.version;
                        let who = if v.author == "agent" { "Jarvis" } else { "You" };
                        let when = v.created_at.get(..16).unwrap_or_default().replace('T', " ");
                        let download = format!("/api/documents/{id}/download?version={version}");
                        let restore = move |_| {
                            let id = id.clone();
                            leptos::task::spawn_local(async move {
                                match restore_version(id, version, current).await {
                                    Ok(restored) => {
                                        let now = restored.version;
                                        state.show(restored);
                                        state.notice.set(Some(format!("Version {version} restored as version {now}.")));
                                        state.reload();
                                    }
                                    Err(error) => state.error.set(Some(error_message(&error))),
                                }
                            });
                        };
                        view! {
                            <li class="flex items-center gap-2 px-3 py-1.5 text-sm" data-testid="version-row">
                                <span class="w-10 font-mono">{format!("v{version}")}</span>
                                <span class="flex-1 text-slate-600">{format!("{who} · {when} · {}", size(v.size_bytes))}</span>
                                <a href=download download class="text-xs text-slate-600 hover:underline">"Download"</a>
                                {(version != current).then(|| view! {
                                    <button type="button" class="text-xs text-indigo-700 hover:underline" on:click=restore>"Restore"</button>
                                })}
                            </li>
                        }
                    }
                </For>
            </ol>
            <div class="mb-2 flex items-center gap-3">
                {picker("From", from)}
                {picker("To", to)}
            </div>
            <DiffView diff />
        </div>
    }
    .into_any()
}

#[component]
fn DiffView(diff: RwSignal<Option<Vec<DiffLine>>>) -> impl IntoView {
    view! {
        <div class="overflow-x-auto rounded-md font-mono text-xs ring-1 ring-slate-200" data-testid="diff">
            {move || diff.get().map(|lines| {
                if lines.iter().all(|l| l.change == DiffChange::Kept) {
                    return view! { <p class="p-3 font-sans text-sm text-slate-500">"No differences."</p> }.into_any();
                }
                lines.into_iter().map(|line| {
                    let (class, sign) = match line.change {
                        DiffChange::Kept => ("text-slate-600", " "),
                        DiffChange::Added => ("bg-emerald-50 text-emerald-900", "+"),
                        DiffChange::Removed => ("bg-rose-50 text-rose-900", "-"),
                    };
                    let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
                    view! {
                        <div class=format!("flex whitespace-pre {class}") data-change=format!("{:?}", line.change).to_lowercase()>
                            <span class="w-10 shrink-0 select-none pr-1 text-right text-slate-400">{number(line.old_line)}</span>
                            <span class="w-10 shrink-0 select-none pr-1 text-right text-slate-400">{number(line.new_line)}</span>
                            <span class="w-4 shrink-0 select-none">{sign}</span>
                            <span>{line.text}</span>
                        </div>
                    }
                }).collect_view().into_any()
            })}
        </div>
    }
    .into_any()
}

#[component]
fn FilePane(file: FileItem) -> impl IntoView {
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
        if !crate::components::chat::confirm("Delete this file? This cannot be undone.") {
            return;
        }
        let id = id.clone();
        leptos::task::spawn_local(async move {
            match delete_file(id).await {
                Ok(()) => {
                    state.close();
                    state.notice.set(Some("File deleted.".into()));
                    state.reload();
                }
                Err(error) => state.error.set(Some(error_message(&error))),
            }
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

/// Uploading from the file input or a drop: `POST /api/uploads` as multipart form data.
mod upload {
    use super::LibraryState;

    #[cfg(feature = "hydrate")]
    pub fn from_input(state: LibraryState, event: &leptos::ev::Event) {
        use leptos::wasm_bindgen::JsCast;
        let Some(input) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        if let Some(list) = input.files() {
            send(state, collect(&list));
        }
        input.set_value("");
    }

    #[cfg(feature = "hydrate")]
    pub fn from_drop(state: LibraryState, event: &leptos::ev::DragEvent) {
        if let Some(list) = event.data_transfer().and_then(|transfer| transfer.files()) {
            send(state, collect(&list));
        }
    }

    #[cfg(feature = "hydrate")]
    fn collect(list: &web_sys::FileList) -> Vec<web_sys::File> {
        (0..list.length()).filter_map(|i| list.get(i)).collect()
    }

    #[cfg(feature = "hydrate")]
    fn send(state: LibraryState, files: Vec<web_sys::File>) {
        use leptos::prelude::*;
        if files.is_empty() {
            return;
        }
        state.uploading.set(true);
        state.error.set(None);
        leptos::task::spawn_local(async move {
            match post(files).await {
                Ok(report) => {
                    let count = report.uploaded.len();
                    if count > 0 {
                        state.notice.set(Some(if count == 1 {
                            "1 file uploaded.".to_owned()
                        } else {
                            format!("{count} files uploaded.")
                        }));
                    }
                    if !report.refused.is_empty() {
                        let reasons: Vec<String> =
                            report.refused.iter().map(|r| format!("{}: {}", r.filename, r.reason)).collect();
                        state.error.set(Some(format!("Not uploaded — {}", reasons.join("; "))));
                    }
                    state.reload();
                }
                Err(message) => state.error.set(Some(message)),
            }
            state.uploading.set(false);
        });
    }

    #[cfg(feature = "hydrate")]
    async fn post(files: Vec<web_sys::File>) -> Result<jarvis_types::documents::UploadReport, String> {
        let unreachable = || "The upload could not be sent. Check your connection and try again.".to_owned();
        let form = web_sys::FormData::new().map_err(|_| unreachable())?;
        for file in &files {
            form.append_with_blob_and_filename("file", file, &file.name()).map_err(|_| unreachable())?;
        }
        let response = gloo_net::http::Request::post("/api/uploads")
            .body(form)
            .map_err(|_| unreachable())?
            .send()
            .await
            .map_err(|_| unreachable())?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|_| unreachable())?;
        if status == 200 || status == 422 {
            serde_json::from_value(body).map_err(|_| unreachable())
        } else {
            Err(body
                .get("message")
                .and_then(|m| m.as_str())
                .map_or_else(|| format!("The upload failed ({status})."), str::to_owned))
        }
    }

    #[cfg(not(feature = "hydrate"))]
    pub fn from_input(_state: LibraryState, _event: &leptos::ev::Event) {}

    #[cfg(not(feature = "hydrate"))]
    pub fn from_drop(_state: LibraryState, _event: &leptos::ev::DragEvent) {}
}
