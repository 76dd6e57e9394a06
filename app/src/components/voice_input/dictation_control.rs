//! The reactive half of dictation: the [`Dictation`] machine in a signal, the microphone's level
//! and the clock for the meter and the elapsed time, and (in the browser) the effects carried out:
//! the microphone opened, recorded, released, and the recording uploaded.

use leptos::prelude::*;

use super::dictation::{Dictation, DictationEffect};

/// One composer's dictation. `Copy`: signals only.
#[derive(Clone, Copy)]
pub struct DictationControl {
    pub machine: RwSignal<Dictation>,
    /// The microphone's level (RMS) while recording.
    pub level: RwSignal<f32>,
    /// The page's clock while recording, for the elapsed time.
    pub now: RwSignal<u64>,
    on_transcript: Callback<String>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    live: Live,
}

#[cfg(feature = "hydrate")]
type Live = StoredValue<LiveDictation, LocalStorage>;
#[cfg(not(feature = "hydrate"))]
type Live = StoredValue<()>;

/// What a dictation holds in the browser while it runs.
#[cfg(feature = "hydrate")]
#[derive(Default)]
pub struct LiveDictation {
    microphone: Option<std::rc::Rc<super::browser::Microphone>>,
    recording: Option<super::browser::Recording>,
    recorded: Option<super::browser::Recorded>,
    ticker: Option<gloo_timers::callback::Interval>,
}

impl DictationControl {
    /// A dictation whose transcripts go to `on_transcript`.
    pub fn new(on_transcript: Callback<String>) -> Self {
        #[cfg(feature = "hydrate")]
        let live = StoredValue::new_local(LiveDictation::default());
        #[cfg(not(feature = "hydrate"))]
        let live = StoredValue::new(());
        let control = Self {
            machine: RwSignal::new(Dictation::default()),
            level: RwSignal::new(0.0),
            now: RwSignal::new(0),
            on_transcript,
            live,
        };
        on_cleanup(move || control.free());
        control
    }

    /// The button or Space went down.
    pub fn press(self) {
        self.run(|machine| machine.press(now_ms()));
    }

    /// The button or Space came up.
    pub fn release(self) {
        self.run(|machine| machine.release(now_ms()));
    }

    /// The button activated from the keyboard.
    pub fn toggle(self) {
        self.run(|machine| machine.toggle(now_ms()));
    }

    pub fn cancel(self) {
        self.run(Dictation::cancel);
    }

    pub fn dismiss(self) {
        if self.machine.with_untracked(|machine| machine.error().is_some()) {
            self.machine.update(Dictation::dismiss);
        }
    }

    /// Runs one step of the machine, then carries out what it answered.
    fn run(self, step: impl FnOnce(&mut Dictation) -> Vec<DictationEffect>) {
        let effects = self.machine.try_update(step).unwrap_or_default();
        for effect in effects {
            self.perform(effect);
        }
    }

    /// Frees whatever the browser holds: recorder, microphone, ticker.
    fn free(self) {
        #[cfg(feature = "hydrate")]
        self.live.try_update_value(|live| {
            live.ticker = None;
            if let Some(recording) = live.recording.take() {
                recording.discard();
            }
            if let Some(microphone) = live.microphone.take() {
                microphone.close();
            }
        });
    }

    #[cfg(not(feature = "hydrate"))]
    fn perform(self, effect: DictationEffect) {
        if let DictationEffect::Insert(text) = effect {
            self.on_transcript.run(text);
        }
    }

    #[cfg(feature = "hydrate")]
    fn perform(self, effect: DictationEffect) {
        use super::browser::{Microphone, Recording, transcribe};
        use leptos::task::spawn_local;

        match effect {
            DictationEffect::OpenMicrophone => spawn_local(async move {
                match Microphone::open().await {
                    Ok(microphone) => {
                        let kept = self
                            .live
                            .try_update_value(|live| live.microphone = Some(std::rc::Rc::new(microphone)));
                        if kept.is_some() {
                            self.run(|machine| machine.microphone_opened(now_ms()));
                        }
                    }
                    Err(error) => {
                        let _ = self.machine.try_update(|machine| machine.microphone_failed(error));
                    }
                }
            }),
            DictationEffect::StartRecorder => {
                let microphone = self.live.with_value(|live| live.microphone.clone());
                let Some(microphone) = microphone else { return };
                match Recording::start(&microphone) {
                    Ok(recording) => {
                        let ticker = gloo_timers::callback::Interval::new(50, move || {
                            let level = microphone.level();
                            let now = now_ms();
                            self.level.set(level);
                            self.now.set(now);
                            self.run(|machine| machine.level(level, now));
                        });
                        self.live.update_value(|live| {
                            live.recording = Some(recording);
                            live.ticker = Some(ticker);
                        });
                    }
                    Err(error) => {
                        self.free();
                        self.machine.update(|machine| machine.microphone_failed(error));
                    }
                }
            }
            DictationEffect::StopRecorder => {
                let recording = self.live.try_update_value(|live| {
                    live.ticker = None;
                    live.recording.take()
                });
                self.level.set(0.0);
                let Some(recording) = recording.flatten() else {
                    self.run(|machine| machine.recorded(0, 0));
                    return;
                };
                spawn_local(async move {
                    let recorded = recording.finish().await;
                    let (bytes, duration_ms) =
                        recorded.as_ref().map_or((0, 0), |r| (r.bytes(), r.duration_ms));
                    let kept = self.live.try_update_value(|live| {
                        if let Some(microphone) = live.microphone.take() {
                            microphone.close();
                        }
                        live.recorded = recorded;
                    });
                    if kept.is_some() {
                        self.run(|machine| machine.recorded(bytes, duration_ms));
                    }
                });
            }
            DictationEffect::Discard => {
                self.free();
                self.level.set(0.0);
            }
            DictationEffect::Upload => {
                let Some(recorded) = self.live.try_update_value(|live| live.recorded.take()).flatten() else {
                    return;
                };
                spawn_local(async move {
                    let answer = transcribe(&recorded).await;
                    match answer {
                        Ok(text) => self.run(|machine| machine.transcribed(&text)),
                        Err(message) => {
                            let _ = self.machine.try_update(|machine| machine.failed(message));
                        }
                    }
                });
            }
            DictationEffect::Insert(text) => self.on_transcript.run(text),
        }
    }
}

fn now_ms() -> u64 {
    #[cfg(feature = "hydrate")]
    {
        super::browser::now_ms()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0
    }
}
