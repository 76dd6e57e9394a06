//! The library list: documents grouped by kind (or best matches first while searching), the
//! files, the search box, the sort order, "Download all" and the upload button.

use jarvis_types::documents::DocumentItem;
use leptos::prelude::*;

use super::state::{LibraryState, Opened, PaneFocus, SORTS};
use super::upload;
use crate::format::format_size;

/// Document kinds in the order the list groups them, with their names.
const KIND_LABELS: [(&str, &str); 6] = [
    ("markdown", "Markdown"),
    ("code", "Code"),
    ("text", "Text"),
    ("html", "HTML"),
    ("json", "JSON"),
    ("csv", "CSV"),
];

/// A stored size as people read it (sizes are never negative).
pub(super) fn size(bytes: i64) -> String {
    format_size(u64::try_from(bytes).unwrap_or(0))
}

/// The name of a document kind, as the list and the document's header show it.
pub(super) fn kind_label(kind: &str) -> &'static str {
    KIND_LABELS.iter().find(|(k, _)| *k == kind).map_or("Other", |(_, label)| label)
}

/// The list's sections: while searching, one of the best matches in their order; otherwise one
/// per kind (in [`KIND_LABELS`] order) that has any documents.
fn group(documents: Vec<DocumentItem>, searching: bool) -> Vec<(&'static str, Vec<DocumentItem>)> {
    if searching {
        return vec![("Best matches", documents)];
    }
    KIND_LABELS
        .iter()
        .filter_map(|(kind, label)| {
            let items: Vec<DocumentItem> = documents.iter().filter(|d| d.kind == *kind).cloned().collect();
            (!items.is_empty()).then_some((*label, items))
        })
        .collect()
}

/// The search box's element id.
const SEARCH_ID: &str = "library-search";

/// The list with its search box, sort order and buttons.
#[component]
pub(super) fn LibraryList() -> impl IntoView {
    let state = expect_context::<LibraryState>();
    // A search typed while the page loaded is run once it has hydrated (hydration first writes
    // the empty query into the box; the effect puts the typed one back).
    let typed_early = crate::browser::typed_text(SEARCH_ID);
    Effect::new(move |_| {
        if !typed_early.is_empty() {
            state.query.set(typed_early.clone());
            state.reload();
        }
    });
    // Back from a document deleted, the focus goes to the search box (its row is gone).
    let search_box = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        let Some(_input) = search_box.get() else { return };
        if state.take_focus(|focus| *focus == PaneFocus::ListSearch).is_some() {
            #[cfg(feature = "hydrate")]
            let _ = _input.focus();
        }
    });
    let groups = move || {
        let searching = !state.query.get().trim().is_empty();
        group(state.library.get().documents, searching)
    };
    let files = move || state.library.with(|l| l.files.clone());
    let empty = move || state.library.with(|l| l.documents.is_empty() && l.files.is_empty());
    view! {
        <div class="space-y-2 border-b border-slate-200 p-3">
            <div class="flex items-center justify-between gap-2">
                <h2 class="text-sm font-semibold text-slate-800">"Documents"</h2>
                <div class="flex items-center gap-2">
                    <a href="/api/library.zip" download class="inline-flex items-center text-xs text-slate-600 hover:underline pointer-coarse:min-h-11 pointer-coarse:px-2">"Download all"</a>
                    <label class=move || format!(
                        "cursor-pointer rounded-md bg-indigo-600 px-2.5 py-1 text-xs font-semibold text-white hover:bg-indigo-500 has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-indigo-400 has-[:focus-visible]:ring-offset-2 {}",
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
                <label for=SEARCH_ID class="sr-only">"Search documents"</label>
                <input
                    node_ref=search_box
                    id=SEARCH_ID
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

/// One document of the list: title, kind, version, size, and its search snippet.
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
    // Back from this document, its row takes the focus again.
    let row = NodeRef::<leptos::html::Button>::new();
    Effect::new({
        let id = id.clone();
        move |_| {
            let Some(_row) = row.get() else { return };
            if state.take_focus(|focus| *focus == PaneFocus::ListRow(id.clone())).is_some() {
                #[cfg(feature = "hydrate")]
                let _ = _row.focus();
            }
        }
    });
    view! {
        <li>
            <button
                node_ref=row
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

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, kind: &str) -> DocumentItem {
        DocumentItem {
            id: title.to_owned(),
            title: title.to_owned(),
            filename: format!("{title}.txt"),
            kind: kind.to_owned(),
            language: None,
            size_bytes: 1,
            version: 1,
            updated_at: String::new(),
            snippet: None,
        }
    }

    #[test]
    fn documents_are_grouped_by_kind_in_order_and_search_hits_stay_ranked() {
        let documents = vec![item("b", "code"), item("a", "markdown"), item("c", "code")];
        let grouped = group(documents.clone(), false);
        let names: Vec<(&str, Vec<String>)> = grouped
            .into_iter()
            .map(|(label, items)| (label, items.into_iter().map(|d| d.title).collect()))
            .collect();
        assert_eq!(
            names,
            vec![("Markdown", vec!["a".to_owned()]), ("Code", vec!["b".to_owned(), "c".to_owned()])]
        );
        let hits = group(documents, true);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, "Best matches");
        assert_eq!(hits[0].1.iter().map(|d| d.title.as_str()).collect::<Vec<_>>(), ["b", "a", "c"]);
    }

    #[test]
    fn kinds_have_names_and_sizes_read_as_people_read_them() {
        assert_eq!(kind_label("csv"), "CSV");
        assert_eq!(kind_label("pdf"), "Other");
        assert_eq!(size(-1), size(0));
    }
}
