//! Inline Markdown both scanning and rendering must see through: bare URLs and runs of
//! emphasis or code markers.

use super::chars::run_len;

/// How URLs begin.
pub(super) const URL_PREFIXES: &[&str] = &["https://", "http://", "ftp://", "www."];

/// A URL, or the start of one, at a word's start.
pub(super) enum UrlMatch {
    /// The URL ends at this byte offset, trailing punctuation excluded.
    Url(usize),
    /// The text so far may be the start of a URL.
    Pending,
    No,
}

/// The start of the first run of exactly `n` backticks at or after `from`, which closes a code
/// span. None if there is none, or if one may still grow because the text is not whole.
pub(super) fn closing_run(text: &str, from: usize, n: usize, last: bool) -> Option<usize> {
    let mut j = from;
    while let Some(k) = text.get(j..).and_then(|r| r.find('`')) {
        let start = j + k;
        let m = run_len(text, start, b'`');
        if start + m == text.len() && !last {
            return None;
        }
        if m == n {
            return Some(start);
        }
        j = start + m;
    }
    None
}

/// Whether a URL begins at `i` in `text`, which is whole when `last`.
pub(super) fn url_at(text: &str, i: usize, last: bool) -> UrlMatch {
    let Some(rest) = text.get(i..) else {
        return UrlMatch::No;
    };
    if let Some(prefix) = URL_PREFIXES.iter().find(|p| rest.starts_with(**p)) {
        let token = match rest.find(is_url_stop) {
            Some(end) => &rest[..end],
            None if last => rest,
            None => return UrlMatch::Pending,
        };
        let url = trim_url(token);
        return if url.len() > prefix.len() { UrlMatch::Url(i + url.len()) } else { UrlMatch::No };
    }
    if !last && !rest.is_empty() && URL_PREFIXES.iter().any(|p| p.starts_with(rest)) {
        return UrlMatch::Pending;
    }
    UrlMatch::No
}

/// A URL token without the punctuation that follows it in the sentence.
pub(super) fn trim_url(token: &str) -> &str {
    let mut url = token;
    while let Some(c) = url.chars().next_back() {
        let strip = match c {
            ')' => url.matches('(').count() < url.matches(')').count(),
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '_' | ']' | '}' | '…' => true,
            _ => false,
        };
        if !strip {
            break;
        }
        url = &url[..url.len() - c.len_utf8()];
    }
    url
}

/// Characters that end a URL token.
pub(super) fn is_url_stop(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '<' | '>' | '`' | '"' | '«' | '»' | '“' | '”')
        || ('\u{3000}'..='\u{303F}').contains(&c)
        || ('\u{FF00}'..='\u{FFEF}').contains(&c)
}
