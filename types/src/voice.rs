//! Spoken replies: the clips of a reply and the user's voice settings.

use serde::{Deserialize, Serialize};

/// Where the browser fetches a clip's audio; the server checks the session's user owns it.
pub fn clip_url(clip_id: &str) -> String {
    format!("/api/clips/{clip_id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClipStatus {
    /// Synthesised and stored: `url` plays it.
    Ready,
    /// The engine failed or timed out; the text of the reply is intact and the clip can be
    /// tried again.
    Failed,
}

/// One spoken sentence (or a few) of a reply, announced in order while the text streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clip {
    pub id: String,
    pub run_id: String,
    /// 1, 2, 3… within the reply, in speaking order.
    pub seq: u32,
    /// What the clip says.
    pub transcript: String,
    /// 0 when failed.
    pub duration_ms: u64,
    pub content_type: String,
    /// Where to fetch the audio (authorised by the session cookie).
    pub url: String,
    pub status: ClipStatus,
    /// For a failed clip, a sentence for the user.
    pub error: Option<String>,
}

/// The user's choices for spoken replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceSettings {
    /// Replies are spoken.
    pub enabled: bool,
    /// The engine's name for the voice.
    pub voice: String,
    /// Speaking rate, 0.5 to 2.0; 1.0 is normal.
    pub speed: f32,
    /// A live reply starts playing by itself.
    pub autoplay: bool,
}

/// The slowest and fastest speaking rates a user may choose.
pub const MIN_SPEED: f32 = 0.5;
pub const MAX_SPEED: f32 = 2.0;

/// What the settings form offers: the configured engine and its voices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceOptions {
    /// `espeak`, `piper`, `openai`, or `off` when the deployment speaks no replies.
    pub engine: String,
    pub voices: Vec<String>,
    pub settings: VoiceSettings,
}
