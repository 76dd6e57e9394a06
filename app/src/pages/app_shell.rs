//! The signed-in application at `/app`: the header with the account and the live connection,
//! and, until the address is verified, a banner asking for it.

use jarvis_types::account::AccountView;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::account::get_account;
use crate::components::connection::ConnectionStatus;
use crate::components::forms::{Flash, PostForm, Submit};

#[component]
pub fn AppShell() -> impl IntoView {
    let account = Resource::new(|| (), |()| get_account());
    view! {
        <Title text="App" />
        <div class="flex h-full flex-col">
            <header class="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 bg-white px-4 py-3">
                <a href="/app" class="text-lg font-bold tracking-tight">"Jarvis"</a>
                <div class="flex items-center gap-4">
                    <ConnectionStatus />
                    <Suspense fallback=|| ()>
                        {move || account.get().and_then(Result::ok).map(|account| view! {
                            <span class="hidden text-sm text-slate-600 sm:inline" data-testid="account-email">{account.email}</span>
                        })}
                    </Suspense>
                    <a href="/settings" class="text-sm font-medium text-slate-700 hover:underline">"Settings"</a>
                    <PostForm action="/logout".into() label="Log out">
                        <Submit label="Log out" pending_label="Logging out…" quiet=true />
                    </PostForm>
                </div>
            </header>
            <div class="mx-auto w-full max-w-3xl space-y-4 px-4 pt-4">
                <Flash />
                <Suspense fallback=|| ()>
                    {move || account.get().map(|result| match result {
                        Ok(account) => view! { <VerifyBanner account /> }.into_any(),
                        Err(_) => view! {
                            <p role="alert" class="text-sm text-rose-700">"Your account could not be loaded. Reload the page."</p>
                        }.into_any(),
                    })}
                </Suspense>
            </div>
            <main class="flex flex-1 items-center justify-center p-6">
                <p class="text-slate-500">"Your conversations will appear here."</p>
            </main>
        </div>
    }
}

#[component]
fn VerifyBanner(account: AccountView) -> impl IntoView {
    (!account.email_verified).then(|| {
        view! {
            <section class="rounded-lg bg-amber-50 px-4 py-3 text-sm text-amber-900 ring-1 ring-amber-200" aria-label="Verify your email">
                <p>
                    "Confirm your email address to start talking to Jarvis. We sent a link to "
                    <strong>{account.email}</strong> "."
                </p>
                <PostForm action="/resend-verification".into() class="mt-2" label="Resend confirmation">
                    <Submit label="Send a new link" pending_label="Sending…" quiet=true />
                </PostForm>
            </section>
        }
    })
}
