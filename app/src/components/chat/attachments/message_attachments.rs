//! A question's attachments in the conversation: images as thumbnails, PDFs and text files as
//! chips with their name and size; each a link that opens the attachment in a new tab.

use jarvis_types::chat::{AttachmentKind, AttachmentView};
use leptos::prelude::*;

use super::chips::kind_badge;
use crate::format::format_size;

/// The attachments of one message (nothing when it has none).
#[component]
pub fn MessageAttachments(attachments: Signal<Vec<AttachmentView>>) -> impl IntoView {
    view! {
        <Show when=move || !attachments.with(Vec::is_empty)>
            <ul aria-label="Attached files" data-testid="message-attachments" class="mb-1 flex flex-wrap justify-end gap-2">
                <For each=move || attachments.get() key=|attachment| attachment.id.clone() let(attachment)>
                    <li><AttachmentLink attachment /></li>
                </For>
            </ul>
        </Show>
    }
}

/// One attachment, opening in a new tab.
#[component]
fn AttachmentLink(attachment: AttachmentView) -> impl IntoView {
    let href = format!("/api/attachments/{}", attachment.id);
    let label = format!("{} ({})", attachment.filename, format_size(attachment.size_bytes));
    let body = match attachment.kind {
        AttachmentKind::Image => view! {
            <img
                src=format!("{href}/thumbnail")
                alt=attachment.filename.clone()
                loading="lazy"
                class="h-24 max-w-[12rem] rounded-lg object-cover ring-1 ring-slate-200"
                data-testid="message-attachment-image"
            />
        }
        .into_any(),
        kind => view! {
            <span class="flex max-w-[16rem] items-center gap-2 rounded-lg bg-white px-2 py-1.5 ring-1 ring-slate-200">
                <span aria-hidden="true" class="flex h-8 w-8 shrink-0 items-center justify-center rounded bg-slate-100 text-xs font-semibold text-slate-600">
                    {kind_badge(Some(kind))}
                </span>
                <span class="min-w-0">
                    <span class="block truncate text-sm text-slate-900">{attachment.filename.clone()}</span>
                    <span class="block text-xs text-slate-500">{format_size(attachment.size_bytes)}</span>
                </span>
            </span>
        }
        .into_any(),
    };
    view! {
        <a
            href=href
            target="_blank"
            rel="noopener"
            title=label.clone()
            aria-label=label
            data-testid="message-attachment"
            class="block rounded-lg focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
        >
            {body}
        </a>
    }
}
