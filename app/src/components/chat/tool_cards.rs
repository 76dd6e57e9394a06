//! What a reply did besides writing: a card per tool call (its input, and its output once
//! known), and a card linking to each document a tool call saved or changed.

use jarvis_types::chat::ToolCallView;
use leptos::prelude::*;

use super::context::{ChatContext, Panel};
use super::ui_message::UiMessage;

#[component]
pub fn ToolCards(message: Memo<UiMessage>) -> impl IntoView {
    view! {
        <For each=move || message.with(|m| m.tools.clone()) key=|tool| (tool.id.clone(), tool.output.is_some()) let(tool)>
            <details class="mb-2 rounded-md bg-slate-50 px-3 py-1.5 text-xs ring-1 ring-slate-200" data-testid="tool-card">
                <summary class="cursor-pointer text-slate-600">
                    {format!("🔧 {}", tool.name)}
                    {match &tool.output {
                        None => " · running…".to_owned(),
                        Some(_) if tool.is_error => " · failed".to_owned(),
                        Some(_) => " · done".to_owned(),
                    }}
                </summary>
                <pre class="mt-1 overflow-x-auto whitespace-pre-wrap text-slate-700">{tool.input.clone()}</pre>
                {tool.output.clone().map(|output| view! { <pre class="mt-1 overflow-x-auto whitespace-pre-wrap text-slate-900">{output}</pre> })}
            </details>
        </For>
    }
    .into_any()
}

/// A document that a tool call of this reply saved, from the call's result.
fn saved_document(tool: &ToolCallView) -> Option<(String, String, i64, bool)> {
    if tool.is_error || !matches!(tool.name.as_str(), "save_document" | "update_document") {
        return None;
    }
    let output: serde_json::Value = serde_json::from_str(tool.output.as_deref()?).ok()?;
    Some((
        output.get("id")?.as_str()?.to_owned(),
        output.get("title")?.as_str()?.to_owned(),
        output.get("version")?.as_i64()?,
        tool.name == "save_document",
    ))
}

/// Cards linking to the documents a reply saved or changed.
#[component]
pub fn DocumentCards(message: Memo<UiMessage>) -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    let cards = move || message.with(|m| m.tools.iter().filter_map(saved_document).collect::<Vec<_>>());
    view! {
        <For each=cards key=|card| (card.0.clone(), card.2) let((id, title, version, created))>
            <button
                type="button"
                class="mb-2 flex w-full items-center gap-3 rounded-lg bg-indigo-50 px-3 py-2 text-left text-sm ring-1 ring-indigo-200 hover:bg-indigo-100"
                data-testid="document-card"
                on:click=move |_| {
                    chat.library.open_document(id.clone());
                    chat.panel.set(Panel::Documents);
                }
            >
                <span aria-hidden="true">"📄"</span>
                <span class="min-w-0 flex-1">
                    <span class="block truncate font-medium text-indigo-900">{title}</span>
                    <span class="block text-xs text-indigo-700">
                        {if created { format!("Saved · version {version}") } else { format!("Updated · version {version}") }}
                    </span>
                </span>
                <span class="text-xs font-semibold text-indigo-700">"Open"</span>
            </button>
        </For>
    }
    .into_any()
}
