//! Which spoken reply of the page plays, as plain data: the one player playing (the others
//! pause), the rate every player uses, and whether a live reply starts by itself. A run's reply
//! autoplays once at most, only when it streams live from this page and the user's settings ask
//! for it; a run loaded from history never does. No signals here: the chat holds a [`Playback`]
//! in a signal and the players read it, so the rules are tested without a browser.

use std::collections::HashSet;

use jarvis_types::voice::VoiceSettings;

/// The page's playback, shared by every player.
#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    /// Runs whose autoplay was decided (made, refused by the settings, or ruled out because the
    /// run was loaded rather than streamed live): each run autoplays once at most.
    decided: HashSet<String>,
    /// A live run whose reply should start playing now: its player takes the request.
    request: Option<String>,
    /// The player (by message key) that plays; the others pause.
    now_playing: Option<u64>,
    /// The playback rate every player uses.
    rate: f64,
}

impl Default for Playback {
    fn default() -> Self {
        Self::new()
    }
}

impl Playback {
    /// Nothing playing, at normal speed.
    pub fn new() -> Self {
        Self { decided: HashSet::new(), request: None, now_playing: None, rate: 1.0 }
    }

    /// A run that was loaded, not streamed live from this page: its clips replay when asked,
    /// but nothing starts by itself.
    pub fn rule_out_autoplay(&mut self, run_id: &str) {
        self.decided.insert(run_id.to_owned());
    }

    /// A ready clip of a run streamed live arrived. The first one decides, once per run: its
    /// reply starts playing if the user wants replies spoken and started by themselves.
    pub fn clip_ready(&mut self, run_id: &str, settings: Option<&VoiceSettings>) {
        if !self.decided.insert(run_id.to_owned()) {
            return;
        }
        if settings.is_some_and(|settings| settings.enabled && settings.autoplay) {
            self.request = Some(run_id.to_owned());
        }
    }

    /// Whether the reply of `run_id` is asked to start now.
    pub fn is_requested(&self, run_id: Option<&str>) -> bool {
        self.request.is_some() && self.request.as_deref() == run_id
    }

    /// The player of the requested reply took the request: no later player (a remount, a
    /// history load) finds it again.
    pub fn take_request(&mut self) {
        self.request = None;
    }

    /// The player `key` started: every other one pauses.
    pub fn started(&mut self, key: u64) {
        self.now_playing = Some(key);
    }

    /// The player that plays (or last played).
    pub fn now_playing(&self) -> Option<u64> {
        self.now_playing
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn set_rate(&mut self, rate: f64) {
        self.rate = rate;
    }

    /// The user stopped the run `run_id` (if one was streaming): the reply playing pauses, a
    /// start not yet taken is dropped, and the run's clips still to come start nothing.
    pub fn stop(&mut self, run_id: Option<&str>) {
        if let Some(run_id) = run_id {
            self.decided.insert(run_id.to_owned());
        }
        self.request = None;
        self.now_playing = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(enabled: bool, autoplay: bool) -> VoiceSettings {
        VoiceSettings { enabled, voice: "echo".into(), speed: 1.0, autoplay }
    }

    #[test]
    fn the_first_ready_clip_of_a_live_run_starts_its_reply_when_the_user_wants_autoplay() {
        let mut playback = Playback::new();
        playback.clip_ready("r1", Some(&settings(true, true)));
        assert!(playback.is_requested(Some("r1")));
        assert!(!playback.is_requested(Some("r2")));
        assert!(!playback.is_requested(None));
    }

    #[test]
    fn a_run_autoplays_once_even_when_more_clips_come_after_the_request_was_taken() {
        let mut playback = Playback::new();
        let wanted = settings(true, true);
        playback.clip_ready("r1", Some(&wanted));
        playback.take_request();
        playback.clip_ready("r1", Some(&wanted));
        assert!(!playback.is_requested(Some("r1")), "a remounted player finds no request");
    }

    #[test]
    fn a_run_loaded_from_history_never_starts_by_itself() {
        let mut playback = Playback::new();
        playback.rule_out_autoplay("r1");
        playback.clip_ready("r1", Some(&settings(true, true)));
        assert!(!playback.is_requested(Some("r1")));
    }

    #[test]
    fn no_autoplay_without_settings_or_when_voice_or_autoplay_is_off() {
        for (run, wanted) in
            [("a", None), ("b", Some(settings(false, true))), ("c", Some(settings(true, false)))]
        {
            let mut playback = Playback::new();
            playback.clip_ready(run, wanted.as_ref());
            assert!(!playback.is_requested(Some(run)), "{run}");
        }
    }

    #[test]
    fn settings_turned_on_later_do_not_start_a_run_already_decided() {
        let mut playback = Playback::new();
        playback.clip_ready("r1", Some(&settings(true, false)));
        playback.clip_ready("r1", Some(&settings(true, true)));
        assert!(!playback.is_requested(Some("r1")));
    }

    #[test]
    fn stop_pauses_the_reply_playing_and_drops_a_start_not_yet_taken() {
        let mut playback = Playback::new();
        playback.clip_ready("r1", Some(&settings(true, true)));
        playback.started(4);
        playback.stop(Some("r1"));
        assert_eq!(playback.now_playing(), None, "every player pauses");
        assert!(!playback.is_requested(Some("r1")));
    }

    #[test]
    fn a_run_stopped_before_its_first_clip_never_starts_by_itself() {
        let mut playback = Playback::new();
        playback.stop(Some("r1"));
        playback.clip_ready("r1", Some(&settings(true, true)));
        assert!(!playback.is_requested(Some("r1")));
        playback.clip_ready("r2", Some(&settings(true, true)));
        assert!(playback.is_requested(Some("r2")), "the next run still may");
    }

    #[test]
    fn one_player_plays_at_a_time_at_the_shared_rate() {
        let mut playback = Playback::new();
        assert_eq!(playback.now_playing(), None);
        assert_eq!(playback.rate(), 1.0);
        playback.started(3);
        playback.started(7);
        assert_eq!(playback.now_playing(), Some(7), "player 3 pauses");
        playback.set_rate(1.5);
        assert_eq!(playback.rate(), 1.5);
    }
}
