//! The signed-in application at `/app`: the header with the account and the live connection,
//! until the address is verified, a banner asking for it, and, while a payment has failed, a
//! banner pointing to billing.

use jarvis_types::account::AccountView;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::account::get_account;
use crate::billing::get_billing;
use crate::components::chat::Chat;
use crate::components::forms::{Flash, PostForm, Submit, query_param};
use crate::components::theme_control::ThemeMenu;
use crate::conversations::{list_conversations, load_conversation};
use crate::error::AppError;
use crate::library::server_fns::load_library;
use crate::voice::load_voice_options;

/// What the app says with JavaScript off: the chat cannot work without it. Inner HTML, so that
/// hydration (which sees a `<noscript>`'s content as text) has no children to walk.
const NEEDS_JAVASCRIPT: &str = r#"<p role="alert" class="mx-auto mt-4 w-full max-w-3xl rounded-lg bg-amber-50 px-4 py-3 text-sm text-amber-900 ring-1 ring-amber-200">The chat needs JavaScript: turn it on in your browser and reload the page to send messages. Your conversations and documents are kept.</p>"#;

#[component]
pub fn AppShell() -> impl IntoView {
    // A message sent with JavaScript off arrives in the address: take it out of the address
    // (and so the history) at once, and say why it was not sent.
    #[cfg(feature = "ssr")]
    if !query_param("message").get_untracked().is_empty() {
        leptos_axum::redirect("/app?notice=needs_javascript");
    }
    let account = Resource::new(|| (), |()| get_account());
    // Only for the past-due banner: loaded on its own, so that a billing failure shows nothing
    // rather than breaking the chat.
    let billing = Resource::new(|| (), |()| get_billing());
    // The conversation named in the address (`?c=`), rendered on the server so a reload shows it.
    let open_id = query_param("c");
    let chat_data = Resource::new(
        move || open_id.get_untracked(),
        |id| async move {
            let conversations = list_conversations().await?;
            let open = if id.is_empty() { None } else { load_conversation(id).await? };
            let library = load_library("updated".to_owned(), String::new()).await?;
            // Voice settings are a nicety here: without them the chat works, and the settings
            // form loads them when opened.
            let voice = load_voice_options().await.ok();
            Ok::<_, AppError>((conversations, open, library, voice))
        },
    );
    view! {
        <Title text="App" />
        <div class="flex h-full min-h-0 flex-col">
            <header class="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 bg-white px-4 py-3">
                <a href="/app" class="text-lg font-bold tracking-tight">"Jarvis"</a>
                <div class="flex items-center gap-4">
                    <Suspense fallback=|| ()>
                        {move || account.get().and_then(Result::ok).map(|account| {
                            let (name, title) = (account.display_name.clone(), account.display_name);
                            view! {
                                <span class="flex min-w-0 items-baseline gap-2 text-sm">
                                    <span class="max-w-[12rem] truncate font-medium text-slate-800" title=title data-testid="account-name">{name}</span>
                                    <span class="hidden text-slate-600 sm:inline" data-testid="account-email">{account.email}</span>
                                </span>
                            }
                        })}
                    </Suspense>
                    // Whole page loads (`rel="external"`), not the router's: `/app` stays open for
                    // hours, and after a deploy a lazy route's chunk named by this page is gone
                    // from the server, which would stop the app (README, "Page weight").
                    <a href="/billing" rel="external" class="text-sm font-medium text-slate-700 hover:underline">"Plan"</a>
                    <a href="/settings" rel="external" class="text-sm font-medium text-slate-700 hover:underline">"Settings"</a>
                    <ThemeMenu />
                    <PostForm action="/logout".into() label="Log out">
                        <Submit label="Log out" pending_label="Logging out…" quiet=true />
                    </PostForm>
                </div>
            </header>
            <div class="mx-auto w-full max-w-3xl space-y-4 px-4 empty:hidden">
                <Flash />
                <Suspense fallback=|| ()>
                    {move || account.get().map(|result| match result {
                        Ok(account) => view! { <VerifyBanner account /> }.into_any(),
                        Err(_) => view! {
                            <p role="alert" class="text-sm text-rose-700">"Your account could not be loaded. Reload the page."</p>
                        }.into_any(),
                    })}
                </Suspense>
                <Suspense fallback=|| ()>
                    {move || billing.get().and_then(Result::ok).filter(|billing| billing.past_due).map(|billing| view! {
                        <PastDueBanner plan=billing.plan.name />
                    })}
                </Suspense>
            </div>
            <main id="main" class="flex min-h-0 flex-1 flex-col">
                <noscript inner_html=NEEDS_JAVASCRIPT></noscript>
                <Suspense fallback=|| view! { <p class="p-6 text-slate-500">"Loading…"</p> }>
                    {move || chat_data.get().map(|result| match result {
                        Ok((conversations, open, library, voice)) => view! { <Chat conversations open library voice /> }.into_any(),
                        Err(_) => view! {
                            <p role="alert" class="p-6 text-rose-700">"Your conversations could not be loaded. Reload the page."</p>
                        }.into_any(),
                    })}
                </Suspense>
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

#[component]
fn PastDueBanner(plan: String) -> impl IntoView {
    view! {
        <section
            role="alert"
            data-testid="past-due-banner"
            class="rounded-lg bg-amber-50 px-4 py-3 text-sm text-amber-900 ring-1 ring-amber-200"
        >
            {format!("Your last payment failed. Stripe will retry; update your card to keep your {plan} plan. ")}
            <a href="/billing" rel="external" class="font-semibold underline">"Go to billing"</a>
        </section>
    }
}
