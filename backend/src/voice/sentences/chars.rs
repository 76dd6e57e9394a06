//! Character tests and byte-offset helpers the sentence cutter shares.

pub(super) fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '‼' | '⁇' | '⁈' | '⁉') || is_cjk_terminator(c)
}

pub(super) fn is_cjk_terminator(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '｡')
}

/// Whether a word starts at `i`, so that a URL may begin there.
pub(super) fn at_word_start(text: &str, i: usize) -> bool {
    char_before(text, i)
        .is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '<' | '[' | '*' | '_') || is_opener(c))
}

/// Characters that may follow a sentence's last punctuation and still belong to it.
pub(super) fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '”'
            | '’'
            | '»'
            | ')'
            | '}'
            | '*'
            | '_'
            | '」'
            | '』'
            | '）'
            | '】'
            | '〕'
            | '〉'
            | '》'
            | '〗'
    ) || is_emoji(c)
}

/// Characters that may open a word before its first letter.
pub(super) fn is_opener(c: char) -> bool {
    matches!(
        c,
        '*' | '_' | '"' | '\'' | '“' | '‘' | '«' | '„' | '¿' | '¡' | '(' | '[' | '{' | '~' | '「' | '『'
    )
}

/// Spaces within a line, including the narrow no-break space French puts before `»`.
pub(super) fn is_inline_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{a0}' | '\u{202f}')
}

/// Pictographs and the characters that join or modify them, which are not spoken.
pub(super) fn is_emoji(c: char) -> bool {
    matches!(
        c as u32,
        0x1F000..=0x1FAFF
            | 0x2600..=0x27BF
            | 0x2B00..=0x2BFF
            | 0x231A..=0x231B
            | 0x23E9..=0x23F3
            | 0x23F8..=0x23FA
            | 0xFE00..=0xFE0F
            | 0x200D
            | 0x20E3
            | 0x3030
            | 0x303D
            | 0x3297
            | 0x3299
            | 0xE0020..=0xE007F
    )
}

pub(super) fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..).and_then(|r| r.chars().next())
}

pub(super) fn char_before(s: &str, i: usize) -> Option<char> {
    s.get(..i).and_then(|r| r.chars().next_back())
}

/// How many times the ASCII byte `b` repeats from `i`.
pub(super) fn run_len(s: &str, i: usize, b: u8) -> usize {
    s.as_bytes().get(i..).map_or(0, |r| r.iter().take_while(|&&x| x == b).count())
}

/// The first offset at or after `i` whose character does not satisfy `f`, or the text's end.
pub(super) fn skip_while(s: &str, i: usize, f: impl Fn(char) -> bool) -> usize {
    s.get(i..).map_or(s.len(), |r| r.find(|c| !f(c)).map_or(s.len(), |p| i + p))
}

/// The offset of the bracket closing the one at `open`, if the text holds it.
pub(super) fn matching(s: &str, open: usize, left: char, right: char) -> Option<usize> {
    let mut depth = 0usize;
    for (p, c) in s.get(open..)?.char_indices() {
        if c == left {
            depth += 1;
        } else if c == right {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(open + p);
            }
        }
    }
    None
}
