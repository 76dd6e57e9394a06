//! The browser entry point: cargo-leptos compiles this crate to wasm32 and calls [`hydrate`] from
//! the page's hydration script, which attaches the app to the server-rendered HTML.

// Leptos views are deeply nested types; the optimised build needs more room to lay them out.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(jarvis_app::App);
}
