//! Markdown from the model, rendered safely: pulldown-cmark turns it into HTML with any raw HTML
//! in the source escaped as text, then ammonia keeps only harmless tags, attributes and URL
//! schemes. Nothing the model writes can put a script, an event handler or a `javascript:` URL
//! into the page. Runs the same on the server (history) and in the browser (streaming).

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// Renders Markdown to sanitised HTML. Code blocks are highlighted and get a copy button.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut events = Vec::new();
    let mut code: Option<(String, String)> = None;
    for event in Parser::new_ext(markdown, options) {
        match (event, &mut code) {
            (Event::Start(Tag::CodeBlock(kind)), _) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or_default().to_owned()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((language, String::new()));
            }
            (Event::Text(text), Some((_, body))) => body.push_str(&text),
            (Event::End(TagEnd::CodeBlock), Some(_)) => {
                let (language, body) = code.take().unwrap_or_default();
                events.push(Event::Html(CowStr::from(highlight::block(&language, &body))));
            }
            // Raw HTML becomes visible text, never markup.
            (Event::Html(html) | Event::InlineHtml(html), _) => events.push(Event::Text(html)),
            (other, _) => events.push(other),
        }
    }
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events.into_iter());
    clean(&unsafe_html)
}

/// Renders source code as one highlighted, sanitised block with a copy button.
pub fn code(language: &str, code: &str) -> String {
    clean(&highlight::block(language, code))
}

/// Keeps only harmless tags, attributes and URL schemes, then adds our own markup around code.
fn clean(unsafe_html: &str) -> String {
    let clean = ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .add_tag_attributes("code", ["class"])
        .add_tag_attributes("span", ["class"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tags(["input"])
        .clean(unsafe_html)
        .to_string();
    // Our own, fixed markup around code blocks, added after sanitising: the model's text can
    // only ever be inside <pre>, escaped.
    clean
        .replace("<pre>", r#"<div class="code-block"><button type="button" class="copy-code" data-copy-code="">Copy</button><pre>"#)
        .replace("</pre>", "</pre></div>")
}

/// A small, dependency-free highlighter: comments, strings, numbers and common keywords.
mod highlight {
    const KEYWORDS: &[&str] = &[
        "as",
        "async",
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "def",
        "else",
        "enum",
        "except",
        "export",
        "extends",
        "false",
        "finally",
        "fn",
        "for",
        "from",
        "func",
        "function",
        "if",
        "impl",
        "import",
        "in",
        "interface",
        "let",
        "loop",
        "match",
        "mod",
        "mut",
        "new",
        "nil",
        "None",
        "null",
        "package",
        "pub",
        "return",
        "self",
        "Self",
        "static",
        "struct",
        "switch",
        "this",
        "throw",
        "trait",
        "true",
        "True",
        "False",
        "try",
        "type",
        "use",
        "var",
        "where",
        "while",
        "with",
        "yield",
        "SELECT",
        "FROM",
        "WHERE",
        "INSERT",
        "UPDATE",
        "DELETE",
        "JOIN",
        "CREATE",
        "TABLE",
    ];

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    }

    fn span(class: &str, text: &str) -> String {
        format!(r#"<span class="{class}">{}</span>"#, escape(text))
    }

    pub fn block(language: &str, code: &str) -> String {
        let class: String =
            language.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '+').collect();
        let hash_comments = matches!(
            class.as_str(),
            "python" | "py" | "sh" | "bash" | "shell" | "toml" | "yaml" | "yml" | "ruby" | "rb"
        );
        let mut out = String::with_capacity(code.len() * 2);
        let chars: Vec<char> = code.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let rest_starts = |s: &str| chars[i..].iter().take(s.len()).copied().eq(s.chars());
            if rest_starts("//") || rest_starts("--") || (hash_comments && c == '#') {
                let end = chars[i..].iter().position(|&c| c == '\n').map_or(chars.len(), |p| i + p);
                out.push_str(&span("hl-com", &chars[i..end].iter().collect::<String>()));
                i = end;
            } else if c == '"' || c == '\'' || c == '`' {
                let mut end = i + 1;
                while end < chars.len() && chars[end] != c && chars[end] != '\n' {
                    if chars[end] == '\\' {
                        end += 1;
                    }
                    end += 1;
                }
                let end = (end + 1).min(chars.len());
                out.push_str(&span("hl-str", &chars[i..end].iter().collect::<String>()));
                i = end;
            } else if c.is_ascii_digit() {
                let end = chars[i..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '_'))
                    .map_or(chars.len(), |p| i + p);
                out.push_str(&span("hl-num", &chars[i..end].iter().collect::<String>()));
                i = end;
            } else if c.is_alphabetic() || c == '_' {
                let end = chars[i..]
                    .iter()
                    .position(|c| !(c.is_alphanumeric() || *c == '_'))
                    .map_or(chars.len(), |p| i + p);
                let word: String = chars[i..end].iter().collect();
                if KEYWORDS.contains(&word.as_str()) {
                    out.push_str(&span("hl-kw", &word));
                } else {
                    out.push_str(&escape(&word));
                }
                i = end;
            } else {
                out.push_str(&escape(&c.to_string()));
                i += 1;
            }
        }
        if class.is_empty() {
            format!("<pre><code>{out}</code></pre>")
        } else {
            format!(r#"<pre><code class="language-{class}">{out}</code></pre>"#)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn ordinary_markdown_renders() {
        let html = render(
            "# Title\n\n**bold** and `code`\n\n```rust\nfn main() {}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains(r#"<code class="language-rust">"#), "{html}");
        assert!(html.contains("<table>"));
    }

    #[test]
    fn code_blocks_are_highlighted_escaped_and_get_a_copy_button() {
        let html = render("```rust\nfn main() { let s = \"<b>\"; // hi\n}\n```");
        assert!(
            html.contains(r#"<button type="button" class="copy-code" data-copy-code="">Copy</button>"#),
            "{html}"
        );
        assert!(html.contains(r#"<span class="hl-kw">fn</span>"#), "{html}");
        assert!(html.contains(r#"<span class="hl-str">"&lt;b&gt;"</span>"#), "{html}");
        assert!(html.contains(r#"<span class="hl-com">// hi</span>"#), "{html}");
    }

    #[test]
    fn links_keep_safe_schemes_and_gain_rel() {
        let html = render("[site](https://example.com)");
        assert!(html.contains(r#"href="https://example.com""#), "{html}");
        assert!(html.contains("noopener"));
    }

    /// A corpus of XSS payloads a model could be tricked into writing.
    pub(crate) const PAYLOADS: &[&str] = &[
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](  javascript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox(1))",
        "![x](javascript:alert(1))",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<div style=\"background:url(javascript:alert(1))\">x</div>",
        "<details open ontoggle=alert(1)>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "```\n</code><script>alert(1)</script>\n```",
        "`<script>alert(1)</script>`",
        "<<script>script>alert(1)<</script>/script>",
        "[x](https://example.com \"title\\\" onmouseover=\\\"alert(1)\")",
        "<form action=\"javascript:alert(1)\"><button>go</button></form>",
        "<object data=\"javascript:alert(1)\"></object>",
    ];

    /// The real tags of rendered HTML (escaped text holds `&lt;`, never `<`).
    fn tags(html: &str) -> Vec<String> {
        html.split('<')
            .skip(1)
            .map(|rest| rest.split('>').next().unwrap_or_default().to_ascii_lowercase())
            .collect()
    }

    #[test]
    fn no_payload_leaves_a_script_a_handler_or_a_dangerous_url() {
        for payload in PAYLOADS {
            assert_inert(payload, &render(payload));
        }
    }

    /// Fails unless `html` holds no script, embedding, event handler, inline style or a URL with
    /// a scheme other than http(s)/mailto.
    pub(crate) fn assert_inert(payload: &str, html: &str) {
        {
            for tag in tags(html) {
                let name =
                    tag.trim_start_matches('/').split_whitespace().next().unwrap_or_default().to_owned();
                assert!(
                    !["script", "iframe", "object", "embed", "form", "svg", "math", "style", "details"]
                        .contains(&name.as_str()),
                    "{payload} → <{tag}>"
                );
                // Attribute names: the tag with its quoted values taken out.
                let names: String = tag.split('"').step_by(2).collect();
                assert!(!names.contains(" on") && !names.contains("style="), "{payload} → <{tag}>");
                // URL values.
                for attribute in ["href=\"", "src=\""] {
                    if let Some(value) = tag.split(attribute).nth(1).and_then(|rest| rest.split('"').next()) {
                        let value = value.trim();
                        assert!(
                            value.starts_with("http://")
                                || value.starts_with("https://")
                                || value.starts_with("mailto:")
                                || value.starts_with('#'),
                            "{payload} → <{tag}>"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = render("<b>bold?</b>");
        assert!(html.contains("&lt;b&gt;bold?&lt;/b&gt;"), "{html}");
    }
}
