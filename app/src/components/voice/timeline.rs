//! The ready clips of one reply as one recording ([`Timeline`]: where each clip starts, which
//! clip is heard at a position), the order of a reply's clips ([`upsert_clip`]), and how times
//! and rates read (`m:ss`, `1.25×`). Pure, so tested without a browser.

use jarvis_types::voice::{Clip, ClipStatus};

/// The playback rates the player offers: the select's value, and its label.
pub const RATES: [(&str, &str); 5] =
    [("0.75", "0.75×"), ("1", "1×"), ("1.25", "1.25×"), ("1.5", "1.5×"), ("2", "2×")];

/// Puts `clip` in its place among `clips` (kept in `seq` order): it replaces the clip with the
/// same `seq` (a retried or re-announced one), or goes between its neighbours.
pub fn upsert_clip(clips: &mut Vec<Clip>, clip: Clip) {
    match clips.binary_search_by_key(&clip.seq, |c| c.seq) {
        Ok(index) => clips[index] = clip,
        Err(index) => clips.insert(index, clip),
    }
}

/// One ready clip on the timeline of its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub seq: u32,
    pub url: String,
    /// Where the clip starts in the whole reply.
    pub start_ms: u64,
    pub duration_ms: u64,
}

/// The ready clips of a reply, in order, as one recording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    parts: Vec<Part>,
}

impl Timeline {
    /// Failed clips take no time: they are skipped until a retry makes them ready.
    pub fn new(clips: &[Clip]) -> Self {
        let mut ready: Vec<&Clip> = clips.iter().filter(|c| c.status == ClipStatus::Ready).collect();
        ready.sort_by_key(|c| c.seq);
        let mut start_ms = 0;
        let parts = ready
            .into_iter()
            .map(|clip| {
                let part =
                    Part { seq: clip.seq, url: clip.url.clone(), start_ms, duration_ms: clip.duration_ms };
                start_ms += clip.duration_ms;
                part
            })
            .collect();
        Self { parts }
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    pub fn total_ms(&self) -> u64 {
        self.parts.last().map_or(0, |p| p.start_ms + p.duration_ms)
    }

    pub fn first(&self) -> Option<u32> {
        self.parts.first().map(|p| p.seq)
    }

    pub fn part(&self, seq: u32) -> Option<&Part> {
        self.parts.iter().find(|p| p.seq == seq)
    }

    /// The clip that plays after clip `seq` (which need not be on the timeline).
    pub fn next_after(&self, seq: u32) -> Option<u32> {
        self.parts.iter().find(|p| p.seq > seq).map(|p| p.seq)
    }

    /// The clip heard at `position_ms` of the whole reply, and how far into it; past the end,
    /// the end of the last clip.
    pub fn locate(&self, position_ms: u64) -> Option<(u32, u64)> {
        let last = self.parts.last()?;
        let found = self
            .parts
            .iter()
            .find(|p| position_ms < p.start_ms + p.duration_ms)
            .map(|p| (p.seq, position_ms - p.start_ms));
        Some(found.unwrap_or((last.seq, last.duration_ms)))
    }

    /// The position in the whole reply of `offset_ms` into clip `seq` (0 before any clip).
    pub fn position(&self, seq: Option<u32>, offset_ms: u64) -> u64 {
        seq.and_then(|seq| self.part(seq)).map_or(0, |p| p.start_ms + offset_ms.min(p.duration_ms))
    }
}

/// `m:ss`.
pub fn clock(ms: u64) -> String {
    let seconds = ms / 1000;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The select's value for a playback rate (`1` for 1.0, `0.75`…).
pub fn rate_value(rate: f64) -> String {
    RATES
        .iter()
        .map(|(value, _)| *value)
        .find(|value| value.parse::<f64>().is_ok_and(|v| (v - rate).abs() < 1e-6))
        .unwrap_or("1")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::voice::fixtures::clip;

    #[test]
    fn the_timeline_joins_ready_clips_and_skips_failed_ones() {
        let timeline = Timeline::new(&[
            clip(3, 1500, ClipStatus::Ready),
            clip(1, 1000, ClipStatus::Ready),
            clip(2, 0, ClipStatus::Failed),
        ]);
        assert_eq!(
            timeline.parts().iter().map(|p| (p.seq, p.start_ms)).collect::<Vec<_>>(),
            [(1, 0), (3, 1000)]
        );
        assert_eq!(timeline.total_ms(), 2500);
        assert_eq!(timeline.first(), Some(1));
        assert_eq!(timeline.next_after(1), Some(3));
        assert_eq!(timeline.next_after(2), Some(3));
        assert_eq!(timeline.next_after(3), None);
    }

    #[test]
    fn a_position_maps_to_a_clip_and_back() {
        let timeline = Timeline::new(&[clip(1, 1000, ClipStatus::Ready), clip(2, 2000, ClipStatus::Ready)]);
        assert_eq!(timeline.locate(0), Some((1, 0)));
        assert_eq!(timeline.locate(999), Some((1, 999)));
        assert_eq!(timeline.locate(1000), Some((2, 0)));
        assert_eq!(timeline.locate(2500), Some((2, 1500)));
        assert_eq!(timeline.locate(9000), Some((2, 2000)));
        assert_eq!(timeline.position(Some(2), 1500), 2500);
        assert_eq!(timeline.position(Some(1), 5000), 1000);
        assert_eq!(timeline.position(None, 700), 0);
        assert_eq!(Timeline::default().locate(10), None);
    }

    #[test]
    fn clips_are_kept_in_order_and_replaced_by_seq() {
        let mut clips = vec![clip(1, 1000, ClipStatus::Ready), clip(3, 1000, ClipStatus::Ready)];
        upsert_clip(&mut clips, clip(2, 0, ClipStatus::Failed));
        upsert_clip(&mut clips, clip(2, 800, ClipStatus::Ready));
        assert_eq!(
            clips.iter().map(|c| (c.seq, c.status)).collect::<Vec<_>>(),
            [(1, ClipStatus::Ready), (2, ClipStatus::Ready), (3, ClipStatus::Ready)]
        );
    }

    #[test]
    fn times_and_rates_read_as_people_write_them() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(61_999), "1:01");
        assert_eq!(clock(600_000), "10:00");
        assert_eq!(rate_value(1.0), "1");
        assert_eq!(rate_value(0.75), "0.75");
        assert_eq!(rate_value(3.0), "1");
    }
}
