//! Where a sentence ends: terminators, abbreviations, initials, numbers and dates, inline code
//! and URLs.

use super::chars::{
    at_word_start, char_at, is_cjk_terminator, is_closer, is_emoji, is_inline_space, is_opener,
    is_terminator, matching, run_len, skip_while,
};
use super::markup::{UrlMatch, closing_run, url_at};

/// Words that end in a full stop without ending a sentence, whatever follows, by language.
pub(super) const ABBREVIATIONS: &[&[&str]] = &[
    // English titles and Latin.
    &[
        "Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "St", "Mt", "Sgt", "Capt", "Lt", "Col", "Gen", "Gov", "Sen",
        "Rep", "Rev", "Hon", "Pres", "vs", "Vs", "approx", "Approx", "e.g", "E.g", "i.e", "I.e", "cf", "Cf",
        "viz", "Fig", "fig", "Figs", "Eq", "eq", "resp",
    ],
    // German.
    &[
        "z.B", "Z.B", "d.h", "D.h", "u.a", "U.a", "bzw", "Bzw", "evtl", "Evtl", "ggf", "Ggf", "sog", "vgl",
        "Vgl", "ca", "Hr", "Hrn", "Fr", "Frl", "Str", "usw",
    ],
    // French and Spanish.
    &["Mme", "Mlle", "MM", "Sr", "Sra", "Srta", "Dra", "Ud", "Uds", "Vd", "Vds", "p.ej"],
    // Russian.
    &["т.е", "т.к", "Т.е", "напр", "см"],
];

/// Words that end in a full stop without ending a sentence when a number follows ("No. 5").
pub(super) const BEFORE_NUMBER: &[&str] = &[
    "No", "no", "Nos", "nos", "Nr", "nr", "Vol", "vol", "p", "pp", "Art", "art", "Ch", "ch", "Sec", "sec",
    "Abs", "Bd", "Kap", "Tel", "tel", "Op", "op", "S", "Nº", "№",
];

/// German month names, separated by spaces: "am 3. Oktober" is a date, not a sentence's end.
pub(super) const MONTHS: &str = "Januar Jänner Februar März April Mai Juni Juli August September Oktober November \
                      Dezember Jan Feb Mär Apr Jun Jul Aug Sep Sept Okt Nov Dez";

/// The result of looking for the end of the first sentence.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Scan {
    /// The first sentence ends at this byte offset.
    Cut(usize),
    /// No sentence ends before this byte offset, from which scanning is to resume.
    Wait(usize),
}

/// Whether a full stop followed by whitespace ends a sentence.
pub(super) enum Decision {
    Cut,
    Continue,
    Wait,
}

/// Finds the end of the first sentence of `text` that is certainly complete, scanning from
/// `from`, a position outside any code span, link target or URL. `last` when the text is whole.
pub(super) fn scan(text: &str, from: usize, last: bool) -> Scan {
    let mut i = from;
    while let Some(c) = char_at(text, i) {
        match c {
            '\\' => match char_at(text, i + 1) {
                Some(escaped) => i += 1 + escaped.len_utf8(),
                None if last => i += 1,
                None => return Scan::Wait(i),
            },
            '`' => {
                let n = run_len(text, i, b'`');
                if i + n == text.len() && !last {
                    return Scan::Wait(i);
                }
                match closing_run(text, i + n, n, last) {
                    Some(close) => i = close + n,
                    None if last => i += n,
                    None => return Scan::Wait(i),
                }
            }
            ']' => match char_at(text, i + 1) {
                Some('(') => match matching(text, i + 1, '(', ')') {
                    Some(close) => i = close + 1,
                    None if last => i += 1,
                    None => return Scan::Wait(i),
                },
                Some(_) => i += 1,
                None if last => i += 1,
                None => return Scan::Wait(i),
            },
            'h' | 'w' | 'f' if at_word_start(text, i) => match url_at(text, i, last) {
                UrlMatch::Url(end) => i = end,
                UrlMatch::Pending => return Scan::Wait(i),
                UrlMatch::No => i += 1,
            },
            _ if is_terminator(c) => {
                let start = i;
                let mut j = i;
                while let Some(t) = char_at(text, j).filter(|&t| is_terminator(t)) {
                    j += t.len_utf8();
                }
                // Closing quotes, brackets, emphasis and emoji belong to the sentence; French
                // puts a space before the closing guillemet.
                let mut k = j;
                loop {
                    match char_at(text, k) {
                        None if last => break,
                        None => return Scan::Wait(start),
                        Some(ch) if is_closer(ch) => k += ch.len_utf8(),
                        // A footnote marker, as in "done.[^1]".
                        Some('[') => match char_at(text, k + 1) {
                            Some('^') => match matching(text, k, '[', ']') {
                                Some(close) => k = close + 1,
                                None if last => break,
                                None => return Scan::Wait(start),
                            },
                            Some(_) => break,
                            None if last => break,
                            None => return Scan::Wait(start),
                        },
                        Some(ch) if is_inline_space(ch) => {
                            let m = skip_while(text, k, is_inline_space);
                            match char_at(text, m) {
                                Some('»') => k = m + '»'.len_utf8(),
                                Some(_) => break,
                                None if last => break,
                                None => return Scan::Wait(start),
                            }
                        }
                        Some(_) => break,
                    }
                }
                let next = char_at(text, k);
                if text[start..j].chars().next_back().is_some_and(is_cjk_terminator) {
                    // 「はい。」と言った: a closing quote followed by more text goes on.
                    if k > j && next.is_some_and(|n| !n.is_whitespace() && !is_terminator(n)) {
                        i = k;
                        continue;
                    }
                    return Scan::Cut(k);
                }
                match next {
                    None => return Scan::Cut(k),
                    Some(n) if !n.is_whitespace() => i = k,
                    Some(_) => match decide(text, start, j, k, last) {
                        Decision::Cut => return Scan::Cut(k),
                        Decision::Continue => i = k,
                        Decision::Wait => return Scan::Wait(start),
                    },
                }
            }
            _ => i += c.len_utf8(),
        }
    }
    Scan::Wait(text.len())
}

/// Decides whether the terminators at `start..end`, followed by closers up to `after` and then
/// whitespace, end a sentence.
pub(super) fn decide(text: &str, start: usize, end: usize, after: usize, last: bool) -> Decision {
    let run = &text[start..end];
    if !run.chars().all(|c| c == '.' || c == '…') {
        return Decision::Cut;
    }
    let m = skip_while(text, after, |c| c.is_whitespace() || is_opener(c) || is_emoji(c));
    let Some(next) = char_at(text, m) else {
        return if last { Decision::Cut } else { Decision::Wait };
    };
    if run == "." && after == end {
        let word = word_before(text, start);
        if ABBREVIATIONS.iter().any(|list| list.contains(&word)) || is_initial(word) {
            return Decision::Continue;
        }
        if next.is_ascii_digit() && BEFORE_NUMBER.contains(&word) {
            return Decision::Continue;
        }
        if (1..=2).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_digit()) && next.is_uppercase() {
            let word_end = skip_while(text, m, char::is_alphabetic);
            let word = &text[m..word_end];
            if word_end == text.len() && !last {
                if MONTHS.split(' ').any(|month| month.starts_with(word)) {
                    return Decision::Wait;
                }
            } else if MONTHS.split(' ').any(|month| month == word) {
                return Decision::Continue;
            }
        }
    }
    if next.is_lowercase() { Decision::Continue } else { Decision::Cut }
}

/// The word before byte offset `end`, without opening quotes, brackets or emphasis.
pub(super) fn word_before(text: &str, end: usize) -> &str {
    let head = &text[..end];
    let start =
        head.char_indices().rev().find(|(_, c)| c.is_whitespace()).map_or(0, |(p, c)| p + c.len_utf8());
    head[start..].trim_start_matches(is_opener)
}

/// Whether `word` is a single capital letter, such as the initial in "J. Smith".
pub(super) fn is_initial(word: &str) -> bool {
    let mut chars = word.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if c.is_uppercase())
}
