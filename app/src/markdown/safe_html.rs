//! Markdown events to HTML, safe by construction: only the tags pulldown-cmark has for the
//! enabled options are written, every text and attribute value is escaped here, raw HTML from
//! the source is shown as text, a link keeps its URL only when it is http(s), `mailto:` or
//! relative, and an image keeps its source only when [`is_local_image`] allows it. Nothing else
//! (no event handler, no inline style, no `id`) is ever written.
//!
//! The output is byte for byte what the server's second pass (ammonia, which parses and
//! re-serialises with html5ever) leaves unchanged, so history rendered on the server and
//! messages rendered in the browser hydrate to the same markup: text escapes only `&`, `<`, `>`
//! and no-break spaces, void elements have no `/`, table alignment is dropped, and every link
//! has `rel="noopener noreferrer nofollow"`.

use super::is_local_image;
use super::web_url::{self, UrlKind};
use crate::highlight;
use pulldown_cmark::{CodeBlockKind, Event, LinkType, Tag, TagEnd};

/// What every link carries, so a page it opens can neither reach back nor get our address.
const LINK_REL: &str = "noopener noreferrer nofollow";

/// Writes `events` as HTML.
pub(super) fn write<'a>(events: impl IntoIterator<Item = Event<'a>>) -> String {
    let mut writer = Writer { out: String::new(), end_newline: true, in_table_head: false, hidden: false };
    let mut events = events.into_iter();
    while let Some(event) = events.next() {
        writer.event(event, &mut events);
    }
    normalise(writer.out)
}

/// Line endings and characters the way an HTML parser reads them back (`\r\n` and `\r` as `\n`,
/// NUL dropped), with no-break spaces spelled `&nbsp;`.
pub(super) fn normalise(html: String) -> String {
    if !html.contains(['\r', '\0', '\u{a0}']) {
        return html;
    }
    html.replace("\r\n", "\n").replace('\r', "\n").replace('\0', "").replace('\u{a0}', "&nbsp;")
}

struct Writer {
    out: String,
    /// The output ends with a line break (block tags then start without one).
    end_newline: bool,
    /// Table cells are header cells.
    in_table_head: bool,
    /// Inside a metadata block, which is not shown.
    hidden: bool,
}

impl Writer {
    fn write(&mut self, html: &str) {
        self.out.push_str(html);
        self.end_newline = html.ends_with('\n');
    }

    /// A block-level tag, on a line of its own.
    fn open_block(&mut self, html: &str) {
        if !self.end_newline {
            self.out.push('\n');
        }
        self.write(html);
    }

    fn event<'a>(&mut self, event: Event<'a>, rest: &mut impl Iterator<Item = Event<'a>>) {
        match event {
            Event::Start(tag) => self.start(tag, rest),
            Event::End(tag) => self.end(tag),
            // Raw HTML is text like any other.
            Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => {
                if !self.hidden {
                    self.write(&escape_text(&text));
                }
            }
            Event::Code(text) => self.write(&format!("<code>{}</code>", escape_text(&text))),
            Event::InlineMath(text) | Event::DisplayMath(text) => self.write(&escape_text(&text)),
            Event::FootnoteReference(name) => self.write(&escape_text(&format!("[^{name}]"))),
            Event::SoftBreak => self.write("\n"),
            Event::HardBreak => self.write("<br>\n"),
            Event::Rule => self.open_block("<hr>\n"),
            Event::TaskListMarker(true) => {
                self.write("<input disabled=\"\" type=\"checkbox\" checked=\"\">\n")
            }
            Event::TaskListMarker(false) => self.write("<input disabled=\"\" type=\"checkbox\">\n"),
        }
    }

    fn start<'a>(&mut self, tag: Tag<'a>, rest: &mut impl Iterator<Item = Event<'a>>) {
        match tag {
            Tag::HtmlBlock => {}
            Tag::Paragraph => self.open_block("<p>"),
            Tag::Heading { level, .. } => self.open_block(&format!("<{level}>")),
            Tag::BlockQuote(_) => self.open_block("<blockquote>\n"),
            Tag::CodeBlock(kind) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or_default().to_owned()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                let mut body = String::new();
                for event in rest.by_ref() {
                    match event {
                        Event::End(TagEnd::CodeBlock) => break,
                        Event::Text(text) => body.push_str(&text),
                        _ => {}
                    }
                }
                // Its source escaped, its class limited to letters, digits, `-` and `+`.
                self.write(&highlight::block(&language, &body));
            }
            Tag::List(Some(1)) => self.open_block("<ol>\n"),
            Tag::List(Some(start)) => self.open_block(&format!("<ol start=\"{start}\">\n")),
            Tag::List(None) => self.open_block("<ul>\n"),
            Tag::Item => self.open_block("<li>"),
            Tag::FootnoteDefinition(_) => self.open_block("<div>"),
            Tag::DefinitionList => self.open_block("<dl>\n"),
            Tag::DefinitionListTitle => self.open_block("<dt>"),
            Tag::DefinitionListDefinition => self.open_block("<dd>"),
            // Alignment would need an inline style, which the page does not allow.
            Tag::Table(_) => self.write("<table>"),
            Tag::TableHead => {
                self.in_table_head = true;
                self.write("<thead><tr>");
            }
            Tag::TableRow => self.write("<tr>"),
            Tag::TableCell => self.write(if self.in_table_head { "<th>" } else { "<td>" }),
            Tag::Emphasis => self.write("<em>"),
            Tag::Strong => self.write("<strong>"),
            Tag::Strikethrough => self.write("<del>"),
            Tag::Superscript => self.write("<sup>"),
            Tag::Subscript => self.write("<sub>"),
            Tag::Link { link_type, dest_url, title, .. } => {
                let mut html = String::from("<a");
                let url = if link_type == LinkType::Email {
                    href_value(&format!("mailto:{dest_url}"))
                } else {
                    href_value(&dest_url)
                };
                if is_allowed_link(&url) {
                    html.push_str(&format!(" href=\"{}\"", escape_attribute(&url)));
                }
                push_text_attribute(&mut html, "title", &title);
                html.push_str(&format!(" rel=\"{LINK_REL}\">"));
                self.write(&html);
            }
            Tag::Image { dest_url, title, .. } => {
                let url = href_value(&dest_url);
                let mut html = String::from("<img");
                if is_local_image(&url) {
                    html.push_str(&format!(" src=\"{}\"", escape_attribute(&url)));
                }
                let alt = alt_text(rest);
                push_text_attribute(&mut html, "alt", &alt);
                if !title.is_empty() {
                    push_text_attribute(&mut html, "title", &title);
                }
                html.push('>');
                self.write(&html);
            }
            Tag::MetadataBlock(_) => self.hidden = true,
        }
    }

    fn end(&mut self, tag: TagEnd) {
        let html = match tag {
            TagEnd::HtmlBlock | TagEnd::Image | TagEnd::CodeBlock => "",
            TagEnd::MetadataBlock(_) => {
                self.hidden = false;
                ""
            }
            TagEnd::Paragraph => "</p>\n",
            TagEnd::Heading(level) => return self.write(&format!("</{level}>\n")),
            TagEnd::BlockQuote(_) => "</blockquote>\n",
            TagEnd::List(true) => "</ol>\n",
            TagEnd::List(false) => "</ul>\n",
            TagEnd::Item => "</li>\n",
            TagEnd::FootnoteDefinition => "</div>\n",
            TagEnd::DefinitionList => "</dl>\n",
            TagEnd::DefinitionListTitle => "</dt>\n",
            TagEnd::DefinitionListDefinition => "</dd>\n",
            TagEnd::Table => "</tbody></table>\n",
            TagEnd::TableHead => {
                self.in_table_head = false;
                "</tr></thead><tbody>\n"
            }
            TagEnd::TableRow => "</tr>\n",
            TagEnd::TableCell if self.in_table_head => "</th>",
            TagEnd::TableCell => "</td>",
            TagEnd::Emphasis => "</em>",
            TagEnd::Strong => "</strong>",
            TagEnd::Strikethrough => "</del>",
            TagEnd::Superscript => "</sup>",
            TagEnd::Subscript => "</sub>",
            TagEnd::Link => "</a>",
        };
        if !html.is_empty() {
            self.write(html);
        }
    }
}

/// An image's description: the text of the events up to its end, without markup.
fn alt_text<'a>(rest: &mut impl Iterator<Item = Event<'a>>) -> String {
    let mut alt = String::new();
    let mut depth = 0_usize;
    for event in rest.by_ref() {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 0 => break,
            Event::End(_) => depth -= 1,
            Event::Text(text)
            | Event::Code(text)
            | Event::Html(text)
            | Event::InlineHtml(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text) => alt.push_str(&text),
            Event::SoftBreak | Event::HardBreak | Event::Rule => alt.push(' '),
            Event::FootnoteReference(name) => alt.push_str(&format!("[^{name}]")),
            Event::TaskListMarker(true) => alt.push_str("[x]"),
            Event::TaskListMarker(false) => alt.push_str("[ ]"),
        }
    }
    alt
}

/// A text attribute (`title`, `alt`), left out when its value reads as a `data:` URL.
fn push_text_attribute(html: &mut String, name: &str, value: &str) {
    if name == "title" && value.is_empty() {
        return;
    }
    if web_url::classify(value).scheme() == Some("data") {
        return;
    }
    html.push_str(&format!(" {name}=\"{}\"", escape_attribute(value)));
}

/// Whether a link may point at `url`: http(s), `mailto:`, or relative to the page (a path, a
/// `#fragment`). Every other scheme (`javascript:`, `data:`, `vbscript:`, …), and anything that
/// is not a URL at all, loses its `href`; the link text stays.
pub(super) fn is_allowed_link(url: &str) -> bool {
    match web_url::classify(url) {
        UrlKind::Absolute { scheme, .. } => matches!(scheme.as_str(), "http" | "https" | "mailto"),
        UrlKind::Relative => true,
        UrlKind::Invalid => false,
    }
}

/// A Markdown link destination as an attribute value: bytes that are not safe in a URL written
/// as `%XX` (the same set pulldown-cmark encodes).
pub(super) fn href_value(url: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut value = String::with_capacity(url.len());
    for byte in url.bytes() {
        let safe = byte.is_ascii_alphanumeric()
            || matches!(byte, b'!' | b'#'..=b'/' | b':' | b';' | b'=' | b'?' | b'@' | b'^' | b'_' | b'~');
        if safe {
            value.push(char::from(byte));
        } else {
            value.push('%');
            value.push(char::from(HEX[usize::from(byte >> 4)]));
            value.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    value
}

/// `text` escaped for the body of an element.
pub(super) fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `value` escaped for a double-quoted attribute (NUL read as U+FFFD, as a parser reads it).
fn escape_attribute(value: &str) -> String {
    escape_text(value).replace('"', "&quot;").replace('\0', "\u{fffd}")
}
