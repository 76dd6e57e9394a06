//! The one trait over the speech engines a deployment can choose, with what it is asked and
//! what it answers.

use bytes::Bytes;
use futures::future::BoxFuture;

/// What to say, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechRequest {
    pub text: String,
    /// The engine's name for a voice (OpenAI: `echo`, `alloy`, …).
    pub voice: String,
    /// 1.0 is normal; engines accept 0.25 to 4.0.
    pub speed: f32,
}

/// A finished clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audio {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoiceError {
    /// The engine refused the request as it is (bad key, bad voice, text too long): trying
    /// again will not help.
    #[error("the speech engine refused the request: {0}")]
    Rejected(String),
    /// The engine is busy, failing or unreachable; a later attempt may succeed.
    #[error("the speech engine is unavailable: {0}")]
    Unavailable(String),
    #[error("the speech engine did not answer in time")]
    Timeout,
}

impl crate::Kinded for VoiceError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            Self::Rejected(_) => crate::ErrorKind::Internal,
            Self::Unavailable(_) | Self::Timeout => crate::ErrorKind::Unavailable,
        }
    }
}

impl VoiceError {
    pub fn retryable(&self) -> bool {
        !matches!(self, Self::Rejected(_))
    }
}

pub trait SpeechEngine: Send + Sync {
    /// A short name for logs and settings (`openai`, `espeak`, …).
    fn name(&self) -> &'static str;
    /// The voices a user may choose from; the first is the default.
    fn voices(&self) -> Vec<String>;
    fn synthesize<'a>(&'a self, request: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, VoiceError>>;
}
