//! The controller of one reply's player: its [`PlayHead`] in a signal, moved by the buttons and
//! by the reply's `<audio>` elements, and, in the browser, the commands it answers carried out on
//! those elements (start, pause, cue). A clip's element may refuse to start without a click
//! ("Play" prompt) or fail to decode (said, and skipped).

use leptos::prelude::*;

use super::context::VoiceState;
#[cfg(feature = "hydrate")]
use super::play_head::Refusal;
use super::play_head::{AudioCommand, PlayHead};
use super::timeline::Timeline;

/// The player of one reply: signals only, so `Copy`.
#[derive(Clone, Copy)]
pub(super) struct Player {
    /// The message's key: which player of the page is the one playing.
    pub(super) key: u64,
    pub(super) voice: VoiceState,
    pub(super) root: NodeRef<leptos::html::Div>,
    pub(super) timeline: Memo<Timeline>,
    /// The reply is the run this page is streaming.
    pub(super) live: Signal<bool>,
    pub(super) head: RwSignal<PlayHead>,
}

impl Player {
    pub(super) fn new(key: u64, voice: VoiceState, timeline: Memo<Timeline>, live: Signal<bool>) -> Self {
        Self { key, voice, root: NodeRef::new(), timeline, live, head: RwSignal::new(PlayHead::default()) }
    }

    pub(super) fn playing(self) -> bool {
        self.head.with(|head| head.playing)
    }

    pub(super) fn elapsed_ms(self) -> u64 {
        self.timeline.with(|timeline| self.head.with(|head| head.elapsed_ms(timeline)))
    }

    pub(super) fn total_ms(self) -> u64 {
        self.timeline.with(Timeline::total_ms)
    }

    pub(super) fn preload(self, seq: u32) -> &'static str {
        let live = self.live.get();
        self.timeline.with(|timeline| self.head.with(|head| head.preload(seq, timeline, live)))
    }

    /// Moves the play head by `step` (given the timeline and whether the reply streams live),
    /// then carries out the commands it answers.
    fn step(self, step: impl FnOnce(&mut PlayHead, &Timeline, bool) -> Vec<AudioCommand>) {
        let live = self.live.get_untracked();
        let commands = self
            .timeline
            .with_untracked(|timeline| self.head.try_update(|head| step(head, timeline, live)))
            .unwrap_or_default();
        for command in commands {
            if command == AudioCommand::Claim {
                self.voice.playback.update(|playback| playback.started(self.key));
            }
            #[cfg(feature = "hydrate")]
            self.command(command);
        }
    }

    /// Plays clip `seq` from `at_ms` into it, pausing every other.
    pub(super) fn play_from(self, seq: u32, at_ms: Option<u64>) {
        self.step(|head, _, _| head.play_from(seq, at_ms));
    }

    pub(super) fn pause(self) {
        self.step(|head, _, _| head.pause());
    }

    pub(super) fn toggle(self) {
        let current_ended =
            self.head.with_untracked(|head| head.current).is_some_and(|seq| self.finished(seq));
        self.step(|head, timeline, _| head.toggle(timeline, current_ended));
    }

    /// Moves the play head to `position_ms` of the whole reply.
    pub(super) fn seek(self, position_ms: u64) {
        self.step(|head, timeline, _| head.seek(timeline, position_ms));
    }

    /// Clip `seq` played to its end.
    pub(super) fn ended(self, seq: u32) {
        self.step(|head, timeline, live| head.ended(seq, timeline, live));
    }

    /// A clip arrived (or the run ended) while the player waited at the end of the last one.
    pub(super) fn resume_if_waiting(self) {
        let waiting = self.head.with_untracked(|head| head.current.filter(|_| head.playing));
        if let Some(seq) = waiting.filter(|seq| self.finished(*seq)) {
            self.step(|head, timeline, live| head.advance(seq, timeline, live));
        }
    }

    /// Whether clip `seq` played to its end.
    fn finished(self, seq: u32) -> bool {
        #[cfg(feature = "hydrate")]
        {
            self.audio(seq).is_some_and(|audio| audio.ended())
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = seq;
            false
        }
    }

    pub(super) fn on_time(self, seq: u32, event: &leptos::ev::Event) {
        #[cfg(feature = "hydrate")]
        {
            let audio = event_target::<web_sys::HtmlMediaElement>(event);
            let offset_ms = (audio.current_time() * 1000.0).max(0.0) as u64;
            if self.head.with_untracked(|head| head.current == Some(seq)) {
                self.head.update(|head| head.time(seq, offset_ms));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (seq, event);
    }

    /// Played or paused, maybe from outside the page (the browser's or the system's media
    /// controls).
    pub(super) fn on_play_state(self, seq: u32, event: &leptos::ev::Event) {
        #[cfg(feature = "hydrate")]
        {
            let audio = event_target::<web_sys::HtmlMediaElement>(event);
            let (paused, ended) = (audio.paused(), audio.ended());
            self.step(|head, _, _| head.play_state(seq, paused, ended));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (seq, event);
    }

    /// The audio of clip `seq` could not be fetched or decoded: say so, and go on past it.
    pub(super) fn on_error(self, seq: u32) {
        self.step(|head, timeline, _| head.clip_failed(seq, timeline));
    }
}

#[cfg(feature = "hydrate")]
impl Player {
    fn audio(self, seq: u32) -> Option<web_sys::HtmlMediaElement> {
        use leptos::wasm_bindgen::JsCast;
        let root = self.root.get_untracked()?;
        root.query_selector(&format!("audio[data-seq=\"{seq}\"]")).ok().flatten()?.dyn_into().ok()
    }

    /// Every clip's audio of this reply, with its `seq`.
    pub(super) fn audios(self) -> Vec<(u32, web_sys::HtmlMediaElement)> {
        use leptos::wasm_bindgen::JsCast;
        let Some(list) = self.root.get_untracked().and_then(|root| root.query_selector_all("audio").ok())
        else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i))
            .filter_map(|node| node.dyn_into::<web_sys::HtmlMediaElement>().ok())
            .filter_map(|audio| Some((audio.get_attribute("data-seq")?.parse().ok()?, audio)))
            .collect()
    }

    fn pause_others(self, seq: u32) {
        for (other, audio) in self.audios() {
            if other != seq && !audio.paused() {
                let _ = audio.pause();
            }
        }
    }

    /// Starts the element of clip `seq`. Its element may not be in the page yet when the clip
    /// has only just arrived: then once more at the next frame.
    fn start(self, seq: u32, at_ms: Option<u64>, again: bool) {
        use leptos::wasm_bindgen::{JsValue, closure::Closure};
        if self.head.try_with_untracked(|head| head.current) != Some(Some(seq)) {
            return;
        }
        self.pause_others(seq);
        let Some(audio) = self.audio(seq) else {
            if again {
                request_animation_frame(move || self.start(seq, at_ms, false));
            } else {
                self.head.update(|head| head.missing(seq));
            }
            return;
        };
        let rate = self.voice.playback.with_untracked(|playback| playback.rate());
        audio.set_default_playback_rate(rate);
        audio.set_playback_rate(rate);
        if let Some(at_ms) = at_ms {
            audio.set_current_time(at_ms as f64 / 1000.0);
        }
        match audio.play() {
            Ok(promise) => {
                // Kept alive for whenever the promise settles (a few bytes per start).
                let rejected =
                    Closure::<dyn FnMut(JsValue)>::new(move |error: JsValue| self.refused(seq, &error));
                let _ = promise.catch(&rejected);
                rejected.forget();
            }
            Err(error) => self.refused(seq, &error),
        }
    }

    /// `play()` failed. Interrupted by a pause or another start: nothing to tell. The audio is
    /// unusable: say so. Anything else is the browser refusing to play without a click: show the
    /// "Play" prompt rather than stay silent.
    fn refused(self, seq: u32, error: &leptos::wasm_bindgen::JsValue) {
        let name = js_sys::Reflect::get(error, &"name".into()).ok().and_then(|name| name.as_string());
        let refusal = match name.as_deref() {
            Some("AbortError") => Refusal::Interrupted,
            Some("NotSupportedError") => Refusal::Unplayable,
            _ => Refusal::NeedsClick,
        };
        let _ = self.head.try_update(|head| head.refused(seq, refusal));
    }

    /// Carries out one command on this reply's `<audio>` elements.
    fn command(self, command: AudioCommand) {
        match command {
            AudioCommand::Claim => {}
            AudioCommand::Start { seq, at_ms } => self.start(seq, at_ms, true),
            AudioCommand::Pause { seq } => {
                if let Some(audio) = self.audio(seq) {
                    let _ = audio.pause();
                }
            }
            AudioCommand::Cue { seq, at_ms } => {
                self.pause_others(seq);
                if let Some(audio) = self.audio(seq) {
                    audio.set_current_time(at_ms as f64 / 1000.0);
                }
            }
        }
    }
}
