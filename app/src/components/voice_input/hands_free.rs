//! The hands-free conversation as a pure state machine: listening → hearing you → thinking →
//! speaking → listening again. It is fed level samples with their times, whether a reply is
//! playing and whether a run is busy ([`Sample`]), and what the server answered; it answers
//! [`HandsFreeEffect`]s (capture, transcribe, send, interrupt) that the browser half carries out.
//!
//! Barge-in: while Jarvis thinks or speaks, voice above the higher barge level, held for
//! `barge_ms`, stops the playback and the run at once and becomes the next message (sent once
//! the stopped run has ended, as a run in progress takes no new message).

use super::mic_error::MicError;
use super::vad::{Utterance, UtteranceStep, VadSettings};

/// What the conversation shows, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HandsFreePhase {
    #[default]
    Off,
    /// Waiting for the microphone.
    Starting,
    Listening,
    Hearing,
    /// Transcribing the utterance, sending it, or waiting for the reply to start.
    Thinking,
    Speaking,
}

impl HandsFreePhase {
    /// The state in words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Off => "Conversation off",
            Self::Starting => "Starting the microphone…",
            Self::Listening => "Listening",
            Self::Hearing => "Hearing you",
            Self::Thinking => "Thinking",
            Self::Speaking => "Speaking",
        }
    }
}

/// One look at the page, every few tens of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub now_ms: u64,
    /// The microphone's RMS level.
    pub level: f32,
    /// A spoken reply is playing.
    pub playing: bool,
    /// A message is on its way or a reply runs (the composer shows Stop).
    pub busy: bool,
}

/// What the browser half must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandsFreeEffect {
    /// Open the microphone (echo cancellation on) and keep it open while the mode lasts.
    OpenMicrophone,
    /// Close it.
    ReleaseMicrophone,
    /// Start recording an utterance.
    StartCapture,
    /// Drop the recording (it was a click, or Jarvis started speaking).
    DiscardCapture,
    /// Stop recording and upload the utterance for transcription.
    Transcribe,
    /// Send this as the next message.
    Send(String),
    /// Stop the playback and the run now (text kept, marked stopped).
    Interrupt,
}

/// The hands-free conversation of the page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HandsFree {
    phase: HandsFreePhase,
    settings: VadSettings,
    /// The utterance being recorded, if any.
    utterance: Option<Utterance>,
    /// An utterance is with the server.
    transcribing: bool,
    /// A transcript waiting for the run before it to end.
    queued: Option<String>,
    /// Since when nothing has played or run, after a reply.
    quiet_since: Option<u64>,
    /// What went wrong last, for the user.
    error: Option<String>,
}

impl HandsFree {
    pub fn phase(&self) -> HandsFreePhase {
        self.phase
    }

    pub fn is_on(&self) -> bool {
        self.phase != HandsFreePhase::Off
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn settings(&self) -> VadSettings {
        self.settings
    }

    /// The silence that ends an utterance, from now on.
    pub fn set_silence(&mut self, silence_ms: u64) {
        self.settings.silence_ms = silence_ms;
    }

    /// The user turned the conversation on.
    pub fn start(&mut self) -> Vec<HandsFreeEffect> {
        if self.is_on() {
            return Vec::new();
        }
        *self = Self { phase: HandsFreePhase::Starting, settings: self.settings, ..Self::default() };
        vec![HandsFreeEffect::OpenMicrophone]
    }

    /// The user turned it off (the toggle, or Esc). A reply keeps going; Stop stops it.
    pub fn stop(&mut self) -> Vec<HandsFreeEffect> {
        if !self.is_on() {
            return Vec::new();
        }
        let mut effects = Vec::new();
        if self.utterance.take().is_some() {
            effects.push(HandsFreeEffect::DiscardCapture);
        }
        effects.push(HandsFreeEffect::ReleaseMicrophone);
        *self = Self { settings: self.settings, ..Self::default() };
        effects
    }

    pub fn microphone_opened(&mut self) -> Vec<HandsFreeEffect> {
        match self.phase {
            HandsFreePhase::Starting => {
                self.phase = HandsFreePhase::Listening;
                Vec::new()
            }
            // Turned off meanwhile.
            HandsFreePhase::Off => vec![HandsFreeEffect::ReleaseMicrophone],
            _ => Vec::new(),
        }
    }

    pub fn microphone_failed(&mut self, error: MicError) {
        *self = Self { settings: self.settings, error: Some(error.sentence().to_owned()), ..Self::default() };
    }

    /// The server transcribed the utterance: it is sent as soon as no run is busy. Nothing heard
    /// goes back to listening.
    pub fn transcribed(&mut self, text: &str) {
        if !self.transcribing {
            return;
        }
        self.transcribing = false;
        let text = text.trim();
        if text.is_empty() {
            self.listen();
        } else {
            self.queued = Some(text.to_owned());
        }
    }

    /// The transcription failed: the conversation ends with the server's sentence, rather than
    /// failing again at every utterance.
    pub fn transcription_failed(&mut self, message: String) -> Vec<HandsFreeEffect> {
        if !self.transcribing {
            return Vec::new();
        }
        let effects = self.stop();
        self.error = Some(message);
        effects
    }

    /// The utterance was too small to upload (empty recording): back to listening.
    pub fn nothing_recorded(&mut self) {
        if self.transcribing {
            self.transcribing = false;
            self.listen();
        }
    }

    /// One level sample, with what the page is doing.
    pub fn sample(&mut self, sample: Sample) -> Vec<HandsFreeEffect> {
        match self.phase {
            HandsFreePhase::Off | HandsFreePhase::Starting => Vec::new(),
            HandsFreePhase::Listening => self.listening(sample),
            HandsFreePhase::Hearing => self.hearing(sample),
            HandsFreePhase::Thinking | HandsFreePhase::Speaking => self.replying(sample),
        }
    }

    fn listen(&mut self) {
        self.phase = HandsFreePhase::Listening;
        self.quiet_since = None;
    }

    fn listening(&mut self, sample: Sample) -> Vec<HandsFreeEffect> {
        if sample.playing {
            // A reply (or its late clips) plays: that is not the user speaking.
            self.phase = HandsFreePhase::Speaking;
            self.quiet_since = None;
            return self.utterance.take().map(|_| HandsFreeEffect::DiscardCapture).into_iter().collect();
        }
        let settings = self.settings;
        match &mut self.utterance {
            None if sample.level >= settings.start_level => {
                self.utterance =
                    Some(Utterance::begin(sample.now_ms, settings.start_level, settings.min_speech_ms));
                vec![HandsFreeEffect::StartCapture]
            }
            None => Vec::new(),
            Some(utterance) => match utterance.observe(sample.level, sample.now_ms, &settings) {
                UtteranceStep::Confirmed => {
                    self.phase = HandsFreePhase::Hearing;
                    Vec::new()
                }
                UtteranceStep::Dropped => {
                    self.utterance = None;
                    vec![HandsFreeEffect::DiscardCapture]
                }
                UtteranceStep::Continue | UtteranceStep::Ended => Vec::new(),
            },
        }
    }

    fn hearing(&mut self, sample: Sample) -> Vec<HandsFreeEffect> {
        let settings = self.settings;
        let Some(utterance) = &mut self.utterance else {
            self.listen();
            return Vec::new();
        };
        if utterance.observe(sample.level, sample.now_ms, &settings) == UtteranceStep::Ended {
            self.utterance = None;
            self.phase = HandsFreePhase::Thinking;
            self.transcribing = true;
            self.quiet_since = None;
            return vec![HandsFreeEffect::Transcribe];
        }
        Vec::new()
    }

    fn replying(&mut self, sample: Sample) -> Vec<HandsFreeEffect> {
        if self.transcribing {
            return Vec::new();
        }
        if let Some(text) = &self.queued {
            if sample.busy {
                return Vec::new();
            }
            let text = text.clone();
            self.queued = None;
            self.phase = HandsFreePhase::Thinking;
            self.quiet_since = None;
            return vec![HandsFreeEffect::Send(text)];
        }
        // The user speaking over the reply interrupts it.
        if let Some(effects) = self.barge_in(sample) {
            return effects;
        }
        if sample.playing {
            self.phase = HandsFreePhase::Speaking;
            self.quiet_since = None;
        } else if sample.busy {
            self.quiet_since = None;
        } else {
            let since = *self.quiet_since.get_or_insert(sample.now_ms);
            if sample.now_ms.saturating_sub(since) >= self.settings.settle_ms {
                let dropped = self.utterance.take().map(|_| HandsFreeEffect::DiscardCapture);
                self.listen();
                return dropped.into_iter().collect();
            }
        }
        Vec::new()
    }

    /// Voice over a reply (louder than its echo, long enough): `Some` effects once it is an
    /// interruption.
    fn barge_in(&mut self, sample: Sample) -> Option<Vec<HandsFreeEffect>> {
        let settings = self.settings;
        let replying = sample.playing || sample.busy;
        match &mut self.utterance {
            None if replying && sample.level >= settings.barge_level => {
                self.utterance =
                    Some(Utterance::begin(sample.now_ms, settings.barge_level, settings.barge_ms));
                Some(vec![HandsFreeEffect::StartCapture])
            }
            None => None,
            Some(utterance) => match utterance.observe(sample.level, sample.now_ms, &settings) {
                UtteranceStep::Confirmed => {
                    self.phase = HandsFreePhase::Hearing;
                    self.quiet_since = None;
                    Some(vec![HandsFreeEffect::Interrupt])
                }
                UtteranceStep::Dropped => {
                    self.utterance = None;
                    Some(vec![HandsFreeEffect::DiscardCapture])
                }
                UtteranceStep::Continue | UtteranceStep::Ended => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HandsFreeEffect::*;
    use super::*;

    const LOUD: f32 = 0.1;
    const ECHO: f32 = 0.02;
    const QUIET: f32 = 0.001;

    fn sample(now_ms: u64, level: f32, playing: bool, busy: bool) -> Sample {
        Sample { now_ms, level, playing, busy }
    }

    /// Feeds samples every 50 ms in `from..to`; every effect answered, with its time.
    fn feed(
        hands_free: &mut HandsFree,
        from: u64,
        to: u64,
        level: f32,
        playing: bool,
        busy: bool,
    ) -> Vec<(u64, HandsFreeEffect)> {
        (from..to)
            .step_by(50)
            .flat_map(|t| hands_free.sample(sample(t, level, playing, busy)).into_iter().map(move |e| (t, e)))
            .collect()
    }

    fn effects(timed: Vec<(u64, HandsFreeEffect)>) -> Vec<HandsFreeEffect> {
        timed.into_iter().map(|(_, effect)| effect).collect()
    }

    fn listening() -> HandsFree {
        let mut hands_free = HandsFree::default();
        assert_eq!(hands_free.start(), vec![OpenMicrophone]);
        assert_eq!(hands_free.phase().label(), "Starting the microphone…");
        hands_free.microphone_opened();
        assert_eq!(hands_free.phase().label(), "Listening");
        hands_free
    }

    #[test]
    fn an_utterance_is_heard_transcribed_sent_answered_and_listening_resumes() {
        let mut hands_free = listening();
        assert_eq!(effects(feed(&mut hands_free, 0, 1_000, QUIET, false, false)), vec![]);
        assert_eq!(effects(feed(&mut hands_free, 1_000, 1_100, LOUD, false, false)), vec![StartCapture]);
        feed(&mut hands_free, 1_100, 2_500, LOUD, false, false);
        assert_eq!(hands_free.phase().label(), "Hearing you");
        // The chosen silence (1.2 s by default) ends it.
        let timed = feed(&mut hands_free, 2_500, 4_000, QUIET, false, false);
        assert_eq!(timed, vec![(2_450 + 1_200, Transcribe)]);
        assert_eq!(hands_free.phase().label(), "Thinking");
        hands_free.transcribed("What time is it in Paris");
        assert_eq!(
            effects(feed(&mut hands_free, 4_000, 4_050, QUIET, false, false)),
            vec![Send("What time is it in Paris".into())]
        );
        // The reply runs, then speaks.
        feed(&mut hands_free, 4_050, 5_000, QUIET, false, true);
        assert_eq!(hands_free.phase(), HandsFreePhase::Thinking);
        feed(&mut hands_free, 5_000, 8_000, ECHO, true, true);
        assert_eq!(hands_free.phase().label(), "Speaking");
        feed(&mut hands_free, 8_000, 9_000, ECHO, true, false);
        assert_eq!(hands_free.phase(), HandsFreePhase::Speaking, "the last clips still play");
        // Nothing plays or runs for a moment: listening again.
        feed(&mut hands_free, 9_000, 9_600, QUIET, false, false);
        assert_eq!(hands_free.phase(), HandsFreePhase::Speaking, "a gap between clips is not the end");
        feed(&mut hands_free, 9_600, 10_000, QUIET, false, false);
        assert_eq!(hands_free.phase(), HandsFreePhase::Listening);
    }

    #[test]
    fn the_echo_of_jarvis_speaking_does_not_interrupt_it() {
        let mut hands_free = listening();
        hands_free.phase = HandsFreePhase::Speaking;
        assert_eq!(effects(feed(&mut hands_free, 0, 5_000, ECHO, true, true)), vec![]);
        assert_eq!(hands_free.phase(), HandsFreePhase::Speaking);
    }

    #[test]
    fn speaking_over_jarvis_interrupts_it_and_becomes_the_next_message() {
        let mut hands_free = listening();
        hands_free.phase = HandsFreePhase::Speaking;
        feed(&mut hands_free, 0, 1_000, ECHO, true, true);
        let timed = feed(&mut hands_free, 1_000, 1_500, LOUD, true, true);
        assert_eq!(timed, vec![(1_000, StartCapture), (1_250, Interrupt)]);
        assert_eq!(hands_free.phase().label(), "Hearing you");
        // Playback stopped; the user goes on, then pauses.
        feed(&mut hands_free, 1_500, 2_000, LOUD, false, true);
        assert_eq!(effects(feed(&mut hands_free, 2_000, 3_500, QUIET, false, true)), vec![Transcribe]);
        hands_free.transcribed("Stop, tell me about Rome instead");
        // The stopped run has not ended yet: the message waits for it.
        assert_eq!(effects(feed(&mut hands_free, 3_500, 4_000, QUIET, false, true)), vec![]);
        assert_eq!(hands_free.phase(), HandsFreePhase::Thinking);
        assert_eq!(
            effects(feed(&mut hands_free, 4_000, 4_100, QUIET, false, false)),
            vec![Send("Stop, tell me about Rome instead".into())]
        );
    }

    #[test]
    fn a_short_loud_click_during_a_reply_is_dropped() {
        let mut hands_free = listening();
        hands_free.phase = HandsFreePhase::Speaking;
        let mut timed = feed(&mut hands_free, 0, 100, LOUD, true, true);
        timed.extend(feed(&mut hands_free, 100, 800, ECHO, true, true));
        assert_eq!(effects(timed), vec![StartCapture, DiscardCapture]);
        assert_eq!(hands_free.phase(), HandsFreePhase::Speaking);
    }

    #[test]
    fn a_click_while_listening_is_dropped_and_nothing_is_sent() {
        let mut hands_free = listening();
        let mut timed = feed(&mut hands_free, 0, 100, LOUD, false, false);
        timed.extend(feed(&mut hands_free, 100, 1_000, QUIET, false, false));
        assert_eq!(effects(timed), vec![StartCapture, DiscardCapture]);
        assert_eq!(hands_free.phase(), HandsFreePhase::Listening);
    }

    #[test]
    fn a_longer_chosen_silence_lets_the_user_pause_mid_sentence() {
        let mut hands_free = listening();
        hands_free.set_silence(3_000);
        feed(&mut hands_free, 0, 1_000, LOUD, false, false);
        assert_eq!(effects(feed(&mut hands_free, 1_000, 3_000, QUIET, false, false)), vec![]);
        feed(&mut hands_free, 3_000, 4_000, LOUD, false, false);
        assert_eq!(hands_free.phase(), HandsFreePhase::Hearing);
        assert_eq!(
            feed(&mut hands_free, 4_000, 8_000, QUIET, false, false),
            vec![(3_950 + 3_000, Transcribe)]
        );
    }

    #[test]
    fn nothing_recognised_goes_back_to_listening_and_a_failure_ends_the_conversation() {
        let mut hands_free = listening();
        feed(&mut hands_free, 0, 1_000, LOUD, false, false);
        feed(&mut hands_free, 1_000, 3_000, QUIET, false, false);
        hands_free.transcribed("  ");
        assert_eq!(hands_free.phase(), HandsFreePhase::Listening);

        feed(&mut hands_free, 3_000, 4_000, LOUD, false, false);
        feed(&mut hands_free, 4_000, 6_000, QUIET, false, false);
        assert_eq!(hands_free.transcription_failed("Speech input is off.".into()), vec![ReleaseMicrophone]);
        assert!(!hands_free.is_on());
        assert_eq!(hands_free.error(), Some("Speech input is off."));
    }

    #[test]
    fn a_refused_microphone_turns_it_off_with_the_sentence() {
        let mut hands_free = HandsFree::default();
        hands_free.start();
        hands_free.microphone_failed(MicError::Denied);
        assert_eq!(hands_free.phase(), HandsFreePhase::Off);
        assert_eq!(hands_free.error(), Some(MicError::Denied.sentence()));
    }

    #[test]
    fn leaving_drops_an_utterance_in_progress_and_releases_the_microphone() {
        let mut hands_free = listening();
        feed(&mut hands_free, 0, 500, LOUD, false, false);
        assert_eq!(hands_free.stop(), vec![DiscardCapture, ReleaseMicrophone]);
        assert_eq!(hands_free.phase(), HandsFreePhase::Off);
        assert_eq!(hands_free.stop(), vec![]);
        assert_eq!(effects(feed(&mut hands_free, 500, 1_000, LOUD, false, false)), vec![]);
        assert_eq!(
            hands_free.microphone_opened(),
            vec![ReleaseMicrophone],
            "a microphone opened late is closed"
        );
    }

    #[test]
    fn late_clips_after_listening_resumed_are_shown_as_speaking() {
        let mut hands_free = listening();
        feed(&mut hands_free, 0, 100, LOUD, false, false);
        assert_eq!(effects(feed(&mut hands_free, 100, 200, ECHO, true, false)), vec![DiscardCapture]);
        assert_eq!(hands_free.phase(), HandsFreePhase::Speaking);
    }
}
