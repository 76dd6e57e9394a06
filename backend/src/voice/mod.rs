//! Voice: replies spoken aloud. One trait, [`SpeechEngine`], over the engines a deployment can
//! choose; a streaming sentence cutter that decides what is read aloud and when.

pub mod clips;
mod engine;
pub mod espeak;
pub mod mp3;
pub mod openai;
pub mod piper;
pub mod sentences;
mod service;

pub use self::engine::{Audio, SpeechEngine, SpeechRequest, VoiceError};
pub use self::service::{ClipError, SettingsError, Speaker, Voice, VoiceLimits};
