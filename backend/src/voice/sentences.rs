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

mod boundaries;
mod chars;
mod lines;
mod markup;
mod spoken;

use self::boundaries::{Scan, scan};
use self::lines::{LineKind, classify, closes_fence};
use self::spoken::clean;

/// Said in place of a fenced code block.
const CODE_NOTE: &str = "See the code on screen.";

/// Said in place of a table.
const TABLE_NOTE: &str = "See the table on screen.";

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
