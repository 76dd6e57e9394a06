//! Speech input: dictation into the message box and the hands-free conversation.
//!
//! The rules are pure and tested without a browser: [`dictation`] (idle → asking for the
//! microphone → recording → transcribing → the transcript in the box, or a sentence saying what
//! went wrong), [`hands_free`] (listening → hearing you → thinking → speaking, with barge-in),
//! [`vad`] (voice-activity detection on level samples and their times), [`level`] (RMS, dBFS,
//! the meter), [`mic_error`] (why the microphone could not be used) and [`transcription`] (the
//! server's answer read).
//!
//! The reactive halves hold the machines in signals and carry out their effects:
//! [`dictation_control`] and [`conversation`]; the browser's own half (`getUserMedia`,
//! `AnalyserNode`, `MediaRecorder`, the upload) is `browser`, compiled for the browser only.
//! The views: [`speak_button`] (the composer's "Speak" button, Space to talk, the recording
//! line) and [`conversation_view`] (the header's "Conversation" toggle and the state in words).

#[cfg(feature = "hydrate")]
mod browser;
pub mod conversation;
pub mod conversation_view;
pub mod dictation;
pub mod dictation_control;
pub mod hands_free;
pub mod level;
pub mod mic_error;
pub mod speak_button;
pub mod transcription;
pub mod vad;

pub use conversation::Conversation;
pub use conversation_view::{ConversationStatus, ConversationToggle};
pub use dictation_control::DictationControl;
pub use speak_button::{DictationStatus, SpeakButton};
