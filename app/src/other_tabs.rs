//! The app's tabs in one browser tell each other which conversation changed, over one
//! `BroadcastChannel` per page (a channel does not hear its own messages, so a page is never told
//! of its own changes). No-ops on the server.

/// The channel's name, the same in every tab of the app.
#[cfg(feature = "hydrate")]
const CHANNEL: &str = "jarvis-conversations";

#[cfg(feature = "hydrate")]
thread_local! {
    /// This page's end of the channel, and the handler it calls (kept alive with it).
    static PAGE_END: std::cell::RefCell<Option<(web_sys::BroadcastChannel, leptos::wasm_bindgen::closure::Closure<dyn Fn(web_sys::MessageEvent)>)>> =
        const { std::cell::RefCell::new(None) };
}

/// From now on, `on_change` is called with the id of each conversation another tab changed
/// (replacing a handler set before).
pub fn listen(on_change: impl Fn(String) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        use leptos::wasm_bindgen::closure::Closure;
        let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else { return };
        let handler = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if let Some(id) = event.data().as_string() {
                on_change(id);
            }
        });
        channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        PAGE_END.with(|end| {
            if let Some((older, _)) = end.replace(Some((channel, handler))) {
                older.close();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = on_change;
}

/// Tells the other tabs that the conversation `id` changed (nothing when this page does not
/// listen: it has no channel).
pub fn tell(id: &str) {
    #[cfg(feature = "hydrate")]
    PAGE_END.with(|end| {
        if let Some((channel, _)) = end.borrow().as_ref() {
            let _ = channel.post_message(&leptos::wasm_bindgen::JsValue::from_str(id));
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}
