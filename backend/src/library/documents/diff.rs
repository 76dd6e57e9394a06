//! Line diffs between two versions of a document, with the `similar` crate (Myers' algorithm,
//! under a deadline), numbered on both sides the way a reader of a review expects.

use jarvis_types::documents::{DiffChange, DiffLine};
use std::time::Duration;

use similar::{ChangeTag, TextDiff};

/// How long the search for the smallest diff may take: Myers' algorithm is quadratic on texts
/// that share nothing (two versions of 150,000 different lines would take minutes). Past it the
/// diff is still exact, only less small (`similar` finishes with a coarser match).
const DIFF_DEADLINE: Duration = Duration::from_millis(300);

/// Every line of `old` and `new`, marked kept, removed or added, in reading order, off the async
/// workers (the diff is CPU work).
pub async fn between(old: String, new: String) -> Vec<DiffLine> {
    tokio::task::spawn_blocking(move || lines(&old, &new)).await.unwrap_or_default()
}

/// Every line of `old` and `new`, marked kept, removed or added, in reading order.
pub fn lines(old: &str, new: &str) -> Vec<DiffLine> {
    let diff = TextDiff::configure().timeout(DIFF_DEADLINE).diff_lines(old, new);
    diff.iter_all_changes()
        .map(|change| {
            let number = |index: Option<usize>| index.and_then(|i| u32::try_from(i + 1).ok());
            DiffLine {
                change: match change.tag() {
                    ChangeTag::Equal => DiffChange::Kept,
                    ChangeTag::Delete => DiffChange::Removed,
                    ChangeTag::Insert => DiffChange::Added,
                },
                old_line: number(change.old_index()),
                new_line: number(change.new_index()),
                text: change.value().trim_end_matches(['\n', '\r']).to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_that_share_nothing_are_diffed_exactly_under_the_deadline() {
        let old: String = (0..60_000).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..60_000).map(|i| format!("b{i}\n")).collect();
        // Without the deadline this takes minutes; with it, the diff stops searching early and
        // is still exact.
        let diff = lines(&old, &new);
        let removed: Vec<&str> =
            diff.iter().filter(|l| l.change == DiffChange::Removed).map(|l| l.text.as_str()).collect();
        let added: Vec<&str> =
            diff.iter().filter(|l| l.change == DiffChange::Added).map(|l| l.text.as_str()).collect();
        assert_eq!(removed.len(), 60_000);
        assert_eq!(added.len(), 60_000);
        assert_eq!((removed[0], added[59_999]), ("a0", "b59999"));
    }

    fn tags(lines: &[DiffLine]) -> String {
        lines
            .iter()
            .map(|l| match l.change {
                DiffChange::Kept => format!(" {}", l.text),
                DiffChange::Added => format!("+{}", l.text),
                DiffChange::Removed => format!("-{}", l.text),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_changed_line_is_a_removal_then_an_addition_with_numbers_on_each_side() {
        let lines = lines("one\ntwo\nthree\n", "one\n2\nthree\nfour\n");
        assert_eq!(tags(&lines), " one\n-two\n+2\n three\n+four");
        let two = &lines[1];
        assert_eq!((two.old_line, two.new_line), (Some(2), None));
        let four = lines.last().unwrap();
        assert_eq!((four.old_line, four.new_line), (None, Some(4)));
        assert_eq!((lines[2].old_line, lines[2].new_line), (None, Some(2)));
    }

    #[test]
    fn identical_texts_have_only_kept_lines_and_a_missing_final_newline_is_not_a_change_of_text() {
        let same = lines("a\nb", "a\nb");
        assert!(same.iter().all(|l| l.change == DiffChange::Kept));
        assert_eq!(lines("", "x\n").len(), 1);
        assert_eq!(lines("x\n", "").iter().map(|l| l.change).collect::<Vec<_>>(), vec![DiffChange::Removed]);
    }
}
