//! The wasm's panic hook. Every panic is written to the console; a lazy route's chunk that could
//! not be fetched also loads the page again. Leptos's lazy-route loader panics when a chunk
//! cannot be fetched (a deploy took the open page's chunks off the server, or the connection
//! dropped just then), and a panic stops the wasm: the page would no longer answer. Loaded again,
//! it comes from the server's current build, hydrated — at most once in
//! [`RELOAD_AT_MOST_EVERY_MS`], so a chunk that never loads cannot make the page reload forever
//! (it then stays as the server rendered it, which works without JavaScript).

/// What the chunk loader panics with (`wasm_split`'s `ensure_loaded(..).expect(..)`).
const CHUNK_LOAD_PANIC: &str = "load callback should succeed";

/// The session-storage key holding when the page was last loaded again for a chunk.
const RELOADED_AT: &str = "jarvis-reloaded-for-a-chunk";

/// The shortest time between two such loads, in milliseconds.
const RELOAD_AT_MOST_EVERY_MS: f64 = 30_000.0;

/// The hook: the console, then a new load of the page if a chunk could not be fetched.
pub fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    console_error_panic_hook::hook(info);
    if info.to_string().contains(CHUNK_LOAD_PANIC) {
        reload_unless_just_done();
    }
}

fn reload_unless_just_done() {
    let Some(window) = web_sys::window() else { return };
    // Without a storage to remember the last load in (blocked, or full), no load at all: the
    // guard against reloading forever would not hold.
    let Some(storage) = window.session_storage().ok().flatten() else { return };
    let now = js_sys::Date::now();
    let last = storage.get_item(RELOADED_AT).ok().flatten().and_then(|at| at.parse::<f64>().ok());
    if last.is_some_and(|last| now - last < RELOAD_AT_MOST_EVERY_MS) {
        return;
    }
    if storage.set_item(RELOADED_AT, &now.to_string()).is_err() {
        return;
    }
    let _ = window.location().reload();
}
