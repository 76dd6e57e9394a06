//! One reply's play head as plain data, and the pure rules that move it: [`PlayHead`] knows
//! which clip is under the head, how far into it, and whether it plays; told what the user or an
//! `<audio>` element did, it answers the [`AudioCommand`]s to carry out. Play/pause, seeking,
//! going on to the next clip (or waiting for it while the reply streams), skipping a clip that
//! cannot be played, and the browser's refusals are all decided here, tested without a browser.

use super::timeline::Timeline;

/// Said when a clip's audio could not be fetched or decoded (the player goes on past it).
pub const CLIP_FAILED: &str = "A part of this reply could not be played.";
/// Said when the browser cannot play the reply's audio at all.
pub const AUDIO_UNPLAYABLE: &str = "This reply's audio could not be played.";

/// What the player does to its `<audio>` elements (and to the page's other players).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCommand {
    /// This player plays now: every other player of the page pauses.
    Claim,
    /// Start clip `seq`, `at_ms` into it (or where it stands), pausing this reply's other clips.
    Start { seq: u32, at_ms: Option<u64> },
    /// Pause clip `seq`.
    Pause { seq: u32 },
    /// Move clip `seq` (not playing) to `at_ms`, pausing this reply's other clips.
    Cue { seq: u32, at_ms: u64 },
}

/// Why the browser did not start a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A pause or another start interrupted it: nothing to tell.
    Interrupted,
    /// The audio is unusable.
    Unplayable,
    /// Anything else: the browser wants a click first.
    NeedsClick,
}

/// The play head of one reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlayHead {
    /// The clip under the play head (`None`: before the first).
    pub current: Option<u32>,
    /// How far into the current clip.
    pub offset_ms: u64,
    /// Playing, or waiting for the next clip of a live reply.
    pub playing: bool,
    /// The browser refused to start without a click: the "Play" prompt shows.
    pub blocked: bool,
    /// Played (or seeked) once: the current and next clips are fetched ahead.
    pub engaged: bool,
    /// A clip that could not be played.
    pub failure: Option<String>,
}

impl PlayHead {
    /// Where the head stands in the whole reply.
    pub fn elapsed_ms(&self, timeline: &Timeline) -> u64 {
        timeline.position(self.current, self.offset_ms)
    }

    /// `auto` for the clip under the play head and the next one once the reply is being
    /// listened to (or streams live), so that one follows the other without a gap; `none`
    /// otherwise, so that a long history fetches no audio nobody asked for.
    pub fn preload(&self, seq: u32, timeline: &Timeline, live: bool) -> &'static str {
        if !(self.engaged || live) {
            return "none";
        }
        let current = self.current.or_else(|| timeline.first());
        let near = current == Some(seq) || current.and_then(|c| timeline.next_after(c)) == Some(seq);
        if near { "auto" } else { "none" }
    }

    /// Plays clip `seq`, from `at_ms` into it (or from where it stands), pausing every other.
    pub fn play_from(&mut self, seq: u32, at_ms: Option<u64>) -> Vec<AudioCommand> {
        self.current = Some(seq);
        if let Some(at_ms) = at_ms {
            self.offset_ms = at_ms;
        }
        self.playing = true;
        self.blocked = false;
        self.failure = None;
        self.engaged = true;
        vec![AudioCommand::Claim, AudioCommand::Start { seq, at_ms }]
    }

    pub fn pause(&mut self) -> Vec<AudioCommand> {
        self.playing = false;
        self.current.map(|seq| AudioCommand::Pause { seq }).into_iter().collect()
    }

    /// The play/pause button. `current_ended`: the current clip's audio played to its end.
    pub fn toggle(&mut self, timeline: &Timeline, current_ended: bool) -> Vec<AudioCommand> {
        if self.playing {
            return self.pause();
        }
        let Some(first) = timeline.first() else { return Vec::new() };
        match self.current.filter(|seq| timeline.part(*seq).is_some()) {
            // Played to its end: on to the next clip, or from the start again.
            Some(seq) if current_ended => self.play_from(timeline.next_after(seq).unwrap_or(first), Some(0)),
            Some(seq) => self.play_from(seq, None),
            None => self.play_from(first, Some(0)),
        }
    }

    /// Moves the play head to `position_ms` of the whole reply.
    pub fn seek(&mut self, timeline: &Timeline, position_ms: u64) -> Vec<AudioCommand> {
        let Some((seq, offset_ms)) = timeline.locate(position_ms) else { return Vec::new() };
        if self.playing {
            return self.play_from(seq, Some(offset_ms));
        }
        self.current = Some(seq);
        self.offset_ms = offset_ms;
        self.engaged = true;
        vec![AudioCommand::Cue { seq, at_ms: offset_ms }]
    }

    /// Clip `seq` played to its end.
    pub fn ended(&mut self, seq: u32, timeline: &Timeline, live: bool) -> Vec<AudioCommand> {
        if self.current != Some(seq) {
            return Vec::new();
        }
        if let Some(part) = timeline.part(seq) {
            self.offset_ms = part.duration_ms;
        }
        self.advance(seq, timeline, live)
    }

    /// After clip `seq`: the next one, or, while the reply streams, wait for it.
    pub fn advance(&mut self, seq: u32, timeline: &Timeline, live: bool) -> Vec<AudioCommand> {
        match timeline.next_after(seq) {
            Some(next) if self.playing => self.play_from(next, Some(0)),
            Some(_) => Vec::new(),
            None if !live => {
                self.playing = false;
                Vec::new()
            }
            // The next clip of the live reply is on its way; it starts when it arrives.
            None => Vec::new(),
        }
    }

    /// The current clip's audio reports how far it is.
    pub fn time(&mut self, seq: u32, offset_ms: u64) {
        if self.current == Some(seq) {
            self.offset_ms = offset_ms;
        }
    }

    /// Clip `seq` was played or paused, maybe from outside the page (the browser's or the
    /// system's media controls).
    pub fn play_state(&mut self, seq: u32, paused: bool, ended: bool) -> Vec<AudioCommand> {
        if self.current != Some(seq) {
            return Vec::new();
        }
        if !paused {
            self.playing = true;
            self.blocked = false;
            return vec![AudioCommand::Claim];
        }
        if !ended {
            self.playing = false;
        }
        Vec::new()
    }

    /// The audio of clip `seq` could not be fetched or decoded: say so, and go on past it.
    pub fn clip_failed(&mut self, seq: u32, timeline: &Timeline) -> Vec<AudioCommand> {
        if self.current != Some(seq) || !self.playing {
            return Vec::new();
        }
        self.failure = Some(CLIP_FAILED.to_owned());
        match timeline.next_after(seq) {
            Some(next) => self.play_from(next, Some(0)),
            None => {
                self.playing = false;
                Vec::new()
            }
        }
    }

    /// Clip `seq` has no element to play (it never came into the page).
    pub fn missing(&mut self, seq: u32) {
        if self.current == Some(seq) {
            self.playing = false;
        }
    }

    /// The browser did not start clip `seq`.
    pub fn refused(&mut self, seq: u32, refusal: Refusal) {
        if self.current != Some(seq) {
            return;
        }
        match refusal {
            Refusal::Interrupted => {}
            Refusal::Unplayable => {
                self.playing = false;
                self.failure = Some(AUDIO_UNPLAYABLE.to_owned());
            }
            Refusal::NeedsClick => {
                self.playing = false;
                self.blocked = true;
            }
        }
    }
}

#[cfg(test)]
mod tests;
