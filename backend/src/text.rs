//! Text Postgres cannot store, handled before it gets there. A Rust string is valid UTF-8, which
//! Postgres stores whole except for one character: NUL (U+0000), refused in `text` (as the byte
//! 0x00) and in `jsonb` (as the escape `\u0000`). What a person typed is refused with
//! [`contains_nul`] and a sentence ([`nul_refusal`]); what the model sends a tool is kept with
//! each NUL replaced by U+FFFD, the replacement character ([`replace_nul`],
//! [`replace_nul_in_json`]); a search query reads a NUL as a space ([`nul_as_space`]).

use std::borrow::Cow;

use serde_json::Value;

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
    fn the_refusal_names_what_was_refused() {
        assert_eq!(
            nul_refusal("Your message"),
            "Your message contains a NUL character (U+0000), which cannot be saved. Remove it and try again."
        );
    }
}
