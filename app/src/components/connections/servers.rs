//! "MCP servers": add a remote MCP server by its URL (and a token, if it wants one), then switch
//! it, or any of its tools, on and off for Jarvis's runs; refresh its tools; remove it.

use jarvis_types::connections::ConnectorView;
use leptos::prelude::*;

use super::state::{ConnectionsEvent as E, ConnectionsState, Switch};
use super::{send, style};
use crate::connections::{
    add_connector, refresh_connector, remove_connector, set_connector_enabled, set_connector_tool,
};

#[component]
pub fn McpServers(state: RwSignal<ConnectionsState>, hydrated: RwSignal<bool>) -> impl IntoView {
    // The fields are not controlled by signals: hydration keeps what was typed while the wasm
    // loaded, and the form reads them when it is sent.
    let url = NodeRef::<leptos::html::Input>::new();
    let token = NodeRef::<leptos::html::Input>::new();
    let adding = Memo::new(move |_| state.with(|s| s.adding));
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if adding.get_untracked() {
            return;
        }
        let (Some(url_field), Some(token_field)) = (url.get_untracked(), token.get_untracked()) else {
            return;
        };
        send(state, E::AddServer);
        let server_url = url_field.value();
        let server_token = Some(token_field.value()).filter(|token| !token.trim().is_empty());
        leptos::task::spawn_local(async move {
            let event = match add_connector(server_url, server_token).await {
                Ok(connector) => {
                    url_field.set_value("");
                    token_field.set_value("");
                    E::ServerAdded(connector)
                }
                Err(error) => E::ServerFailed(error.to_string()),
            };
            send(state, event);
        });
    };
    let ids = move || state.with(|s| s.connectors.iter().map(|c| c.id.clone()).collect::<Vec<_>>());
    view! {
        <div class="space-y-4" aria-labelledby="servers-heading" role="group">
            <h3 id="servers-heading" class="font-semibold">"MCP servers"</h3>
            <p class="text-sm text-slate-600">
                "Jarvis can use the tools of MCP servers you add (Streamable HTTP). A token, if the server needs one, is stored encrypted."
            </p>
            <form method="post" class="grid gap-3 sm:grid-cols-[2fr_1fr_auto] sm:items-end" aria-label="Add server" on:submit=add>
                <div class="space-y-1">
                    <label for="server-url" class=style::LABEL>"Server URL"</label>
                    <input
                        id="server-url"
                        type="url"
                        required
                        placeholder="https://example.com/mcp"
                        class=style::INPUT
                        node_ref=url
                    />
                </div>
                <div class="space-y-1">
                    <label for="server-token" class=style::LABEL>"Token (optional)"</label>
                    <input
                        id="server-token"
                        type="password"
                        autocomplete="off"
                        class=style::INPUT
                        node_ref=token
                    />
                </div>
                <button
                    type="submit"
                    class=style::PRIMARY
                    disabled=move || !hydrated.get() || adding.get()
                    aria-busy=move || adding.get().to_string()
                >
                    {move || if adding.get() { "Adding…" } else { "Add server" }}
                </button>
            </form>
            {move || state.with(|s| s.server_error.clone()).map(|message| view! { <p role="alert" class=style::ALERT>{message}</p> })}
            <Show
                when=move || state.with(|s| !s.connectors.is_empty())
                fallback=|| view! { <p class="text-sm text-slate-500">"No servers yet."</p> }
            >
                <ul class="space-y-3" aria-label="MCP servers">
                    <For each=ids key=|id| id.clone() let(id)>
                        <ServerRow id state hydrated />
                    </For>
                </ul>
            </Show>
        </div>
    }
}

/// A server switch's request: the switch flips at once, and back if the server refuses.
fn switch(state: RwSignal<ConnectionsState>, id: String, which: Switch, on: bool) {
    send(state, E::Switched { id: id.clone(), switch: which.clone(), on });
    leptos::task::spawn_local(async move {
        let answer = match &which {
            Switch::Server => set_connector_enabled(id.clone(), on).await,
            Switch::Tool(tool) => set_connector_tool(id.clone(), tool.clone(), on).await,
        };
        let event = match answer {
            Ok(connector) => E::ConnectorChanged(connector),
            Err(error) => E::SwitchFailed { id, switch: which, on, message: error.to_string() },
        };
        send(state, event);
    });
}

#[component]
fn ServerRow(id: String, state: RwSignal<ConnectionsState>, hydrated: RwSignal<bool>) -> impl IntoView {
    let connector = {
        let id = id.clone();
        Memo::new(move |_| state.with(|s| s.connector(&id).cloned()))
    };
    let read = move |field: fn(&ConnectorView) -> String| {
        connector.with(|c| c.as_ref().map(field).unwrap_or_default())
    };
    let busy = {
        let id = id.clone();
        Memo::new(move |_| state.with(|s| s.is_busy(&id)))
    };
    let error = {
        let id = id.clone();
        Memo::new(move |_| state.with(|s| s.row_errors.get(&id).cloned()))
    };
    let enabled = Memo::new(move |_| connector.with(|c| c.as_ref().is_some_and(|c| c.enabled)));
    let tool_names = move || {
        connector.with(|c| c.iter().flat_map(|c| c.tools.iter().map(|t| t.name.clone())).collect::<Vec<_>>())
    };
    let on_id = id.clone();
    let refresh_id = id.clone();
    let remove_id = id.clone();
    let refresh = move |_| {
        if busy.get_untracked() {
            return;
        }
        let id = refresh_id.clone();
        send(state, E::Busy(id.clone()));
        leptos::task::spawn_local(async move {
            let event = match refresh_connector(id.clone()).await {
                Ok(connector) => E::ConnectorChanged(connector),
                Err(error) => E::RowFailed { id, message: error.to_string() },
            };
            send(state, event);
        });
    };
    let remove = move |_| {
        let name = read(|c| c.name.clone());
        if busy.get_untracked()
            || !crate::browser::confirm(&format!(
                "Remove “{name}”? Jarvis stops using its tools, and its token is deleted."
            ))
        {
            return;
        }
        let id = remove_id.clone();
        send(state, E::Busy(id.clone()));
        leptos::task::spawn_local(async move {
            let event = match remove_connector(id.clone()).await {
                Ok(()) => E::Removed(id),
                Err(error) => E::RowFailed { id, message: error.to_string() },
            };
            send(state, event);
        });
    };
    let heading_id = format!("server-{id}");
    let labelled_by = heading_id.clone();
    // Copy, for the tool list's children (rebuilt whenever the server's tools come and go).
    let tools_of = StoredValue::new(id.clone());
    view! {
        <li class="space-y-2 rounded-lg bg-white p-4 ring-1 ring-slate-200" data-connector-id=id.clone() aria-labelledby=labelled_by>
            <div class="flex flex-wrap items-start justify-between gap-3">
                <div class="min-w-0">
                    <p id=heading_id class="font-medium">
                        {move || read(|c| c.name.clone())}
                        {move || connector.with(|c| c.as_ref().is_some_and(|c| c.has_token)).then(|| view! {
                            <span class="ml-2 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700">"Token saved"</span>
                        })}
                    </p>
                    <p class="break-all text-xs text-slate-500">{move || read(|c| c.url.clone())}</p>
                </div>
                <label class="flex items-center gap-2 text-sm">
                    <input
                        type="checkbox"
                        prop:checked=move || enabled.get()
                        disabled=move || !hydrated.get()
                        on:change=move |ev| switch(state, on_id.clone(), Switch::Server, event_target_checked(&ev))
                    />
                    "On"
                </label>
            </div>
            <fieldset class="space-y-1" disabled=move || !enabled.get()>
                <legend class="text-sm font-medium text-slate-700">"Tools"</legend>
                <Show
                    when=move || connector.with(|c| c.as_ref().is_some_and(|c| !c.tools.is_empty()))
                    fallback=|| view! { <p class="text-sm text-slate-500">"This server offers no tools."</p> }
                >
                    <For each=tool_names key=|name| name.clone() let(tool)>
                        <ToolSwitch id=tools_of.get_value() tool connector state hydrated />
                    </For>
                </Show>
            </fieldset>
            {move || error.get().map(|message| view! { <p role="alert" class="text-sm text-rose-700">{message}</p> })}
            <div class="flex flex-wrap gap-2">
                <button type="button" class=style::QUIET disabled=move || !hydrated.get() || busy.get() on:click=refresh>
                    "Refresh tools"
                </button>
                <button
                    type="button"
                    class=style::DANGER
                    aria-label=move || format!("Remove {}", read(|c| c.name.clone()))
                    disabled=move || !hydrated.get() || busy.get()
                    on:click=remove
                >
                    "Remove"
                </button>
            </div>
        </li>
    }
}

/// One tool's checkbox, labelled with its name, its description as the hint.
#[component]
fn ToolSwitch(
    id: String,
    tool: String,
    connector: Memo<Option<ConnectorView>>,
    state: RwSignal<ConnectionsState>,
    hydrated: RwSignal<bool>,
) -> impl IntoView {
    let (checked, description) = {
        let tool = tool.clone();
        let described = tool.clone();
        (
            Memo::new(move |_| {
                connector.with(|c| c.iter().flat_map(|c| &c.tools).any(|t| t.name == tool && t.enabled))
            }),
            Memo::new(move |_| {
                connector.with(|c| {
                    c.iter()
                        .flat_map(|c| &c.tools)
                        .find(|t| t.name == described)
                        .map(|t| t.description.clone())
                })
            }),
        )
    };
    let input_id = format!("tool-{id}-{tool}");
    let hint_id = format!("{input_id}-hint");
    let described_by = hint_id.clone();
    let has_hint = move || description.with(|d| d.as_ref().is_some_and(|d| !d.is_empty()));
    let name = tool.clone();
    view! {
        <div class="flex items-start gap-2 text-sm">
            <input
                type="checkbox"
                id=input_id.clone()
                aria-describedby=move || has_hint().then(|| described_by.clone())
                prop:checked=move || checked.get()
                disabled=move || !hydrated.get()
                on:change=move |ev| switch(state, id.clone(), Switch::Tool(name.clone()), event_target_checked(&ev))
            />
            <div>
                <label for=input_id class="font-mono">{tool}</label>
                {move || has_hint().then(|| view! {
                    <p id=hint_id.clone() class="text-xs text-slate-500">{description.get().unwrap_or_default()}</p>
                })}
            </div>
        </div>
    }
}
