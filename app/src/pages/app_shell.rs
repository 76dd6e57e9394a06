//! The signed-in application at `/app`. For now: its frame and the live connection to the server.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::connection::ConnectionStatus;

#[component]
pub fn AppShell() -> impl IntoView {
    view! {
        <Title text="App" />
        <div class="flex h-full flex-col">
            <header class="flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3">
                <a href="/" class="text-lg font-bold tracking-tight">"Jarvis"</a>
                <ConnectionStatus />
            </header>
            <main class="flex flex-1 items-center justify-center p-6">
                <p class="text-slate-500">"Your conversations will appear here."</p>
            </main>
        </div>
    }
}
