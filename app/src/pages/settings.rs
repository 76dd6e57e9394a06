//! `/settings`: the account, changing the password, the devices that are logged in (each
//! revocable), log out everywhere, and deleting the account.

use jarvis_types::account::{AccountView, SessionView};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::account::get_account;
use crate::components::forms::{Field, Flash, PostForm, Submit};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let account = Resource::new(|| (), |()| get_account());
    view! {
        <Title text="Settings" />
        <header class="flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3">
            <a href="/app" class="text-lg font-bold tracking-tight">"Jarvis"</a>
            <a href="/app" class="text-sm font-medium text-slate-700 hover:underline">"Back to the app"</a>
        </header>
        <main id="main" class="mx-auto w-full max-w-3xl space-y-8 px-4 py-8">
            <h1 class="text-2xl font-semibold">"Settings"</h1>
            <Flash />
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || account.get().map(|result| match result {
                    Ok(account) => view! { <AccountSettings account /> }.into_any(),
                    Err(_) => view! {
                        <p role="alert" class="text-rose-700">"Your account could not be loaded. Reload the page."</p>
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn AccountSettings(account: AccountView) -> impl IntoView {
    view! {
        <section aria-labelledby="account-heading" class="space-y-2">
            <h2 id="account-heading" class="text-lg font-semibold">"Account"</h2>
            <p data-testid="settings-email">{account.email.clone()}</p>
            <p class="text-sm text-slate-600">
                {if account.email_verified { "Email address verified." } else { "Email address not verified yet." }}
            </p>
        </section>
        <section aria-labelledby="usage-heading" class="space-y-1">
            <h2 id="usage-heading" class="text-lg font-semibold">"Usage"</h2>
            <p data-testid="usage">{format!("{} tokens this month", account.tokens_this_month)}</p>
            <a href="/billing" class="text-sm font-medium text-indigo-700 hover:underline">"Plan and usage"</a>
        </section>
        <section aria-labelledby="password-heading" class="space-y-3">
            <h2 id="password-heading" class="text-lg font-semibold">"Change password"</h2>
            <p class="text-sm text-slate-600">
                "Every other device is logged out; this one stays logged in."
            </p>
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
            <PostForm action="/settings/delete-account".into() class="max-w-sm space-y-3" label="Delete my account">
                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true />
                <Submit label="Delete my account" pending_label="Deleting…" danger=true />
            </PostForm>
        </section>
    }
}

#[component]
fn SessionRow(session: SessionView) -> impl IntoView {
    let action = format!("/settings/sessions/{}/revoke", session.id);
    let last_seen = session.last_seen_at.get(..16).unwrap_or(&session.last_seen_at).replace('T', " ");
    view! {
        <li class="flex items-center justify-between gap-4 px-4 py-3" data-session-id=session.id.clone()>
            <div>
                <p class="font-medium">
                    {session.device}
                    {session.current.then(|| view! { <span class="ml-2 rounded bg-indigo-50 px-1.5 py-0.5 text-xs text-indigo-700">"This device"</span> })}
                </p>
                <p class="text-xs text-slate-500">
                    {session.ip.unwrap_or_default()} " · last seen " {last_seen} " UTC"
                </p>
            </div>
            <PostForm action=action label="Revoke session">
                <Submit label="Revoke" pending_label="Revoking…" quiet=true />
            </PostForm>
        </li>
    }
}
