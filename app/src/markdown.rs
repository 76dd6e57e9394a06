//! Markdown from the model, rendered safely: pulldown-cmark turns it into HTML with any raw HTML
//! in the source escaped as text, then ammonia keeps only harmless tags, attributes and URL
//! schemes. Nothing the model writes can put a script, an event handler or a `javascript:` URL
//! into the page. Runs the same on the server (history) and in the browser (streaming).

use pulldown_cmark::{Event, Options, Parser, html};

/// Renders Markdown to sanitised HTML.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    // Raw HTML becomes visible text, never markup.
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        other => other,
    });
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events);
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .add_tag_attributes("code", ["class"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tags(["input"])
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_markdown_renders() {
        let html = render("# Title\n\n**bold** and `code`\n\n```rust\nfn main() {}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains(r#"<code class="language-rust">"#), "{html}");
        assert!(html.contains("<table>"));
    }

    #[test]
    fn links_keep_safe_schemes_and_gain_rel() {
        let html = render("[site](https://example.com)");
        assert!(html.contains(r#"href="https://example.com""#), "{html}");
        assert!(html.contains("noopener"));
    }

    /// A corpus of XSS payloads a model could be tricked into writing.
    const PAYLOADS: &[&str] = &[
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
        html.split('<').skip(1).map(|rest| rest.split('>').next().unwrap_or_default().to_ascii_lowercase()).collect()
    }

    #[test]
    fn no_payload_leaves_a_script_a_handler_or_a_dangerous_url() {
        for payload in PAYLOADS {
            let html = render(payload);
            for tag in tags(&html) {
                let name = tag.trim_start_matches('/').split_whitespace().next().unwrap_or_default().to_owned();
                assert!(
                    !["script", "iframe", "object", "embed", "form", "svg", "math", "style", "details"].contains(&name.as_str()),
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
                            value.starts_with("http://") || value.starts_with("https://") || value.starts_with("mailto:") || value.starts_with('#'),
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
