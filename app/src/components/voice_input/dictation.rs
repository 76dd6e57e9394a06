//! Dictation as a pure state machine: idle → requesting the microphone → recording → transcribing
//! → idle again, with the transcript to put in the message box or a sentence saying what went
//! wrong. One button (or Space) both clicks and holds: a short press starts a recording that a
//! second press stops; a press held past [`HOLD_MS`] records until it is released. Events in,
//! [`DictationEffect`]s out; the browser half (`browser`) carries the effects out.

use super::mic_error::MicError;

/// A press held at least this long is push-to-talk: releasing it stops the recording.
pub const HOLD_MS: u64 = 450;
/// A recording stops by itself after this long (the server refuses longer audio anyway).
pub const MAX_RECORDING_MS: u64 = 120_000;
/// A recording shorter than this holds no words.
pub const MIN_RECORDING_MS: u64 = 300;
/// Below this RMS level throughout, a recording is silence (about -50 dBFS).
pub const SILENCE_LEVEL: f32 = 0.003;

/// Where dictation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DictationPhase {
    #[default]
    Idle,
    /// Asking the browser for the microphone (it may show a prompt).
    Requesting,
    /// Recording since `started_ms`.
    Recording { started_ms: u64 },
    /// The audio is being uploaded and transcribed.
    Transcribing,
}

/// What the browser half must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DictationEffect {
    /// Ask for the microphone (echo cancellation and noise suppression on).
    OpenMicrophone,
    /// Start the recorder on the open microphone.
    StartRecorder,
    /// Stop the recorder and release the microphone; report what was recorded.
    StopRecorder,
    /// Drop the recording and release the microphone.
    Discard,
    /// Upload the recording for transcription.
    Upload,
    /// Put this text in the message box.
    Insert(String),
}

/// The dictation of one composer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dictation {
    phase: DictationPhase,
    /// When the press that started the recording began, while it is still held.
    held_since: Option<u64>,
    /// The loudest level heard in this recording.
    peak: f32,
    /// What went wrong last, for the user.
    error: Option<String>,
}

impl Dictation {
    pub fn phase(&self) -> DictationPhase {
        self.phase
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether a press now would do something (not while asking or transcribing).
    pub fn is_busy(&self) -> bool {
        matches!(self.phase, DictationPhase::Requesting | DictationPhase::Transcribing)
    }

    /// How long the recording has lasted at `now_ms`.
    pub fn elapsed_ms(&self, now_ms: u64) -> Option<u64> {
        match self.phase {
            DictationPhase::Recording { started_ms } => Some(now_ms.saturating_sub(started_ms)),
            _ => None,
        }
    }

    /// What the status line says ("Recording 0:03", "Transcribing…"), if anything.
    pub fn status(&self, now_ms: u64) -> Option<String> {
        match self.phase {
            DictationPhase::Idle => None,
            DictationPhase::Requesting => Some("Waiting for the microphone…".to_owned()),
            DictationPhase::Recording { started_ms } => {
                Some(format!("Recording {}", super::level::elapsed(now_ms.saturating_sub(started_ms))))
            }
            DictationPhase::Transcribing => Some("Transcribing…".to_owned()),
        }
    }

    /// The button (or Space) went down.
    pub fn press(&mut self, now_ms: u64) -> Vec<DictationEffect> {
        match self.phase {
            DictationPhase::Idle => {
                self.phase = DictationPhase::Requesting;
                self.held_since = Some(now_ms);
                self.error = None;
                vec![DictationEffect::OpenMicrophone]
            }
            DictationPhase::Recording { .. } => self.stop(),
            DictationPhase::Requesting | DictationPhase::Transcribing => Vec::new(),
        }
    }

    /// The button (or Space) came up: a press held long enough ends its recording.
    pub fn release(&mut self, now_ms: u64) -> Vec<DictationEffect> {
        let held_since = self.held_since.take();
        match (self.phase, held_since) {
            (DictationPhase::Recording { .. }, Some(since)) if now_ms.saturating_sub(since) >= HOLD_MS => {
                self.stop()
            }
            _ => Vec::new(),
        }
    }

    /// A keyboard activation of the button (Enter): starts or stops, never a hold.
    pub fn toggle(&mut self, now_ms: u64) -> Vec<DictationEffect> {
        let effects = self.press(now_ms);
        self.held_since = None;
        effects
    }

    /// The microphone is open: recording starts.
    pub fn microphone_opened(&mut self, now_ms: u64) -> Vec<DictationEffect> {
        if self.phase != DictationPhase::Requesting {
            // Cancelled meanwhile.
            return vec![DictationEffect::Discard];
        }
        self.phase = DictationPhase::Recording { started_ms: now_ms };
        self.peak = 0.0;
        vec![DictationEffect::StartRecorder]
    }

    /// The microphone could not be had.
    pub fn microphone_failed(&mut self, error: MicError) {
        self.phase = DictationPhase::Idle;
        self.held_since = None;
        self.error = Some(error.sentence().to_owned());
    }

    /// A level sample while recording (RMS), and the time: a recording too long stops.
    pub fn level(&mut self, level: f32, now_ms: u64) -> Vec<DictationEffect> {
        match self.phase {
            DictationPhase::Recording { started_ms } => {
                self.peak = self.peak.max(level);
                if now_ms.saturating_sub(started_ms) >= MAX_RECORDING_MS { self.stop() } else { Vec::new() }
            }
            _ => Vec::new(),
        }
    }

    /// The recorder stopped with `bytes` of audio lasting `duration_ms`: uploaded, unless it is
    /// empty, too short or silent.
    pub fn recorded(&mut self, bytes: usize, duration_ms: u64) -> Vec<DictationEffect> {
        if self.phase != DictationPhase::Transcribing {
            return Vec::new();
        }
        let problem = if bytes == 0 || duration_ms < MIN_RECORDING_MS {
            Some(
                "Nothing was recorded. Click the microphone, speak, then click it again (or hold it while you speak).",
            )
        } else if self.peak < SILENCE_LEVEL {
            Some("The recording was silent. Check that your microphone is on and not muted, then try again.")
        } else {
            None
        };
        match problem {
            Some(problem) => {
                self.phase = DictationPhase::Idle;
                self.error = Some(problem.to_owned());
                Vec::new()
            }
            None => vec![DictationEffect::Upload],
        }
    }

    /// The server answered with the transcript.
    pub fn transcribed(&mut self, text: &str) -> Vec<DictationEffect> {
        if self.phase != DictationPhase::Transcribing {
            return Vec::new();
        }
        self.phase = DictationPhase::Idle;
        let text = text.trim();
        if text.is_empty() {
            self.error =
                Some("No words were recognised. Try again, a little closer to the microphone.".to_owned());
            return Vec::new();
        }
        vec![DictationEffect::Insert(text.to_owned())]
    }

    /// The upload or the transcription failed; `message` is the sentence to show.
    pub fn failed(&mut self, message: String) {
        if self.phase == DictationPhase::Transcribing {
            self.phase = DictationPhase::Idle;
            self.error = Some(message);
        }
    }

    /// Esc while recording: the recording is dropped.
    pub fn cancel(&mut self) -> Vec<DictationEffect> {
        match self.phase {
            DictationPhase::Recording { .. } | DictationPhase::Requesting => {
                self.phase = DictationPhase::Idle;
                self.held_since = None;
                vec![DictationEffect::Discard]
            }
            _ => Vec::new(),
        }
    }

    /// The error was read (the user typed or pressed again).
    pub fn dismiss(&mut self) {
        self.error = None;
    }

    fn stop(&mut self) -> Vec<DictationEffect> {
        self.phase = DictationPhase::Transcribing;
        self.held_since = None;
        vec![DictationEffect::StopRecorder]
    }
}

/// Where a transcript goes in the box: after what is already written, with a space between.
pub fn insert_transcript(draft: &str, transcript: &str) -> String {
    let kept = draft.trim_end();
    if kept.is_empty() { transcript.to_owned() } else { format!("{kept} {transcript}") }
}

#[cfg(test)]
mod tests {
    use super::DictationEffect::*;
    use super::*;

    /// A dictation recording since `at`, with speech heard.
    fn recording(at: u64) -> Dictation {
        let mut dictation = Dictation::default();
        dictation.toggle(at);
        dictation.microphone_opened(at);
        dictation.level(0.1, at + 100);
        dictation
    }

    #[test]
    fn a_click_starts_recording_and_a_second_click_stops_and_uploads() {
        let mut dictation = Dictation::default();
        assert_eq!(dictation.press(0), vec![OpenMicrophone]);
        assert_eq!(dictation.phase(), DictationPhase::Requesting);
        assert_eq!(dictation.release(80), vec![], "a short press keeps recording");
        assert_eq!(dictation.microphone_opened(100), vec![StartRecorder]);
        assert_eq!(dictation.status(3_200).as_deref(), Some("Recording 0:03"));
        dictation.level(0.2, 1_000);
        assert_eq!(dictation.press(3_200), vec![StopRecorder]);
        assert_eq!(dictation.status(3_300).as_deref(), Some("Transcribing…"));
        assert_eq!(dictation.release(3_250), vec![]);
        assert_eq!(dictation.recorded(24_000, 3_100), vec![Upload]);
        assert_eq!(
            dictation.transcribed("  What time is it in Paris  "),
            vec![Insert("What time is it in Paris".into())]
        );
        assert_eq!(dictation.phase(), DictationPhase::Idle);
        assert_eq!(dictation.error(), None);
    }

    #[test]
    fn a_held_press_records_until_it_is_released() {
        let mut dictation = Dictation::default();
        dictation.press(0);
        dictation.microphone_opened(50);
        dictation.level(0.2, 500);
        assert_eq!(dictation.release(2_000), vec![StopRecorder]);
        assert_eq!(dictation.phase(), DictationPhase::Transcribing);
    }

    #[test]
    fn a_keyboard_toggle_is_never_a_hold() {
        let mut dictation = Dictation::default();
        dictation.toggle(0);
        dictation.microphone_opened(10);
        assert_eq!(dictation.release(5_000), vec![], "Space released long after Enter does not stop");
        assert_eq!(dictation.toggle(6_000), vec![StopRecorder]);
    }

    #[test]
    fn a_refused_or_missing_microphone_is_said_in_a_sentence() {
        let mut dictation = Dictation::default();
        dictation.press(0);
        dictation.microphone_failed(MicError::Denied);
        assert_eq!(dictation.phase(), DictationPhase::Idle);
        assert_eq!(dictation.error(), Some(MicError::Denied.sentence()));
        dictation.press(10);
        assert_eq!(dictation.error(), None, "trying again clears it");
        dictation.microphone_failed(MicError::NotFound);
        assert_eq!(dictation.error(), Some(MicError::NotFound.sentence()));
    }

    #[test]
    fn an_empty_or_very_short_recording_is_not_uploaded() {
        let mut dictation = recording(0);
        dictation.press(2_000);
        assert_eq!(dictation.recorded(0, 2_000), vec![]);
        assert!(dictation.error().is_some_and(|e| e.starts_with("Nothing was recorded")));
        let mut dictation = recording(0);
        dictation.press(100);
        assert_eq!(dictation.recorded(900, 100), vec![]);
        assert!(dictation.error().is_some_and(|e| e.starts_with("Nothing was recorded")));
    }

    #[test]
    fn a_silent_recording_is_not_uploaded() {
        let mut dictation = Dictation::default();
        dictation.toggle(0);
        dictation.microphone_opened(0);
        for t in 0..30 {
            dictation.level(0.001, t * 100);
        }
        dictation.press(3_000);
        assert_eq!(dictation.recorded(30_000, 3_000), vec![]);
        assert!(dictation.error().is_some_and(|e| e.starts_with("The recording was silent")));
    }

    #[test]
    fn no_words_and_a_server_error_are_said() {
        let mut dictation = recording(0);
        dictation.press(2_000);
        dictation.recorded(9_000, 2_000);
        assert_eq!(dictation.transcribed("   "), vec![]);
        assert!(dictation.error().is_some_and(|e| e.starts_with("No words were recognised")));

        let mut dictation = recording(0);
        dictation.press(2_000);
        dictation.recorded(9_000, 2_000);
        dictation.failed("Speech input is off on this server.".into());
        assert_eq!(dictation.error(), Some("Speech input is off on this server."));
        assert_eq!(dictation.phase(), DictationPhase::Idle);
    }

    #[test]
    fn a_recording_stops_by_itself_at_the_limit() {
        let mut dictation = recording(0);
        assert_eq!(dictation.level(0.1, MAX_RECORDING_MS - 1), vec![]);
        assert_eq!(dictation.level(0.1, MAX_RECORDING_MS), vec![StopRecorder]);
    }

    #[test]
    fn presses_while_asking_or_transcribing_do_nothing_and_esc_drops_a_recording() {
        let mut dictation = Dictation::default();
        dictation.press(0);
        assert_eq!(dictation.press(10), vec![]);
        assert!(dictation.is_busy());
        assert_eq!(dictation.cancel(), vec![Discard]);
        assert_eq!(dictation.microphone_opened(20), vec![Discard], "a late microphone is released");
        assert_eq!(dictation.phase(), DictationPhase::Idle);

        let mut dictation = recording(0);
        dictation.press(1_000);
        assert_eq!(dictation.press(1_100), vec![]);
        assert_eq!(dictation.cancel(), vec![], "a recording being transcribed is not dropped");
    }

    #[test]
    fn a_transcript_goes_after_what_is_already_written() {
        assert_eq!(insert_transcript("", "Hello"), "Hello");
        assert_eq!(insert_transcript("Dear Jarvis,  ", "hello"), "Dear Jarvis, hello");
    }
}
