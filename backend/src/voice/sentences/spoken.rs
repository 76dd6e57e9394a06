//! Inline Markdown made fit to be spoken: markup removed, links reduced to their text, bare
//! URLs said as "link", emoji dropped.

use super::chars::{at_word_start, char_at, char_before, is_emoji, matching, run_len};
use super::markup::{UrlMatch, closing_run, url_at};

/// Turns inline Markdown into text to be spoken; empty when nothing is left to say.
pub(super) fn clean(raw: &str) -> String {
    let mut text = raw.trim_start();
    for checkbox in ["[ ] ", "[x] ", "[X] "] {
        if let Some(rest) = text.strip_prefix(checkbox) {
            text = rest;
            break;
        }
    }
    let mut out = String::new();
    render(text, &mut out);
    let spoken = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if spoken.chars().any(char::is_alphanumeric) { spoken } else { String::new() }
}

/// Appends the spoken form of inline Markdown `s` to `out`.
pub(super) fn render(s: &str, out: &mut String) {
    let mut i = 0;
    while let Some(c) = char_at(s, i) {
        match c {
            '\\' => match char_at(s, i + 1) {
                Some(e) if e.is_ascii_punctuation() => {
                    out.push(e);
                    i += 2;
                }
                _ => {
                    out.push('\\');
                    i += 1;
                }
            },
            '`' => {
                let n = run_len(s, i, b'`');
                if let Some(close) = closing_run(s, i + n, n, true) {
                    out.extend(s[i + n..close].chars().filter(|&c| !is_emoji(c)));
                    i = close + n;
                } else {
                    i += n;
                }
            }
            '!' if char_at(s, i + 1) == Some('[') => match link_at(s, i + 1) {
                Some((_, end)) => {
                    i = end;
                    trim_before_punctuation(s, i, out);
                }
                None => {
                    out.push('!');
                    i += 1;
                }
            },
            '[' => match link_at(s, i) {
                Some((label, end)) => {
                    render(&s[label.0..label.1], out);
                    i = end;
                }
                None => {
                    out.push('[');
                    i += 1;
                }
            },
            '<' => {
                if let UrlMatch::Url(end) = url_at(s, i + 1, true)
                    && char_at(s, end) == Some('>')
                {
                    out.push_str("link");
                    i = end + 1;
                } else if let Some(len) =
                    ["<br>", "<br/>", "<br />"].iter().find(|tag| s[i..].starts_with(**tag)).map(|t| t.len())
                {
                    out.push(' ');
                    i += len;
                } else {
                    out.push('<');
                    i += 1;
                }
            }
            '*' | '_' | '~' => {
                let n = run_len(s, i, c as u8);
                let before = char_before(s, i);
                let after = char_at(s, i + n);
                let keep = match c {
                    // A lone star between spaces is arithmetic, not emphasis.
                    '*' => before.is_none_or(char::is_whitespace) && after.is_none_or(char::is_whitespace),
                    // Underscores inside a word belong to it, as in snake_case.
                    '_' => {
                        before.is_some_and(char::is_alphanumeric) && after.is_some_and(char::is_alphanumeric)
                    }
                    _ => n == 1,
                };
                if keep {
                    out.push_str(&s[i..i + n]);
                }
                i += n;
            }
            _ if is_emoji(c) => {
                i += c.len_utf8();
                trim_before_punctuation(s, i, out);
            }
            'h' | 'w' | 'f' if at_word_start(s, i) => match url_at(s, i, true) {
                UrlMatch::Url(end) => {
                    out.push_str("link");
                    i = end;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            },
            _ => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
}

/// After something dropped from `s` before offset `i`, removes the space it leaves before
/// punctuation, so that "done 🎉." is said as "done.".
pub(super) fn trim_before_punctuation(s: &str, i: usize, out: &mut String) {
    if char_at(s, i).is_some_and(|c| matches!(c, '.' | ',' | '!' | '?' | ';' | ':' | '…')) {
        out.truncate(out.trim_end().len());
    }
}

/// A link or image at `open`, a `[`: the byte range of its label and where it ends. Reference
/// links and footnote markers count; a footnote marker has an empty label.
pub(super) fn link_at(s: &str, open: usize) -> Option<((usize, usize), usize)> {
    let close = matching(s, open, '[', ']')?;
    match char_at(s, close + 1) {
        Some('(') => Some(((open + 1, close), matching(s, close + 1, '(', ')')? + 1)),
        Some('[') => Some(((open + 1, close), matching(s, close + 1, '[', ']')? + 1)),
        _ if s[open + 1..close].starts_with('^') => Some(((close, close), close + 1)),
        _ => None,
    }
}
