//! What a reply did besides writing: a card per tool call, named in plain words
//! ([`tool_label`]: "Saving a document", "Saved a document", "Add note · notes · done", …) with its
//! input and its output once known, and a card linking to each document a tool call saved or
//! changed.

use jarvis_types::chat::ToolCallView;
use jarvis_types::connections::split_connector_tool;
use leptos::prelude::*;

use super::context::{ChatContext, Panel};
use super::ui_message::UiMessage;

#[component]
pub fn ToolCards(message: Memo<UiMessage>) -> impl IntoView {
    view! {
        <For each=move || message.with(|m| m.tools.clone()) key=|tool| (tool.id.clone(), tool.output.is_some()) let(tool)>
            <details class="mb-2 rounded-md bg-slate-50 px-3 py-1.5 text-xs ring-1 ring-slate-200" data-testid="tool-card">
                <summary class="cursor-pointer text-slate-600" data-tool=tool.name.clone()>
                    <span aria-hidden="true">"🔧 "</span>
                    {tool_label(&tool.name, progress(&tool))}
                </summary>
                <p class="mt-1 text-slate-500">{format!("Tool: {}", tool.name)}</p>
                <pre class="mt-1 overflow-x-auto whitespace-pre-wrap text-slate-700">{tool.input.clone()}</pre>
                {tool.output.clone().map(|output| view! { <pre class="mt-1 overflow-x-auto whitespace-pre-wrap text-slate-900">{output}</pre> })}
            </details>
        </For>
    }
    .into_any()
}

/// How far a tool call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Running,
    Done,
    Failed,
}

fn progress(tool: &ToolCallView) -> Progress {
    match &tool.output {
        None => Progress::Running,
        Some(_) if tool.is_error => Progress::Failed,
        Some(_) => Progress::Done,
    }
}

/// A tool call in the user's words: what Jarvis is doing, did, or could not do. A tool not known
/// here is named by its words ("get_weather" → "Get weather") with how far it is; a tool of one
/// of the user's MCP servers (`server__tool`) also names its server ("Add note · notes · done").
pub fn tool_label(name: &str, progress: Progress) -> String {
    if let Some((server, tool)) = split_connector_tool(name) {
        return format!("{} · {server} · {}", readable(tool), progress_words(progress));
    }
    let known = match name {
        "save_document" => Some(("Saving a document", "Saved a document", "save a document")),
        "update_document" => Some(("Updating a document", "Updated a document", "update a document")),
        "read_document" => Some(("Reading a document", "Read a document", "read a document")),
        "list_documents" => {
            Some(("Looking through your documents", "Looked through your documents", "list your documents"))
        }
        "search_documents" => {
            Some(("Searching your documents", "Searched your documents", "search your documents"))
        }
        "get_current_time" => Some(("Checking the time", "Checked the time", "check the time")),
        "fetch_url" => Some(("Reading a web page", "Read a web page", "read the web page")),
        "web_search" => Some(("Searching the web", "Searched the web", "search the web")),
        _ => None,
    };
    match (known, progress) {
        (Some((running, _, _)), Progress::Running) => format!("{running}…"),
        (Some((_, done, _)), Progress::Done) => done.to_owned(),
        (Some((_, _, failed)), Progress::Failed) => format!("Could not {failed}"),
        (None, progress) => format!("{} · {}", readable(name), progress_words(progress)),
    }
}

/// A tool's name as words, capitalised: "get_weather" → "Get weather"; "A tool" when empty.
fn readable(name: &str) -> String {
    let words = name.replace(['_', '-'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "A tool".to_owned(),
    }
}

/// How far a tool call of a tool not named here is, in a word or two.
fn progress_words(progress: Progress) -> &'static str {
    match progress {
        Progress::Running => "running…",
        Progress::Done => "done",
        Progress::Failed => "failed",
    }
}

/// A document that a tool call of this reply saved, from the call's result.
fn saved_document(tool: &ToolCallView) -> Option<(String, String, i32, bool)> {
    if tool.is_error || !matches!(tool.name.as_str(), "save_document" | "update_document") {
        return None;
    }
    let output: serde_json::Value = serde_json::from_str(tool.output.as_deref()?).ok()?;
    Some((
        output.get("id")?.as_str()?.to_owned(),
        output.get("title")?.as_str()?.to_owned(),
        i32::try_from(output.get("version")?.as_i64()?).ok()?,
        tool.name == "save_document",
    ))
}

/// Cards linking to the documents a reply saved or changed, each to the version it saved.
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
                    chat.library.open_document_at(id.clone(), version);
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

#[cfg(test)]
mod tests {
    use super::{Progress, tool_label};

    #[test]
    fn known_tools_are_named_in_plain_words_for_each_step() {
        assert_eq!(tool_label("save_document", Progress::Running), "Saving a document…");
        assert_eq!(tool_label("save_document", Progress::Done), "Saved a document");
        assert_eq!(tool_label("save_document", Progress::Failed), "Could not save a document");
        assert_eq!(tool_label("read_document", Progress::Running), "Reading a document…");
        assert_eq!(tool_label("update_document", Progress::Done), "Updated a document");
        assert_eq!(tool_label("search_documents", Progress::Done), "Searched your documents");
        assert_eq!(tool_label("get_current_time", Progress::Failed), "Could not check the time");
    }

    #[test]
    fn an_unknown_tool_reads_as_words() {
        assert_eq!(tool_label("get_weather", Progress::Running), "Get weather · running…");
        assert_eq!(tool_label("fetch-page", Progress::Done), "Fetch page · done");
        assert_eq!(tool_label("", Progress::Failed), "A tool · failed");
    }

    #[test]
    fn the_web_tools_are_named_in_plain_words() {
        assert_eq!(tool_label("fetch_url", Progress::Running), "Reading a web page…");
        assert_eq!(tool_label("fetch_url", Progress::Done), "Read a web page");
        assert_eq!(tool_label("fetch_url", Progress::Failed), "Could not read the web page");
        assert_eq!(tool_label("web_search", Progress::Running), "Searching the web…");
        assert_eq!(tool_label("web_search", Progress::Done), "Searched the web");
        assert_eq!(tool_label("web_search", Progress::Failed), "Could not search the web");
    }

    #[test]
    fn a_connector_tool_names_its_server() {
        assert_eq!(
            tool_label("notes_server__add_note", Progress::Running),
            "Add note · notes_server · running…"
        );
        assert_eq!(tool_label("notes_server__add_note", Progress::Done), "Add note · notes_server · done");
        assert_eq!(
            tool_label("notes_server__add_note", Progress::Failed),
            "Add note · notes_server · failed"
        );
        // A connector whose tool is named like one of Jarvis's is still the connector's.
        assert_eq!(tool_label("files__save_document", Progress::Done), "Save document · files · done");
    }
}
