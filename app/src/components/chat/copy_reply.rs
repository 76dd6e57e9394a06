//! "Copy reply" under an assistant's reply: copies its text (as Markdown) and says "Copied" for
//! a moment.

use leptos::prelude::*;

/// How long "Copied" shows.
#[cfg(feature = "hydrate")]
const COPIED_FOR: std::time::Duration = std::time::Duration::from_millis(1500);

/// The button copying `text` (read when clicked).
#[component]
pub fn CopyReply(#[prop(into)] text: Signal<String>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        crate::browser::copy_to_clipboard(&text.get_untracked());
        copied.set(true);
        #[cfg(feature = "hydrate")]
        set_timeout(
            move || {
                let _ = copied.try_set(false);
            },
            COPIED_FOR,
        );
    };
    view! {
        <div class="mt-2 flex justify-end">
            <button
                type="button"
                class="min-h-8 rounded px-2 py-1 text-xs text-slate-500 hover:bg-slate-100 hover:text-slate-800"
                data-testid="copy-reply"
                on:click=copy
            >
                <span aria-live="polite">{move || if copied.get() { "Copied" } else { "Copy reply" }}</span>
            </button>
        </div>
    }
    .into_any()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use leptos::prelude::*;
    use leptos::tachys::view::RenderHtml;

    use super::CopyReply;

    #[test]
    fn the_button_is_named_copy_reply() {
        let html =
            Owner::new().with(|| view! { <CopyReply text=Signal::stored("Hi".to_owned()) /> }.to_html());
        assert!(html.contains(r#"data-testid="copy-reply""#), "{html}");
        assert!(html.contains("Copy reply"), "{html}");
        assert!(!html.contains("Copied"), "{html}");
    }
}
