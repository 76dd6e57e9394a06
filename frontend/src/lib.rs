//! The browser entry point: cargo-leptos compiles this crate to wasm32 and calls [`hydrate`] from
//! the page's hydration script, which attaches the app to the server-rendered HTML.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(jarvis_app::App);
}
