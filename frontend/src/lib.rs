//! The browser entry point: cargo-leptos compiles this crate to wasm32 and calls [`hydrate`] from
//! the page's hydration script, which attaches the app to the server-rendered HTML.

// Leptos views are deeply nested types; the optimised build needs more room to lay them out.
#![recursion_limit = "256"]

mod chunk_panic;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(chunk_panic::on_panic));
    // Lazy routes (`jarvis_app::pages::lazy`): the page's chunk is loaded before its HTML is
    // hydrated (with `hydrate_body` a lazy route on the first page would panic).
    leptos::mount::hydrate_lazy(jarvis_app::App);
}
