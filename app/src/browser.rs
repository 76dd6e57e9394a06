//! The few browser calls the components make outside Leptos (dialogs, the address bar and its
//! history, the location, randomness, the clipboard, the focus, text typed before hydration,
//! this browser's and this tab's storage), in one place. Each is a no-op (or a refusal) on the
//! server, so a component may call it from code that also renders there.

/// The browser's prompt dialog; `None` when cancelled or left blank.
pub fn prompt(message: &str, default: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window()
            .prompt_with_message_and_default(message, default)
            .ok()
            .flatten()
            .filter(|s| !s.trim().is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (message, default);
        None
    }
}

/// The browser's confirm dialog; `false` when declined (and always on the server).
pub fn confirm(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window().confirm_with_message(message).unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        false
    }
}

/// Replaces the address in the address bar (no navigation, no history entry).
pub fn replace_address(url: &str) {
    set_address(url, false);
}

/// Shows `url` in the address bar as a new history entry (no navigation): Back returns to the
/// address before, and the page hears of it by a `popstate` event.
pub fn push_address(url: &str) {
    set_address(url, true);
}

fn set_address(url: &str, new_entry: bool) {
    #[cfg(feature = "hydrate")]
    if let Ok(history) = leptos::prelude::window().history() {
        let state = leptos::wasm_bindgen::JsValue::NULL;
        let _ = if new_entry {
            history.push_state_with_url(&state, "", Some(url))
        } else {
            history.replace_state_with_url(&state, "", Some(url))
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, new_entry);
}

/// The query parameter `name` of the address shown now (decoded); `None` when absent, empty, or
/// on the server.
pub fn address_param(name: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let href = leptos::prelude::window().location().href().ok()?;
        web_sys::Url::new(&href).ok()?.search_params().get(name).filter(|value| !value.is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = name;
        None
    }
}

/// Leaves the page for `url`.
pub fn navigate(url: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().location().set_href(url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// 32 random hex digits (empty on the server, which never needs one).
pub fn random_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        let part = || format!("{:08x}", (js_sys::Math::random() * f64::from(u32::MAX)) as u32);
        format!("{}{}{}{}", part(), part(), part(), part())
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// Copies `text` to the clipboard.
pub fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

/// Moves the focus to the element with id `id`, if it is in the page.
pub fn focus(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let element = leptos::prelude::document().get_element_by_id(id);
        if let Some(element) = element.and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = element.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// What is in the text box with id `id` already (typed into the server-rendered page while the
/// wasm loaded): a component controlling that box starts from it, so hydration keeps it. Empty
/// when there is no such box, and on the server.
pub fn typed_text(id: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let element = leptos::prelude::document().get_element_by_id(id);
        match element {
            Some(element) => match element.dyn_into::<web_sys::HtmlTextAreaElement>() {
                Ok(area) => area.value(),
                Err(element) => element
                    .dyn_into::<web_sys::HtmlInputElement>()
                    .map(|input| input.value())
                    .unwrap_or_default(),
            },
            None => String::new(),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        String::new()
    }
}

/// Where a value is kept: this browser (`localStorage`, every tab, until cleared) or this tab
/// (`sessionStorage`, gone when it closes).
#[derive(Clone, Copy)]
enum Keeper {
    Browser,
    Tab,
}

/// The storage of `keeper`; `None` when refused (private mode, blocked) or on the server.
#[cfg(feature = "hydrate")]
fn storage(keeper: Keeper) -> Option<web_sys::Storage> {
    let window = leptos::prelude::window();
    match keeper {
        Keeper::Browser => window.local_storage(),
        Keeper::Tab => window.session_storage(),
    }
    .ok()
    .flatten()
}

fn read(keeper: Keeper, key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        storage(keeper)?.get_item(key).ok().flatten()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (keeper, key);
        None
    }
}

/// Keeps `value` under `key`; an empty value removes it. Nothing when refused.
fn write(keeper: Keeper, key: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = storage(keeper) {
        let _ = if value.is_empty() { storage.remove_item(key) } else { storage.set_item(key, value) };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (keeper, key, value);
}

/// The value this browser keeps under `key` (`localStorage`); `None` when absent, refused
/// (private mode) or on the server.
pub fn stored(key: &str) -> Option<String> {
    read(Keeper::Browser, key)
}

/// Keeps `value` under `key` in this browser (`localStorage`); nothing when refused.
pub fn store(key: &str, value: &str) {
    write(Keeper::Browser, key, value);
}

/// The value this tab keeps under `key` (`sessionStorage`: this tab only, gone when it closes);
/// `None` when absent, refused or on the server.
pub fn tab_stored(key: &str) -> Option<String> {
    read(Keeper::Tab, key)
}

/// Keeps `value` under `key` in this tab (`sessionStorage`); an empty value removes it.
pub fn tab_store(key: &str, value: &str) {
    write(Keeper::Tab, key, value);
}

/// Whether `target` (an event's) is `element` or inside it: a click or a focus that stays in a
/// menu, or leaves it.
pub fn holds(element: &leptos::web_sys::Node, target: Option<leptos::web_sys::EventTarget>) -> bool {
    use leptos::wasm_bindgen::JsCast;
    target
        .and_then(|target| target.dyn_into::<leptos::web_sys::Node>().ok())
        .is_some_and(|node| element.contains(Some(&node)))
}
