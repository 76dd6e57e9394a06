//! The "Theme" control: System, Light or Dark, as a radio group (in Settings) and as a small menu
//! in the app's header. Picking one shows it at once and remembers it (see [`crate::theme`]);
//! without JavaScript the group is a form with a "Save theme" button.

use leptos::prelude::*;

use crate::theme::{SaveTheme, ThemeChoice, ThemeState};

/// The "Save theme" button, shown only without JavaScript (with it, a choice applies at once).
/// Inner HTML, so that hydration, which sees a `<noscript>`'s content as text, has nothing to walk.
const SAVE_WITHOUT_JAVASCRIPT: &str = r#"<button type="submit" class="mt-2 rounded-md px-3 py-1.5 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-100">Save theme</button>"#;

/// A radio group labelled "Theme". `id` keeps the inputs of two groups on one page apart.
#[component]
pub fn ThemeControl(#[prop(into)] id: String, #[prop(optional)] compact: bool) -> impl IntoView {
    let state = expect_context::<ThemeState>();
    let save = ServerAction::<SaveTheme>::new();
    let legend_class = if compact { "sr-only" } else { "text-lg font-semibold" };
    let legend_id = format!("{id}-legend");
    let labelled_by = legend_id.clone();
    let group_class = if compact { "flex flex-col gap-1" } else { "mt-2 flex flex-wrap gap-2" };
    view! {
        <ActionForm action=save>
            <fieldset role="radiogroup" aria-labelledby=labelled_by>
                <legend id=legend_id class=legend_class>"Theme"</legend>
                <Suspense fallback=|| ()>
                    {move || {
                        let id = id.clone();
                        Suspend::new(async move {
                            let shown = state.resolved().await;
                            view! {
                                <div class=group_class>
                                    {ThemeChoice::ALL.into_iter().map(|choice| {
                                        let input_id = format!("{id}-{}", choice.name());
                                        let label_for = input_id.clone();
                                        view! {
                                            <label
                                                for=label_for
                                                class="flex cursor-pointer items-center gap-2 rounded-md px-3 py-1.5 text-sm text-slate-800 ring-1 ring-slate-300 hover:bg-slate-100 has-[:checked]:bg-indigo-50 has-[:checked]:text-indigo-800 has-[:checked]:ring-indigo-600 pointer-coarse:min-h-11"
                                            >
                                                <input
                                                    id=input_id
                                                    type="radio"
                                                    name="theme"
                                                    value=choice.name()
                                                    class="accent-indigo-600"
                                                    checked={shown == choice}
                                                    prop:checked=move || state.current() == Some(choice)
                                                    on:change=move |_| {
                                                        state.pick(choice);
                                                        save.dispatch(SaveTheme { theme: choice.name().to_owned() });
                                                    }
                                                />
                                                {choice.label()}
                                            </label>
                                        }
                                    }).collect_view()}
                                </div>
                            }
                        })
                    }}
                </Suspense>
                <noscript inner_html=SAVE_WITHOUT_JAVASCRIPT></noscript>
                {move || save.value().get().and_then(Result::err).map(|error| view! {
                    <p role="alert" class="mt-2 text-sm text-rose-700">{error.to_string()}</p>
                })}
            </fieldset>
        </ActionForm>
    }
}

/// The header's menu: a button named "Theme" that opens the [`ThemeControl`]. It closes as a menu
/// does: on Esc (the focus back on its button), on a click anywhere else, and when the focus
/// leaves it.
#[component]
pub fn ThemeMenu() -> impl IntoView {
    let menu = NodeRef::<leptos::html::Details>::new();
    let summary = NodeRef::<leptos::html::Summary>::new();
    // An effect, so that only the browser listens.
    Effect::new(move |_| {
        let listener = window_event_listener(leptos::ev::click, move |ev| {
            if let Some(details) = menu.get_untracked()
                && details.open()
                && !crate::browser::holds(&details, ev.target())
            {
                details.set_open(false);
            }
        });
        on_cleanup(move || listener.remove());
    });
    view! {
        <details
            node_ref=menu
            class="theme-menu relative"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape"
                    && let Some(details) = menu.get_untracked()
                    && details.open()
                {
                    ev.prevent_default();
                    details.set_open(false);
                    if let Some(summary) = summary.get_untracked() {
                        let _ = summary.focus();
                    }
                }
            }
            on:focusout=move |ev: leptos::ev::FocusEvent| {
                if let Some(details) = menu.get_untracked()
                    && ev.related_target().is_some()
                    && !crate::browser::holds(&details, ev.related_target())
                {
                    details.set_open(false);
                }
            }
        >
            <summary
                node_ref=summary
                aria-label="Theme"
                title="Theme"
                role="button"
                class="flex min-h-8 min-w-8 cursor-pointer list-none items-center justify-center rounded-md text-slate-700 ring-1 ring-slate-300 hover:bg-slate-100 pointer-coarse:min-h-11 pointer-coarse:min-w-11 [&::-webkit-details-marker]:hidden"
            >
                <span aria-hidden="true">"◐"</span>
            </summary>
            <div class="absolute right-0 z-30 mt-2 w-40 rounded-lg bg-white p-2 shadow-lg ring-1 ring-slate-200">
                <ThemeControl id="theme-menu" compact=true />
            </div>
        </details>
    }
}
