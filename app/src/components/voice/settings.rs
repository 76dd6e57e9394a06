//! The voice settings, stored per user: whether replies are spoken, the voice, the speaking
//! rate and autoplay; the chat header's button that shows them, and the panel and form under it.
//! Esc or "Close" hides the panel and gives the focus back to the button. The panel is a lazy
//! view: in a split build its code is a wasm chunk of its own, fetched when it first opens.

use jarvis_types::voice::{MAX_SPEED, MIN_SPEED, VoiceOptions, VoiceSettings};
use leptos::prelude::*;

use super::context::VoiceState;
use crate::components::lazy_view::{ChunkUnavailable, lazy_view, load};
use crate::voice::{load_voice_options, save_voice_settings};

/// The id of the button that shows the settings: the focus goes back to it when they close.
const BUTTON_ID: &str = "voice-settings-button";

/// Hides the settings and gives the focus back to the button that showed them.
fn close(open: RwSignal<bool>) {
    open.set(false);
    crate::browser::focus(BUTTON_ID);
}

/// Esc hides the open settings.
fn close_on_escape(open: RwSignal<bool>, event: &leptos::ev::KeyboardEvent) {
    if event.key() == "Escape" && open.get_untracked() {
        event.prevent_default();
        close(open);
    }
}

/// The chat header's button that shows or hides the voice settings.
#[component]
pub fn VoiceSettingsButton(open: RwSignal<bool>) -> impl IntoView {
    view! {
        <button
            type="button"
            class=move || format!(
                "rounded-md px-2 py-1 text-sm ring-1 {}",
                if open.get() { "bg-indigo-50 text-indigo-800 ring-indigo-300" } else { "text-slate-700 ring-slate-300 hover:bg-slate-50" },
            )
            id=BUTTON_ID
            data-testid="voice-settings-button"
            aria-expanded=move || open.get().to_string()
            aria-controls="voice-settings"
            on:click=move |_| open.update(|open| *open = !*open)
            on:keydown=move |ev| close_on_escape(open, &ev)
        >
            <span aria-hidden="true">"🔊 "</span>
            "Voice"
        </button>
    }
    .into_any()
}

/// The voice settings panel, loaded when it first opens (`components::lazy_view`).
#[component]
pub fn LazyVoiceSettingsPanel(open: RwSignal<bool>) -> impl IntoView {
    lazy_view(move || async move { load!(voice_settings_panel(open)) })
}

/// The panel's view (a wasm chunk of its own in a split build).
#[cfg_attr(
    all(feature = "hydrate", feature = "split"),
    leptos::wasm_split::wasm_split(voice_settings, wasm_split_path = ::leptos::wasm_split, fallible)
)]
fn voice_settings_panel(open: RwSignal<bool>) -> Result<AnyView, ChunkUnavailable> {
    Ok(view! { <VoiceSettingsPanel open /> }.into_any())
}

/// The voice settings, under the chat's header. The settings normally came with the page; if
/// they did not, they are loaded when this opens.
#[component]
fn VoiceSettingsPanel(open: RwSignal<bool>) -> impl IntoView {
    let voice = expect_context::<VoiceState>();
    let load_error = RwSignal::new(None::<String>);
    let status = RwSignal::new(None::<Result<String, String>>);
    let load = move || {
        load_error.set(None);
        leptos::task::spawn_local(async move {
            match load_voice_options().await {
                Ok(options) => voice.options.set(Some(options)),
                Err(error) => {
                    let _ = load_error.try_set(Some(error.to_string()));
                }
            }
        });
    };
    Effect::new(move |_| {
        if voice.options.with_untracked(Option::is_none) {
            load();
        }
    });
    let loaded = Memo::new(move |_| voice.options.with(Option::is_some));
    view! {
        <section
            id="voice-settings"
            aria-label="Voice settings"
            class="border-b border-slate-200 bg-white px-4 py-3"
            on:keydown=move |ev| close_on_escape(open, &ev)
        >
            {move || {
                if loaded.get() {
                    voice
                        .options
                        .get_untracked()
                        .map(|options| view! { <VoiceSettingsForm options open status /> }.into_any())
                } else if let Some(error) = load_error.get() {
                    Some(view! {
                        <p role="alert" class="text-sm text-rose-700">
                            {error}
                            <button type="button" class="ml-2 underline" on:click=move |_| load()>"Try again"</button>
                        </p>
                    }.into_any())
                } else {
                    Some(view! { <p class="text-sm text-slate-500">"Loading…"</p> }.into_any())
                }
            }}
        </section>
    }
    .into_any()
}

#[component]
fn VoiceSettingsForm(
    options: VoiceOptions,
    open: RwSignal<bool>,
    status: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let shared = expect_context::<VoiceState>();
    let settings = options.settings;
    let enabled = RwSignal::new(settings.enabled);
    let voice = RwSignal::new(settings.voice.clone());
    let speed = RwSignal::new(settings.speed);
    let autoplay = RwSignal::new(settings.autoplay);
    let saving = RwSignal::new(false);
    let mut voices = options.voices;
    if !settings.voice.is_empty() && !voices.contains(&settings.voice) {
        voices.insert(0, settings.voice.clone());
    }
    let no_voices = voices.is_empty();
    let engine_note = jarvis_types::voice::engine_sentence(&options.engine);
    let included = options.included;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let draft = VoiceSettings {
            enabled: enabled.get_untracked(),
            voice: voice.get_untracked(),
            speed: speed.get_untracked().clamp(MIN_SPEED, MAX_SPEED),
            autoplay: autoplay.get_untracked(),
        };
        saving.set(true);
        status.set(None);
        leptos::task::spawn_local(async move {
            let result = save_voice_settings(draft).await;
            let _ = saving.try_set(false);
            match result {
                Ok(saved) => {
                    let _ = enabled.try_set(saved.enabled);
                    let _ = voice.try_set(saved.voice.clone());
                    let _ = speed.try_set(saved.speed);
                    let _ = autoplay.try_set(saved.autoplay);
                    shared.options.update(|options| {
                        if let Some(options) = options {
                            options.settings = saved;
                        }
                    });
                    let _ = status.try_set(Some(Ok("Saved.".to_owned())));
                }
                Err(error) => {
                    let _ = status.try_set(Some(Err(error.to_string())));
                }
            }
        });
    };
    let initial_voice = settings.voice;
    view! {
        <form class="grid gap-3 sm:grid-cols-2" data-testid="voice-settings" on:submit=submit>
            <p class="text-xs text-slate-500 sm:col-span-2">{engine_note}</p>
            {(!included).then(|| view! {
                <p class="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-amber-200 sm:col-span-2" data-testid="voice-not-in-plan">
                    "Your plan does not include spoken replies: Jarvis answers in text. Your choices here are kept for when it does. "
                    <a href=jarvis_types::billing::PRICING_PATH rel="external" class="font-semibold underline">"See the plans"</a>
                </p>
            })}
            <Checkbox value=enabled test_id="voice-enabled" label="Speak replies" />
            <Checkbox value=autoplay test_id="voice-autoplay" label="Play new replies automatically" />
            <label class="flex flex-col gap-1 text-sm text-slate-800">
                "Voice"
                <select
                    class="rounded-md border border-slate-300 bg-white px-2 py-1"
                    data-testid="voice-voice"
                    disabled=no_voices
                    on:change=move |ev| voice.set(event_target_value(&ev))
                >
                    {voices
                        .into_iter()
                        .map(|name| {
                            let selected = name == initial_voice;
                            let label = jarvis_types::voice::voice_label(&name);
                            view! { <option value=name selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label class="flex flex-col gap-1 text-sm text-slate-800">
                <span>
                    "Speaking rate "
                    <output class="tabular-nums text-slate-600">{move || format!("{:.2}×", speed.get())}</output>
                </span>
                <input
                    type="range"
                    class="accent-indigo-600"
                    data-testid="voice-speed-setting"
                    min=MIN_SPEED.to_string()
                    max=MAX_SPEED.to_string()
                    step="0.05"
                    prop:value=move || speed.get().to_string()
                    on:input=move |ev| {
                        if let Ok(value) = event_target_value(&ev).parse::<f32>() {
                            speed.set(value.clamp(MIN_SPEED, MAX_SPEED));
                        }
                    }
                />
            </label>
            <div class="flex flex-wrap items-center gap-3 sm:col-span-2">
                <button
                    type="submit"
                    class="rounded-lg bg-indigo-600 px-4 py-1.5 text-sm font-semibold text-white hover:bg-indigo-500 disabled:opacity-60"
                    data-testid="voice-save"
                    disabled=move || saving.get()
                >
                    {move || if saving.get() { "Saving…" } else { "Save" }}
                </button>
                <button type="button" class="text-sm text-slate-600 hover:underline" on:click=move |_| close(open)>
                    "Close"
                </button>
                {move || status.get().map(|status| match status {
                    Ok(message) => view! { <span role="status" class="text-sm text-emerald-700">{message}</span> }.into_any(),
                    Err(message) => view! { <span role="alert" class="text-sm text-rose-700">{message}</span> }.into_any(),
                })}
            </div>
        </form>
    }
    .into_any()
}

/// A labelled checkbox bound to `value`.
#[component]
fn Checkbox(value: RwSignal<bool>, test_id: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <label class="flex items-center gap-2 text-sm text-slate-800">
            <input
                type="checkbox"
                data-testid=test_id
                prop:checked=move || value.get()
                on:change=move |ev| value.set(event_target_checked(&ev))
            />
            {label}
        </label>
    }
}
