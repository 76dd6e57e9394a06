//! The text the fake model streams: one marker per delta, `⟦u:<tag> i:<index> t:<µs>⟧ `, naming
//! the reply it belongs to (`tag`, one per user and step), its index in the reply and the moment
//! the fake sent it (microseconds since the Unix epoch; the fake and the clients share this
//! machine's clock). A client that knows nothing else can then tell, from the text alone, how
//! late each delta arrived and whether any was lost, repeated or reordered, however the server
//! splits or joins the text on the way.

use std::time::{SystemTime, UNIX_EPOCH};

const OPEN: &str = "⟦";
const CLOSE: &str = "⟧ ";

/// Microseconds since the Unix epoch, by this machine's clock.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
}

/// One delta's marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub tag: String,
    pub index: u32,
    pub sent_micros: u64,
}

impl Marker {
    /// The delta's text, exactly as the fake streams it.
    pub fn render(&self) -> String {
        format!("{OPEN}u:{} i:{} t:{}{CLOSE}", self.tag, self.index, self.sent_micros)
    }

    fn parse(segment: &str) -> Option<Self> {
        let inner = segment.strip_prefix(OPEN)?.strip_suffix(CLOSE)?;
        let mut fields = inner.split(' ');
        let tag = fields.next()?.strip_prefix("u:")?.to_owned();
        let index = fields.next()?.strip_prefix("i:")?.parse().ok()?;
        let sent_micros = fields.next()?.strip_prefix("t:")?.parse().ok()?;
        fields.next().is_none().then_some(Self { tag, index, sent_micros })
    }
}

/// Reads a reply's markers as its text arrives, in pieces cut anywhere.
#[derive(Debug, Default)]
pub struct MarkerReader {
    text: String,
    /// Where the next unread marker starts in `text`.
    read_to: usize,
    /// Segments that were not a marker (text the fake never sent).
    pub malformed: u32,
}

impl MarkerReader {
    /// Appends a piece of text; returns the markers it completed.
    pub fn push(&mut self, piece: &str) -> Vec<Marker> {
        self.text.push_str(piece);
        let mut completed = Vec::new();
        while let Some(end) = self.text[self.read_to..].find(CLOSE) {
            let segment_end = self.read_to + end + CLOSE.len();
            match Marker::parse(&self.text[self.read_to..segment_end]) {
                Some(marker) => completed.push(marker),
                None => self.malformed += 1,
            }
            self.read_to = segment_end;
        }
        completed
    }

    /// Everything received so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Text after the last complete marker (a cut-off marker, or garbage).
    pub fn trailing(&self) -> &str {
        &self.text[self.read_to..]
    }
}

/// How a sequence of received numbers compares with `0..expected` (or `1..=expected`) sent once
/// each, in order.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SequenceCheck {
    pub lost: u32,
    pub duplicated: u32,
    pub out_of_order: u32,
}

impl SequenceCheck {
    /// `received` in arrival order, each expected in `first..first + expected`.
    pub fn of(received: impl IntoIterator<Item = u64>, first: u64, expected: u64) -> Self {
        let mut seen = vec![false; usize::try_from(expected).unwrap_or(0)];
        let mut check = Self::default();
        let mut highest: Option<u64> = None;
        let mut unexpected = 0u32;
        for number in received {
            let slot = number.checked_sub(first).and_then(|offset| usize::try_from(offset).ok());
            let Some(slot) = slot.filter(|slot| *slot < seen.len()) else {
                unexpected += 1;
                continue;
            };
            if seen[slot] {
                check.duplicated += 1;
                continue;
            }
            seen[slot] = true;
            if highest.is_some_and(|highest| number < highest) {
                check.out_of_order += 1;
            }
            highest = highest.max(Some(number));
        }
        check.lost = u32::try_from(seen.iter().filter(|seen| !**seen).count()).unwrap_or(u32::MAX);
        // A number that was never sent is counted as a duplicate: something arrived twice or
        // from elsewhere.
        check.duplicated += unexpected;
        check
    }

    /// The worse of two views of the same stream, field by field.
    pub fn worst(self, other: Self) -> Self {
        Self {
            lost: self.lost.max(other.lost),
            duplicated: self.duplicated.max(other.duplicated),
            out_of_order: self.out_of_order.max(other.out_of_order),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(index: u32) -> Marker {
        Marker { tag: "2.17".into(), index, sent_micros: 1_732_634_567_123_456 + u64::from(index) }
    }

    #[test]
    fn a_marker_reads_back_as_itself() {
        let mut reader = MarkerReader::default();
        assert_eq!(reader.push(&marker(5).render()), vec![marker(5)]);
        assert_eq!((reader.malformed, reader.trailing()), (0, ""));
    }

    #[test]
    fn markers_cut_anywhere_and_joined_read_back_in_order() {
        let text: String = (0..4).map(|i| marker(i).render()).collect();
        for cut in 1..text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let mut reader = MarkerReader::default();
            let mut markers = reader.push(&text[..cut]);
            markers.extend(reader.push(&text[cut..]));
            assert_eq!(markers, (0..4).map(marker).collect::<Vec<_>>(), "cut at {cut}");
            assert_eq!(reader.malformed, 0);
        }
    }

    #[test]
    fn text_that_is_no_marker_is_counted_as_malformed() {
        let mut reader = MarkerReader::default();
        reader.push(&format!("hello {}", marker(0).render()));
        reader.push("⟦u:x i:1⟧ ");
        assert_eq!(reader.malformed, 2);
        reader.push("tail");
        assert_eq!(reader.trailing(), "tail");
    }

    #[test]
    fn a_perfect_sequence_has_nothing_lost_repeated_or_reordered() {
        assert_eq!(SequenceCheck::of(1..=100, 1, 100), SequenceCheck::default());
    }

    #[test]
    fn gaps_repeats_and_swaps_are_each_counted() {
        let check = SequenceCheck::of([0, 1, 3, 2, 3, 5, 9], 0, 7);
        assert_eq!(check, SequenceCheck { lost: 2, duplicated: 2, out_of_order: 1 });
    }
}
