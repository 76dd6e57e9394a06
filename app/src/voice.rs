//! Server functions of spoken replies: the user's voice settings and what the deployment offers.
//! Thin: who is asking (from the verified session), then the backend's voice service. The audio
//! itself and the retry of a failed clip are plain HTTP routes of the server (`/api/clips/…`).

use jarvis_types::voice::{VoiceOptions, VoiceSettings};
use leptos::prelude::*;

/// The configured engine, its voices and the user's settings.
#[server(prefix = "/api", endpoint = "voice_options")]
pub async fn load_voice_options() -> Result<VoiceOptions, ServerFnError> {
    let (user, voice) = ssr::context()?;
    let settings = voice.settings(user.user_id).await.map_err(ssr::error)?;
    Ok(VoiceOptions { engine: voice.engine_name().to_owned(), voices: voice.voices(), settings })
}

/// Stores the user's settings; answers them as stored (a refused choice is a 400 with a sentence).
#[server(prefix = "/api", endpoint = "voice_settings")]
pub async fn save_voice_settings(settings: VoiceSettings) -> Result<VoiceSettings, ServerFnError> {
    let (user, voice) = ssr::context()?;
    voice.save_settings(user.user_id, settings).await.map_err(ssr::error)
}

#[cfg(feature = "ssr")]
mod ssr {
    use jarvis_backend::accounts::CurrentUser;
    use jarvis_backend::voice::{SettingsError, Voice};
    use leptos::prelude::*;

    pub fn context() -> Result<(CurrentUser, Voice), ServerFnError> {
        let user = crate::account::ssr::current_user()?;
        let voice = use_context::<Voice>().ok_or_else(|| ServerFnError::new("voice service missing"))?;
        Ok((user, voice))
    }

    /// A refused choice is told as it is; anything else is logged once and told in general terms.
    pub fn error(error: SettingsError) -> ServerFnError {
        match error {
            SettingsError::Invalid(message) => {
                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(http::StatusCode::BAD_REQUEST);
                }
                ServerFnError::new(message)
            }
            // A failed server function answers 500 by itself; no status is set here, so that
            // the app page, which loads the settings while it renders, is not marked failed.
            SettingsError::Internal(detail) => {
                tracing::error!(error = %detail, "app.voice_settings_failed");
                ServerFnError::new("Something went wrong on our side; nothing was changed.")
            }
        }
    }
}
