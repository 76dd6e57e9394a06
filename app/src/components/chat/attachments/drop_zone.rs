//! The chat as a drop target: files dragged over the messages or the composer show a hint
//! ("Drop files to attach them"), and dropped there they are attached to the next message.

use leptos::prelude::*;

use super::upload;
use crate::components::chat::ChatContext;

/// Wraps the messages and the composer.
#[component]
pub fn ChatDropZone(children: Children) -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    // Entering a child fires `dragenter` on it before `dragleave` on its parent: counting them
    // keeps the hint up until the pointer really leaves.
    let depth = RwSignal::new(0_i32);
    view! {
        <div
            class="relative flex min-h-0 flex-1 flex-col"
            data-testid="chat-drop-zone"
            on:dragenter=move |ev: leptos::ev::DragEvent| {
                if carries_files(&ev) {
                    ev.prevent_default();
                    depth.update(|depth| *depth += 1);
                }
            }
            on:dragover=move |ev: leptos::ev::DragEvent| {
                if carries_files(&ev) {
                    // Without this the browser opens the file instead of dropping it here.
                    ev.prevent_default();
                }
            }
            on:dragleave=move |_| depth.update(|depth| *depth = (*depth - 1).max(0))
            on:drop=move |ev: leptos::ev::DragEvent| {
                depth.set(0);
                if carries_files(&ev) {
                    ev.prevent_default();
                    upload::from_drop(chat, &ev);
                }
            }
        >
            {children()}
            <Show when=move || { depth.get() > 0 }>
                <div
                    role="status"
                    data-testid="drop-hint"
                    class="pointer-events-none absolute inset-2 z-10 flex items-center justify-center rounded-xl border-2 border-dashed border-indigo-500 bg-indigo-50/90 text-base font-semibold text-indigo-800"
                >
                    "Drop files to attach them"
                </div>
            </Show>
        </div>
    }
}

/// Whether a drag carries files (not text or a link dragged within the page).
fn carries_files(event: &leptos::ev::DragEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        event.data_transfer().is_some_and(|transfer| {
            let types = transfer.types();
            (0..types.length()).any(|i| types.get(i).as_string().as_deref() == Some("Files"))
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = event;
        false
    }
}
