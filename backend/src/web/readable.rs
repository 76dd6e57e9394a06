//! A web page as readable Markdown for the model: its title, and the main content (the page's
//! `<main>`, its one `<article>`, or its `<body>`) with headings, lists, tables and links kept,
//! relative links made absolute, and scripts, styles, navigation, forms and page chrome dropped.

use std::rc::Rc;

use htmd::HtmlToMarkdown;
use markup5ever_rcdom::{Node, NodeData};
use url::Url;

/// What [`to_markdown`] makes of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadablePage {
    /// The `<title>`, else the first `<h1>`; whitespace collapsed.
    pub title: Option<String>,
    pub markdown: String,
}

/// Never content: code, styling, embedded objects and form controls.
const NOISE: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas", "form",
    "button", "input", "select", "textarea", "dialog", "img", "picture", "video", "audio", "link", "meta",
];
/// Page chrome around the content, dropped everywhere.
const CHROME: &[&str] = &["nav", "aside", "footer"];

/// `html` (fetched from `page_url`) as Markdown.
pub fn to_markdown(html: &str, page_url: &Url) -> ReadablePage {
    // With scripting on, html5ever keeps a `<noscript>`'s content as raw text, which the NOISE
    // handler then drops whole.
    let parse = HtmlToMarkdown::builder().scripting_enabled(true).build();
    let Ok(document) = parse.html_to_tree(html) else {
        // Parsing from a `&str` does no I/O; html5ever recovers from any markup.
        return ReadablePage { title: None, markdown: String::new() };
    };
    let title = first_element(&document, "title")
        .map(|title| text_of(&title))
        .filter(|title| !title.is_empty())
        .or_else(|| first_element(&document, "h1").map(|h1| text_of(&h1)).filter(|title| !title.is_empty()));
    let base = first_element(&document, "base")
        .and_then(|base| attribute(&base, "href"))
        .and_then(|href| page_url.join(&href).ok())
        .unwrap_or_else(|| page_url.clone());
    absolutize_links(&document, &base);

    let (root, inside_content) = content_root(&document);
    let mut skipped: Vec<&str> = NOISE.iter().chain(CHROME).copied().collect();
    if !inside_content {
        // A page-level `<header>` is the site's banner; inside `<main>` or `<article>` it holds
        // the headline, so it stays.
        skipped.push("header");
    }
    let converter = HtmlToMarkdown::builder().skip_tags(skipped).build();
    let markdown = converter.tree_to_markdown(&root);
    ReadablePage { title, markdown: tidy(&markdown) }
}

/// The element holding the page's content, and whether it is a content element (`<main>`,
/// `role="main"`, a single `<article>`) rather than the whole `<body>`.
fn content_root(document: &Rc<Node>) -> (Rc<Node>, bool) {
    if let Some(main) = first_element(document, "main").or_else(|| first_with_role_main(document)) {
        return (main, true);
    }
    let mut articles = Vec::new();
    collect_elements(document, "article", &mut articles);
    if articles.len() == 1
        && let Some(article) = articles.pop()
    {
        return (article, true);
    }
    (first_element(document, "body").unwrap_or_else(|| Rc::clone(document)), false)
}

fn tag_name(node: &Node) -> Option<&str> {
    match &node.data {
        NodeData::Element { name, .. } => Some(&*name.local),
        _ => None,
    }
}

fn attribute(node: &Node, wanted: &str) -> Option<String> {
    match &node.data {
        NodeData::Element { attrs, .. } => attrs
            .borrow()
            .iter()
            .find(|attribute| &*attribute.name.local == wanted)
            .map(|attribute| attribute.value.to_string()),
        _ => None,
    }
}

/// The first element named `tag`, depth first in document order.
fn first_element(node: &Rc<Node>, tag: &str) -> Option<Rc<Node>> {
    if tag_name(node) == Some(tag) {
        return Some(Rc::clone(node));
    }
    node.children.borrow().iter().find_map(|child| first_element(child, tag))
}

fn first_with_role_main(node: &Rc<Node>) -> Option<Rc<Node>> {
    if attribute(node, "role").is_some_and(|role| role.trim().eq_ignore_ascii_case("main")) {
        return Some(Rc::clone(node));
    }
    node.children.borrow().iter().find_map(first_with_role_main)
}

fn collect_elements(node: &Rc<Node>, tag: &str, found: &mut Vec<Rc<Node>>) {
    if tag_name(node) == Some(tag) {
        found.push(Rc::clone(node));
    }
    for child in node.children.borrow().iter() {
        collect_elements(child, tag, found);
    }
}

/// The text inside `node`, whitespace collapsed to single spaces.
fn text_of(node: &Rc<Node>) -> String {
    fn gather(node: &Rc<Node>, into: &mut String) {
        if let NodeData::Text { contents } = &node.data {
            into.push_str(&contents.borrow());
            into.push(' ');
        }
        for child in node.children.borrow().iter() {
            gather(child, into);
        }
    }
    let mut raw = String::new();
    gather(node, &mut raw);
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Makes every `<a href>` absolute against `base`, so the model can cite or fetch it; removes
/// `href`s that are not web addresses (`javascript:`, `mailto:`…), leaving their text.
fn absolutize_links(node: &Rc<Node>, base: &Url) {
    if let NodeData::Element { name, attrs, .. } = &node.data
        && &*name.local == "a"
    {
        let mut attrs = attrs.borrow_mut();
        if let Some(index) = attrs.iter().position(|attribute| &*attribute.name.local == "href") {
            let href = attrs[index].value.to_string();
            match base.join(href.trim()) {
                Ok(absolute) if matches!(absolute.scheme(), "http" | "https") => {
                    attrs[index].value = absolute.to_string().into();
                }
                _ => {
                    attrs.remove(index);
                }
            }
        }
    }
    for child in node.children.borrow().iter() {
        absolutize_links(child, base);
    }
}

/// Trims trailing spaces and collapses runs of blank lines that removed elements leave behind.
fn tidy(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut blank_run = 0;
    for line in markdown.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_url() -> Url {
        Url::parse("https://example.com/blog/post.html").expect("a URL")
    }

    #[test]
    fn a_page_keeps_its_title_headings_lists_and_absolute_links_and_drops_the_noise() {
        let html = r#"<!doctype html><html><head><title>  The   Post </title>
            <style>body { color: red }</style><script>var secret = "tracker";</script></head>
            <body><header><a href="/">Site banner</a></header>
            <nav><a href="/about">About us</a></nav>
            <h1>Hello &amp; welcome</h1>
            <p>Read <a href="other.html">the other post</a> or <a href="https://rust-lang.org/">Rust</a>.</p>
            <ul><li>one</li><li>two</li></ul>
            <p><a href="javascript:alert(1)">click me</a></p>
            <form><input name="q"><button>Search</button></form>
            <footer>Copyright footer</footer>
            <noscript>Enable JavaScript please</noscript>
            </body></html>"#;
        let page = to_markdown(html, &page_url());
        assert_eq!(page.title.as_deref(), Some("The Post"));
        let md = &page.markdown;
        assert!(md.contains("# Hello & welcome"), "{md}");
        assert!(md.contains("[the other post](https://example.com/blog/other.html)"), "{md}");
        assert!(md.contains("[Rust](https://rust-lang.org/)"), "{md}");
        let bullets: Vec<&str> = md.lines().filter(|line| line.starts_with(['*', '-'])).collect();
        assert!(bullets.len() == 2 && bullets[0].ends_with(" one") && bullets[1].ends_with(" two"), "{md}");
        assert!(md.contains("click me") && !md.contains("javascript"), "{md}");
        for noise in [
            "tracker",
            "color: red",
            "Site banner",
            "About us",
            "Copyright footer",
            "Search",
            "Enable JavaScript",
        ] {
            assert!(!md.contains(noise), "{noise:?} should be gone: {md}");
        }
    }

    #[test]
    fn the_main_element_is_the_content_when_there_is_one_and_its_header_stays() {
        let html = r#"<html><body><div>Sidebar junk</div>
            <main><header><h1>Headline</h1></header><p>Body text.</p></main>
            <div>More junk</div></body></html>"#;
        let page = to_markdown(html, &page_url());
        assert_eq!(page.title.as_deref(), Some("Headline"), "no <title>: the first <h1>");
        assert!(page.markdown.starts_with("# Headline"), "{}", page.markdown);
        assert!(page.markdown.contains("Body text."));
        assert!(!page.markdown.contains("junk"), "{}", page.markdown);
    }

    #[test]
    fn a_base_element_changes_what_relative_links_resolve_against() {
        let html = r#"<html><head><base href="https://cdn.example.net/docs/"></head>
            <body><p><a href="guide">Guide</a></p></body></html>"#;
        let page = to_markdown(html, &page_url());
        assert!(page.markdown.contains("[Guide](https://cdn.example.net/docs/guide)"), "{}", page.markdown);
    }
}
