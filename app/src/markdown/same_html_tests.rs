//! The browser's HTML (no ammonia) against the server's (with ammonia's second check) and
//! against the renderer before ammonia left the browser: all three must be byte for byte the
//! same, or hydration would see different markup and the change would not be invisible.

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd, html};
use url::Url;

use super::tests::{PAYLOADS, assert_inert};
use super::*;

/// Markdown that exercises every tag, attribute and escape the renderer writes, and the URL
/// forms a link or image may try.
const CORPUS: &[&str] = &[
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](&#x6A;avascript&colon;alert(1))",
    "[x](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<https://example.com/a?b=1&c=2>",
    "<someone@example.com>",
    "[mail](mailto:someone@example.com)",
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](data:image/png;base64,iVBORw0KGgo=)",
    "![a](data:text/html,<script>alert(1)</script>)",
    "![a](data:image/svg+xml,<svg onload=alert(1)>)",
    "![a](data:image/png;base64,iVBORw0KGgo= \"data:x\")",
    "![data:image/png,x](/api/files/1)",
    "![a *b* `c` <i>d</i>\nline](/api/files/1 \"t \\\" & ' < >\")",
    "![](/a b.png)",
    "![x](javascript:alert(1))",
    "![x](https://example.com/x.png)",
    "[![x](/logo.png)](https://example.com)",
    "[t](https://example.com \"data:text/html,x\")",
    "[t](https://example.com \"a \\\"quoted\\\" & 'single' <title>\")",
    "[rel](/relative/path) [frag](#section) [query](?q=1) [proto](//example.com/x)",
    "[space](</a b c>) [unicode](https://example.com/é ü) [brackets](https://x.example/[a]{b}|c`d\\e)",
    "[ref][1]\n\n[1]: https://example.com/ref \"Ref title\"",
    "[ref][bad]\n\n[bad]: javascript:alert(1)",
    "[x](http://[::1)",
    "[x](http://exa mple.com)",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "text <span onclick=alert(1)>inline</span> html",
    "<div>\n*html block*\n</div>\n\nafter",
    "<!-- comment --> text",
    "<?php echo 1; ?>",
    "<![CDATA[x]]>",
    "| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | **2** | `3` | [4](https://x.example) |\n| 5 |",
    "| only | head |\n|---|---|",
    "- [ ] todo\n- [x] done\n  - [X] nested",
    "1. one\n2. two\n\n7. seven\n8. eight",
    "Footnote[^1].\n\n[^1]: The note.",
    "***bold italic*** _a **b *c* d** e_ ~~struck *in* it~~ ~single~",
    "# H1\n## H2 {#id .class}\n###### H6\n\nSetext\n===",
    "> quote\n> > nested\n>\n> - list\n\n> [!NOTE]\n> alert",
    "a  \nhard break\\\nagain\nsoft",
    "---\n***\n\ntext\n___",
    "```rust\nfn f<'a>(s: &'a str) -> \"q\" { 0 }\n```\n\n    indented <b>\n\n~~~\n</code></pre><script>x</script>\n~~~",
    "```\"><img src=x onerror=alert(1)>&amp;\nx\n```",
    "quotes \" ' & < > &amp; &lt; &quot; &#39; &nbsp; &copy; &#0; &#xD800;",
    "no-break\u{a0}space and\u{a0}&nbsp; in [link\u{a0}text](https://x.example/\u{a0})",
    "crlf\r\nline\rcr\r\n\r\n```\ncode\r\nline\r\n```\r\n",
    "nul \0 in text `and \0 code` [l](/a\0b \"t\0t\")",
    "![nul\0alt](/api/files/1)",
    "emoji 😀 and RTL \u{202e}text\u{202c}",
    "`<code>` ``double ` tick``",
    "* a\n\n* b\n\n  para\n\n      code in list",
    "<https://example.com/?a=1&b='2'>",
    "www.example.com and https://auto.example are not autolinked",
    "",
    "   ",
    "\\<script\\>escaped\\</script\\>",
    "[a]\n\n[a]: <data:image/png,x>",
];

/// The renderer as it was while ammonia ran in the browser too: pulldown-cmark's own writer,
/// then ammonia, then the code frames.
fn render_before(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut events = Vec::new();
    let mut code: Option<(String, String)> = None;
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
        match (event, &mut code) {
            (Event::Start(Tag::Image { dest_url, .. }), None) if !is_local_image(&dest_url) => {
                remote = Some(RemoteImage { url: dest_url.into_string(), alt: String::new(), nested: 0 });
            }
            (event @ Event::Start(Tag::Link { .. }), None) => {
                links += 1;
                events.push(event);
            }
            (event @ Event::End(TagEnd::Link), None) => {
                links = links.saturating_sub(1);
                events.push(event);
            }
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
            (Event::Html(html) | Event::InlineHtml(html), _) => events.push(Event::Text(html)),
            (other, _) => events.push(other),
        }
    }
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, events.into_iter());
    frame_code_blocks(&second_check(unsafe_html))
}

/// What the browser shows: [`render`] without the server's second check.
fn render_in_browser(markdown: &str) -> String {
    frame_code_blocks(&render_unchecked(markdown))
}

fn inputs() -> impl Iterator<Item = &'static str> {
    CORPUS.iter().chain(PAYLOADS).copied()
}

#[test]
fn ammonia_changes_nothing_the_renderer_writes() {
    for markdown in inputs() {
        let browser = render_unchecked(markdown);
        assert_eq!(second_check(browser.clone()), browser, "input: {markdown:?}");
    }
}

#[test]
fn the_output_is_what_it_was_with_ammonia_in_the_browser() {
    for markdown in inputs() {
        assert_eq!(render_in_browser(markdown), render_before(markdown), "input: {markdown:?}");
        assert_eq!(render(markdown), render_before(markdown), "input: {markdown:?}");
    }
}

#[test]
fn a_code_document_is_unchanged_by_the_second_check() {
    for (language, source) in
        [("python", "s = \"<b>\" & 'c'\r\n\u{a0}x\0"), ("", "</code></pre><script>"), ("c#", "a<b")]
    {
        let browser = safe_html::normalise(highlight::block(language, source));
        assert_eq!(second_check(browser.clone()), browser, "{language}: {source:?}");
    }
}

#[test]
fn the_corpus_renders_inert_and_refuses_dangerous_links() {
    for markdown in PAYLOADS {
        assert_inert(markdown, &render_in_browser(markdown));
    }
    // The corpus also has relative links, which `assert_inert` does not expect.
    for markdown in CORPUS {
        let html = render_in_browser(markdown);
        for tag in html.split('<').skip(1).map(|rest| rest.split('>').next().unwrap_or_default()) {
            let name = tag.split_whitespace().next().unwrap_or_default();
            assert!(
                !["script", "iframe", "object", "svg", "math", "style"].contains(&name),
                "{markdown} → {html}"
            );
            let names: String = tag.split('"').step_by(2).collect();
            assert!(!names.contains(" on") && !names.contains("style="), "{markdown} → <{tag}>");
            for href in tag.split(" href=\"").skip(1).filter_map(|rest| rest.split('"').next()) {
                let href = href.replace("&amp;", "&");
                let scheme = Url::parse(&href).map(|url| url.scheme().to_owned());
                assert!(
                    matches!(scheme.as_deref(), Ok("http" | "https" | "mailto"))
                        || scheme == Err(url::ParseError::RelativeUrlWithoutBase),
                    "{markdown} → <{tag}>"
                );
            }
        }
    }
    for markdown in ["[x](javascript:alert(1))", "[x](JaVaScRiPt:x)", "[x]( javascript:x)", "<javascript:x>"]
    {
        let html = render_in_browser(markdown);
        assert!(!html.contains("href"), "{markdown} → {html}");
        assert!(html.contains(">x</a>") || html.contains("javascript:x</a>"), "{markdown} → {html}");
    }
    assert!(!render_in_browser("[x](vbscript:x)").contains("href"));
    assert!(!render_in_browser("[x](data:text/html,x)").contains("href"));
    assert!(render_in_browser("[x](mailto:a@b.example)").contains(r#"href="mailto:a@b.example""#));
    assert!(render_in_browser("[x](#top)").contains(r##"href="#top""##));
    assert!(render_in_browser("[x](/p?q=1&r=2)").contains(r#"href="/p?q=1&amp;r=2""#));
    let table = render_in_browser("| a | b |\n|:-:|--:|\n| 1 | 2 |");
    assert!(table.contains("<th>a</th>") && table.contains("<td>2</td>"), "{table}");
    assert!(!table.contains("style"), "{table}");
    let tasks = render_in_browser("- [x] done\n- [ ] todo");
    assert!(tasks.contains(r#"<input disabled="" type="checkbox" checked="">"#), "{tasks}");
    assert!(tasks.contains(r#"<input disabled="" type="checkbox">"#), "{tasks}");
}
