//! The offline default engine: the `espeak-ng` program (Debian's package), one process per clip
//! (it starts in milliseconds), its WAV encoded to MP3 in process.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::engine::{Audio, SpeechEngine, SpeechRequest, VoiceError};
use super::mp3;

/// Voices offered to users: espeak-ng's names. The first is the default.
pub const VOICES: &[&str] =
    &["en-us", "en-gb", "en-gb-scotland", "en-029", "de", "fr", "es", "it", "pt", "nl", "ru"];

/// espeak-ng's normal rate, in words per minute.
const NORMAL_WPM: f32 = 175.0;

#[derive(Debug, Clone)]
pub struct EspeakSettings {
    /// `espeak-ng`, found on `PATH`, or a full path.
    pub program: PathBuf,
    pub timeout: Duration,
}

impl Default for EspeakSettings {
    fn default() -> Self {
        Self { program: PathBuf::from("espeak-ng"), timeout: Duration::from_secs(20) }
    }
}

pub struct EspeakSpeech {
    settings: EspeakSettings,
}

impl EspeakSpeech {
    pub fn new(settings: EspeakSettings) -> Self {
        Self { settings }
    }

    /// The raw WAV espeak-ng writes for `request`.
    async fn wav(&self, request: &SpeechRequest) -> Result<Vec<u8>, VoiceError> {
        if request.text.trim().is_empty() {
            return Err(VoiceError::Rejected("there is no text to speak".into()));
        }
        if !VOICES.contains(&request.voice.as_str()) {
            return Err(VoiceError::Rejected(format!("espeak-ng has no voice \"{}\" here", request.voice)));
        }
        let wpm = (NORMAL_WPM * request.speed).round().clamp(80.0, 500.0) as u32;
        let mut child = Command::new(&self.settings.program)
            // UTF-8 text from standard input (never an argument: text could look like an option),
            // WAV on standard output.
            .args(["-b", "1", "--stdout", "-v", &request.voice, "-s", &wpm.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| {
                VoiceError::Unavailable(format!(
                    "could not start {}: {error}",
                    self.settings.program.display()
                ))
            })?;
        let mut stdin = child.stdin.take().ok_or_else(|| VoiceError::Unavailable("no stdin".into()))?;
        let text = request.text.clone();
        let run = async move {
            stdin.write_all(text.as_bytes()).await?;
            stdin.shutdown().await?;
            drop(stdin);
            child.wait_with_output().await
        };
        let output = tokio::time::timeout(self.settings.timeout, run)
            .await
            .map_err(|_| VoiceError::Timeout)?
            .map_err(|error| VoiceError::Unavailable(format!("espeak-ng failed: {error}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(VoiceError::Unavailable(format!(
                "espeak-ng exited with {}: {}",
                output.status,
                stderr.trim()
            )));
        }
        Ok(output.stdout)
    }
}

impl SpeechEngine for EspeakSpeech {
    fn name(&self) -> &'static str {
        "espeak"
    }

    fn voices(&self) -> Vec<String> {
        VOICES.iter().map(|voice| (*voice).to_owned()).collect()
    }

    fn synthesize<'a>(&'a self, request: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, VoiceError>> {
        Box::pin(async move { mp3::audio_from_wav(self.wav(request).await?).await })
    }
}
