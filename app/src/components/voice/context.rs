//! The page's voice as context ([`VoiceState`]): the deployment's engine with the user's
//! settings, and the [`Playback`] every player shares, each in a signal.

use jarvis_types::voice::VoiceOptions;
use leptos::prelude::*;

use super::playback::Playback;

/// The page's voice: what the deployment offers with the user's settings, and the playback every
/// player shares. Provided as context by the chat. `Copy`: signals only.
#[derive(Clone, Copy)]
pub struct VoiceState {
    /// The deployment's voice engine and the user's voice settings (`None` until loaded).
    pub options: RwSignal<Option<VoiceOptions>>,
    pub playback: RwSignal<Playback>,
    /// The hands-free conversation is on: every live reply is spoken and starts by itself,
    /// whatever the autoplay setting says.
    pub speak_every_reply: RwSignal<bool>,
}

impl VoiceState {
    pub fn new(options: Option<VoiceOptions>) -> Self {
        Self {
            options: RwSignal::new(options),
            playback: RwSignal::new(Playback::new()),
            speak_every_reply: RwSignal::new(false),
        }
    }

    /// A run loaded rather than streamed live: its reply never starts by itself.
    pub fn rule_out_autoplay(self, run_id: &str) {
        self.playback.update(|playback| playback.rule_out_autoplay(run_id));
    }

    /// The user pressed Stop (on the run `run_id`, if one streams): nothing keeps speaking.
    pub fn stop(self, run_id: Option<String>) {
        self.playback.update(|playback| playback.stop(run_id.as_deref()));
    }

    /// A ready clip of a run streamed live: its reply may start, as the user's settings say.
    pub fn clip_ready(self, run_id: &str) {
        let mut settings = self.options.get_untracked().map(|options| options.settings);
        if self.speak_every_reply.get_untracked()
            && let Some(settings) = settings.as_mut()
        {
            settings.autoplay = true;
        }
        self.playback.update(|playback| playback.clip_ready(run_id, settings.as_ref()));
    }
}
