//! Safe file names: whatever a title or an upload is called, the name we hand out has no path
//! separators, no `..`, no control, bidirectional or reserved characters, a bounded length, and
//! an extension that matches the document's kind.

use super::model::Kind;

/// Longest name, in bytes, extension included (most file systems allow 255).
const MAX_BYTES: usize = 120;

/// Turns any text into a safe file stem (without extension).
pub fn sanitize_stem(raw: &str) -> String {
    let mut stem = String::new();
    // Bidirectional controls go first, so that no name can display other than it reads.
    for c in crate::text::strip_bidi_controls(raw).chars() {
        let safe = match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '\0' => '-',
            c if c.is_control() => '-',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        stem.push(safe);
    }
    let collapsed = stem.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed.trim_matches(|c: char| c == '.' || c == ' ' || c == '-');
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > MAX_BYTES - 12 {
            break;
        }
        out.push(c);
    }
    let out = out.replace("..", ".");
    if out.is_empty() { "document".to_owned() } else { out }
}

/// The extension for a kind (and, for code, its language).
pub fn extension(kind: Kind, language: Option<&str>) -> &'static str {
    match kind {
        Kind::Markdown => "md",
        Kind::Text => "txt",
        Kind::Html => "html",
        Kind::Json => "json",
        Kind::Csv => "csv",
        Kind::Code => match language.unwrap_or_default() {
            "rust" | "rs" => "rs",
            "python" | "py" => "py",
            "javascript" | "js" => "js",
            "typescript" | "ts" => "ts",
            "go" => "go",
            "java" => "java",
            "c" => "c",
            "cpp" | "c++" => "cpp",
            "ruby" | "rb" => "rb",
            "shell" | "bash" | "sh" => "sh",
            "sql" => "sql",
            "toml" => "toml",
            "yaml" | "yml" => "yaml",
            "css" => "css",
            "swift" => "swift",
            "kotlin" => "kt",
            _ => "txt",
        },
    }
}

pub fn for_document(title: &str, kind: Kind, language: Option<&str>) -> String {
    format!("{}.{}", sanitize_stem(title), extension(kind, language))
}

/// The name of an old version's download: `Plan.md` at version 2 → `Plan (v2).md`.
pub fn for_version(name: &str, version: i32) -> String {
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem} (v{version}).{extension}"),
        None => format!("{name} (v{version})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_get_distinct_names() {
        assert_eq!(for_version("Plan.md", 2), "Plan (v2).md");
        assert_eq!(for_version("README", 3), "README (v3)");
    }

    #[test]
    fn path_traversal_nul_and_reserved_characters_are_neutralised() {
        for raw in [
            "../../etc/passwd",
            "..\\..\\windows\\system32",
            "a/b/c",
            "evil\0name",
            "con:aux*?\"<>|",
            "...",
            "  ..  ",
        ] {
            let name = for_document(raw, Kind::Text, None);
            assert!(
                !name.contains('/') && !name.contains('\\') && !name.contains('\0'),
                "{raw:?} → {name:?}"
            );
            assert!(!name.contains(".."), "{raw:?} → {name:?}");
            assert!(!name.starts_with('.'), "{raw:?} → {name:?}");
            assert!(name.ends_with(".txt"));
        }
    }

    #[test]
    fn bidi_controls_cannot_disguise_an_extension() {
        assert_eq!(sanitize_stem("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(for_document("\u{2067}report\u{2069}\u{200F}", Kind::Markdown, None), "report.md");
    }

    #[test]
    fn very_long_names_are_cut_on_a_character_boundary() {
        let name = for_document(&"ü".repeat(500), Kind::Markdown, None);
        assert!(name.len() <= MAX_BYTES, "{}", name.len());
        assert!(name.ends_with(".md"));
        assert!(name.starts_with('ü'));
    }

    #[test]
    fn unicode_titles_are_kept_and_code_gets_its_language_extension() {
        assert_eq!(for_document("Plan für 2027 🚀", Kind::Markdown, None), "Plan für 2027 🚀.md");
        assert_eq!(for_document("main", Kind::Code, Some("rust")), "main.rs");
        assert_eq!(for_document("", Kind::Json, None), "document.json");
    }
}
