//! One message: a user's question as plain text, or a reply with its tool cards (hidden in
//! Jarvis mode), the cards of documents it saved, its text as safe Markdown (code blocks with a
//! "Copy" button and their language), "Copy reply", its spoken reply's player, and its error with
//! "Retry" when that may help. A question offers "Edit" (in place), a reply "Regenerate"; either
//! shows "‹ 1/2 ›" once it has versions. A question's attachments show above its bubble (each
//! opening in a new tab); a reply names the model that wrote it.

use leptos::prelude::*;

use super::attachments::MessageAttachments;
use super::context::{ChatContext, edit_button_id};
use super::copy_reply::CopyReply;
use super::edit_message::EditMessage;
use super::tool_cards::{DocumentCards, ToolCards};
use super::ui_message::UiMessage;
use super::version_switcher::VersionSwitcher;
use crate::components::voice::VoicePlayer;
use crate::markdown;

#[component]
pub fn MessageView(message: Memo<UiMessage>) -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let (key, run_id, is_user) = message.with_untracked(|m| (m.key, m.run_id.clone(), m.is_question()));
    let heading_id = format!("message-heading-{key}");
    let frame = if is_user {
        "ml-auto max-w-[85%] rounded-2xl bg-indigo-600 px-4 py-2 text-white whitespace-pre-wrap wrap-anywhere"
    } else {
        "max-w-[95%] rounded-2xl bg-white px-4 py-3 ring-1 ring-slate-200 wrap-anywhere"
    };
    // The reply is the run this page is streaming: its player waits for the clips still to come.
    let live = {
        let run_id = run_id.clone();
        Memo::new(move |_| {
            run_id.is_some()
                && chat.state.with(|state| state.active.as_ref().map(|a| &a.run_id) == run_id.as_ref())
        })
    };
    let editing =
        Memo::new(move |_| chat.state.with(|state| state.editing.as_ref().map(|e| e.key) == Some(key)));
    // Edit and Regenerate wait while a reply is being written.
    let can_branch =
        Memo::new(move |_| !chat.running() && message.with(|m| m.id.is_some() || !m.is_question()));
    let attachments = Signal::derive(move || message.with(|m| m.attachments.clone()));
    // A question of attachments only has no bubble of text.
    let frame = move || {
        let empty = is_user && !editing.get() && message.with(|m| m.text.is_empty());
        if empty { format!("{frame} hidden") } else { frame.to_owned() }
    };
    // The model that wrote a reply, by the name the picker gives it.
    let model_name = Memo::new(move |_| {
        let id = message.with(|m| m.model.clone())?;
        Some(chat.state.with(|state| state.model.display_name(&id)))
    });
    let html = move || markdown::render(&message.with(|m| m.text.clone()));
    let text = move || message.with(|m| m.text.clone());
    // A question's Edit and versions sit under its bubble, outside it: the bubble holds its text only.
    let question_actions = move || {
        view! {
            <Show when=move || !editing.get()>
                <div class="mt-1 flex items-center justify-end gap-2 text-sm">
                    <VersionSwitcher message />
                    <Show when=move || can_branch.get()>
                        <button
                            type="button"
                            id=edit_button_id(key)
                            class="min-h-8 rounded px-2 text-slate-600 hover:bg-slate-100"
                            on:click=move |_| chat.start_edit(key)
                        >
                            "Edit"
                        </button>
                    </Show>
                </div>
            </Show>
        }
    };
    view! {
        <div>
            // Who said it, for a screen reader: the message is named by it and found by heading
            // (outside the bubble, whose text is the message's own).
            <h3 id=heading_id.clone() class="sr-only">{if is_user { "You said:" } else { "Jarvis said:" }}</h3>
            {is_user.then(|| view! { <MessageAttachments attachments /> })}
            <article
                id=message.with_untracked(|m| m.id.as_ref().map(|id| format!("message-{id}")))
                class=frame
                data-role=move || message.with(|m| m.role.clone())
                aria-labelledby=heading_id
                title=move || message.with(|m| m.usage.clone())
            >
                {if is_user {
                    view! {
                        <Show when=move || editing.get() fallback=move || view! { <p>{text}</p> }>
                            <EditMessage />
                        </Show>
                    }.into_any()
                } else {
                    view! {
                        <Show when=move || !chat.jarvis_mode.get()>
                            <ToolCards message />
                        </Show>
                        <DocumentCards message />
                        <div class="markdown space-y-2 break-words" inner_html=html on:click=copy_code></div>
                        <Show when=move || message.with(|m| !m.text.is_empty())><CopyReply text=Signal::derive(text) /></Show>
                        <div class="mt-1 flex items-center gap-2 text-sm">
                            <VersionSwitcher message />
                            {move || model_name.get().map(|name| view! {
                                <span class="text-xs text-slate-500" data-testid="reply-model" title="Model">{name}</span>
                            })}
                            <Show when=move || can_branch.get() && message.with(|m| m.run_id.is_some())>
                                <button
                                    type="button"
                                    class="min-h-8 rounded px-2 text-slate-600 hover:bg-slate-100"
                                    on:click=move |_| chat.regenerate(key)
                                >
                                    "Regenerate"
                                </button>
                            </Show>
                        </div>
                        <Show when=move || message.with(|m| !m.clips.is_empty())>
                            <VoicePlayer
                                message_key=key
                                run_id=run_id.clone()
                                clips=Memo::new(move |_| message.with(|m| m.clips.clone()))
                                live=live
                                on_clip=Callback::new(move |clip| chat.state.update(|state| state.clip_retried(key, clip)))
                            />
                        </Show>
                        {move || message.with(|m| m.retrying).map(|attempt| view! {
                            <p role="status" class="mt-2 text-sm text-slate-500">
                                {format!("The model service did not answer; Jarvis is trying again (attempt {})…", attempt + 1)}
                            </p>
                        })}
                        {move || message.with(|m| m.error.clone()).map(|error| view! {
                            <div role="alert" class="mt-2 flex items-center gap-3 text-sm text-rose-700">
                                <span>{error}</span>
                                <Show when=move || message.with(|m| m.retryable)>
                                    <button
                                        type="button"
                                        class="rounded px-2 py-0.5 ring-1 ring-rose-300 hover:bg-rose-50"
                                        on:click=move |_| chat.retry(key)
                                    >
                                        "Retry"
                                    </button>
                                </Show>
                            </div>
                        })}
                    }.into_any()
                }}
            </article>
            {is_user.then(question_actions)}
        </div>
    }
    .into_any()
}

/// A click on a code block's "Copy" button copies the block's text.
fn copy_code(event: leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let Some(button) = event.target().and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        if !button.has_attribute("data-copy-code") {
            return;
        }
        let code = button
            .parent_element()
            .and_then(|block| block.query_selector("pre").ok().flatten())
            .and_then(|pre| pre.dyn_into::<web_sys::HtmlElement>().ok())
            .map(|pre| pre.inner_text());
        if let Some(code) = code {
            crate::browser::copy_to_clipboard(&code);
            // Said for a moment (and to a screen reader: the button is a polite live region), then
            // "Copy" again, ready for the next copy.
            button.set_text_content(Some("Copied"));
            set_timeout(
                move || button.set_text_content(Some("Copy")),
                std::time::Duration::from_millis(1500),
            );
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = event;
}
