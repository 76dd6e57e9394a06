//! URLs read the way a browser reads them (the WHATWG URL standard), for the renderer's link and
//! image checks: on the server by the `url` crate, in the browser by the browser's own `URL`.
//! Both follow the same standard, so the two renderings agree; the browser's build carries no URL
//! parser and no IDNA tables of its own (56 kB of the wasm, brotli: README, "Page weight").

/// What a string is as a URL.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum UrlKind {
    /// An absolute URL: its scheme (lower case, without the `:`) and its path (for `data:`, the
    /// media type and the data).
    Absolute { scheme: String, path: String },
    /// No scheme: a path, `//host/…`, `?query` or `#fragment`, to be resolved against the page.
    Relative,
    /// Has a scheme but is not a valid URL (`http://[`), or is not a URL at all.
    Invalid,
}

/// What `url` is, as the URL standard parses it without a base.
pub(super) fn classify(url: &str) -> UrlKind {
    imp::classify(url)
}

/// The path `relative` resolves to against `base`, as a browser resolves it (tabs and newlines
/// dropped, `\` read as `/`, dot segments removed), when it stays on `base`'s origin.
pub(super) fn path_on_origin_of(relative: &str, base: &str) -> Option<String> {
    imp::path_on_origin_of(relative, base)
}

impl UrlKind {
    /// The scheme of an absolute URL.
    pub(super) fn scheme(&self) -> Option<&str> {
        match self {
            UrlKind::Absolute { scheme, .. } => Some(scheme),
            _ => None,
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use url::{ParseError, Url};

    use super::UrlKind;

    pub(super) fn classify(url: &str) -> UrlKind {
        match Url::parse(url) {
            Ok(parsed) => {
                UrlKind::Absolute { scheme: parsed.scheme().to_owned(), path: parsed.path().to_owned() }
            }
            Err(ParseError::RelativeUrlWithoutBase) => UrlKind::Relative,
            Err(_) => UrlKind::Invalid,
        }
    }

    pub(super) fn path_on_origin_of(relative: &str, base: &str) -> Option<String> {
        let base = Url::parse(base).ok()?;
        let resolved = base.join(relative).ok()?;
        (resolved.origin() == base.origin()).then(|| resolved.path().to_owned())
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use web_sys::Url;

    use super::{UrlKind, has_scheme};

    pub(super) fn classify(url: &str) -> UrlKind {
        match Url::new(url) {
            Ok(parsed) => UrlKind::Absolute {
                scheme: parsed.protocol().trim_end_matches(':').to_owned(),
                path: parsed.pathname(),
            },
            // The standard fails a scheme-less string parsed without a base, whatever follows;
            // the `url` crate names that failure, the browser's `URL` does not: tell it apart here.
            Err(_) if !has_scheme(url) => UrlKind::Relative,
            Err(_) => UrlKind::Invalid,
        }
    }

    pub(super) fn path_on_origin_of(relative: &str, base: &str) -> Option<String> {
        let base = Url::new(base).ok()?;
        let resolved = Url::new_with_base(relative, &base.href()).ok()?;
        (resolved.origin() == base.origin()).then(|| resolved.pathname())
    }
}

/// Whether the standard's "scheme start" state finds a scheme: after leading and trailing C0
/// controls and spaces are trimmed and tabs and newlines removed, an ASCII letter, then
/// letters, digits, `+`, `-` or `.`, then `:`.
#[cfg(any(target_arch = "wasm32", test))]
fn has_scheme(url: &str) -> bool {
    let mut chars = url.trim_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\n' | '\r'));
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    for c in chars {
        match c {
            ':' => return true,
            c if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.') => {}
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use url::{ParseError, Url};

    use super::has_scheme;

    #[test]
    fn has_scheme_agrees_with_the_url_crate_on_what_is_relative() {
        let corpus = [
            "https://example.com/a",
            "HTTP://EXAMPLE.COM",
            "mailto:a@b.c",
            "javascript:alert(1)",
            " \tjava\nscript:alert(1)",
            "\u{1}data:image/png;base64,AAAA",
            "data:text/html,x",
            "a+b-c.d:x",
            "c:\\windows",
            "x:",
            "/path",
            "./rel",
            "../up",
            "//host/x",
            "\\\\host\\x",
            "#frag",
            "?q=1",
            "",
            " ",
            "1http://x",
            "+x:y",
            "ht tp://x",
            "http//x",
            "http://[",
            "http://",
            "http:",
            "éx:y",
            "x\u{e9}:y",
            "/a:b",
            "a/b:c",
            "a?b:c",
            "a#b:c",
            "%68ttp://x",
        ];
        for url in corpus {
            let relative = Url::parse(url) == Err(ParseError::RelativeUrlWithoutBase);
            assert_eq!(has_scheme(url), !relative, "{url:?}");
        }
    }
}
