//! The composer's microphone: the "Speak" button (44 px, for a thumb), which records while held
//! or from one click to the next, Space to talk when no field has the focus, and the line above
//! the box that shows the recording (a level meter and the elapsed time), "Transcribing…", or
//! what went wrong.

use leptos::prelude::*;

use super::dictation::DictationPhase;
use super::dictation_control::DictationControl;
use super::level::{meter_fraction, to_db};

/// Whether Space pressed on an element `tag` (upper case, as the DOM names it) talks: not in a
/// field, a button or a link (where Space types or activates), not with a modifier, not a repeat.
pub fn space_talks(tag: &str, editable: bool, modified: bool, repeat: bool) -> bool {
    !editable
        && !modified
        && !repeat
        && !matches!(tag, "INPUT" | "TEXTAREA" | "SELECT" | "BUTTON" | "A" | "SUMMARY" | "AUDIO" | "VIDEO")
}

/// The microphone button. `disabled` while the hands-free conversation holds the microphone.
#[component]
pub fn SpeakButton(control: DictationControl, #[prop(into)] disabled: Signal<bool>) -> impl IntoView {
    let recording =
        Memo::new(move |_| control.machine.with(|m| matches!(m.phase(), DictationPhase::Recording { .. })));
    // Space to talk, when the focus is on nothing that takes a key. An effect, so that only the
    // browser listens.
    Effect::new(move |_| {
        let held = StoredValue::new(false);
        let down = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.code() != "Space" || disabled.get_untracked() || !talks_here(&ev) {
                return;
            }
            ev.prevent_default();
            held.set_value(true);
            control.press();
        });
        let up = window_event_listener(leptos::ev::keyup, move |ev| {
            if ev.code() == "Space" && held.get_value() {
                held.set_value(false);
                ev.prevent_default();
                control.release();
            }
        });
        on_cleanup(move || {
            down.remove();
            up.remove();
        });
    });
    view! {
        <button
            type="button"
            aria-label="Speak"
            aria-pressed=move || recording.get().to_string()
            title="Speak: click to start and again to stop, or hold while you speak (Space when the box is not focused)"
            data-testid="speak-button"
            class=move || format!(
                "flex h-11 w-11 shrink-0 touch-none select-none items-center justify-center rounded-full text-xl ring-1 disabled:opacity-40 {}",
                if recording.get() { "bg-rose-600 text-white ring-rose-700 animate-pulse" } else { "bg-white text-slate-700 ring-slate-300 hover:bg-slate-50" },
            )
            disabled=move || disabled.get()
            on:pointerdown=move |ev| {
                if ev.button() == 0 {
                    control.press();
                }
            }
            on:pointerup=move |_| control.release()
            on:pointercancel=move |_| control.release()
            on:pointerleave=move |_| control.release()
            // A click from the keyboard (Enter, or Space on the button) has no pointer: a toggle.
            on:click=move |ev| {
                if ev.detail() == 0 {
                    control.toggle();
                }
            }
            on:contextmenu=|ev| ev.prevent_default()
        >
            <span aria-hidden="true">"🎤"</span>
        </button>
    }
    .into_any()
}

/// Whether a Space key event talks, from where it was pressed.
fn talks_here(event: &leptos::ev::KeyboardEvent) -> bool {
    let modified = event.ctrl_key() || event.meta_key() || event.alt_key() || event.shift_key();
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let target = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlElement>().ok());
        let (tag, editable) = target
            .map_or((String::new(), false), |element| (element.tag_name(), element.is_content_editable()));
        space_talks(&tag, editable, modified, event.repeat())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        space_talks("", false, modified, event.repeat())
    }
}

/// The line above the box while dictating: the level meter and elapsed time, "Transcribing…",
/// or the sentence saying what went wrong.
#[component]
pub fn DictationStatus(control: DictationControl) -> impl IntoView {
    let status = move || control.machine.with(|m| m.status(control.now.get()));
    let recording = move || control.machine.with(|m| matches!(m.phase(), DictationPhase::Recording { .. }));
    let error = Memo::new(move |_| control.machine.with(|m| m.error().map(str::to_owned)));
    let showing = move || control.machine.with(|m| m.phase() != DictationPhase::Idle || m.error().is_some());
    view! {
        <div
            class=move || format!("flex flex-wrap items-center gap-3 text-sm {}", if showing() { "mb-2" } else { "" })
            data-testid="dictation"
        >
            <span role="status" class="text-slate-700 empty:hidden" data-testid="dictation-status">{status}</span>
            <Show when=recording>
                <meter
                    class="h-2 w-24"
                    aria-label="Microphone level"
                    min="0"
                    max="1"
                    low="0.25"
                    high="0.85"
                    optimum="0.5"
                    value=move || format!("{:.2}", meter_fraction(to_db(control.level.get())))
                ></meter>
            </Show>
            {move || error.get().map(|error| view! {
                <p role="alert" class="w-full rounded-md bg-rose-50 px-3 py-2 text-rose-800 ring-1 ring-rose-200" data-testid="dictation-error">
                    {error}
                </p>
            })}
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::space_talks;

    #[test]
    fn space_talks_only_where_it_does_not_type_or_press_something() {
        assert!(space_talks("BODY", false, false, false));
        assert!(space_talks("DIV", false, false, false));
        for tag in ["TEXTAREA", "INPUT", "SELECT", "BUTTON", "A"] {
            assert!(!space_talks(tag, false, false, false), "{tag}");
        }
        assert!(!space_talks("DIV", true, false, false), "an editable element types the space");
        assert!(!space_talks("BODY", false, true, false), "Shift+Space scrolls up");
        assert!(!space_talks("BODY", false, false, true), "a held key's repeats do not press again");
    }
}
