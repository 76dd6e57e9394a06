//! `/settings`: the account, the display name, downloading all of one's data, the connections
//! (personal access tokens and MCP servers), changing the password, the devices that are logged
//! in (each revocable), log out everywhere, and deleting the account.

use jarvis_types::account::{AccountView, EXPORT_PATH, SessionView};
use jarvis_types::connections::ConnectionsView;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::account::{SetDisplayName, get_account};
use crate::components::forms::{Field, Flash, FormError, PostForm, Submit};
use crate::connections::get_connections;
use crate::error::AppError;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let account = Resource::new(|| (), |()| get_account());
    // Created here, beside the account's, not inside its Suspense: a resource made while a
    // resolved Suspense renders gets another id in the browser than on the server, and hydration
    // then reads the wrong value.
    let connections = Resource::new(|| (), |()| get_connections());
    view! {
        <Title text="Settings" />
        <header class="flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3">
            <a href="/app" class="text-lg font-bold tracking-tight">"Jarvis"</a>
            <a href="/app" class="text-sm font-medium text-slate-700 hover:underline">"Back to the app"</a>
        </header>
        <main id="main" class="mx-auto w-full max-w-3xl space-y-8 px-4 py-8">
            <h1 class="text-2xl font-semibold">"Settings"</h1>
            <Flash beside_forms=true />
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || account.get().map(|result| match result {
                    Ok(account) => view! { <AccountSettings account connections /> }.into_any(),
                    Err(_) => view! {
                        <p role="alert" class="text-rose-700">"Your account could not be loaded. Reload the page."</p>
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn AccountSettings(
    account: AccountView,
    connections: Resource<Result<ConnectionsView, AppError>>,
) -> impl IntoView {
    view! {
        <section aria-labelledby="account-heading" class="space-y-2">
            <h2 id="account-heading" class="text-lg font-semibold">"Account"</h2>
            <p data-testid="settings-email">{account.email.clone()}</p>
            <p class="text-sm text-slate-600">
                {if account.email_verified { "Email address verified." } else { "Email address not verified yet." }}
            </p>
        </section>
        <ProfileSettings display_name=account.display_name.clone() />
        <DataExport />
        <section class="space-y-2"><crate::components::theme_control::ThemeControl id="settings-theme" /></section>
        <section aria-labelledby="usage-heading" class="space-y-1">
            <h2 id="usage-heading" class="text-lg font-semibold">"Usage"</h2>
            <p data-testid="usage">{format!("{} tokens this month", account.tokens_this_month)}</p>
            <a href="/billing" class="inline-flex items-center text-sm font-medium text-indigo-700 hover:underline pointer-coarse:min-h-11">"Plan and usage"</a>
        </section>
        <crate::components::connections::ConnectionsSettings loaded=connections />
        <section aria-labelledby="password-heading" class="space-y-3">
            <h2 id="password-heading" class="text-lg font-semibold">"Change password"</h2>
            <p class="text-sm text-slate-600">
                "Every other device is logged out; this one stays logged in."
            </p>
            <FormError form="password" />
            <PostForm action="/settings/change-password".into() class="max-w-sm space-y-3" label="Change password">
                <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" required=true />
                <Field
                    label="New password"
                    name="new_password"
                    kind="password"
                    autocomplete="new-password"
                    required=true
                    minlength=10
                    hint="At least 10 characters, not a common password."
                />
                <Submit label="Change password" pending_label="Changing…" />
            </PostForm>
        </section>
        <section aria-labelledby="sessions-heading" class="space-y-3">
            <h2 id="sessions-heading" class="text-lg font-semibold">"Active sessions"</h2>
            <ul class="divide-y divide-slate-200 rounded-lg bg-white ring-1 ring-slate-200" aria-label="Active sessions">
                {account.sessions.into_iter().map(|session| view! { <SessionRow session /> }).collect_view()}
            </ul>
            <PostForm action="/logout-everywhere".into() label="Log out everywhere">
                <Submit label="Log out everywhere" pending_label="Logging out…" quiet=true />
            </PostForm>
        </section>
        <section aria-labelledby="delete-heading" class="space-y-3 rounded-lg p-4 ring-1 ring-rose-200">
            <h2 id="delete-heading" class="text-lg font-semibold text-rose-800">"Delete my account"</h2>
            <p class="text-sm text-slate-600">
                "This removes your account and everything in it, for good. Enter your password to confirm."
            </p>
            <FormError form="delete" />
            <PostForm action="/settings/delete-account".into() class="max-w-sm space-y-3" label="Delete my account">
                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true />
                <Submit label="Delete my account" pending_label="Deleting…" danger=true />
            </PostForm>
        </section>
    }
}

/// What the display name field says under itself.
const DISPLAY_NAME_HINT: &str = "Shown at the top of the app, and Jarvis calls you by it. At most 80 characters; leave it empty to use the first part of your email address.";

/// The display name: a server-function form, answered with a confirmation or the sentence
/// saying what is wrong with the name (without JavaScript, the post saves and comes back here).
#[component]
fn ProfileSettings(display_name: String) -> impl IntoView {
    let save = ServerAction::<SetDisplayName>::new();
    let pending = save.pending();
    view! {
        <section aria-labelledby="profile-heading" class="space-y-3">
            <h2 id="profile-heading" class="text-lg font-semibold">"Profile"</h2>
            <ActionForm action=save attr:class="max-w-sm space-y-3" attr:aria-label="Profile">
                <Field
                    label="Display name"
                    name="display_name"
                    autocomplete="name"
                    value=Signal::stored(display_name)
                    hint=DISPLAY_NAME_HINT
                />
                <button
                    type="submit"
                    class="rounded-lg bg-indigo-600 px-4 py-2 font-semibold text-white hover:bg-indigo-500 disabled:opacity-60"
                    disabled=move || pending.get()
                    aria-busy=move || pending.get().to_string()
                >
                    {move || if pending.get() { "Saving…" } else { "Save" }}
                </button>
            </ActionForm>
            {move || save.value().get().map(outcome)}
        </section>
    }
}

/// What an action said once it answered: its confirmation, or its error's sentence.
fn outcome(result: Result<String, AppError>) -> AnyView {
    match result {
        Ok(message) => view! {
            <p role="status" class="rounded-lg bg-emerald-50 px-4 py-3 text-sm text-emerald-800 ring-1 ring-emerald-200">{message}</p>
        }
        .into_any(),
        Err(error) => view! {
            <p role="alert" class="rounded-lg bg-rose-50 px-4 py-3 text-sm text-rose-800 ring-1 ring-rose-200">{error.to_string()}</p>
        }
        .into_any(),
    }
}

/// "Download my data": a plain link to the zip, which the browser downloads with its name (or,
/// past the hourly limit, shows the sentence saying when to try again).
#[component]
fn DataExport() -> impl IntoView {
    view! {
        <section aria-labelledby="export-heading" class="space-y-2">
            <h2 id="export-heading" class="text-lg font-semibold">"Your data"</h2>
            <p class="text-sm text-slate-600">
                "One zip with your account details, every conversation (as Markdown and as JSON), your documents, your uploaded files and your usage. You can download it a few times an hour."
            </p>
            // External to the router: the browser itself fetches the file (and saves it).
            <a
                href=EXPORT_PATH
                rel="external"
                class="inline-flex items-center rounded-md px-3 py-1.5 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-100 pointer-coarse:min-h-11"
                data-testid="download-my-data"
            >
                "Download my data"
            </a>
        </section>
    }
}

#[component]
fn SessionRow(session: SessionView) -> impl IntoView {
    let action = format!("/settings/sessions/{}/revoke", session.id);
    let last_seen = session.last_seen_at.get(..16).unwrap_or(&session.last_seen_at).replace('T', " ");
    // Named by its device, so that a screen reader tells the Revoke of this device (which logs
    // out at once) from the others'.
    let label = if session.current {
        format!("Revoke session: {} (this device)", session.device)
    } else {
        format!("Revoke session: {}", session.device)
    };
    view! {
        <li class="flex items-center justify-between gap-4 px-4 py-3" data-session-id=session.id.clone()>
            <div>
                <p class="font-medium">
                    {session.device}
                    {session.current.then(|| view! { " " <span class="ml-1 rounded bg-indigo-50 px-1.5 py-0.5 text-xs text-indigo-700">"This device"</span> })}
                </p>
                <p class="text-xs text-slate-500">
                    {session.ip.unwrap_or_default()} " · last seen " {last_seen} " UTC"
                </p>
            </div>
            <PostForm action=action label=label>
                <Submit label="Revoke" pending_label="Revoking…" quiet=true />
            </PostForm>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use jarvis_types::account::DISPLAY_NAME_MAX_CHARS;

    use super::*;

    #[test]
    fn the_hint_names_the_limit_the_server_keeps() {
        assert!(DISPLAY_NAME_HINT.contains(&format!("At most {DISPLAY_NAME_MAX_CHARS} characters")));
    }
}
