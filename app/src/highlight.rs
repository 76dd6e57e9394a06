//! Code highlighting. The server and the browser render a code block the same way — its source,
//! escaped, in `<pre><code class="language-…">` — so hydration sees identical HTML. Colour is
//! added afterwards, in the browser only, by highlight.js (a maintained highlighter with real
//! grammars: lifetimes, block comments, escapes, per-language comment syntax), which is vendored
//! as `public/highlight/` and loaded only once a page shows a code block with a language.
//!
//! highlight.js builds its output from the block's text and escapes it, so nothing the model
//! writes becomes markup; it only adds `<span class="hljs-…">` (colours in
//! `style/highlight.css`).

/// Where the vendored highlight.js (its "common" build: 36 languages) is served from. The
/// version is in the name, so it may be cached for good.
pub const SCRIPT_URL: &str = "/highlight/highlight-11.12.0.min.js";

/// The `language-…` class name for a fence's info word: letters, digits, `-` and `+` only (it is
/// also shown as the block's label), with `#` spelled out (`c#` → `csharp`).
pub fn language_class(language: &str) -> String {
    language
        .replace('#', "sharp")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '+')
        .collect()
}

/// One code block: the source escaped, with its language as a class for the browser's
/// highlighter (and the block's label).
pub fn block(language: &str, code: &str) -> String {
    let class = language_class(language);
    let code = escape(code);
    if class.is_empty() {
        format!("<pre><code>{code}</code></pre>")
    } else {
        format!(r#"<pre><code class="language-{class}">{code}</code></pre>"#)
    }
}

/// The highlight.js grammar for a block's class name. Mostly the same name (highlight.js knows
/// the usual aliases); `shell` is a script to models, where highlight.js reads it as a console
/// session (prompts and output), so it is highlighted as Bash.
pub fn grammar(class: &str) -> &str {
    if class.eq_ignore_ascii_case("shell") { "bash" } else { class }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Asks for the page's code blocks to be highlighted just after the HTML being rendered now is
/// in the page (before the next paint). Loads highlight.js the first time. Cheap to call on every
/// render: passes are coalesced to one a frame, and highlighted blocks are skipped. Does nothing
/// on the server.
pub fn schedule() {
    #[cfg(feature = "hydrate")]
    browser::schedule();
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::Cell;

    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::{JsCast, JsValue};

    /// Blocks with a language that have not been highlighted yet.
    const PENDING: &str = r#"pre > code[class*="language-"]:not(.hljs)"#;

    thread_local! {
        /// A pass is due at the next animation frame.
        static PASS_DUE: Cell<bool> = const { Cell::new(false) };
        /// The script element has been added to the page.
        static SCRIPT_ADDED: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn schedule() {
        if PASS_DUE.with(|due| due.replace(true)) {
            return;
        }
        let pass = Closure::once_into_js(move || {
            PASS_DUE.with(|due| due.set(false));
            pass();
        });
        let scheduled =
            web_sys::window().and_then(|window| window.request_animation_frame(pass.unchecked_ref()).ok());
        if scheduled.is_none() {
            PASS_DUE.with(|due| due.set(false));
        }
    }

    /// Highlights every pending block, or loads highlight.js first (its `load` runs a pass).
    fn pass() {
        let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
        let Ok(blocks) = document.query_selector_all(PENDING) else { return };
        if blocks.length() == 0 {
            return;
        }
        let Some(hljs) = highlighter() else {
            load_script(&document);
            return;
        };
        for index in 0..blocks.length() {
            if let Some(code) = blocks.item(index).and_then(|node| node.dyn_into::<web_sys::Element>().ok()) {
                highlight(&hljs, &code);
            }
        }
    }

    /// `window.hljs`, once the script has run.
    fn highlighter() -> Option<JsValue> {
        let window = web_sys::window()?;
        js_sys::Reflect::get(&window, &JsValue::from_str("hljs")).ok().filter(JsValue::is_object)
    }

    fn load_script(document: &web_sys::Document) {
        if SCRIPT_ADDED.with(|added| added.replace(true)) {
            return;
        }
        let Ok(script) = document.create_element("script") else { return };
        let _ = script.set_attribute("src", super::SCRIPT_URL);
        let _ = script.set_attribute("async", "");
        let on_load = Closure::once_into_js(schedule);
        let _ = script.add_event_listener_with_callback("load", on_load.unchecked_ref());
        if let Some(head) = document.head() {
            let _ = head.append_child(&script);
        }
    }

    /// Replaces `code`'s text with highlight.js's spans for its language, and marks it done
    /// (class `hljs`) whether or not highlight.js knows the language.
    fn highlight(hljs: &JsValue, code: &web_sys::Element) {
        let _ = code.class_list().add_1("hljs");
        let class = code.get_attribute("class").unwrap_or_default();
        let Some(language) = class.split_whitespace().find_map(|name| name.strip_prefix("language-")) else {
            return;
        };
        let language = JsValue::from_str(super::grammar(language));
        if !call(hljs, "getLanguage", &[&language]).is_some_and(|grammar| grammar.is_truthy()) {
            return;
        }
        let text = JsValue::from_str(&code.text_content().unwrap_or_default());
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str("language"), &language);
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str("ignoreIllegals"), &JsValue::TRUE);
        let html = call(hljs, "highlight", &[&text, &options])
            .and_then(|result| js_sys::Reflect::get(&result, &JsValue::from_str("value")).ok())
            .and_then(|value| value.as_string());
        if let Some(html) = html {
            code.set_inner_html(&html);
        }
    }

    /// `target[method](...args)`, or `None` if it is not a function or throws.
    fn call(target: &JsValue, method: &str, args: &[&JsValue]) -> Option<JsValue> {
        let function: js_sys::Function =
            js_sys::Reflect::get(target, &JsValue::from_str(method)).ok()?.dyn_into().ok()?;
        let args: js_sys::Array = args.iter().copied().collect();
        function.apply(target, &args).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_its_source_escaped_with_no_markup_of_ours_inside() {
        let source = "fn f<'a>(x: &'a str) -> &'a str { x } // <b> & \"q\"\ni--;";
        assert_eq!(
            block("rust", source),
            "<pre><code class=\"language-rust\">fn f&lt;'a&gt;(x: &amp;'a str) -&gt; &amp;'a str { x } \
             // &lt;b&gt; &amp; \"q\"\ni--;</code></pre>"
        );
        assert_eq!(block("", "x < y"), "<pre><code>x &lt; y</code></pre>");
    }

    #[test]
    fn a_language_class_keeps_only_safe_characters() {
        assert_eq!(language_class("c++"), "c++");
        assert_eq!(language_class("C#"), "Csharp");
        assert_eq!(language_class("objective-c"), "objective-c");
        assert_eq!(language_class("\"><img src=x onerror=alert(1)>"), "imgsrcxonerroralert1");
    }

    #[test]
    fn a_shell_block_is_read_as_bash_and_other_names_pass_through() {
        assert_eq!(grammar("shell"), "bash");
        assert_eq!(grammar("Shell"), "bash");
        assert_eq!(grammar("rust"), "rust");
        assert_eq!(grammar("c++"), "c++");
    }
}
