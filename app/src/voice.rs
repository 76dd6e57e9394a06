//! Server functions of spoken replies: the user's voice settings and what the deployment offers.
//! Thin: who is asking (from the verified session), then the backend's voice service; every
//! failure is an [`AppError`] (a refused choice is told as it is). The audio itself and the retry
//! of a failed clip are plain HTTP routes of the server (`/api/clips/…`).

use jarvis_types::voice::{VoiceOptions, VoiceSettings};
use leptos::prelude::*;

use crate::error::AppError;

/// The configured engine, its voices and the user's settings.
#[server(prefix = "/api", endpoint = "voice_options")]
pub async fn load_voice_options() -> Result<VoiceOptions, AppError> {
    let (user, voice) = ssr::context()?;
    let settings = voice.settings(user.user_id).await?;
    // Whether the plan speaks replies: the chat follows it; a failure to tell leaves it to the
    // run, which decides again.
    let billing = crate::server_context::service::<jarvis_backend::billing::Billing>()?;
    let included =
        billing.entitlement(user.user_id).await.map(|entitlement| entitlement.voice).unwrap_or(true);
    Ok(VoiceOptions { engine: voice.engine_name().to_owned(), voices: voice.voices(), settings, included })
}

/// Stores the user's settings; answers them as stored (a refused choice is a 400 with a sentence).
#[server(prefix = "/api", endpoint = "voice_settings")]
pub async fn save_voice_settings(settings: VoiceSettings) -> Result<VoiceSettings, AppError> {
    let (user, voice) = ssr::context()?;
    Ok(voice.save_settings(user.user_id, settings).await?)
}

#[cfg(feature = "ssr")]
mod ssr {
    use jarvis_backend::accounts::CurrentUser;
    use jarvis_backend::voice::Voice;

    use crate::error::AppError;
    use crate::server_context::{current_user, service};

    pub fn context() -> Result<(CurrentUser, Voice), AppError> {
        Ok((current_user()?, service::<Voice>()?))
    }
}
