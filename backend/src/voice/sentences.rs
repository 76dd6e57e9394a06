//! The streaming sentence cutter for spoken replies. A reply arrives as Markdown in chunks that
//! may split anywhere; the cutter returns each sentence as soon as it is certainly complete, as
//! text fit to be spoken: markup removed, links reduced to their text, bare URLs said as "link",
//! emoji dropped. Code blocks and tables are not read: each becomes one short sentence pointing
//! at the screen. A sentence ends at `.`, `!`, `?` or `…` followed by whitespace, at `。！？`, at
//! a blank line and at the end of a heading or list item, but not after an abbreviation, an
//! initial, inside a number, inside inline code or inside a URL.
//!
//! The cutter only decides what further text cannot change, so the sentences it returns are the
//! same however the reply is split into chunks.

/// Said in place of a fenced code block.
const CODE_NOTE: &str = "See the code on screen.";
/// Said in place of a table.
const TABLE_NOTE: &str = "See the table on screen.";

/// Words that end in a full stop without ending a sentence, whatever follows, by language.
const ABBREVIATIONS: &[&[&str]] = &[
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
const BEFORE_NUMBER: &[&str] = &[
    "No", "no", "Nos", "nos", "Nr", "nr", "Vol", "vol", "p", "pp", "Art", "art", "Ch", "ch", "Sec", "sec",
    "Abs", "Bd", "Kap", "Tel", "tel", "Op", "op", "S", "Nº", "№",
];

/// German month names, separated by spaces: "am 3. Oktober" is a date, not a sentence's end.
const MONTHS: &str = "Januar Jänner Februar März April Mai Juni Juli August September Oktober November \
                      Dezember Jan Feb Mär Apr Jun Jul Aug Sep Sept Okt Nov Dez";

/// How URLs begin.
const URL_PREFIXES: &[&str] = &["https://", "http://", "ftp://", "www."];

/// Cuts a streamed Markdown reply into sentences to be spoken one by one. Feed the reply with
/// [`push`](Self::push) as it arrives and call [`finish`](Self::finish) once it is complete;
/// the cutter can then take the next reply.
#[derive(Debug, Clone, Default)]
pub struct SentenceCutter {
    /// Received text not yet consumed, starting inside the line described by `mode`.
    input: String,
    mode: Mode,
    /// Inline Markdown of the current paragraph, heading or list item, not yet returned.
    para: String,
    /// Byte offset in `para` before which no sentence ends; scanning resumes here.
    resume: usize,
    /// Whether `para` holds lines of a plain paragraph, which a numbered line other than "1."
    /// continues rather than interrupts.
    in_paragraph: bool,
    /// Whether the previous line was a table row, so that a table is announced once.
    in_table: bool,
}

/// Where the cutter is in the Markdown's block structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// At the start of a line, none of which is consumed.
    #[default]
    LineStart,
    /// Inside a line whose text belongs to `para`; `item` for a heading or list item, which
    /// ends its sentence at the end of the line.
    Inline { item: bool },
    /// Inside a line that is not read, such as a table row.
    SkipLine,
    /// Inside a fenced code block opened by `len` times `marker`.
    Fence { marker: u8, len: usize },
}

/// What a line is, decided from its start, with the bytes its markers take.
enum LineKind {
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

/// The result of looking for the end of the first sentence.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// The first sentence ends at this byte offset.
    Cut(usize),
    /// No sentence ends before this byte offset, from which scanning is to resume.
    Wait(usize),
}

/// Whether a full stop followed by whitespace ends a sentence.
enum Decision {
    Cut,
    Continue,
    Wait,
}

/// A URL, or the start of one, at a word's start.
enum UrlMatch {
    /// The URL ends at this byte offset, trailing punctuation excluded.
    Url(usize),
    /// The text so far may be the start of a URL.
    Pending,
    No,
}

impl SentenceCutter {
    /// A cutter at the start of a reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next chunk of the reply and returns the sentences it completes, in order.
    pub fn push(&mut self, chunk: &str) -> Vec<String> {
        self.input.extend(chunk.chars().filter(|&c| c != '\r'));
        let mut out = Vec::new();
        self.run(false, &mut out);
        out
    }

    /// Ends the reply and returns the sentences that remain. The cutter is then ready for the
    /// next reply.
    pub fn finish(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        self.run(true, &mut out);
        self.end_paragraph(&mut out);
        if matches!(self.mode, Mode::Fence { .. }) {
            out.push(CODE_NOTE.to_owned());
        }
        *self = Self::default();
        out
    }

    /// Consumes as much input as can be decided; `last` when no more input will come.
    fn run(&mut self, last: bool, out: &mut Vec<String>) {
        let input = std::mem::take(&mut self.input);
        let mut pos = 0;
        while pos < input.len() {
            let rest = &input[pos..];
            match self.mode {
                Mode::LineStart => {
                    let kind = classify(rest, last, self.in_paragraph);
                    if !matches!(kind, LineKind::Wait | LineKind::Table(_)) {
                        self.in_table = false;
                    }
                    match kind {
                        LineKind::Wait => break,
                        LineKind::Blank(n) | LineKind::Rule(n) => {
                            self.end_paragraph(out);
                            pos += n;
                        }
                        LineKind::Fence { consumed, marker, len } => {
                            self.end_paragraph(out);
                            self.mode = Mode::Fence { marker, len };
                            pos += consumed;
                        }
                        LineKind::Table(n) => {
                            self.end_paragraph(out);
                            if !self.in_table {
                                out.push(TABLE_NOTE.to_owned());
                                self.in_table = true;
                            }
                            self.mode = Mode::SkipLine;
                            pos += n;
                        }
                        LineKind::Item(n) => {
                            self.end_paragraph(out);
                            self.mode = Mode::Inline { item: true };
                            pos += n;
                        }
                        LineKind::Para(n) => {
                            self.in_paragraph = true;
                            self.mode = Mode::Inline { item: false };
                            pos += n;
                        }
                    }
                }
                Mode::Inline { item } => match rest.find('\n') {
                    Some(nl) => {
                        self.para.push_str(&rest[..nl]);
                        pos += nl + 1;
                        self.mode = Mode::LineStart;
                        if item {
                            self.end_paragraph(out);
                        } else {
                            self.para.push(' ');
                            self.cut(false, out);
                        }
                    }
                    None => {
                        self.para.push_str(rest);
                        pos = input.len();
                        self.cut(false, out);
                    }
                },
                Mode::SkipLine => match rest.find('\n') {
                    Some(nl) => {
                        pos += nl + 1;
                        self.mode = Mode::LineStart;
                    }
                    None => pos = input.len(),
                },
                Mode::Fence { marker, len } => {
                    let (line, consumed) = match rest.find('\n') {
                        Some(nl) => (&rest[..nl], nl + 1),
                        None if last => (rest, rest.len()),
                        None => break,
                    };
                    pos += consumed;
                    if closes_fence(line, marker, len) {
                        out.push(CODE_NOTE.to_owned());
                        self.mode = Mode::LineStart;
                    }
                }
            }
        }
        self.input = input[pos..].to_owned();
    }

    /// Returns the sentences of `para` that are certainly complete.
    fn cut(&mut self, last: bool, out: &mut Vec<String>) {
        loop {
            match scan(&self.para, self.resume, last) {
                Scan::Cut(end) => {
                    let spoken = clean(&self.para[..end]);
                    if !spoken.is_empty() {
                        out.push(spoken);
                    }
                    self.para.drain(..end);
                    self.resume = 0;
                }
                Scan::Wait(at) => {
                    self.resume = at;
                    return;
                }
            }
        }
    }

    /// Ends the current paragraph, heading or list item and returns all its sentences.
    fn end_paragraph(&mut self, out: &mut Vec<String>) {
        self.cut(true, out);
        let spoken = clean(&self.para);
        if !spoken.is_empty() {
            out.push(spoken);
        }
        self.para.clear();
        self.resume = 0;
        self.in_paragraph = false;
    }
}

/// Decides what a line is from its start; `last` when the text ends with `rest`.
fn classify(rest: &str, last: bool, in_paragraph: bool) -> LineKind {
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
fn closes_fence(line: &str, marker: u8, len: usize) -> bool {
    let line = line.trim_start_matches([' ', '\t', '>']);
    let n = run_len(line, 0, marker);
    n >= len && line[n..].trim().is_empty()
}

/// Finds the end of the first sentence of `text` that is certainly complete, scanning from
/// `from`, a position outside any code span, link target or URL. `last` when the text is whole.
fn scan(text: &str, from: usize, last: bool) -> Scan {
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
fn decide(text: &str, start: usize, end: usize, after: usize, last: bool) -> Decision {
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
fn word_before(text: &str, end: usize) -> &str {
    let head = &text[..end];
    let start =
        head.char_indices().rev().find(|(_, c)| c.is_whitespace()).map_or(0, |(p, c)| p + c.len_utf8());
    head[start..].trim_start_matches(is_opener)
}

/// Whether `word` is a single capital letter, such as the initial in "J. Smith".
fn is_initial(word: &str) -> bool {
    let mut chars = word.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if c.is_uppercase())
}

/// Turns inline Markdown into text to be spoken; empty when nothing is left to say.
fn clean(raw: &str) -> String {
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
fn render(s: &str, out: &mut String) {
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
fn trim_before_punctuation(s: &str, i: usize, out: &mut String) {
    if char_at(s, i).is_some_and(|c| matches!(c, '.' | ',' | '!' | '?' | ';' | ':' | '…')) {
        out.truncate(out.trim_end().len());
    }
}

/// A link or image at `open`, a `[`: the byte range of its label and where it ends. Reference
/// links and footnote markers count; a footnote marker has an empty label.
fn link_at(s: &str, open: usize) -> Option<((usize, usize), usize)> {
    let close = matching(s, open, '[', ']')?;
    match char_at(s, close + 1) {
        Some('(') => Some(((open + 1, close), matching(s, close + 1, '(', ')')? + 1)),
        Some('[') => Some(((open + 1, close), matching(s, close + 1, '[', ']')? + 1)),
        _ if s[open + 1..close].starts_with('^') => Some(((close, close), close + 1)),
        _ => None,
    }
}

/// The offset of the bracket closing the one at `open`, if the text holds it.
fn matching(s: &str, open: usize, left: char, right: char) -> Option<usize> {
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

/// The start of the first run of exactly `n` backticks at or after `from`, which closes a code
/// span. None if there is none, or if one may still grow because the text is not whole.
fn closing_run(text: &str, from: usize, n: usize, last: bool) -> Option<usize> {
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
fn url_at(text: &str, i: usize, last: bool) -> UrlMatch {
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
fn trim_url(token: &str) -> &str {
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
fn is_url_stop(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '<' | '>' | '`' | '"' | '«' | '»' | '“' | '”')
        || ('\u{3000}'..='\u{303F}').contains(&c)
        || ('\u{FF00}'..='\u{FFEF}').contains(&c)
}

/// Whether a word starts at `i`, so that a URL may begin there.
fn at_word_start(text: &str, i: usize) -> bool {
    char_before(text, i)
        .is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '<' | '[' | '*' | '_') || is_opener(c))
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '‼' | '⁇' | '⁈' | '⁉') || is_cjk_terminator(c)
}

fn is_cjk_terminator(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '｡')
}

/// Characters that may follow a sentence's last punctuation and still belong to it.
fn is_closer(c: char) -> bool {
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
fn is_opener(c: char) -> bool {
    matches!(
        c,
        '*' | '_' | '"' | '\'' | '“' | '‘' | '«' | '„' | '¿' | '¡' | '(' | '[' | '{' | '~' | '「' | '『'
    )
}

/// Spaces within a line, including the narrow no-break space French puts before `»`.
fn is_inline_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{a0}' | '\u{202f}')
}

/// Pictographs and the characters that join or modify them, which are not spoken.
fn is_emoji(c: char) -> bool {
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

fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..).and_then(|r| r.chars().next())
}

fn char_before(s: &str, i: usize) -> Option<char> {
    s.get(..i).and_then(|r| r.chars().next_back())
}

/// How many times the ASCII byte `b` repeats from `i`.
fn run_len(s: &str, i: usize, b: u8) -> usize {
    s.as_bytes().get(i..).map_or(0, |r| r.iter().take_while(|&&x| x == b).count())
}

/// The first offset at or after `i` whose character does not satisfy `f`, or the text's end.
fn skip_while(s: &str, i: usize, f: impl Fn(char) -> bool) -> usize {
    s.get(i..).map_or(s.len(), |r| r.find(|c| !f(c)).map_or(s.len(), |p| i + p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpus: a reply and the sentences to be spoken from it.
    const CORPUS: &[(&str, &[&str])] = &[
        ("Hello there. How are you? I'm fine!", &["Hello there.", "How are you?", "I'm fine!"]),
        // Titles.
        (
            "Mr. Smith met Dr. Jones and Prof. Lee at St. Mary's. Mrs. Smith and Ms. Lee stayed home.",
            &["Mr. Smith met Dr. Jones and Prof. Lee at St. Mary's.", "Mrs. Smith and Ms. Lee stayed home."],
        ),
        // Latin abbreviations; etc. ends a sentence only before a capital.
        (
            "Bring fruit, e.g. Apples, i.e. Something sweet. Pack snacks, drinks, etc. and water. \
             We had fun etc. Then we left.",
            &[
                "Bring fruit, e.g. Apples, i.e. Something sweet.",
                "Pack snacks, drinks, etc. and water.",
                "We had fun etc.",
                "Then we left.",
            ],
        ),
        (
            "It was Red vs. Blue. The score was approx. 3 to 1. See No. 5 for details. The answer was No. We lost.",
            &[
                "It was Red vs. Blue.",
                "The score was approx. 3 to 1.",
                "See No. 5 for details.",
                "The answer was No.",
                "We lost.",
            ],
        ),
        (
            "Apple Inc. makes phones. She moved to the U.S. last year. John Smith Jr. was there. \
             Acme Ltd. is a rival. They sell in the U.K. The weather was bad.",
            &[
                "Apple Inc. makes phones.",
                "She moved to the U.S. last year.",
                "John Smith Jr. was there.",
                "Acme Ltd. is a rival.",
                "They sell in the U.K.",
                "The weather was bad.",
            ],
        ),
        (
            "We meet at 9 a.m. tomorrow. The train leaves at 5 p.m. Be on time.",
            &["We meet at 9 a.m. tomorrow.", "The train leaves at 5 p.m.", "Be on time."],
        ),
        // Initials.
        (
            "The author is J. R. R. Tolkien. He wrote books. M. Dupont agreed.",
            &["The author is J. R. R. Tolkien.", "He wrote books.", "M. Dupont agreed."],
        ),
        // Decimals, versions, percentages and numbers at a sentence's end.
        (
            "Pi is about 3.14 and e is 2.718. Prices rose 10.5% this year. Version v1.2.3 is out. The answer is 42. Done.",
            &[
                "Pi is about 3.14 and e is 2.718.",
                "Prices rose 10.5% this year.",
                "Version v1.2.3 is out.",
                "The answer is 42.",
                "Done.",
            ],
        ),
        ("3.14 is pi. Nice.", &["3.14 is pi.", "Nice."]),
        // Ellipses and runs of marks.
        (
            "Well... maybe not. Hmm… Let me think. Wait... What?! Really?",
            &["Well... maybe not.", "Hmm…", "Let me think.", "Wait...", "What?!", "Really?"],
        ),
        // Closing quotes and brackets.
        (
            "He said \"Stop.\" Then he left. (This is an aside.) The end.",
            &["He said \"Stop.\"", "Then he left.", "(This is an aside.)", "The end."],
        ),
        // Ordered lists, items without punctuation.
        (
            "Steps:\n1. Install Rust.\n2. Run the build\n3) Test it.\n",
            &["Steps:", "Install Rust.", "Run the build", "Test it."],
        ),
        (
            "Options:\n- First option\n* Second. With detail.\n+ Third\n",
            &["Options:", "First option", "Second.", "With detail.", "Third"],
        ),
        (
            "- [x] Done task\n  - Nested item\n- [ ] Open task\n10. Tenth item\n",
            &["Done task", "Nested item", "Open task", "Tenth item"],
        ),
        // A number after a paragraph line continues it, unless it starts a list at 1.
        (
            "He was born in\n1990. Then he moved.\nThe list:\n1. One\n2. Two",
            &["He was born in 1990.", "Then he moved.", "The list:", "One", "Two"],
        ),
        // Headings end at the line's end.
        (
            "# Title\n## Setup steps\nFirst do this. Then that.\n### Using `foo.bar()`\nText.\n#rust is fun.",
            &[
                "Title",
                "Setup steps",
                "First do this.",
                "Then that.",
                "Using foo.bar()",
                "Text.",
                "#rust is fun.",
            ],
        ),
        // Paragraphs and soft line breaks.
        (
            "First paragraph without end\n\nSecond paragraph\nspans two lines. Next one.",
            &["First paragraph without end", "Second paragraph spans two lines.", "Next one."],
        ),
        ("   Lots   of    space.   \n\n\n   \n  Another.  ", &["Lots of space.", "Another."]),
        ("Line one.\r\nLine two.\r\n\r\nPara.", &["Line one.", "Line two.", "Para."]),
        ("No final punctuation", &["No final punctuation"]),
        ("**\n\n---\n", &[]),
        ("", &[]),
        // Emphasis and escapes.
        (
            "This is **very** important. Use *italics*, __bold__ and _underscores_ and ~~strike~~ here. \
             Keep snake_case names and 2 * 3. **Note.** Use \\*literal\\* stars.",
            &[
                "This is very important.",
                "Use italics, bold and underscores and strike here.",
                "Keep snake_case names and 2 * 3.",
                "Note.",
                "Use *literal* stars.",
            ],
        ),
        // Links and images.
        (
            "Read [the guide](https://example.com/guide.html). ![diagram](img.png) It explains \
             [Dr. Who](https://x.org/a_(b)) well.[^1] See ![x](y.png).",
            &["Read the guide.", "It explains Dr. Who well.", "See."],
        ),
        // Bare URLs, autolinks and e-mail addresses.
        (
            "Visit https://example.com/a.b?c=1. Or go to www.rust-lang.org for docs. \
             See <https://docs.rs/foo/1.2.3>. Mail me at jane.doe@example.com. Thanks!",
            &[
                "Visit link.",
                "Or go to link for docs.",
                "See link.",
                "Mail me at jane.doe@example.com.",
                "Thanks!",
            ],
        ),
        ("Docs (https://example.com/x). Next.", &["Docs (link).", "Next."]),
        // Inline code.
        (
            "Call `obj.method()` first. Then run `cargo test. --release`. Type ``a`b`` now. Ok.",
            &["Call obj.method() first.", "Then run cargo test. --release.", "Type a`b now.", "Ok."],
        ),
        // Code fences.
        (
            "Here is code:\n```rust\nfn main() { println!(\"Hi. There.\"); }\n```\nThat prints a greeting.",
            &["Here is code:", "See the code on screen.", "That prints a greeting."],
        ),
        (
            "Try this:\n~~~\nls -la\n~~~\nAnd this:\n```sh\necho hi. Bye.",
            &["Try this:", "See the code on screen.", "And this:", "See the code on screen."],
        ),
        ("````md\n```\ninner\n```\n````\nAfter.", &["See the code on screen.", "After."]),
        (
            "1. Run:\n   ```bash\n   make. all\n   ```\n2. Done.\n",
            &["Run:", "See the code on screen.", "Done."],
        ),
        ("Use ```inline``` code. Yes.", &["Use inline code.", "Yes."]),
        // Tables.
        (
            "Compare:\n\n| A | B |\n|---|---|\n| 1. x | 2. y |\n\nTable done.",
            &["Compare:", "See the table on screen.", "Table done."],
        ),
        (
            "| a |\n|---|\nMiddle text.\n| b |\n",
            &["See the table on screen.", "Middle text.", "See the table on screen."],
        ),
        // Block quotes and thematic breaks.
        (
            "> Quoted text here.\n> More quote\n>\n> Second part.\n\nAfter quote.",
            &["Quoted text here.", "More quote", "Second part.", "After quote."],
        ),
        ("Part one\n---\nPart two.\n***\nPart three.", &["Part one", "Part two.", "Part three."]),
        // Emoji.
        ("Great job! 🎉 You did it 🚀. Thumbs up 👍🏽! ❤️ 👨‍👩‍👧", &["Great job!", "You did it.", "Thumbs up!"]),
        ("Done!🎉 Next step. 1️⃣ First ✅.", &["Done!", "Next step.", "1 First."]),
        // German.
        (
            "Das ist z.B. ein Test. Er kam am 3. Oktober an. Wie geht's? Gut, d.h. Sehr gut! \
             Hr. Müller ist da. Es sind ca. 5 Leute.",
            &[
                "Das ist z.B. ein Test.",
                "Er kam am 3. Oktober an.",
                "Wie geht's?",
                "Gut, d.h. Sehr gut!",
                "Hr. Müller ist da.",
                "Es sind ca. 5 Leute.",
            ],
        ),
        // French.
        (
            "Il a dit « Bonjour. » Puis il est parti. Vraiment ? Oui\u{a0}! C'est l'été.",
            &["Il a dit « Bonjour. »", "Puis il est parti.", "Vraiment ?", "Oui !", "C'est l'été."],
        ),
        // Spanish.
        (
            "¿Cómo estás? ¡Muy bien! La Sra. García llegó. Son las 3 p. m. ahora.",
            &["¿Cómo estás?", "¡Muy bien!", "La Sra. García llegó.", "Son las 3 p. m. ahora."],
        ),
        // Japanese.
        (
            "今日は晴れです。明日は雨でしょう！本当ですか？「はい。」と彼は言った。",
            &["今日は晴れです。", "明日は雨でしょう！", "本当ですか？", "「はい。」と彼は言った。"],
        ),
        // Chinese, with a URL and code.
        (
            "我们今天去公园。你想去吗？好的！详见https://example.cn。`a.b`很好。",
            &["我们今天去公园。", "你想去吗？", "好的！", "详见https://example.cn。", "a.b很好。"],
        ),
        // Russian.
        (
            "Это пример, т.е. тест. А. С. Пушкин написал это в 1830 г. и др. Он был поэтом. Привет!",
            &[
                "Это пример, т.е. тест.",
                "А. С. Пушкин написал это в 1830 г. и др.",
                "Он был поэтом.",
                "Привет!",
            ],
        ),
    ];

    fn feed(chunks: &[&str]) -> Vec<String> {
        let mut cutter = SentenceCutter::new();
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(cutter.push(chunk));
        }
        out.extend(cutter.finish());
        out
    }

    #[test]
    fn corpus_whole() {
        for (text, expected) in CORPUS {
            assert_eq!(feed(&[text]), *expected, "input: {text:?}");
        }
    }

    #[test]
    fn corpus_split_anywhere_in_two() {
        for (text, _) in CORPUS {
            let whole = feed(&[text]);
            for (at, _) in text.char_indices().skip(1) {
                assert_eq!(feed(&[&text[..at], &text[at..]]), whole, "input {text:?} split at {at}");
            }
        }
    }

    #[test]
    fn corpus_char_by_char() {
        for (text, _) in CORPUS {
            let chars: Vec<String> = text.chars().map(String::from).collect();
            let chunks: Vec<&str> = chars.iter().map(String::as_str).collect();
            assert_eq!(feed(&chunks), feed(&[text]), "input {text:?}");
        }
    }

    #[test]
    fn corpus_split_in_three() {
        for (text, _) in CORPUS {
            let whole = feed(&[text]);
            let bounds: Vec<usize> = text.char_indices().map(|(p, _)| p).skip(1).step_by(3).collect();
            for (n, &a) in bounds.iter().enumerate() {
                for &b in bounds.iter().skip(n + 1).step_by(2) {
                    assert_eq!(
                        feed(&[&text[..a], &text[a..b], &text[b..]]),
                        whole,
                        "input {text:?} at {a}, {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn sentences_come_as_soon_as_they_are_certain() {
        let mut cutter = SentenceCutter::new();
        assert!(cutter.push("The value is 3.").is_empty());
        assert!(cutter.push(" ").is_empty());
        assert_eq!(cutter.push("Next"), ["The value is 3."]);
        assert!(cutter.push(" it is 3.").is_empty());
        assert!(cutter.push("5 now").is_empty());
        assert_eq!(cutter.push("! Go"), ["Next it is 3.5 now!"]);
        assert!(cutter.push(" to `x. Y").is_empty());
        assert_eq!(cutter.push("` and stop.\n\n"), ["Go to x. Y and stop."]);
        assert!(cutter.push("``").is_empty());
        assert!(cutter.push("`py\nprint(1). Done.\n").is_empty());
        assert_eq!(cutter.push("```\n"), ["See the code on screen."]);
        // A closing quote may still follow the mark.
        assert!(cutter.push("好。").is_empty());
        assert_eq!(cutter.push("走"), ["好。"]);
        assert_eq!(cutter.finish(), ["走"]);
    }

    #[test]
    fn a_cutter_is_reusable_after_finish() {
        let mut cutter = SentenceCutter::default();
        assert!(cutter.push("```\nunclosed").is_empty());
        assert_eq!(cutter.finish(), ["See the code on screen."]);
        assert!(cutter.push("Fresh start").is_empty());
        assert_eq!(cutter.finish(), ["Fresh start"]);
    }

    /// Replies assembled at random from tricky fragments, fed whole and in random chunks.
    #[test]
    fn random_replies_cut_the_same_however_chunked() {
        const FRAGMENTS: &[&str] = &[
            "Hello",
            " world",
            ". ",
            "! ",
            "? ",
            "...",
            "…",
            "3.",
            "14",
            " Dr.",
            " e.g.",
            " U.S.",
            " J.",
            " No.",
            " 5",
            " etc.",
            " am 3.",
            " Oktober",
            " next",
            " Next",
            "\n",
            "\n\n",
            "- ",
            "* ",
            "1. ",
            "2) ",
            "# ",
            "## ",
            "> ",
            "|",
            " a |",
            "```",
            "~~~",
            "`",
            "``",
            "code.x",
            "**",
            "*",
            "_",
            "~~",
            "[",
            "](",
            ")",
            "![",
            "https://ex.com/a.b",
            "www.x.org",
            " <",
            ">",
            "a@b.c",
            "🎉",
            "👍🏽",
            "❤️",
            "\u{200d}",
            "「",
            "」",
            "。",
            "！",
            "？",
            "¿",
            "¡",
            " « ",
            " »",
            "\u{a0}",
            "т.е.",
            " Привет",
            "日本語",
            "\\",
            "---",
            "[^1]",
            "\r\n",
            " ",
            "é",
            "—",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |bound: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % bound
        };
        for _ in 0..400 {
            let text: String = (0..next(40) + 1).map(|_| FRAGMENTS[next(FRAGMENTS.len())]).collect();
            let whole = feed(&[&text]);
            assert!(whole.iter().all(|s| !s.trim().is_empty()), "input {text:?}");
            let bounds: Vec<usize> = text.char_indices().map(|(p, _)| p).chain([text.len()]).collect();
            for _ in 0..8 {
                let mut cuts: Vec<usize> = (0..next(6)).map(|_| bounds[next(bounds.len())]).collect();
                cuts.sort_unstable();
                cuts.dedup();
                let mut chunks = Vec::new();
                let mut from = 0;
                for cut in cuts.into_iter().chain([text.len()]) {
                    chunks.push(&text[from..cut]);
                    from = cut;
                }
                assert_eq!(feed(&chunks), whole, "input {text:?} in chunks {chunks:?}");
            }
            let chars: Vec<String> = text.chars().map(String::from).collect();
            let singles: Vec<&str> = chars.iter().map(String::as_str).collect();
            assert_eq!(feed(&singles), whole, "input {text:?} char by char");
        }
    }

    #[test]
    fn unmatched_backtick_is_literal_at_the_end() {
        assert_eq!(feed(&["Use the ` key. It types a backtick."]), ["Use the key.", "It types a backtick."]);
    }
}
