//! Spoken replies in the page.
//!
//! Under each voice reply, a player treats the reply's ready clips as one timeline
//! ([`timeline`]): play/pause, a seek bar with elapsed and total time, a speed choice, and the
//! transcript, clip by clip, with a failed clip marked and a "Retry" ([`transcript`]). Every clip
//! has its own `<audio>`; the one playing and the next are fetched ahead, and the next starts as
//! the current one ends, so a reply plays through without a gap, and a live reply keeps going as
//! its clips arrive ([`play_head`], the rules; [`player`] and [`player_view`], the browser's half).
//!
//! Whether a live reply starts by itself is decided once per run by the page's [`Playback`] (told
//! by the chat which run streams live, and reading what the user chose); the player only carries
//! out its request, so a remount or a history load never plays anything. Where the browser
//! refuses to start without a click, the player shows a "Play" button instead of staying silent.
//!
//! Also here: the voice settings (on/off, voice, speaking rate, autoplay), stored per user
//! ([`settings`]).

pub mod context;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod play_head;
pub mod playback;
mod player;
pub mod player_view;
pub mod settings;
pub mod timeline;
mod transcript;

pub use context::VoiceState;
pub use playback::Playback;
pub use player_view::VoicePlayer;
pub use settings::{LazyVoiceSettingsPanel, VoiceSettingsButton};
pub use timeline::{RATES, Timeline, clock, upsert_clip};
