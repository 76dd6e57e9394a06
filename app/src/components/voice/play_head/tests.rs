//! The play head's rules, driven as the buttons and the `<audio>` elements would drive them.

use jarvis_types::voice::{Clip, ClipStatus};

use super::*;
use crate::components::voice::fixtures;

/// A ready clip.
fn clip(seq: u32, duration_ms: u64) -> Clip {
    fixtures::clip(seq, duration_ms, ClipStatus::Ready)
}

/// Two clips: 1 s, then 2 s.
fn two_clips() -> Timeline {
    Timeline::new(&[clip(1, 1000), clip(2, 2000)])
}

#[test]
fn play_starts_the_first_clip_from_its_start_and_claims_the_page() {
    let mut head = PlayHead::default();
    let commands = head.toggle(&two_clips(), false);
    assert_eq!(commands, [AudioCommand::Claim, AudioCommand::Start { seq: 1, at_ms: Some(0) }]);
    assert!(head.playing && head.engaged);
    assert_eq!(head.toggle(&two_clips(), false), [AudioCommand::Pause { seq: 1 }]);
    assert!(!head.playing);
}

#[test]
fn play_after_a_pause_goes_on_where_it_stood() {
    let timeline = two_clips();
    let mut head = PlayHead::default();
    head.toggle(&timeline, false);
    head.time(1, 400);
    head.toggle(&timeline, false);
    assert_eq!(
        head.toggle(&timeline, false),
        [AudioCommand::Claim, AudioCommand::Start { seq: 1, at_ms: None }]
    );
    assert_eq!(head.elapsed_ms(&timeline), 400);
}

#[test]
fn play_after_the_end_starts_again_from_the_first_clip() {
    let timeline = two_clips();
    let mut head = PlayHead::default();
    head.play_from(2, Some(0));
    head.ended(2, &timeline, false);
    assert!(!head.playing, "a finished reply stops");
    assert_eq!(head.elapsed_ms(&timeline), 3000);
    assert_eq!(
        head.toggle(&timeline, true),
        [AudioCommand::Claim, AudioCommand::Start { seq: 1, at_ms: Some(0) }]
    );
}

#[test]
fn nothing_plays_without_a_ready_clip() {
    let mut head = PlayHead::default();
    assert!(head.toggle(&Timeline::default(), false).is_empty());
    assert!(!head.playing);
}

#[test]
fn a_clip_that_ends_hands_over_to_the_next_one() {
    let timeline = two_clips();
    let mut head = PlayHead::default();
    head.toggle(&timeline, false);
    assert_eq!(
        head.ended(1, &timeline, false),
        [AudioCommand::Claim, AudioCommand::Start { seq: 2, at_ms: Some(0) }]
    );
    assert_eq!(head.current, Some(2));
    assert!(head.ended(1, &timeline, false).is_empty(), "an old clip's end changes nothing");
}

#[test]
fn a_live_reply_waits_for_its_next_clip_and_goes_on_when_it_arrives() {
    let one = Timeline::new(&[clip(1, 1000)]);
    let mut head = PlayHead::default();
    head.toggle(&one, false);
    assert!(head.ended(1, &one, true).is_empty());
    assert!(head.playing, "still playing: waiting for the next clip");
    let more = two_clips();
    assert_eq!(
        head.advance(1, &more, true),
        [AudioCommand::Claim, AudioCommand::Start { seq: 2, at_ms: Some(0) }]
    );
}

#[test]
fn seeking_while_paused_cues_the_clip_under_the_position() {
    let timeline = two_clips();
    let mut head = PlayHead::default();
    assert_eq!(head.seek(&timeline, 1500), [AudioCommand::Cue { seq: 2, at_ms: 500 }]);
    assert_eq!(head.elapsed_ms(&timeline), 1500);
    assert!(!head.playing && head.engaged);
    assert_eq!(head.preload(2, &timeline, false), "auto");
}

#[test]
fn seeking_while_playing_plays_from_there() {
    let timeline = two_clips();
    let mut head = PlayHead::default();
    head.toggle(&timeline, false);
    assert_eq!(
        head.seek(&timeline, 1200),
        [AudioCommand::Claim, AudioCommand::Start { seq: 2, at_ms: Some(200) }]
    );
}

#[test]
fn a_reply_nobody_listens_to_fetches_no_audio() {
    let timeline = two_clips();
    let head = PlayHead::default();
    assert_eq!(head.preload(1, &timeline, false), "none");
    assert_eq!(head.preload(1, &timeline, true), "auto", "a live reply is fetched ahead");
    assert_eq!(head.preload(2, &timeline, true), "auto");
    let three = Timeline::new(&[clip(1, 1000), clip(2, 1000), clip(3, 1000)]);
    assert_eq!(head.preload(3, &three, true), "none", "only the current clip and the next");
}

#[test]
fn a_clip_that_cannot_be_played_is_skipped_and_said_when_nothing_follows() {
    let timeline = two_clips();
    let mut head = PlayHead::default();
    head.toggle(&timeline, false);
    assert_eq!(
        head.clip_failed(1, &timeline),
        [AudioCommand::Claim, AudioCommand::Start { seq: 2, at_ms: Some(0) }]
    );
    assert_eq!(head.failure, None, "playing on, the next clip starts afresh");
    head.clip_failed(2, &timeline);
    assert!(!head.playing);
    assert_eq!(head.failure.as_deref(), Some(CLIP_FAILED), "with nothing after it, the failure is said");
}

#[test]
fn a_browser_that_wants_a_click_shows_the_play_prompt() {
    let timeline = two_clips();
    let mut head = PlayHead::default();
    head.toggle(&timeline, false);
    head.refused(1, Refusal::Interrupted);
    assert!(head.playing && !head.blocked, "an interrupted start is nothing to tell");
    head.refused(1, Refusal::NeedsClick);
    assert!(!head.playing && head.blocked);
    head.toggle(&timeline, false);
    assert!(head.playing && !head.blocked, "the click plays, and the prompt goes");
    head.refused(1, Refusal::Unplayable);
    assert_eq!(head.failure.as_deref(), Some(AUDIO_UNPLAYABLE));
    assert!(!head.blocked);
}

#[test]
fn media_controls_outside_the_page_are_followed() {
    let timeline = two_clips();
    let mut head = PlayHead::default();
    head.seek(&timeline, 0);
    assert_eq!(head.play_state(1, false, false), [AudioCommand::Claim]);
    assert!(head.playing);
    assert!(head.play_state(1, true, true).is_empty());
    assert!(head.playing, "the end of a clip is not a pause: the next one follows");
    head.play_state(1, true, false);
    assert!(!head.playing);
    assert!(head.play_state(2, false, false).is_empty(), "another clip's events change nothing");
}
