//! The voice service: the configured engine, the users' settings, and the pipeline that speaks a
//! reply while it streams. A run's [`Speaker`] cuts the streamed text into sentences; each
//! sentence is synthesised in its own task as soon as it is complete, under a per-user and a
//! global concurrency limit (fair, so earlier sentences go first), stored in object storage
//! under the user's prefix and recorded in Postgres; an announcer hands the clips to the run's
//! event stream strictly in order. A failing engine marks its clip failed; the text and the run
//! are never affected.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use jarvis_types::protocol::RunEvent;
use jarvis_types::voice::{Clip, MAX_SPEED, MIN_SPEED, VoiceSettings};
use sqlx::PgPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::clips::{self, ClipRow, Made};
use super::engine::{SpeechEngine, SpeechRequest, VoiceError};
use super::mp3;
use super::sentences::SentenceCutter;
use crate::storage::{BlobStore, StorageError};
use crate::text;

/// How many clips may be synthesised at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceLimits {
    /// For one user, over all their runs.
    pub per_user: usize,
    /// For the whole instance.
    pub global: usize,
}

impl Default for VoiceLimits {
    fn default() -> Self {
        Self { per_user: 2, global: 8 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Shown to the user as it is.
    #[error("{0}")]
    Invalid(String),
    #[error("the voice settings could not be read or stored")]
    Database(#[from] sqlx::Error),
}

impl crate::Kinded for SettingsError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            Self::Invalid(_) => crate::ErrorKind::Invalid,
            Self::Database(_) => crate::ErrorKind::Unavailable,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("No such clip.")]
    NotFound,
    /// The clip is marked failed; its audio does not exist.
    #[error("This clip could not be made: {0}")]
    Failed(String),
    #[error("Replies are not spoken on this server.")]
    VoiceOff,
    #[error("the clips database failed")]
    Database(#[from] sqlx::Error),
    /// The clip's audio could not be read from object storage.
    #[error("the clip's audio could not be read")]
    Storage(#[source] StorageError),
}

impl crate::Kinded for ClipError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::NotFound | Self::Failed(_) => ErrorKind::NotFound,
            Self::VoiceOff => ErrorKind::Conflict,
            Self::Database(_) => ErrorKind::Unavailable,
            // Its own sentence is not the user's: only say whether trying again may help.
            Self::Storage(error) if error.kind() == ErrorKind::Unavailable => ErrorKind::Unavailable,
            Self::Storage(_) => ErrorKind::Internal,
        }
    }

    /// A failed clip and voice being off are told apart from a missing clip.
    fn code(&self) -> &'static str {
        match self {
            Self::Failed(_) => "clip_failed",
            Self::VoiceOff => "voice_off",
            _ => self.kind().code(),
        }
    }
}

/// The voice service. Cheap to clone.
#[derive(Clone)]
pub struct Voice {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Option<Arc<dyn SpeechEngine>>,
    pool: PgPool,
    store: BlobStore,
    limits: VoiceLimits,
    global: Arc<Semaphore>,
    per_user: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
}

impl std::fmt::Debug for Voice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Voice")
            .field("engine", &self.engine_name())
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl Voice {
    /// `engine: None` turns spoken replies off for everyone.
    pub fn new(
        engine: Option<Arc<dyn SpeechEngine>>,
        pool: PgPool,
        store: BlobStore,
        limits: VoiceLimits,
    ) -> Self {
        let limits = VoiceLimits { per_user: limits.per_user.max(1), global: limits.global.max(1) };
        Self {
            inner: Arc::new(Inner {
                engine,
                pool,
                store,
                limits,
                global: Arc::new(Semaphore::new(limits.global)),
                per_user: Mutex::default(),
            }),
        }
    }

    /// `espeak`, `piper`, `openai`, or `off`.
    pub fn engine_name(&self) -> &'static str {
        self.inner.engine.as_ref().map_or("off", |engine| engine.name())
    }

    /// The engine's voices; the first is the default.
    pub fn voices(&self) -> Vec<String> {
        self.inner.engine.as_ref().map(|engine| engine.voices()).unwrap_or_default()
    }

    fn default_settings(&self) -> VoiceSettings {
        VoiceSettings {
            enabled: self.inner.engine.is_some(),
            voice: self.voices().into_iter().next().unwrap_or_default(),
            speed: 1.0,
            autoplay: true,
        }
    }

    /// This user's settings: what they saved, or the defaults (spoken, autoplayed, normal speed,
    /// the engine's first voice). A saved voice the engine no longer has falls back to the default.
    pub async fn settings(&self, user_id: Uuid) -> Result<VoiceSettings, SettingsError> {
        let defaults = self.default_settings();
        let stored = clips::settings(&self.inner.pool, user_id).await?;
        let Some((enabled, voice, speed, autoplay)) = stored else { return Ok(defaults) };
        let voice = voice.filter(|voice| self.voices().contains(voice)).unwrap_or(defaults.voice);
        Ok(VoiceSettings { enabled: enabled && self.inner.engine.is_some(), voice, speed, autoplay })
    }

    /// Checks and stores this user's settings; a bad value changes nothing.
    pub async fn save_settings(
        &self,
        user_id: Uuid,
        settings: VoiceSettings,
    ) -> Result<VoiceSettings, SettingsError> {
        if !settings.speed.is_finite() || !(MIN_SPEED..=MAX_SPEED).contains(&settings.speed) {
            return Err(SettingsError::Invalid(format!(
                "Choose a speed between {MIN_SPEED} and {MAX_SPEED}."
            )));
        }
        let voices = self.voices();
        if settings.enabled && self.inner.engine.is_none() {
            return Err(SettingsError::Invalid("Replies are not spoken on this server.".into()));
        }
        if text::contains_nul(&settings.voice) {
            return Err(SettingsError::Invalid(text::nul_refusal("The voice's name")));
        }
        if !voices.is_empty() && !voices.contains(&settings.voice) {
            return Err(SettingsError::Invalid(format!("There is no voice called \"{}\".", settings.voice)));
        }
        clips::save_settings(&self.inner.pool, user_id, &settings).await?;
        self.settings(user_id).await
    }

    /// A speaker for one run, or `None` when replies are not spoken (off on this server, or
    /// turned off by the user). Clips go to `events` as [`RunEvent::Clip`], in order.
    pub async fn speaker(
        &self,
        user_id: Uuid,
        run_id: Uuid,
        events: mpsc::UnboundedSender<RunEvent>,
    ) -> Option<Speaker> {
        self.inner.engine.as_ref()?;
        let settings = match self.settings(user_id).await {
            Ok(settings) => settings,
            Err(error) => {
                tracing::warn!(%error, "voice.settings_failed");
                return None;
            }
        };
        settings.enabled.then(|| Speaker::start(self.clone(), user_id, run_id, settings, events))
    }

    fn user_semaphore(&self, user_id: Uuid) -> Arc<Semaphore> {
        let mut map = self.inner.per_user.lock().expect("per-user limits");
        // Forget users with nothing in flight.
        map.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
        Arc::clone(map.entry(user_id).or_insert_with(|| Arc::new(Semaphore::new(self.inner.limits.per_user))))
    }

    /// Waits for a turn under the user's and the global limit.
    async fn permits(&self, user_id: Uuid) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let user = self.user_semaphore(user_id).acquire_owned().await.ok()?;
        let global = Arc::clone(&self.inner.global).acquire_owned().await.ok()?;
        Some((user, global))
    }

    /// Synthesises `text` and stores the audio; `Made::Failed` with a sentence for the user when
    /// the engine or the store fails.
    /// With `skip` set (by an earlier failure of the same reply) once its turn comes, the clip
    /// fails at once instead.
    async fn make(
        &self,
        user_id: Uuid,
        run_id: Uuid,
        clip_id: Uuid,
        request: &SpeechRequest,
        skip: Option<&AtomicBool>,
    ) -> Made {
        let made = self.make_unmeasured(user_id, run_id, clip_id, request, skip).await;
        let status = if matches!(made, Made::Ready { .. }) { "ready" } else { "failed" };
        metrics::counter!("jarvis_voice_clips_total", "status" => status).increment(1);
        made
    }

    async fn make_unmeasured(
        &self,
        user_id: Uuid,
        run_id: Uuid,
        clip_id: Uuid,
        request: &SpeechRequest,
        skip: Option<&AtomicBool>,
    ) -> Made {
        let Some(engine) = self.inner.engine.as_ref() else {
            return Made::Failed { error: "Replies are not spoken on this server.".into() };
        };
        let Some(_permits) = self.permits(user_id).await else {
            return Made::Failed { error: "The voice service is stopping.".into() };
        };
        if skip.is_some_and(|skip| skip.load(Ordering::SeqCst)) {
            return Made::Failed { error: "Skipped: the voice failed earlier in this reply.".into() };
        }
        let synthesis = std::time::Instant::now();
        let synthesized = engine.synthesize(request).await;
        metrics::histogram!("jarvis_voice_synthesis_seconds", "engine" => engine.name())
            .record(synthesis.elapsed().as_secs_f64());
        let audio = match synthesized {
            Ok(audio) => audio,
            Err(error) => {
                tracing::warn!(%error, engine = engine.name(), "voice.synthesis_failed");
                let error = match error {
                    VoiceError::Timeout => "The voice took too long to answer.".to_owned(),
                    VoiceError::Rejected(_) => "The voice could not say this.".to_owned(),
                    VoiceError::Unavailable(_) => "The voice is unavailable right now.".to_owned(),
                };
                return Made::Failed { error };
            }
        };
        let duration_ms = mp3::duration_ms(&audio.bytes).unwrap_or(0);
        let size_bytes = audio.bytes.len();
        match self.inner.store.put(user_id, &object_name(run_id, clip_id), audio.bytes).await {
            Ok(storage_key) => Made::Ready {
                content_type: audio.content_type.to_owned(),
                duration_ms,
                size_bytes,
                storage_key,
            },
            Err(error) => {
                tracing::warn!(%error, "voice.store_failed");
                Made::Failed { error: "The clip could not be stored.".into() }
            }
        }
    }

    /// The audio of a clip of this user's, with its content type.
    pub async fn audio(&self, user_id: Uuid, clip_id: Uuid) -> Result<(ClipRow, bytes::Bytes), ClipError> {
        let row = clips::get(&self.inner.pool, user_id, clip_id).await?.ok_or(ClipError::NotFound)?;
        if !row.is_ready() {
            return Err(ClipError::Failed(row.error.unwrap_or_default()));
        }
        let bytes = self.inner.store.get(user_id, &object_name(row.run_id, row.id)).await.map_err(
            |error| match error {
                StorageError::NotFound => ClipError::NotFound,
                other => ClipError::Storage(other),
            },
        )?;
        Ok((row, bytes))
    }

    /// The clips of a conversation of this user's, to delete their audio once the conversation
    /// (and with it their rows) is deleted.
    pub async fn conversation_clips(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
    ) -> Result<Vec<ClipRow>, ClipError> {
        Ok(clips::of_conversation(&self.inner.pool, user_id, conversation_id).await?)
    }

    /// Deletes the audio of these clips of this user's; failures are logged (the rows are gone,
    /// so what remains is unreachable, and account deletion removes it).
    pub async fn delete_audio(&self, user_id: Uuid, clips: &[ClipRow]) {
        for clip in clips.iter().filter(|clip| clip.is_ready()) {
            if let Err(error) = self.inner.store.delete(user_id, &object_name(clip.run_id, clip.id)).await {
                tracing::warn!(%error, clip.id = %clip.id, "voice.audio_delete_failed");
            }
        }
    }

    /// Makes a failed clip of this user's again, with the voice and speed it was asked with. A
    /// clip that is ready is returned as it is.
    pub async fn retry(&self, user_id: Uuid, clip_id: Uuid) -> Result<Clip, ClipError> {
        if self.inner.engine.is_none() {
            return Err(ClipError::VoiceOff);
        }
        let row = clips::get(&self.inner.pool, user_id, clip_id).await?.ok_or(ClipError::NotFound)?;
        if row.is_ready() {
            return Ok(row.into());
        }
        let request =
            SpeechRequest { text: row.transcript.clone(), voice: row.voice.clone(), speed: row.speed };
        let made = self.make(user_id, row.run_id, row.id, &request, None).await;
        let row =
            clips::update(&self.inner.pool, user_id, clip_id, &made).await?.ok_or(ClipError::NotFound)?;
        Ok(row.into())
    }
}

/// Where a clip's audio is kept, inside the user's prefix.
fn object_name(run_id: Uuid, clip_id: Uuid) -> String {
    format!("clips/{run_id}/{clip_id}.mp3")
}

/// Speaks one run's reply: fed the streamed text, announces clips in order.
pub struct Speaker {
    voice: Voice,
    user_id: Uuid,
    run_id: Uuid,
    settings: VoiceSettings,
    cutter: SentenceCutter,
    next_seq: u32,
    /// Each clip's task, in order, to the announcer.
    queue: Option<mpsc::UnboundedSender<JoinHandle<Option<Clip>>>>,
    announcer: JoinHandle<()>,
    stop: CancellationToken,
    /// Set when a clip of this reply failed: the rest fail at once (each can be retried) rather
    /// than each waiting out the engine's timeout and holding up the end of the run.
    engine_failed: Arc<AtomicBool>,
}

impl Speaker {
    fn start(
        voice: Voice,
        user_id: Uuid,
        run_id: Uuid,
        settings: VoiceSettings,
        events: mpsc::UnboundedSender<RunEvent>,
    ) -> Self {
        let (queue, mut jobs) = mpsc::unbounded_channel::<JoinHandle<Option<Clip>>>();
        let stop = CancellationToken::new();
        let announcer = tokio::spawn(async move {
            while let Some(job) = jobs.recv().await {
                if let Ok(Some(clip)) = job.await {
                    let _ = events.send(RunEvent::Clip { clip });
                }
            }
        });
        Self {
            voice,
            user_id,
            run_id,
            settings,
            cutter: SentenceCutter::new(),
            next_seq: 1,
            queue: Some(queue),
            announcer,
            stop,
            engine_failed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// More of the reply's text.
    pub fn push(&mut self, text: &str) {
        for sentence in self.cutter.push(text) {
            self.speak(sentence);
        }
    }

    /// The text streamed since the last completed sentence is void (the model call is retried);
    /// clips already made stay.
    pub fn discard_pending(&mut self) {
        self.cutter = SentenceCutter::new();
    }

    /// The reply is complete: speaks what is left and waits until every clip is announced.
    pub async fn finish(mut self) {
        for sentence in self.cutter.finish() {
            self.speak(sentence);
        }
        self.queue = None;
        let _ = (&mut self.announcer).await;
    }

    /// The run was stopped: clips not yet made are abandoned.
    pub fn abort(self) {
        self.stop.cancel();
        self.announcer.abort();
    }

    fn speak(&mut self, sentence: String) {
        let Some(queue) = &self.queue else { return };
        let seq = self.next_seq;
        self.next_seq += 1;
        let voice = self.voice.clone();
        let (user_id, run_id) = (self.user_id, self.run_id);
        let request =
            SpeechRequest { text: sentence, voice: self.settings.voice.clone(), speed: self.settings.speed };
        let stop = self.stop.clone();
        let engine_failed = Arc::clone(&self.engine_failed);
        let job = tokio::spawn(async move {
            let clip_id = Uuid::new_v4();
            let made = tokio::select! {
                () = stop.cancelled() => return None,
                made = voice.make(user_id, run_id, clip_id, &request, Some(&engine_failed)) => made,
            };
            if matches!(made, Made::Failed { .. }) {
                engine_failed.store(true, Ordering::SeqCst);
            }
            let inserted = clips::insert(
                &voice.inner.pool,
                user_id,
                clip_id,
                run_id,
                seq,
                &request.text,
                &request.voice,
                request.speed,
                &made,
            )
            .await;
            match inserted {
                Ok(row) => Some(Clip::from(row)),
                Err(error) => {
                    tracing::error!(%error, "voice.clip_record_failed");
                    None
                }
            }
        });
        let _ = queue.send(job);
    }
}
