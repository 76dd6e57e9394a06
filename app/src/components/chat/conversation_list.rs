//! The conversation list: the search box, "New conversation", and each conversation of the user
//! with its rename and delete buttons, under date headings ("Today", "Yesterday", …). Picking one
//! (or a search result) loads it from the server and shows it (a search result at its message,
//! on the branch that holds it).

use jarvis_types::chat::ConversationSummary;
use leptos::prelude::*;

use super::context::{ChatContext, Panel};
use super::date_groups::group_by_date;
use crate::browser::{confirm, prompt};
use crate::components::search::{SearchBox, reveal_message};
use crate::conversations::{delete_conversation, load_conversation, rename_conversation, show_version};

/// Rename and delete: small beside a title under a mouse, a full 44 px square each under a finger
/// (the coarse-pointer sizes), so that neither is hit for the other.
const ICON_BUTTON: &str = "inline-flex shrink-0 items-center justify-center rounded px-1 text-xs text-slate-600 pointer-coarse:min-h-11 pointer-coarse:min-w-11 pointer-coarse:text-base";

/// The element id of "New conversation".
const NEW_CONVERSATION_ID: &str = "new-conversation";

/// The element id of the button that opens the conversation `id`.
fn open_button_id(id: &str) -> String {
    format!("conversation-{id}")
}

/// The element id of the conversation `id`'s Rename.
fn rename_button_id(id: &str) -> String {
    format!("rename-conversation-{id}")
}

#[component]
pub fn ConversationList(on_pick: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let conversations = Memo::new(move |_| chat.state.with(|state| state.conversations.clone()));
    let open_id = Memo::new(move |_| chat.state.with(|state| state.conversation_id.clone()));
    let open = move |id: String, message: Option<String>| {
        on_pick();
        // The address when it was asked for: if it changed before the answer came (Back or
        // Forward meanwhile), the answer is stale and shown nowhere — it would otherwise put
        // this conversation into the address Back had just gone to.
        let asked_at = crate::browser::address_param("c");
        leptos::task::spawn_local(async move {
            let answer = load_conversation(id).await;
            if crate::browser::address_param("c") != asked_at {
                return;
            }
            match answer {
                Ok(Some(view)) => {
                    // A search hit on a version the conversation does not show (an edited
                    // question, a regenerated reply): show the branch through it.
                    let view = match &message {
                        Some(hit)
                            if view.running_run_id.is_none()
                                && !view.messages.iter().any(|m| &m.id == hit) =>
                        {
                            show_version(view.id.clone(), hit.clone()).await.unwrap_or(view)
                        }
                        _ => view,
                    };
                    if crate::browser::address_param("c") != asked_at {
                        return;
                    }
                    chat.run(|state| state.open(view));
                    if let Some(message) = message {
                        reveal_message(message);
                    }
                }
                Ok(None) => chat.tell("That conversation no longer exists.".into()),
                Err(error) => chat.tell(error.to_string()),
            }
        });
    };
    let item = move |conversation: ConversationSummary| {
        let id = conversation.id.clone();
        let current = {
            let id = id.clone();
            move || open_id.with(|open| open.as_deref() == Some(id.as_str()))
        };
        let rename = {
            let id = id.clone();
            let title = conversation.title.clone();
            move |_| {
                let Some(new_title) = prompt("Rename conversation", &title) else { return };
                let id = id.clone();
                leptos::task::spawn_local(async move {
                    match rename_conversation(id.clone(), new_title.clone()).await {
                        Ok(()) => {
                            chat.state.update(|state| state.renamed(&id, &new_title));
                            crate::other_tabs::tell(&id);
                            // Its row is made anew with the new title: the focus goes back to it.
                            let rename_id = rename_button_id(&id);
                            request_animation_frame(move || crate::browser::focus(&rename_id));
                        }
                        Err(error) => chat.tell(error.to_string()),
                    }
                });
            }
        };
        let delete = {
            let id = id.clone();
            move |_| {
                if !confirm("Delete this conversation? This cannot be undone.") {
                    return;
                }
                let id = id.clone();
                // Where the focus goes once the row is gone: the next conversation, else the one
                // before, else "New conversation".
                let next = chat.state.with_untracked(|state| {
                    let at = state.conversations.iter().position(|c| c.id == id)?;
                    let neighbour = state
                        .conversations
                        .get(at + 1)
                        .or_else(|| at.checked_sub(1).and_then(|i| state.conversations.get(i)));
                    neighbour.map(|c| open_button_id(&c.id))
                });
                leptos::task::spawn_local(async move {
                    match delete_conversation(id.clone()).await {
                        Ok(()) => {
                            chat.run(|state| state.deleted(&id));
                            let target = next.unwrap_or_else(|| NEW_CONVERSATION_ID.to_owned());
                            request_animation_frame(move || crate::browser::focus(&target));
                        }
                        Err(error) => chat.tell(error.to_string()),
                    }
                });
            }
        };
        let title = conversation.title.clone();
        view! {
            <li class=move || format!("group flex items-center gap-1 rounded-md {}", if current() { "bg-indigo-50" } else { "hover:bg-slate-100" })>
                // The open one is marked for a screen reader too; a title cut short shows whole on hover.
                <button
                    type="button"
                    id=open_button_id(&id)
                    class="min-w-0 flex-1 truncate px-2 py-1.5 text-left text-sm pointer-coarse:min-h-11"
                    title=title.clone()
                    aria-current={ let current = current.clone(); move || current().then_some("page") }
                    on:click={ let id = id.clone(); move |_| open(id.clone(), None) }
                >
                    {conversation.title.clone()}
                </button>
                <button type="button" id=rename_button_id(&id) class=format!("{ICON_BUTTON} hover:text-slate-900") aria-label=format!("Rename {title}") on:click=rename>"✎"</button>
                <button type="button" class=format!("{ICON_BUTTON} hover:text-rose-700") aria-label=format!("Delete {title}") on:click=delete>"✕"</button>
            </li>
        }
    };
    // Grouped by date once the browser's clock and time zone are known (the server's may differ,
    // so the page renders and hydrates ungrouped first).
    let clock = RwSignal::new(None::<(i64, i32)>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let now = js_sys::Date::new_0();
        let offset_minutes = -(now.get_timezone_offset() as i32);
        clock.set(Some(((now.get_time() / 1000.0) as i64, offset_minutes)));
    });
    let groups = Memo::new(move |_| {
        let list = conversations.get();
        match clock.get() {
            Some((now, offset)) => group_by_date(&list, now, offset)
                .into_iter()
                .map(|group| (Some(group.label), group.conversations))
                .collect(),
            None => vec![(None, list)],
        }
    });
    view! {
        <SearchBox
            on_open=Callback::new(move |(id, message)| open(id, message))
            on_summon=Callback::new(move |()| chat.panel.set(Panel::Conversations))
        />
        <div class="p-3">
            <button
                type="button"
                id=NEW_CONVERSATION_ID
                class="w-full rounded-lg bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
                on:click=move |_| { on_pick(); chat.run(|state| state.new_conversation()); }
            >
                "New conversation"
            </button>
        </div>
        <div class="min-h-0 flex-1 overflow-y-auto px-2 pb-3">
            <For each=move || groups.get() key=|(label, list)| (label.clone(), list.iter().map(|c| (c.id.clone(), c.title.clone())).collect::<Vec<_>>()) let((label, list))>
                {label.map(|label| view! { <h3 class="px-2 pb-1 pt-3 text-xs font-semibold text-slate-600">{label}</h3> })}
                <ul role="list">
                    {list.into_iter().map(item).collect_view()}
                </ul>
            </For>
        </div>
    }
    .into_any()
}
