//! Voice-activity detection on the microphone's level, as pure functions of level samples and
//! their times: when an utterance starts (a level above a threshold, held long enough to be more
//! than a click), and when it ends (a configurable silence). The thresholds are RMS levels; the
//! one for speaking over Jarvis is higher, so that what is left of its voice after the browser's
//! echo cancellation does not count.

/// The thresholds and timings of voice-activity detection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadSettings {
    /// An utterance starts above this level (about -38 dBFS).
    pub start_level: f32,
    /// Once started, the voice goes on while the level stays above this (about -44 dBFS):
    /// lower than the start, so a soft syllable does not end it.
    pub hold_level: f32,
    /// While Jarvis speaks, only a level above this starts an utterance (about -28 dBFS).
    pub barge_level: f32,
    /// Voice this long (from its start) makes an utterance rather than a click or a cough.
    pub min_speech_ms: u64,
    /// While Jarvis speaks, voice this long interrupts it.
    pub barge_ms: u64,
    /// Quiet this long before an utterance is confirmed drops it.
    pub blip_gap_ms: u64,
    /// Quiet this long ends an utterance (the user's choice).
    pub silence_ms: u64,
    /// An utterance ends by itself after this long.
    pub max_utterance_ms: u64,
    /// After a reply, with nothing playing or streaming for this long, listening resumes.
    pub settle_ms: u64,
}

impl Default for VadSettings {
    fn default() -> Self {
        Self {
            start_level: 0.012,
            hold_level: 0.006,
            barge_level: 0.04,
            min_speech_ms: 150,
            barge_ms: 250,
            blip_gap_ms: 250,
            silence_ms: DEFAULT_SILENCE_MS,
            max_utterance_ms: 60_000,
            settle_ms: 700,
        }
    }
}

/// The silence that ends an utterance unless the user chose another.
pub const DEFAULT_SILENCE_MS: u64 = 1_200;

/// The silences the user may choose, with their labels.
pub const SILENCE_CHOICES: [(u64, &str); 4] =
    [(800, "0.8 s"), (1_200, "1.2 s"), (2_000, "2 s"), (3_000, "3 s")];

/// The silence stored in the browser, if it is one of the choices; else the default.
pub fn parse_silence(stored: Option<&str>) -> u64 {
    stored
        .and_then(|value| value.trim().parse::<u64>().ok())
        .filter(|ms| SILENCE_CHOICES.iter().any(|(choice, _)| choice == ms))
        .unwrap_or(DEFAULT_SILENCE_MS)
}

/// What one level sample did to an utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UtteranceStep {
    /// Nothing new.
    Continue,
    /// Voice long enough: it is an utterance.
    Confirmed,
    /// Quiet again before it was confirmed: a click, not speech.
    Dropped,
    /// The silence after it (or its length) ended it.
    Ended,
}

/// One utterance from its first loud sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Utterance {
    started_ms: u64,
    last_voice_ms: u64,
    confirmed: bool,
    /// Below this the sample is quiet: the start level until confirmed, then the hold level.
    voice_level: f32,
    /// Voice this long confirms it.
    confirm_ms: u64,
}

impl Utterance {
    /// An utterance whose first sample above `voice_level` came at `now_ms`, confirmed after
    /// `confirm_ms` of voice.
    pub fn begin(now_ms: u64, voice_level: f32, confirm_ms: u64) -> Self {
        Self { started_ms: now_ms, last_voice_ms: now_ms, confirmed: false, voice_level, confirm_ms }
    }

    pub fn is_confirmed(&self) -> bool {
        self.confirmed
    }

    /// Takes one level sample.
    pub fn observe(&mut self, level: f32, now_ms: u64, settings: &VadSettings) -> UtteranceStep {
        if level >= self.voice_level {
            self.last_voice_ms = now_ms;
        }
        let quiet_ms = now_ms.saturating_sub(self.last_voice_ms);
        if !self.confirmed {
            if quiet_ms >= settings.blip_gap_ms {
                return UtteranceStep::Dropped;
            }
            if quiet_ms == 0 && now_ms.saturating_sub(self.started_ms) >= self.confirm_ms {
                self.confirmed = true;
                self.voice_level = settings.hold_level;
                return UtteranceStep::Confirmed;
            }
            return UtteranceStep::Continue;
        }
        if quiet_ms >= settings.silence_ms
            || now_ms.saturating_sub(self.started_ms) >= settings.max_utterance_ms
        {
            UtteranceStep::Ended
        } else {
            UtteranceStep::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOUD: f32 = 0.1;
    const SOFT: f32 = 0.008;
    const QUIET: f32 = 0.001;

    /// Feeds `level` every 50 ms from `from` to `to` (exclusive); the steps other than Continue.
    fn feed(
        utterance: &mut Utterance,
        level: f32,
        from: u64,
        to: u64,
        settings: &VadSettings,
    ) -> Vec<(u64, UtteranceStep)> {
        (from..to)
            .step_by(50)
            .map(|t| (t, utterance.observe(level, t, settings)))
            .filter(|(_, step)| *step != UtteranceStep::Continue)
            .collect()
    }

    #[test]
    fn speech_is_confirmed_after_the_minimum_and_ends_after_the_chosen_silence() {
        let settings = VadSettings { silence_ms: 1_200, ..VadSettings::default() };
        let mut utterance = Utterance::begin(0, settings.start_level, settings.min_speech_ms);
        assert_eq!(feed(&mut utterance, LOUD, 0, 2_000, &settings), vec![(150, UtteranceStep::Confirmed)]);
        // Soft syllables above the hold level keep it going.
        assert_eq!(feed(&mut utterance, SOFT, 2_000, 2_500, &settings), vec![]);
        let ended = feed(&mut utterance, QUIET, 2_500, 5_000, &settings);
        assert_eq!(ended.first(), Some(&(2_450 + 1_200, UtteranceStep::Ended)));
    }

    #[test]
    fn a_longer_chosen_silence_waits_longer() {
        let settings = VadSettings { silence_ms: 3_000, ..VadSettings::default() };
        let mut utterance = Utterance::begin(0, settings.start_level, settings.min_speech_ms);
        feed(&mut utterance, LOUD, 0, 1_000, &settings);
        assert_eq!(feed(&mut utterance, QUIET, 1_000, 3_900, &settings), vec![]);
        assert_eq!(utterance.observe(QUIET, 3_950, &settings), UtteranceStep::Ended);
    }

    #[test]
    fn a_click_is_dropped_and_never_confirmed() {
        let settings = VadSettings::default();
        let mut utterance = Utterance::begin(0, settings.start_level, settings.min_speech_ms);
        assert_eq!(utterance.observe(LOUD, 50, &settings), UtteranceStep::Continue);
        let steps = feed(&mut utterance, QUIET, 100, 600, &settings);
        assert_eq!(steps.first(), Some(&(300, UtteranceStep::Dropped)));
        assert!(!utterance.is_confirmed());
    }

    #[test]
    fn a_soft_sound_does_not_confirm_an_utterance_that_needs_the_start_level() {
        let settings = VadSettings::default();
        let mut utterance = Utterance::begin(0, settings.start_level, settings.min_speech_ms);
        let steps = feed(&mut utterance, SOFT, 50, 1_000, &settings);
        assert_eq!(steps.first().map(|(_, step)| *step), Some(UtteranceStep::Dropped));
    }

    #[test]
    fn an_utterance_ends_by_itself_at_its_maximum_length() {
        let settings = VadSettings { max_utterance_ms: 5_000, ..VadSettings::default() };
        let mut utterance = Utterance::begin(0, settings.start_level, settings.min_speech_ms);
        let steps = feed(&mut utterance, LOUD, 0, 5_050, &settings);
        assert_eq!(steps, vec![(150, UtteranceStep::Confirmed), (5_000, UtteranceStep::Ended)]);
    }

    #[test]
    fn only_the_offered_silences_are_taken_from_storage() {
        assert_eq!(parse_silence(Some("2000")), 2_000);
        assert_eq!(parse_silence(Some("17")), DEFAULT_SILENCE_MS);
        assert_eq!(parse_silence(Some("soon")), DEFAULT_SILENCE_MS);
        assert_eq!(parse_silence(None), DEFAULT_SILENCE_MS);
    }
}
