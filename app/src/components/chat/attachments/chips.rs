//! The composer's chips (a list labelled "Attachments"): each file's name and size, a thumbnail
//! for an image (the local file while it uploads, then the server's preview), a progress bar
//! while it uploads, the sentence why it cannot go (refused, or a kind the chosen model cannot
//! read) and "Remove <name>".

use jarvis_types::chat::AttachmentKind;
use leptos::prelude::*;

use super::list::{Chip, Upload};
use super::upload;
use crate::components::chat::ChatContext;
use crate::format::format_size;

/// The chips, when there are any.
#[component]
pub fn AttachmentChips() -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let keys = Memo::new(move |_| {
        chat.state.with(|state| state.attachments.chips.iter().map(|chip| chip.key).collect::<Vec<_>>())
    });
    view! {
        <Show when=move || !keys.with(Vec::is_empty)>
            <ul aria-label="Attachments" data-testid="attachment-chips" class="mb-2 flex flex-wrap gap-2">
                <For each=move || keys.get() key=|key| *key let(key)>
                    <AttachmentChip key />
                </For>
            </ul>
        </Show>
    }
}

/// One chip, followed as its upload goes.
#[component]
fn AttachmentChip(key: u64) -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let chip = Memo::new(move |previous: Option<&Option<Chip>>| {
        chat.state.with(|state| state.attachments.chip(key).cloned()).or_else(|| previous.cloned().flatten())
    });
    let problem = Memo::new(move |_| {
        chat.state.with(|state| {
            state.attachments.chip(key).and_then(|chip| chip.problem(state.model.selected_option()))
        })
    });
    let filename = move || chip.with(|chip| chip.as_ref().map(|c| c.filename.clone()).unwrap_or_default());
    let thumbnail = move || {
        chip.with(|chip| {
            let chip = chip.as_ref()?;
            if chip.kind != Some(AttachmentKind::Image) {
                return None;
            }
            match (&chip.preview, &chip.upload) {
                (Some(preview), _) => Some(preview.clone()),
                (None, Upload::Uploaded(view)) => Some(format!("/api/attachments/{}/thumbnail", view.id)),
                _ => None,
            }
        })
    };
    let badge = move || chip.with(|chip| kind_badge(chip.as_ref().and_then(|c| c.kind)));
    let uploading = move || chip.with(|chip| chip.as_ref().is_some_and(Chip::is_uploading));
    view! {
        <li
            data-testid="attachment-chip"
            class=move || format!(
                "flex max-w-full items-start gap-2 rounded-lg bg-slate-50 py-1 pl-1 pr-1 ring-1 {}",
                if problem.with(Option::is_some) { "ring-rose-300" } else { "ring-slate-200" },
            )
        >
            {move || match thumbnail() {
                Some(src) => view! {
                    <img src=src alt="" class="h-10 w-10 shrink-0 rounded object-cover" data-testid="attachment-thumbnail" />
                }.into_any(),
                None => view! {
                    <span aria-hidden="true" class="flex h-10 w-10 shrink-0 items-center justify-center rounded bg-white text-xs font-semibold text-slate-600 ring-1 ring-slate-200">
                        {badge}
                    </span>
                }.into_any(),
            }}
            <div class="min-w-0 max-w-[14rem]">
                <p class="truncate text-sm text-slate-900" title=filename>{filename}</p>
                <p class="text-xs text-slate-500">{move || chip.with(|c| c.as_ref().map(|c| format_size(c.size_bytes)))}</p>
                <Show when=uploading>
                    <progress
                        class="mt-1 block h-1.5 w-28 accent-indigo-600"
                        max="100"
                        value=move || chip.with(|c| c.as_ref().and_then(Chip::percent).map(|p| p.to_string()))
                        aria-label=move || format!("Uploading {}", filename())
                    ></progress>
                </Show>
                {move || problem.get().map(|problem| view! {
                    <p role="alert" class="mt-0.5 text-xs text-rose-700" data-testid="attachment-error">{problem}</p>
                })}
            </div>
            <button
                type="button"
                aria-label=move || format!("Remove {}", filename())
                title="Remove"
                class="flex h-7 w-7 shrink-0 items-center justify-center rounded-full text-slate-500 hover:bg-slate-200 hover:text-slate-800 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                on:click=move |_| upload::remove(chat, key)
            >
                <span aria-hidden="true">"×"</span>
            </button>
        </li>
    }
}

/// The short word a chip without a thumbnail shows for its kind.
pub fn kind_badge(kind: Option<AttachmentKind>) -> &'static str {
    match kind {
        Some(AttachmentKind::Image) => "IMG",
        Some(AttachmentKind::Pdf) => "PDF",
        Some(AttachmentKind::Text) => "TXT",
        None => "?",
    }
}
