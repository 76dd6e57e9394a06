//! The one trait over the transcription engines, with what it is given and what it answers.

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;

/// A recording to transcribe, as the browser sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub bytes: Bytes,
    /// The container's type as sniffed from its bytes (`audio/webm`, `audio/wav`, …).
    pub content_type: &'static str,
    /// A file name with the usual extension for `content_type` (engines that guess the format
    /// from the name, as OpenAI's does, need one).
    pub file_name: String,
    /// An ISO-639-1 code (`en`) when the user's language is known; the engine detects it otherwise.
    pub language: Option<String>,
    /// The longest the engine may accept (the probe could not always tell; the engine checks).
    pub max_duration: Duration,
}

/// What was said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscriptionError {
    /// The bytes are not audio the engine can decode.
    #[error("The recording could not be decoded as audio: {0}")]
    Undecodable(String),
    /// Longer than the limit (found by the engine while decoding).
    #[error("The recording is longer than {} seconds.", .limit.as_secs())]
    TooLong { limit: Duration },
    /// Sound, but no words were heard in it.
    #[error("No speech was heard in the recording.")]
    NoSpeech,
    /// The engine refused the request as it is (bad key, unknown model): trying again will
    /// not help, and it is not the user's fault.
    #[error("the transcription engine refused the request: {0}")]
    Rejected(String),
    /// The engine is busy, failing or unreachable; a later attempt may succeed.
    #[error("the transcription engine is unavailable: {0}")]
    Unavailable(String),
    #[error("the transcription engine did not answer in time")]
    Timeout,
}

impl TranscriptionError {
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Timeout)
    }
}

pub trait TranscriptionEngine: Send + Sync {
    /// A short name for logs (`whisper`, `openai`).
    fn name(&self) -> &'static str;
    fn transcribe<'a>(
        &'a self,
        recording: &'a Recording,
    ) -> BoxFuture<'a, Result<Transcript, TranscriptionError>>;
}
