//! What a line of Markdown is (blank, fence, table row, rule, heading or item, paragraph),
//! decided from its start.

use super::chars::run_len;

/// What a line is, decided from its start, with the bytes its markers take.
pub(super) enum LineKind {
    /// More text is needed to decide.
    Wait,
    /// An empty line, newline included.
    Blank(usize),
    /// A code fence's opening line, newline included.
    Fence { consumed: usize, marker: u8, len: usize },
    /// A table row: the markers before the first `|`, which is included.
    Table(usize),
    /// A thematic break or setext underline, newline included.
    Rule(usize),
    /// A heading or list item: the markers before its text.
    Item(usize),
    /// A line of a paragraph: the indentation and quote markers before its text.
    Para(usize),
}

/// Decides what a line is from its start; `last` when the text ends with `rest`.
pub(super) fn classify(rest: &str, last: bool, in_paragraph: bool) -> LineKind {
    let b = rest.as_bytes();
    let at = |i: usize| b.get(i).copied();
    let mut i = 0;
    loop {
        while matches!(at(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if at(i) == Some(b'>') {
            i += 1;
            continue;
        }
        break;
    }
    let Some(c) = at(i) else {
        return if last { LineKind::Blank(i) } else { LineKind::Wait };
    };
    match c {
        b'\n' => LineKind::Blank(i + 1),
        b'`' | b'~' => {
            let n = run_len(rest, i, c);
            if i + n == b.len() && !last {
                return LineKind::Wait;
            }
            if n < 3 {
                return LineKind::Para(i);
            }
            let (info, consumed) = match rest[i + n..].find('\n') {
                Some(nl) => (&rest[i + n..i + n + nl], i + n + nl + 1),
                None if last => (&rest[i + n..], rest.len()),
                None => return LineKind::Wait,
            };
            if c == b'`' && info.contains('`') {
                LineKind::Para(i)
            } else {
                LineKind::Fence { consumed, marker: c, len: n }
            }
        }
        b'|' => LineKind::Table(i + 1),
        b'#' => {
            let n = run_len(rest, i, b'#');
            match at(i + n) {
                None if last => LineKind::Item(b.len()),
                None => LineKind::Wait,
                Some(b' ' | b'\t') if n <= 6 => LineKind::Item(i + n + 1),
                Some(b'\n') if n <= 6 => LineKind::Item(i + n),
                Some(_) => LineKind::Para(i),
            }
        }
        b'-' | b'*' | b'+' | b'_' | b'=' => {
            if c != b'+' {
                let mut j = i;
                let mut count = 0;
                let is_rule = loop {
                    match at(j) {
                        None if last => break count >= 3,
                        None => return LineKind::Wait,
                        Some(x) if x == c => count += 1,
                        Some(b' ' | b'\t') => {}
                        Some(b'\n') => break count >= 3,
                        Some(_) => break false,
                    }
                    j += 1;
                };
                if is_rule {
                    return LineKind::Rule((j + 1).min(b.len()));
                }
            }
            if !matches!(c, b'-' | b'*' | b'+') {
                return LineKind::Para(i);
            }
            match at(i + 1) {
                None if last => LineKind::Item(b.len()),
                None => LineKind::Wait,
                Some(b' ' | b'\t') => LineKind::Item(i + 2),
                Some(b'\n') => LineKind::Item(i + 1),
                Some(_) => LineKind::Para(i),
            }
        }
        b'0'..=b'9' => {
            let n = rest[i..].bytes().take_while(u8::is_ascii_digit).count();
            let Some(delimiter) = at(i + n) else {
                return if last { LineKind::Para(i) } else { LineKind::Wait };
            };
            // Only a list starting at 1 interrupts a paragraph, as in CommonMark.
            let interrupts = !in_paragraph || &rest[i..i + n] == "1";
            if n > 9 || !matches!(delimiter, b'.' | b')') || !interrupts {
                return LineKind::Para(i);
            }
            match at(i + n + 1) {
                None if last => LineKind::Item(b.len()),
                None => LineKind::Wait,
                Some(b' ' | b'\t') => LineKind::Item(i + n + 2),
                Some(b'\n') => LineKind::Item(i + n + 1),
                Some(_) => LineKind::Para(i),
            }
        }
        _ => LineKind::Para(i),
    }
}

/// Whether `line` closes a fence opened by `len` times `marker`.
pub(super) fn closes_fence(line: &str, marker: u8, len: usize) -> bool {
    let line = line.trim_start_matches([' ', '\t', '>']);
    let n = run_len(line, 0, marker);
    n >= len && line[n..].trim().is_empty()
}
