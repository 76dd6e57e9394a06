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
    /// Whether the user's plan speaks replies (a plan without voice keeps the settings for when
    /// it does, and the app says so rather than promise spoken answers).
    #[serde(default = "included")]
    pub included: bool,
}

fn included() -> bool {
    true
}

/// A voice as people read it: espeak's language voices by their language ("en-029" is "English
/// (Caribbean)"), the named voices of Piper and OpenAI capitalised ("alloy" is "Alloy").
pub fn voice_label(id: &str) -> String {
    let language = match id {
        "en-us" => "English (American)",
        "en-gb" => "English (British)",
        "en-gb-scotland" => "English (Scottish)",
        "en-029" => "English (Caribbean)",
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        "it" => "Italian",
        "pt" => "Portuguese",
        "nl" => "Dutch",
        "ru" => "Russian",
        _ => {
            let mut chars = id.chars();
            return match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            };
        }
    };
    language.to_owned()
}

/// Who speaks the replies of an engine, in a sentence for the settings panel.
pub fn engine_sentence(engine: &str) -> String {
    match engine {
        "off" => {
            "This server speaks no replies at the moment; your choices are kept for when it does.".to_owned()
        }
        "espeak" => "Replies are spoken by eSpeak, on Jarvis's own server.".to_owned(),
        "piper" => "Replies are spoken by Piper, a natural-sounding voice on Jarvis's own server.".to_owned(),
        "openai" => "Replies are spoken by OpenAI's text-to-speech.".to_owned(),
        other => format!("Replies are spoken by {other}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voices_and_engines_are_named_in_words() {
        assert_eq!(voice_label("en-029"), "English (Caribbean)");
        assert_eq!(voice_label("en-gb-scotland"), "English (Scottish)");
        assert_eq!(voice_label("alloy"), "Alloy");
        assert_eq!(voice_label("joe"), "Joe");
        assert_eq!(voice_label(""), "");
        assert!(engine_sentence("espeak").contains("eSpeak"));
        assert!(engine_sentence("off").contains("speaks no replies"));
    }

    #[test]
    fn options_from_an_older_server_count_voice_as_included() {
        let options: VoiceOptions = serde_json::from_value(serde_json::json!({
            "engine": "espeak",
            "voices": ["en-us"],
            "settings": {"enabled": true, "voice": "en-us", "speed": 1.0, "autoplay": true}
        }))
        .unwrap();
        assert!(options.included);
    }
}
