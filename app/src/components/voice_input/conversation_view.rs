//! The hands-free conversation on screen: the chat header's "Conversation" toggle, and under the
//! header, while it is on, its state in words ("Listening", "Hearing you", "Thinking",
//! "Speaking"), the microphone's level and the silence that ends an utterance. Esc leaves it.

use leptos::prelude::*;

use super::conversation::Conversation;
use super::hands_free::HandsFreePhase;
use super::level::{meter_fraction, to_db};
use super::vad::SILENCE_CHOICES;

/// The header's toggle (`aria-pressed`).
#[component]
pub fn ConversationToggle() -> impl IntoView {
    let conversation = expect_context::<Conversation>();
    let on = Memo::new(move |_| conversation.is_on());
    // Esc anywhere leaves the conversation. An effect, so that only the browser listens.
    Effect::new(move |_| {
        let listener = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.key() == "Escape" && conversation.machine.with_untracked(|m| m.is_on()) {
                conversation.leave();
            }
        });
        on_cleanup(move || listener.remove());
    });
    view! {
        <button
            type="button"
            aria-pressed=move || on.get().to_string()
            title="Talk with Jarvis hands-free: it listens, answers aloud, then listens again (Esc leaves)"
            data-testid="conversation-toggle"
            class=move || format!(
                "min-h-[2.75rem] rounded-md px-2 py-1 text-sm ring-1 sm:min-h-0 {}",
                if on.get() { "bg-indigo-600 text-white ring-indigo-700" } else { "text-slate-700 ring-slate-300 hover:bg-slate-50" },
            )
            on:click=move |_| conversation.toggle()
        >
            <span aria-hidden="true">"🎙 "</span>
            "Conversation"
        </button>
    }
    .into_any()
}

/// The conversation's state, under the header while it is on (and its last error after).
#[component]
pub fn ConversationStatus() -> impl IntoView {
    let conversation = expect_context::<Conversation>();
    let phase = Memo::new(move |_| conversation.machine.with(|m| m.phase()));
    let error = Memo::new(move |_| conversation.machine.with(|m| m.error().map(str::to_owned)));
    let on = move || phase.get() != HandsFreePhase::Off;
    let dot = move || match phase.get() {
        HandsFreePhase::Hearing => "bg-rose-500",
        HandsFreePhase::Speaking => "bg-indigo-500",
        HandsFreePhase::Thinking => "bg-amber-500",
        _ => "bg-emerald-500",
    };
    view! {
        <Show when=on>
            <div
                class="flex flex-wrap items-center gap-3 border-b border-slate-200 bg-indigo-50 px-4 py-2 text-sm text-indigo-950"
                data-testid="conversation-bar"
            >
                <span class=move || format!("h-2.5 w-2.5 rounded-full {}", dot()) aria-hidden="true"></span>
                <span role="status" class="font-semibold" data-testid="conversation-state">{move || phase.get().label()}</span>
                <meter
                    class="h-2 w-24"
                    aria-label="Microphone level"
                    min="0"
                    max="1"
                    value=move || format!("{:.2}", meter_fraction(to_db(conversation.level.get())))
                ></meter>
                <label class="ml-auto flex items-center gap-1 text-xs text-slate-700">
                    "Send after a pause of"
                    <select
                        class="rounded border border-slate-300 bg-white px-1 py-0.5"
                        data-testid="conversation-silence"
                        prop:value=move || conversation.silence_ms().to_string()
                        on:change=move |ev| {
                            if let Ok(ms) = event_target_value(&ev).parse::<u64>() {
                                conversation.set_silence(ms);
                            }
                        }
                    >
                        {SILENCE_CHOICES
                            .iter()
                            .map(|(ms, label)| view! { <option value=ms.to_string()>{*label}</option> })
                            .collect_view()}
                    </select>
                </label>
                <span class="w-full text-xs text-slate-600">"Speak to Jarvis; speak over it to interrupt. Esc leaves."</span>
            </div>
        </Show>
        {move || error.get().map(|error| view! {
            <p role="alert" class="border-b border-rose-200 bg-rose-50 px-4 py-2 text-sm text-rose-800" data-testid="conversation-error">
                {error}
            </p>
        })}
    }
    .into_any()
}
