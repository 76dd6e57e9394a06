//! Transcription: what a user says, made into text. One trait, [`TranscriptionEngine`], over the
//! engines a deployment can choose (a local Whisper worker, any OpenAI-compatible
//! `/v1/audio/transcriptions`); a probe that tells audio from anything else and reads the
//! duration where the container states it; and the service that applies the limits and the plan.

mod engine;
pub mod openai;
pub mod probe;
mod service;
pub mod whisper;

pub use self::engine::{Recording, Transcript, TranscriptionEngine, TranscriptionError};
pub use self::service::{Refused, Transcription, TranscriptionLimits};

use std::sync::Arc;

/// The engine a deployment chose, with its settings.
#[derive(Debug, Clone)]
pub enum EngineSettings {
    Off,
    Whisper(whisper::WhisperSettings),
    OpenAi(openai::OpenAiSettings),
}

impl EngineSettings {
    /// The engine, `None` when off. Starts nothing: the Whisper worker starts on first use.
    pub fn engine(&self) -> Option<Arc<dyn TranscriptionEngine>> {
        match self {
            Self::Off => None,
            Self::Whisper(settings) => Some(Arc::new(whisper::WhisperTranscription::new(settings.clone()))),
            Self::OpenAi(settings) => Some(Arc::new(openai::OpenAiTranscription::new(settings.clone()))),
        }
    }
}
