//! "Share" and "Export" for the open conversation, in the chat's header. "Share" makes a new
//! read-only link to the conversation as it is now and opens a dialog with the link, "Copy link"
//! and "Stop sharing" (which revokes every link to it). "Export" downloads it as Markdown. The
//! dialog's states and transitions are the pure [`ShareDialog::next`]. The dialog is a lazy view:
//! in a split build its code is a wasm chunk of its own, fetched when it first opens.

use leptos::prelude::*;

use super::context::ChatContext;
use crate::components::lazy_view::{ChunkUnavailable, lazy_view, load};
use crate::shares::{share_conversation, stop_sharing};

/// The share dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareDialog {
    Closed,
    /// Making the link.
    Creating,
    /// The link, shown once; `copied` once "Copy link" was pressed.
    Shared {
        url: String,
        copied: bool,
    },
    /// Revoking the links.
    Stopping {
        url: String,
    },
    /// Every link to the conversation was revoked.
    Stopped,
    Failed(String),
}

/// What happens to the dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareEvent {
    /// "Share" was pressed.
    Open,
    /// The server made the link.
    Created(String),
    Copied,
    /// "Stop sharing" was pressed.
    Stop,
    /// The server revoked the links.
    Stopped,
    Failed(String),
    Close,
}

impl ShareDialog {
    /// The dialog after `event`. An answer that arrives after the dialog moved on (closed, or
    /// stopped) changes nothing.
    pub fn next(self, event: ShareEvent) -> Self {
        use ShareDialog as D;
        use ShareEvent as E;
        match (self, event) {
            (_, E::Close) => D::Closed,
            (D::Closed | D::Stopped | D::Failed(_), E::Open) => D::Creating,
            (D::Creating, E::Created(url)) => D::Shared { url, copied: false },
            (D::Shared { url, .. }, E::Copied) => D::Shared { url, copied: true },
            (D::Shared { url, .. }, E::Stop) => D::Stopping { url },
            (D::Stopping { .. }, E::Stopped) => D::Stopped,
            (D::Creating | D::Stopping { .. }, E::Failed(message)) => D::Failed(message),
            (state, _) => state,
        }
    }

    pub fn is_open(&self) -> bool {
        *self != Self::Closed
    }
}

/// The link's full address (the server answers its path).
fn absolute(path: &str) -> String {
    #[cfg(feature = "hydrate")]
    if let Ok(origin) = window().location().origin() {
        return format!("{origin}{path}");
    }
    path.to_owned()
}

#[component]
pub fn ShareControls() -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let open_id = Memo::new(move |_| chat.state.with(|state| state.conversation_id.clone()));
    let dialog = RwSignal::new(ShareDialog::Closed);
    let is_open = Memo::new(move |_| dialog.with(ShareDialog::is_open));
    let share = move |_| {
        let Some(id) = open_id.get_untracked() else { return };
        send(dialog, ShareEvent::Open);
        if dialog.get_untracked() != ShareDialog::Creating {
            return;
        }
        leptos::task::spawn_local(async move {
            let event = match share_conversation(id).await {
                Ok(path) => ShareEvent::Created(absolute(&path)),
                Err(error) => ShareEvent::Failed(error.to_string()),
            };
            send(dialog, event);
        });
    };
    view! {
        <Show when=move || open_id.with(Option::is_some)>
            <button type="button" id=SHARE_BUTTON_ID class=BUTTON on:click=share>"Share"</button>
            <a
                class=BUTTON
                href=move || format!("/api/conversations/{}/export.md", open_id.get().unwrap_or_default())
                download
            >
                "Export"
            </a>
        </Show>
        <Show when=move || is_open.get()>
            {lazy_view(move || async move { load!(share_dialog(dialog, open_id)) })}
        </Show>
    }
    .into_any()
}

/// The header's buttons and the dialog's "Close".
/// The Share button's element id: the focus goes back to it when the dialog closes.
const SHARE_BUTTON_ID: &str = "share-button";

const BUTTON: &str = "inline-flex items-center rounded-md px-2 py-1 text-sm text-slate-700 ring-1 ring-slate-300 hover:bg-slate-100 pointer-coarse:min-h-11";

/// Moves the dialog on by `event`.
fn send(dialog: RwSignal<ShareDialog>, event: ShareEvent) {
    dialog.update(|d| *d = std::mem::replace(d, ShareDialog::Closed).next(event))
}

/// The open dialog (a wasm chunk of its own in a split build, fetched when it first opens:
/// `components::lazy_view`).
#[cfg_attr(
    all(feature = "hydrate", feature = "split"),
    leptos::wasm_split::wasm_split(share_dialog, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn share_dialog(
    dialog: RwSignal<ShareDialog>,
    open_id: Memo<Option<String>>,
) -> Result<AnyView, ChunkUnavailable> {
    Ok(view! { <ShareDialogBox dialog open_id /> }.into_any())
}

/// The dialog: the link, "Copy link", "Stop sharing", what happened, "Close".
#[component]
fn ShareDialogBox(dialog: RwSignal<ShareDialog>, open_id: Memo<Option<String>>) -> impl IntoView {
    // The dialog takes the focus when it opens, so that Esc closes it and a screen reader reads it.
    let dialog_box = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(element) = dialog_box.get() {
            // At the next frame: a lazy view loaded from its chunk is built before it is in the
            // page, and an element not in the page cannot take the focus.
            request_animation_frame(move || {
                let _ = element.focus();
            });
        }
    });
    // Closed (by Esc, Close or anything else), it gives the focus back to the Share button.
    on_cleanup(|| crate::browser::focus(SHARE_BUTTON_ID));
    // The dialog's own events (the module's `send`, for this dialog).
    let step = move |event: ShareEvent| send(dialog, event);
    // Esc closes it; Tab and Shift+Tab go round its own controls (it is modal).
    let keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => step(ShareEvent::Close),
        "Tab" =>
        {
            #[cfg(feature = "hydrate")]
            if let Some(element) = dialog_box.get_untracked() {
                keep_focus_inside(&element, &ev);
            }
        }
        _ => {}
    };
    let stop = move |_| {
        let Some(id) = open_id.get_untracked() else { return };
        step(ShareEvent::Stop);
        leptos::task::spawn_local(async move {
            step(match stop_sharing(id).await {
                Ok(()) => ShareEvent::Stopped,
                Err(error) => ShareEvent::Failed(error.to_string()),
            });
        });
    };
    view! {
        <div class="fixed inset-0 z-40 flex items-center justify-center bg-slate-900/40 p-4">
            <div
                node_ref=dialog_box
                tabindex="-1"
                role="dialog"
                aria-modal="true"
                aria-labelledby="share-title"
                class="w-full max-w-lg space-y-4 rounded-2xl bg-white p-6 shadow-xl"
                on:keydown=keydown
            >
                <h2 id="share-title" class="text-lg font-semibold">"Share conversation"</h2>
                {move || match dialog.get() {
                    ShareDialog::Closed => ().into_any(),
                    ShareDialog::Creating => view! { <p role="status">"Creating a link…"</p> }.into_any(),
                    ShareDialog::Shared { url, copied } => {
                        let copy_url = url.clone();
                        view! {
                            <p class="text-sm text-slate-600">
                                "Anyone with this link can read this conversation as it is now, without an account. Messages sent later are not shared."
                            </p>
                            <label class="block text-sm font-medium text-slate-700">
                                "Link"
                                <input type="text" readonly class="mt-1 w-full rounded-md border border-slate-300 px-2 py-1 text-sm" prop:value=url />
                            </label>
                            <div class="flex flex-wrap gap-2">
                                <button
                                    type="button"
                                    class="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-indigo-500"
                                    on:click=move |_| { crate::browser::copy_to_clipboard(&copy_url); step(ShareEvent::Copied); }
                                >
                                    "Copy link"
                                </button>
                                <button type="button" class="rounded-md px-3 py-1.5 text-sm text-rose-700 ring-1 ring-rose-300 hover:bg-rose-50" on:click=stop>
                                    "Stop sharing"
                                </button>
                            </div>
                            {copied.then(|| view! { <p role="status" class="text-sm text-slate-600">"Link copied."</p> })}
                        }
                        .into_any()
                    }
                    ShareDialog::Stopping { .. } => view! { <p role="status">"Stopping…"</p> }.into_any(),
                    ShareDialog::Stopped => view! {
                        <p role="status">"Sharing stopped: links to this conversation no longer work."</p>
                    }
                    .into_any(),
                    ShareDialog::Failed(message) => view! { <p role="alert" class="text-rose-700">{message}</p> }.into_any(),
                }}
                <div class="flex justify-end">
                    <button type="button" class=BUTTON on:click=move |_| step(ShareEvent::Close)>"Close"</button>
                </div>
            </div>
        </div>
    }
    .into_any()
}

/// Tab on the dialog's last control goes to its first, Shift+Tab on its first (or on the dialog
/// itself) to its last: the focus never leaves a modal dialog for the page behind it.
#[cfg(feature = "hydrate")]
fn keep_focus_inside(dialog: &web_sys::HtmlElement, ev: &leptos::ev::KeyboardEvent) {
    use leptos::wasm_bindgen::JsCast;
    let Ok(found) = dialog.query_selector_all("button:not([disabled]), input, a[href]") else { return };
    let controls: Vec<web_sys::HtmlElement> =
        (0..found.length()).filter_map(|index| found.item(index)?.dyn_into().ok()).collect();
    let (Some(first), Some(last)) = (controls.first(), controls.last()) else { return };
    let active = leptos::prelude::document().active_element();
    let on =
        |control: &web_sys::HtmlElement| active.as_ref().is_some_and(|active| active == control.as_ref());
    let on_dialog = active.as_ref().is_some_and(|active| active == dialog.as_ref());
    let target = match ev.shift_key() {
        true if on(first) || on_dialog => last,
        false if on(last) => first,
        _ => return,
    };
    ev.prevent_default();
    let _ = target.focus();
}

#[cfg(test)]
mod tests {
    use super::{ShareDialog as D, ShareEvent as E};

    fn after(events: Vec<E>) -> D {
        events.into_iter().fold(D::Closed, D::next)
    }

    #[test]
    fn share_then_copy_then_stop() {
        let url = "http://localhost/share/abc".to_owned();
        assert_eq!(after(vec![E::Open]), D::Creating);
        assert_eq!(
            after(vec![E::Open, E::Created(url.clone())]),
            D::Shared { url: url.clone(), copied: false }
        );
        assert_eq!(
            after(vec![E::Open, E::Created(url.clone()), E::Copied]),
            D::Shared { url: url.clone(), copied: true }
        );
        assert_eq!(after(vec![E::Open, E::Created(url.clone()), E::Stop]), D::Stopping { url: url.clone() });
        assert_eq!(after(vec![E::Open, E::Created(url.clone()), E::Stop, E::Stopped]), D::Stopped);
    }

    #[test]
    fn late_answers_change_nothing_and_failures_are_shown() {
        let url = "u".to_owned();
        assert_eq!(after(vec![E::Open, E::Close, E::Created(url.clone())]), D::Closed);
        assert_eq!(after(vec![E::Stopped]), D::Closed);
        assert_eq!(after(vec![E::Open, E::Open]), D::Creating);
        assert_eq!(after(vec![E::Open, E::Failed("no".into())]), D::Failed("no".into()));
        assert_eq!(after(vec![E::Open, E::Failed("no".into()), E::Open]), D::Creating);
        assert!(!D::Closed.is_open() && D::Stopped.is_open());
    }
}
