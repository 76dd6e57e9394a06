//! The page for any path no route claims; answers with status 404.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }

    view! {
        <Title text="Not found" />
        <main id="main" class="mx-auto max-w-xl px-6 py-24 text-center">
            <h1 class="text-3xl font-semibold">"Page not found"</h1>
            <p class="mt-4 text-slate-600">"There is nothing at this address."</p>
            <a class="mt-8 inline-block text-indigo-700 underline" href="/">"Back to Jarvis"</a>
        </main>
    }
}
