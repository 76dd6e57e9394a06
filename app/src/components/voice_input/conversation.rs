//! The reactive half of the hands-free conversation: the [`HandsFree`] machine in a signal, fed
//! every 50 ms with the microphone's level, whether a reply plays and whether the chat is busy;
//! and (in the browser) its effects carried out on the microphone, the chat (send, stop) and the
//! page's spoken replies. Provided as context by the chat, for the header's toggle and the
//! composer (whose microphone waits while the conversation holds it).

use leptos::prelude::*;

use super::hands_free::{HandsFree, HandsFreeEffect, Sample};
use super::vad::parse_silence;
use crate::components::chat::ChatContext;

/// Where the browser keeps the chosen silence.
const SILENCE_KEY: &str = "jarvis.conversation.silence_ms";

/// The page's hands-free conversation. `Copy`: signals only.
#[derive(Clone, Copy)]
pub struct Conversation {
    pub machine: RwSignal<HandsFree>,
    /// The microphone's level (RMS), for the meter.
    pub level: RwSignal<f32>,
    chat: ChatContext,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    live: Live,
}

#[cfg(feature = "hydrate")]
type Live = StoredValue<LiveConversation, LocalStorage>;
#[cfg(not(feature = "hydrate"))]
type Live = StoredValue<()>;

/// What the conversation holds in the browser while it is on.
#[cfg(feature = "hydrate")]
#[derive(Default)]
pub struct LiveConversation {
    microphone: Option<std::rc::Rc<super::browser::Microphone>>,
    recording: Option<super::browser::Recording>,
    ticker: Option<gloo_timers::callback::Interval>,
}

impl Conversation {
    pub fn new(chat: ChatContext) -> Self {
        #[cfg(feature = "hydrate")]
        let live = StoredValue::new_local(LiveConversation::default());
        #[cfg(not(feature = "hydrate"))]
        let live = StoredValue::new(());
        let conversation =
            Self { machine: RwSignal::new(HandsFree::default()), level: RwSignal::new(0.0), chat, live };
        on_cleanup(move || conversation.release());
        conversation
    }

    pub fn is_on(self) -> bool {
        self.machine.with(HandsFree::is_on)
    }

    /// The toggle: on (listening starts) or off.
    pub fn toggle(self) {
        if self.machine.with_untracked(HandsFree::is_on) {
            self.run(HandsFree::stop);
        } else {
            // The silence chosen in this browser, read when it starts (not on the server).
            let silence = parse_silence(crate::browser::stored(SILENCE_KEY).as_deref());
            self.machine.update(|machine| machine.set_silence(silence));
            self.run(HandsFree::start);
        }
        self.chat.voice.speak_every_reply.set(self.machine.with_untracked(HandsFree::is_on));
    }

    /// Esc: leaves the conversation (a reply keeps going; Stop stops it).
    pub fn leave(self) {
        if self.machine.with_untracked(HandsFree::is_on) {
            self.toggle();
        }
    }

    /// The silence that ends an utterance, chosen by the user and kept in this browser.
    pub fn silence_ms(self) -> u64 {
        self.machine.with(|machine| machine.settings().silence_ms)
    }

    pub fn set_silence(self, silence_ms: u64) {
        crate::browser::store(SILENCE_KEY, &silence_ms.to_string());
        self.machine.update(|machine| machine.set_silence(silence_ms));
    }

    /// Runs one step of the machine, then carries out what it answered.
    fn run(self, step: impl FnOnce(&mut HandsFree) -> Vec<HandsFreeEffect>) {
        let effects = self.machine.try_update(step).unwrap_or_default();
        for effect in effects {
            self.perform(effect);
        }
    }

    /// Releases the microphone and stops listening.
    fn release(self) {
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

    /// One look at the page: what the machine is fed every 50 ms.
    #[cfg(feature = "hydrate")]
    fn sample(self, level: f32) -> Sample {
        let busy = self.chat.state.with_untracked(|state| state.active.is_some() || state.thinking());
        Sample { now_ms: super::browser::now_ms(), level, playing: super::browser::reply_playing(), busy }
    }

    #[cfg(not(feature = "hydrate"))]
    fn perform(self, effect: HandsFreeEffect) {
        let _ = (effect, Sample { now_ms: 0, level: 0.0, playing: false, busy: false });
    }

    #[cfg(feature = "hydrate")]
    fn perform(self, effect: HandsFreeEffect) {
        use super::browser::{Microphone, Recording, pause_replies, transcribe};
        use leptos::task::spawn_local;

        match effect {
            HandsFreeEffect::OpenMicrophone => spawn_local(async move {
                match Microphone::open().await {
                    Ok(microphone) => {
                        let microphone = std::rc::Rc::new(microphone);
                        let sampled = std::rc::Rc::clone(&microphone);
                        let ticker = gloo_timers::callback::Interval::new(50, move || {
                            let level = sampled.level();
                            self.level.set(level);
                            let sample = self.sample(level);
                            self.run(|machine| machine.sample(sample));
                        });
                        let kept = self.live.try_update_value(|live| {
                            live.microphone = Some(microphone);
                            live.ticker = Some(ticker);
                        });
                        if kept.is_some() {
                            self.run(HandsFree::microphone_opened);
                        }
                    }
                    Err(error) => {
                        let _ = self.machine.try_update(|machine| machine.microphone_failed(error));
                        let _ = self.chat.voice.speak_every_reply.try_set(false);
                    }
                }
            }),
            HandsFreeEffect::ReleaseMicrophone => {
                self.release();
                self.level.set(0.0);
            }
            HandsFreeEffect::StartCapture => {
                let microphone = self.live.with_value(|live| live.microphone.clone());
                if let Some(microphone) = microphone
                    && let Ok(recording) = Recording::start(&microphone)
                {
                    self.live.update_value(|live| {
                        if let Some(previous) = live.recording.replace(recording) {
                            previous.discard();
                        }
                    });
                }
            }
            HandsFreeEffect::DiscardCapture => {
                if let Some(recording) = self.live.try_update_value(|live| live.recording.take()).flatten() {
                    recording.discard();
                }
            }
            HandsFreeEffect::Transcribe => {
                let recording = self.live.try_update_value(|live| live.recording.take()).flatten();
                spawn_local(async move {
                    let recorded = match recording {
                        Some(recording) => recording.finish().await,
                        None => None,
                    };
                    let Some(recorded) = recorded.filter(|recorded| recorded.bytes() > 0) else {
                        let _ = self.machine.try_update(HandsFree::nothing_recorded);
                        return;
                    };
                    match transcribe(&recorded).await {
                        Ok(text) => {
                            let _ = self.machine.try_update(|machine| machine.transcribed(&text));
                        }
                        Err(message) => {
                            self.run(|machine| machine.transcription_failed(message));
                            let _ = self.chat.voice.speak_every_reply.try_set(false);
                        }
                    }
                });
            }
            HandsFreeEffect::Send(text) => self.chat.send(text),
            HandsFreeEffect::Interrupt => {
                // At once, before the chat's own pause goes through its signals.
                pause_replies();
                self.chat.stop();
            }
        }
    }
}
