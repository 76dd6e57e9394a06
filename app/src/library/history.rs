//! A document's history: its versions (each downloadable, each but the current restorable) and
//! the line diff between any two of them.

use jarvis_types::documents::{DiffChange, DiffLine, DocumentView, VersionItem};
use leptos::prelude::*;

use super::list::size;
use super::server_fns::{diff_versions, document_versions, restore_version};
use super::state::{LibraryState, PaneFocus};

/// The History tab. For an earlier version the diff is from it to the latest: what changed since.
#[component]
pub(super) fn History(document: DocumentView) -> impl IntoView {
    let state = expect_context::<LibraryState>();
    let id = document.id.clone();
    let versions: RwSignal<Vec<VersionItem>> = RwSignal::new(Vec::new());
    // The version the document is at now (restores go on top of it).
    let current = state.latest.get_untracked().unwrap_or(document.version);
    let from = RwSignal::new(if current == document.version {
        current.saturating_sub(1).max(1)
    } else {
        document.version
    });
    let to = RwSignal::new(current);
    state.run(document_versions(id.clone()), move |list| versions.set(list));
    // The diff between the two picked versions, loaded again whenever either changes.
    let load_diff = {
        let id = id.clone();
        Action::new_local(move |&(from, to): &(i32, i32)| diff_versions(id.clone(), from, to))
    };
    Effect::new(move |_| {
        load_diff.dispatch((from.get(), to.get()));
    });
    Effect::new(move |_| {
        if let Some(Err(error)) = load_diff.value().get() {
            state.fail(error);
        }
    });
    let diff = Signal::derive(move || load_diff.value().get().and_then(Result::ok));
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
                        let who = match v.author.as_str() {
                            "agent" => "Jarvis",
                            "connection" => "A connected app",
                            _ => "You",
                        };
                        let when = v.created_at.get(..16).unwrap_or_default().replace('T', " ");
                        let download = format!("/api/documents/{id}/download?version={version}");
                        let restore = move |_| {
                            state.run(restore_version(id.clone(), version, current), move |restored| {
                                let now = restored.version;
                                state.focus.set(Some(PaneFocus::ViewTab));
                                state.show(restored);
                                state.changed(format!("Version {version} restored as version {now}."));
                            });
                        };
                        view! {
                            <li class="flex items-center gap-2 px-3 py-1.5 text-sm" data-testid="version-row">
                                <span class="w-10 font-mono">{format!("v{version}")}</span>
                                <span class="flex-1 text-slate-600">{format!("{who} · {when} · {}", size(v.size_bytes))}</span>
                                <a href=download download class="inline-flex items-center text-xs text-slate-600 hover:underline pointer-coarse:min-h-11 pointer-coarse:px-2">"Download"</a>
                                {(version != current).then(|| view! {
                                    <button type="button" class="text-xs text-indigo-700 hover:underline pointer-coarse:min-h-11 pointer-coarse:px-2" on:click=restore>"Restore"</button>
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

/// A line diff, with both line numbers; "No differences." when nothing changed.
#[component]
fn DiffView(diff: Signal<Option<Vec<DiffLine>>>) -> impl IntoView {
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
                            <span class="w-10 shrink-0 select-none pr-1 text-right text-slate-600">{number(line.old_line)}</span>
                            <span class="w-10 shrink-0 select-none pr-1 text-right text-slate-600">{number(line.new_line)}</span>
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
