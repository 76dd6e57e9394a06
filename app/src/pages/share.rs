//! `/share/{token}`: a shared conversation, read-only, for anyone with the link (no account, no
//! session). It shows the snapshot taken when the conversation was shared, rendered completely on
//! the server (it needs no JavaScript), and asks search engines not to index it (a `robots` meta
//! tag and an `X-Robots-Tag` header). A revoked or unknown link is the ordinary "page not found".

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

use super::not_found::NotFound;
use crate::components::chat::tool_cards::{Progress, tool_label};
use crate::shares::{SharedConversation, SharedMessage, read_shared};

#[component]
pub fn SharePage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            http::header::HeaderName::from_static("x-robots-tag"),
            http::HeaderValue::from_static("noindex"),
        );
    }
    let params = use_params_map();
    let snapshot = Resource::new(move || params.read().get("token").unwrap_or_default(), read_shared);
    view! {
        <Meta name="robots" content="noindex" />
        // The token is in the address: no link on the page sends it anywhere.
        <Meta name="referrer" content="no-referrer" />
        <Suspense fallback=|| view! { <p class="px-4 py-8">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match snapshot.await {
                    Ok(Some(conversation)) => view! { <Shared conversation /> }.into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! {
                        <main id="main" class="mx-auto max-w-xl px-6 py-24">
                            <p role="alert" class="text-rose-700">{error.to_string()}</p>
                        </main>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Shared(conversation: SharedConversation) -> impl IntoView {
    let date: String = conversation.shared_at.chars().take(10).collect();
    view! {
        <Title text=conversation.title.clone() />
        <div class="min-h-full">
            <header class="flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3">
                <a href="/" class="font-semibold text-indigo-700">"Jarvis"</a>
                <span class="text-sm text-slate-600">"Shared conversation · read-only"</span>
            </header>
            <main id="main" class="mx-auto max-w-3xl space-y-4 px-4 py-6">
                <h1 class="text-2xl font-semibold wrap-anywhere">{conversation.title}</h1>
                <p class="text-sm text-slate-600">
                    {format!("A snapshot shared on {date}. Messages written after it are not shown.")}
                </p>
                <div class="flex flex-col gap-4">
                    {conversation.messages.into_iter().map(|message| view! { <Message message /> }).collect_view()}
                </div>
            </main>
        </div>
    }
}

/// One message, under a heading that says who wrote it ("User" or "Jarvis"), beside the bubble
/// rather than in it, so the bubble holds only what was written.
#[component]
fn Message(message: SharedMessage) -> impl IntoView {
    if message.role == "user" {
        return view! {
            <section class="ml-auto flex max-w-[85%] flex-col items-end gap-1">
                <h2 class="px-1 text-xs font-semibold text-slate-600">"User"</h2>
                <article data-role="user" class="max-w-full rounded-2xl bg-indigo-600 px-4 py-2 text-white whitespace-pre-wrap wrap-anywhere">
                    <p>{message.text}</p>
                </article>
            </section>
        }
        .into_any();
    }
    // What the reply did, in the words the app uses ("Saved a document"), not the tools' names.
    let tools = (!message.tools.is_empty()).then(|| {
        let done: Vec<String> = message.tools.iter().map(|name| tool_label(name, Progress::Done)).collect();
        view! { <p class="mb-2 text-sm text-slate-600">{done.join(" · ")}</p> }
    });
    view! {
        <section class="flex max-w-[95%] flex-col gap-1">
            <h2 class="px-1 text-xs font-semibold text-slate-600">"Jarvis"</h2>
            <article data-role="assistant" class="min-w-0 rounded-2xl bg-white px-4 py-3 ring-1 ring-slate-200">
                {tools}
                <div class="markdown space-y-2 break-words wrap-anywhere" inner_html=message.html></div>
                {message.partial.then(|| view! { <p class="mt-2 text-sm text-slate-600">"Stopped before the end."</p> })}
            </article>
        </section>
    }
    .into_any()
}
