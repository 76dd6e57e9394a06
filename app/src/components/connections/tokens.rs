//! "Personal access tokens": create one (shown once, with "Copy"), the MCP server's address with
//! how to connect Claude Code, and the live tokens, each revocable.

use jarvis_types::connections::{AccessTokenView, TOKEN_LIFETIMES_DAYS, TOKEN_NAME_MAX_CHARS, TokenScope};
use leptos::prelude::*;

use super::state::{ConnectionsEvent as E, ConnectionsState, ShownSecret, claude_code_command, day};
use super::{send, style};
use crate::connections::{create_token, revoke_token};

/// The lifetime the form offers first, in days.
const DEFAULT_LIFETIME_DAYS: u32 = 30;

#[component]
pub fn AccessTokens(state: RwSignal<ConnectionsState>, hydrated: RwSignal<bool>) -> impl IntoView {
    // The fields are not controlled by signals: hydration keeps what was typed or chosen while
    // the wasm loaded, and the form reads them when it is sent.
    let name = NodeRef::<leptos::html::Input>::new();
    let scope = NodeRef::<leptos::html::Select>::new();
    let lifetime = NodeRef::<leptos::html::Select>::new();
    let creating = Memo::new(move |_| state.with(|s| s.creating));
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if creating.get_untracked() {
            return;
        }
        let (Some(name_field), Some(scope_field), Some(lifetime_field)) =
            (name.get_untracked(), scope.get_untracked(), lifetime.get_untracked())
        else {
            return;
        };
        let token_scope = TokenScope::parse(&scope_field.value()).unwrap_or(TokenScope::Read);
        let days = lifetime_field.value().parse().unwrap_or(DEFAULT_LIFETIME_DAYS);
        let token_name = name_field.value();
        send(state, E::CreateToken);
        leptos::task::spawn_local(async move {
            let event = match create_token(token_name, token_scope, days).await {
                Ok(created) => {
                    name_field.set_value("");
                    E::TokenCreated(created)
                }
                Err(error) => E::TokenFailed(error.to_string()),
            };
            send(state, event);
        });
    };
    let mcp_url = Memo::new(move |_| state.with(|s| s.mcp_url.clone()));
    view! {
        <div class="space-y-4" aria-labelledby="tokens-heading" role="group">
            <h3 id="tokens-heading" class="font-semibold">"Personal access tokens"</h3>
            <p class="text-sm text-slate-600">
                "An app with a token (Claude Desktop, Claude Code, any MCP client) can search and read your documents, and with “Read and write” save them, as you. Its use counts toward your plan."
            </p>
            <p class="text-sm">
                "MCP server URL: "
                <code class="rounded bg-slate-100 px-1.5 py-0.5" data-testid="mcp-url">{move || mcp_url.get()}</code>
            </p>
            <form method="post" class="grid gap-3 sm:grid-cols-[1fr_auto_auto_auto] sm:items-end" aria-label="Create token" on:submit=create>
                <div class="space-y-1">
                    <label for="token-name" class=style::LABEL>"Name"</label>
                    <input
                        id="token-name"
                        type="text"
                        required
                        maxlength=TOKEN_NAME_MAX_CHARS
                        placeholder="Claude Code on my laptop"
                        class=style::INPUT
                        node_ref=name
                    />
                </div>
                <div class="space-y-1">
                    <label for="token-scope" class=style::LABEL>"Access"</label>
                    <select
                        id="token-scope"
                        class=style::INPUT
                        node_ref=scope
                    >
                        {[TokenScope::Read, TokenScope::Write].map(|option| view! {
                            <option value=option.as_str() selected=option == TokenScope::Read>{option.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="space-y-1">
                    <label for="token-lifetime" class=style::LABEL>"Expires"</label>
                    <select
                        id="token-lifetime"
                        class=style::INPUT
                        node_ref=lifetime
                    >
                        {TOKEN_LIFETIMES_DAYS.map(|days| view! {
                            <option value=days.to_string() selected=days == DEFAULT_LIFETIME_DAYS>{format!("In {days} days")}</option>
                        }).collect_view()}
                    </select>
                </div>
                <button
                    type="submit"
                    class=style::PRIMARY
                    disabled=move || !hydrated.get() || creating.get()
                    aria-busy=move || creating.get().to_string()
                >
                    {move || if creating.get() { "Creating…" } else { "Create token" }}
                </button>
            </form>
            {move || state.with(|s| s.token_error.clone()).map(|message| view! { <p role="alert" class=style::ALERT>{message}</p> })}
            {move || state.with(|s| s.new_secret.clone()).map(|shown| view! { <NewToken shown state /> })}
            <details class="text-sm text-slate-600">
                <summary class="cursor-pointer">"How to connect Claude Code"</summary>
                <p class="mt-2">"Run this in a terminal, with your token in place of <token>:"</p>
                <pre class="mt-1 overflow-x-auto whitespace-pre-wrap rounded bg-slate-100 p-2 text-xs">
                    {move || claude_code_command(&mcp_url.get(), "<token>")}
                </pre>
                <p class="mt-2">
                    "Other MCP clients: add a Streamable HTTP server with the URL above and the header Authorization: Bearer <token>."
                </p>
            </details>
            <TokenList state hydrated />
        </div>
    }
}

/// The token just created, shown once.
#[component]
fn NewToken(shown: ShownSecret, state: RwSignal<ConnectionsState>) -> impl IntoView {
    let mcp_url = state.with_untracked(|s| s.mcp_url.clone());
    let command = claude_code_command(&mcp_url, &shown.secret);
    let secret = shown.secret.clone();
    view! {
        <div class="space-y-3 rounded-lg bg-emerald-50 p-4 ring-1 ring-emerald-200" data-testid="new-token">
            <p role="status" class="text-sm font-medium text-emerald-900">
                {format!("Your new token “{}”. Copy it now: it will not be shown again.", shown.name)}
            </p>
            <div class="flex gap-2">
                <input
                    type="text"
                    readonly
                    aria-label="New token"
                    class="min-w-0 flex-1 rounded-md border border-emerald-300 bg-white px-2 py-1 font-mono text-sm"
                    prop:value=shown.secret.clone()
                />
                <button
                    type="button"
                    class=style::QUIET
                    on:click=move |_| {
                        crate::browser::copy_to_clipboard(&secret);
                        send(state, E::SecretCopied);
                    }
                >
                    "Copy"
                </button>
            </div>
            {shown.copied.then(|| view! { <p role="status" class="text-sm text-emerald-800">"Copied."</p> })}
            <p class="text-sm text-emerald-900">"Claude Code:"</p>
            <pre class="overflow-x-auto whitespace-pre-wrap rounded bg-white p-2 text-xs ring-1 ring-emerald-200">{command}</pre>
            <button type="button" class=style::QUIET on:click=move |_| send(state, E::SecretDismissed)>"Done"</button>
        </div>
    }
}

/// The live tokens, newest first.
#[component]
fn TokenList(state: RwSignal<ConnectionsState>, hydrated: RwSignal<bool>) -> impl IntoView {
    let empty = Memo::new(move |_| state.with(|s| s.tokens.is_empty()));
    view! {
        <Show
            when=move || !empty.get()
            fallback=|| view! { <p class="text-sm text-slate-500">"No tokens yet."</p> }
        >
            <ul class="divide-y divide-slate-200 rounded-lg bg-white ring-1 ring-slate-200" aria-label="Personal access tokens">
                <For each=move || state.with(|s| s.tokens.clone()) key=|token| token.id.clone() let(token)>
                    <TokenRow token state hydrated />
                </For>
            </ul>
        </Show>
    }
}

#[component]
fn TokenRow(
    token: AccessTokenView,
    state: RwSignal<ConnectionsState>,
    hydrated: RwSignal<bool>,
) -> impl IntoView {
    let id = token.id.clone();
    let busy = {
        let id = id.clone();
        Memo::new(move |_| state.with(|s| s.is_busy(&id)))
    };
    let error = {
        let id = id.clone();
        Memo::new(move |_| state.with(|s| s.row_errors.get(&id).cloned()))
    };
    let name = token.name.clone();
    let revoke = move |_| {
        if busy.get_untracked()
            || !crate::browser::confirm(&format!("Revoke “{name}”? Apps using it stop working at once."))
        {
            return;
        }
        let id = id.clone();
        send(state, E::Revoke(id.clone()));
        leptos::task::spawn_local(async move {
            let event = match revoke_token(id.clone()).await {
                Ok(()) => E::Revoked(id),
                Err(error) => E::RowFailed { id, message: error.to_string() },
            };
            send(state, event);
        });
    };
    let used = match &token.last_used_at {
        Some(at) => format!("last used {}", day(at)),
        None => "never used".to_owned(),
    };
    view! {
        <li class="flex flex-wrap items-center justify-between gap-3 px-4 py-3" data-token-id=token.id.clone()>
            <div class="min-w-0">
                <p class="font-medium">
                    {token.name.clone()}
                    <span class="ml-2 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700">{token.scope.label()}</span>
                </p>
                <p class="text-xs text-slate-500">
                    {format!("Created {} · expires {} · {used}", day(&token.created_at), day(&token.expires_at))}
                </p>
                {move || error.get().map(|message| view! { <p role="alert" class="text-sm text-rose-700">{message}</p> })}
            </div>
            <button
                type="button"
                class=style::DANGER
                aria-label=format!("Revoke {}", token.name)
                disabled=move || !hydrated.get() || busy.get()
                on:click=revoke
            >
                {move || if busy.get() { "Revoking…" } else { "Revoke" }}
            </button>
        </li>
    }
}
