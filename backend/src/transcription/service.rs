//! The transcription service: the configured engine behind the limits and the plan.
//!
//! What a recording must be: at most `max_bytes`, audio in a container we accept (sniffed from
//! its bytes), at most `max_duration` long (read from WAV and MP3 headers here; checked by the
//! Whisper worker while it decodes the others). What the user must have: a plan with voice, and
//! a message left now (today, this hour and this month's tokens), since a transcript is only
//! worth making to be sent. A transcription is not itself counted as a message: the transcript
//! counts when it is sent, like a typed one, so speaking costs the same as typing. Its cost
//! is bounded instead by one transcription at a time per user and a few at once per instance
//! (more wait their turn).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::engine::{Recording, Transcript, TranscriptionEngine, TranscriptionError};
use super::probe;
use crate::billing::{Billing, BillingError};

/// What a recording may be, and how many are transcribed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranscriptionLimits {
    /// The largest upload, in bytes.
    pub max_bytes: usize,
    /// The longest recording.
    pub max_duration: Duration,
    /// Transcriptions at once on this instance (more wait their turn).
    pub concurrency: usize,
}

impl Default for TranscriptionLimits {
    fn default() -> Self {
        Self { max_bytes: 10 * 1024 * 1024, max_duration: Duration::from_secs(120), concurrency: 2 }
    }
}

/// Why a recording was not transcribed. Every sentence is written for the user.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("Speech input is turned off on this server.")]
    Off,
    #[error("Your {plan} plan does not include voice. Upgrade your plan to speak to Jarvis.")]
    PlanWithoutVoice { plan: String },
    #[error("{0}")]
    NoMessagesLeft(String),
    #[error("Your last recording is still being transcribed. Wait for it to finish.")]
    Busy,
    #[error("The recording is empty.")]
    Empty,
    #[error("The recording is too large: at most {} MB.", .max_bytes / (1024 * 1024))]
    TooLarge { max_bytes: usize },
    #[error("The upload is not audio Jarvis can read. Send WebM/Opus, Ogg, WAV, MP3, FLAC or M4A.")]
    NotAudio,
    #[error("The recording is longer than {} seconds. Record a shorter message.", .limit.as_secs())]
    TooLong { limit: Duration },
    #[error("The recording could not be decoded as audio.")]
    Undecodable(String),
    #[error("No speech was heard in the recording.")]
    NoSpeech,
    /// The engine failed or refused: not the user's fault.
    #[error(transparent)]
    Engine(TranscriptionError),
    #[error(transparent)]
    Billing(#[from] BillingError),
}

impl crate::Kinded for Refused {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::Off | Self::PlanWithoutVoice { .. } => ErrorKind::Forbidden,
            Self::NoMessagesLeft(_) | Self::Busy => ErrorKind::Limit,
            Self::Empty
            | Self::TooLarge { .. }
            | Self::NotAudio
            | Self::TooLong { .. }
            | Self::Undecodable(_)
            | Self::NoSpeech => ErrorKind::Invalid,
            Self::Engine(TranscriptionError::Rejected(_)) => ErrorKind::Internal,
            Self::Engine(_) => ErrorKind::Unavailable,
            Self::Billing(error) => error.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Off => "transcription_off",
            Self::PlanWithoutVoice { .. } => "plan_without_voice",
            Self::NoMessagesLeft(_) => "limit",
            Self::Busy => "transcription_busy",
            Self::Empty => "empty_audio",
            Self::TooLarge { .. } => "audio_too_large",
            Self::NotAudio => "not_audio",
            Self::TooLong { .. } => "audio_too_long",
            Self::Undecodable(_) => "undecodable_audio",
            Self::NoSpeech => "no_speech",
            Self::Engine(TranscriptionError::Timeout) => "transcription_timeout",
            Self::Engine(TranscriptionError::Rejected(_)) => "transcription_refused",
            Self::Engine(_) => "transcription_unavailable",
            Self::Billing(error) => crate::Kinded::code(error),
        }
    }
}

impl From<TranscriptionError> for Refused {
    fn from(error: TranscriptionError) -> Self {
        match error {
            TranscriptionError::Undecodable(reason) => Self::Undecodable(reason),
            TranscriptionError::TooLong { limit } => Self::TooLong { limit },
            TranscriptionError::NoSpeech => Self::NoSpeech,
            other => Self::Engine(other),
        }
    }
}

/// The transcription service. Cheap to clone.
#[derive(Clone)]
pub struct Transcription {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Option<Arc<dyn TranscriptionEngine>>,
    limits: TranscriptionLimits,
    billing: Billing,
    slots: Semaphore,
    /// Users with a transcription in progress on this instance.
    busy: Mutex<HashSet<Uuid>>,
}

/// Marks a user busy until dropped.
struct BusyGuard<'a> {
    busy: &'a Mutex<HashSet<Uuid>>,
    user_id: Uuid,
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.busy.lock() {
            busy.remove(&self.user_id);
        }
    }
}

impl Transcription {
    /// `engine` `None`: speech input is off.
    pub fn new(
        engine: Option<Arc<dyn TranscriptionEngine>>,
        limits: TranscriptionLimits,
        billing: Billing,
    ) -> Self {
        let slots = Semaphore::new(limits.concurrency.max(1));
        Self { inner: Arc::new(Inner { engine, limits, billing, slots, busy: Mutex::new(HashSet::new()) }) }
    }

    pub fn limits(&self) -> TranscriptionLimits {
        self.inner.limits
    }

    /// The engine's name, `None` when off.
    pub fn engine_name(&self) -> Option<&'static str> {
        self.inner.engine.as_ref().map(|engine| engine.name())
    }

    /// Whether a user may transcribe now (the engine is on, the plan has voice and a message
    /// left): checked before the upload is read, and again by [`Self::transcribe`].
    pub async fn admit(&self, user_id: Uuid) -> Result<(), Refused> {
        if self.inner.engine.is_none() {
            return Err(Refused::Off);
        }
        let entitlement = self.inner.billing.entitlement(user_id).await?;
        if !entitlement.voice {
            return Err(Refused::PlanWithoutVoice { plan: entitlement.plan.name });
        }
        let allowance = entitlement.allowance;
        if allowance.messages_per_day.is_none()
            && allowance.messages_per_hour.is_none()
            && allowance.tokens_per_month.is_none()
        {
            return Ok(());
        }
        let usage = self.inner.billing.usage(user_id).await?;
        let plan = &entitlement.plan.name;
        let left = |allowed: Option<u64>, used: u64| allowed.is_none_or(|allowed| used < allowed);
        if !left(allowance.messages_per_day, usage.messages_today) {
            return Err(Refused::NoMessagesLeft(format!(
                "You have sent all the messages your {plan} plan allows today, so there is nothing to send a transcript to. Upgrade for more, or speak again after midnight UTC."
            )));
        }
        if !left(allowance.messages_per_hour, usage.messages_this_hour) {
            return Err(Refused::NoMessagesLeft(format!(
                "You have sent all the messages your {plan} plan allows in an hour. Speak again later."
            )));
        }
        if !left(allowance.tokens_per_month, usage.month.total()) {
            return Err(Refused::NoMessagesLeft(format!(
                "You have used the tokens your {plan} plan allows this month. Upgrade for more, or speak again next month."
            )));
        }
        Ok(())
    }

    /// The text of `audio` (as uploaded), in `language` (ISO-639-1) if known.
    pub async fn transcribe(
        &self,
        user_id: Uuid,
        audio: Bytes,
        language: Option<String>,
    ) -> Result<Transcript, Refused> {
        self.admit(user_id).await?;
        let Some(engine) = &self.inner.engine else { return Err(Refused::Off) };
        let limits = self.inner.limits;
        let recording = recording(audio, language, &limits)?;

        let _busy = {
            let mut busy = self.inner.busy.lock().map_err(|_| Refused::Busy)?;
            if !busy.insert(user_id) {
                return Err(Refused::Busy);
            }
            BusyGuard { busy: &self.inner.busy, user_id }
        };
        let _slot = self
            .inner
            .slots
            .acquire()
            .await
            .map_err(|_| Refused::Engine(TranscriptionError::Unavailable("shutting down".into())))?;
        let started = std::time::Instant::now();
        let result = engine.transcribe(&recording).await;
        let elapsed = started.elapsed();
        match &result {
            Ok(transcript) => tracing::info!(
                engine = engine.name(),
                bytes = recording.bytes.len(),
                chars = transcript.text.chars().count(),
                ms = elapsed.as_millis() as u64,
                "transcription.done"
            ),
            Err(error) => tracing::info!(engine = engine.name(), %error, "transcription.failed"),
        }
        let mut transcript = result?;
        transcript.text = transcript.text.trim().to_owned();
        if transcript.text.is_empty() {
            return Err(Refused::NoSpeech);
        }
        Ok(transcript)
    }
}

/// Checks an upload against the limits and makes it a [`Recording`].
fn recording(
    audio: Bytes,
    language: Option<String>,
    limits: &TranscriptionLimits,
) -> Result<Recording, Refused> {
    if audio.is_empty() {
        return Err(Refused::Empty);
    }
    if audio.len() > limits.max_bytes {
        return Err(Refused::TooLarge { max_bytes: limits.max_bytes });
    }
    let probed = probe::probe(&audio).ok_or(Refused::NotAudio)?;
    if probed.duration.is_some_and(|duration| duration > limits.max_duration) {
        return Err(Refused::TooLong { limit: limits.max_duration });
    }
    let language = language.map(|language| language.trim().to_ascii_lowercase()).filter(|language| {
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase())
    });
    Ok(Recording {
        bytes: audio,
        content_type: probed.format.content_type,
        file_name: format!("recording.{}", probed.format.extension),
        language,
        max_duration: limits.max_duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> TranscriptionLimits {
        TranscriptionLimits { max_bytes: 128 * 1024, max_duration: Duration::from_secs(2), concurrency: 1 }
    }

    fn wav(ms: u32) -> Bytes {
        let data = vec![0u8; (16 * ms * 2) as usize];
        let mut out = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&[1, 0, 1, 0]);
        out.extend_from_slice(&16_000u32.to_le_bytes());
        out.extend_from_slice(&32_000u32.to_le_bytes());
        out.extend_from_slice(&[2, 0, 16, 0]);
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&data);
        out.into()
    }

    #[test]
    fn an_upload_is_checked_for_size_kind_and_length_before_any_engine_sees_it() {
        let ok = recording(wav(1000), Some(" EN ".into()), &limits()).unwrap();
        assert_eq!((ok.content_type, ok.file_name.as_str()), ("audio/wav", "recording.wav"));
        assert_eq!(ok.language.as_deref(), Some("en"));
        assert_eq!(recording(wav(1000), Some("english!".into()), &limits()).unwrap().language, None);
        assert!(matches!(recording(Bytes::new(), None, &limits()), Err(Refused::Empty)));
        assert!(recording(wav(1900), None, &limits()).is_ok());
        let long = recording(wav(2100), None, &limits()).unwrap_err();
        assert!(matches!(long, Refused::TooLong { .. }));
        assert_eq!(long.to_string(), "The recording is longer than 2 seconds. Record a shorter message.");
        let big = recording(Bytes::from(vec![0u8; 128 * 1024 + 1]), None, &limits()).unwrap_err();
        assert!(matches!(big, Refused::TooLarge { .. }));
        let text = recording(Bytes::from_static(b"just some words"), None, &limits()).unwrap_err();
        assert!(matches!(text, Refused::NotAudio));
    }

    #[test]
    fn engine_failures_are_ours_and_bad_audio_is_the_users() {
        use crate::{ErrorKind, Kinded};
        let kind = |error: TranscriptionError| Refused::from(error).kind();
        assert_eq!(kind(TranscriptionError::Undecodable("x".into())), ErrorKind::Invalid);
        assert_eq!(kind(TranscriptionError::NoSpeech), ErrorKind::Invalid);
        assert_eq!(kind(TranscriptionError::Timeout), ErrorKind::Unavailable);
        assert_eq!(kind(TranscriptionError::Unavailable("x".into())), ErrorKind::Unavailable);
        assert_eq!(kind(TranscriptionError::Rejected("401".into())), ErrorKind::Internal);
        assert_eq!(Refused::Off.code(), "transcription_off");
    }
}
