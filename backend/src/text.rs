//! Text that must not be kept as it came, handled before it is stored: what Postgres cannot
//! store, and names that would display other than they read. A Rust string is valid UTF-8, which
//! Postgres stores whole except for one character: NUL (U+0000), refused in `text` (as the byte
//! 0x00) and in `jsonb` (as the escape `\u0000`). What a person typed is refused with
//! [`contains_nul`] and a sentence ([`nul_refusal`]); what the model sends a tool is kept with
//! each NUL replaced by U+FFFD, the replacement character ([`replace_nul`],
//! [`replace_nul_in_json`]); a search query reads a NUL as a space ([`nul_as_space`]).
//!
//! Names, too, are cleaned here before they are stored: a document or conversation title, an
//! uploaded file's name, a display name — whether a person or the model gave it. Unicode's
//! bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) would let a
//! name display other than it reads (`invoice\u{202E}fdp.exe` shows as "invoiceexe.pdf"), so
//! [`clean_name`] drops them and control characters (NUL included; a tab or line break becomes
//! a space) and trims the result; [`strip_bidi_controls`] drops only the bidirectional ones.

use std::borrow::Cow;

use serde_json::Value;
use unicode_segmentation::UnicodeSegmentation;

/// How many characters `text` has as people count them: Unicode's extended grapheme clusters
/// (an accented letter written with a combining mark, a flag, a family emoji: one each).
pub fn character_count(text: &str) -> usize {
    text.graphemes(true).count()
}

/// The first `max` characters of `text` as people count them ([`character_count`]), never cutting
/// one in half.
pub fn first_characters(text: &str, max: usize) -> &str {
    match text.grapheme_indices(true).nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// What a NUL becomes where text is kept rather than refused.
pub const REPLACEMENT: &str = "\u{FFFD}";

/// Whether `text` holds a NUL (U+0000), which Postgres cannot store.
pub fn contains_nul(text: &str) -> bool {
    text.contains('\0')
}

/// `text` with every NUL replaced by U+FFFD; borrowed, without copying, when there is none.
pub fn replace_nul(text: &str) -> Cow<'_, str> {
    if contains_nul(text) { Cow::Owned(text.replace('\0', REPLACEMENT)) } else { Cow::Borrowed(text) }
}

/// `text` with every NUL replaced by a space, for what is searched rather than kept: a NUL is
/// never part of a word, so the words around it are looked for. Borrowed when there is none.
pub fn nul_as_space(text: &str) -> Cow<'_, str> {
    if contains_nul(text) { Cow::Owned(text.replace('\0', " ")) } else { Cow::Borrowed(text) }
}

/// Replaces every NUL in `value`'s strings and object keys with U+FFFD, in place, at any depth.
/// Returns whether anything changed.
pub fn replace_nul_in_json(value: &mut Value) -> bool {
    match value {
        Value::String(text) => replace_nul_in_string(text),
        Value::Array(items) => {
            items.iter_mut().fold(false, |changed, item| replace_nul_in_json(item) | changed)
        }
        Value::Object(map) => {
            let mut changed = false;
            if map.keys().any(|key| contains_nul(key)) {
                // Keys cannot be changed in place: rebuild the map, in its order.
                let entries = std::mem::take(map);
                for (key, item) in entries {
                    let key = match replace_nul(&key) {
                        Cow::Borrowed(_) => key,
                        Cow::Owned(replaced) => replaced,
                    };
                    map.insert(key, item);
                }
                changed = true;
            }
            map.values_mut().fold(changed, |changed, item| replace_nul_in_json(item) | changed)
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Replaces every NUL in `text` with U+FFFD, in place; returns whether there was one.
pub fn replace_nul_in_string(text: &mut String) -> bool {
    if let Cow::Owned(replaced) = replace_nul(text) {
        *text = replaced;
        true
    } else {
        false
    }
}

/// Whether `c` is one of Unicode's bidirectional formatting characters: the embeddings and
/// overrides (U+202A–U+202E), the isolates (U+2066–U+2069) and the implicit marks (U+200E
/// LEFT-TO-RIGHT MARK, U+200F RIGHT-TO-LEFT MARK, U+061C ARABIC LETTER MARK). None of them is
/// needed to write a name in any script; each can make a name display differently from what it is.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `text` without bidirectional controls ([`is_bidi_control`]); borrowed when there is none.
pub fn strip_bidi_controls(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_bidi_control) {
        Cow::Owned(text.chars().filter(|&c| !is_bidi_control(c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// A name as it may be stored and shown: without bidirectional controls and control characters
/// (a tab or line break becomes a space, NUL and the others go), trimmed. May be empty; callers
/// decide what an empty name means and how long one may be.
pub fn clean_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .filter(|&c| !is_bidi_control(c))
        .filter_map(|c| match c {
            c if c.is_control() && c.is_whitespace() => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    cleaned.trim().to_owned()
}

/// The sentence that refuses what a person typed because it holds a NUL: `what` names it, as in
/// "Your message" or "The document".
pub fn nul_refusal(what: &str) -> String {
    format!("{what} contains a NUL character (U+0000), which cannot be saved. Remove it and try again.")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_is_found_anywhere_and_only_nul() {
        assert!(contains_nul("\0"));
        assert!(contains_nul("a\0b"));
        assert!(contains_nul("end\0"));
        assert!(!contains_nul(""));
        assert!(!contains_nul("tab\tnew line\n\u{1}\u{7f} é 🦀 \u{FFFD}"));
    }

    #[test]
    fn replacing_changes_only_nul_and_copies_only_when_needed() {
        assert!(matches!(replace_nul("no nul here"), Cow::Borrowed("no nul here")));
        assert_eq!(replace_nul("a\0b\0\0"), "a\u{FFFD}b\u{FFFD}\u{FFFD}");
        assert!(matches!(replace_nul("a\0b"), Cow::Owned(_)));
        assert_eq!(replace_nul("\0"), "\u{FFFD}");
        let mut text = String::from("x\0y");
        assert!(replace_nul_in_string(&mut text));
        assert_eq!(text, "x\u{FFFD}y");
        assert!(!replace_nul_in_string(&mut text));
    }

    #[test]
    fn searches_read_nul_as_a_word_break() {
        assert_eq!(nul_as_space("flash\0light\0"), "flash light ");
        assert!(matches!(nul_as_space("plain words"), Cow::Borrowed("plain words")));
    }

    #[test]
    fn json_strings_and_keys_are_replaced_at_any_depth() {
        let mut value = json!({
            "title": "a\0b",
            "ke\0y": {"nested": ["x\0", 1, null, true, {"\0": "\0"}]},
            "clean": "fine",
            "n": 2.5
        });
        assert!(replace_nul_in_json(&mut value));
        assert_eq!(
            value,
            json!({
                "title": "a\u{FFFD}b",
                "ke\u{FFFD}y": {"nested": ["x\u{FFFD}", 1, null, true, {"\u{FFFD}": "\u{FFFD}"}]},
                "clean": "fine",
                "n": 2.5
            })
        );
        // Nothing escapes as `\u0000` any more, which jsonb refuses.
        assert!(!value.to_string().contains("\\u0000"));
        assert!(!replace_nul_in_json(&mut value), "a second pass finds nothing");
        let mut plain = json!({"a": ["b", {"c": "d"}], "e": 1});
        let before = plain.clone();
        assert!(!replace_nul_in_json(&mut plain));
        assert_eq!(plain, before);
    }

    #[test]
    fn every_bidi_control_is_stripped_and_nothing_else() {
        let controls = [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ];
        for control in controls {
            assert!(is_bidi_control(control), "{:04X}", u32::from(control));
            assert_eq!(strip_bidi_controls(&format!("a{control}b")), "ab");
        }
        // Letters of right-to-left scripts, joiners and other format characters stay.
        let kept = "שלום مرحبا \u{200D}\u{200C}\u{00AD} é 🦀";
        assert!(matches!(strip_bidi_controls(kept), Cow::Borrowed(_)));
        assert!(!kept.chars().any(is_bidi_control));
    }

    #[test]
    fn a_name_loses_bidi_and_control_characters_and_surrounding_space() {
        assert_eq!(clean_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(clean_name("  \u{2067}Plan\u{2069}\tfür\n2027\0\u{7}! "), "Plan für 2027!");
        assert_eq!(clean_name("\u{200F} \u{202E} "), "");
        assert_eq!(clean_name("Résumé – שלום"), "Résumé – שלום");
    }

    #[test]
    fn the_refusal_names_what_was_refused() {
        assert_eq!(
            nul_refusal("Your message"),
            "Your message contains a NUL character (U+0000), which cannot be saved. Remove it and try again."
        );
    }
}
