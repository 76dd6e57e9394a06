//! How the library viewer shows a document of each kind. Nothing in a document can run in the
//! page: Markdown goes through the same sanitising renderer as chat replies (images only from
//! our own origin or inline data; others become links), HTML is shown as highlighted source —
//! never rendered — and code, JSON and text are escaped inside `<pre>`. CSV becomes a table of
//! plain text cells.

use jarvis_types::documents::DocumentView;
use leptos::prelude::*;

use crate::markdown;

/// The most CSV rows the viewer shows.
pub const MAX_TABLE_ROWS: usize = 1000;

/// A document made safe to show: sanitised HTML, or a table of plain text cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// Sanitised HTML.
    Html(String),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        truncated: bool,
    },
}

/// `content` of a document of `kind` (in `language`, for code), made safe to show.
pub fn render(kind: &str, language: Option<&str>, content: &str) -> Rendered {
    match kind {
        "markdown" => Rendered::Html(markdown::render(content)),
        "code" => Rendered::Html(markdown::code(language.unwrap_or_default(), content)),
        "html" => Rendered::Html(markdown::code("html", content)),
        "json" => Rendered::Html(markdown::code("json", &pretty_json(content))),
        "csv" => match parse_csv(content) {
            Some(mut rows) if !rows.is_empty() => {
                let header = rows.remove(0);
                let truncated = rows.len() > MAX_TABLE_ROWS;
                rows.truncate(MAX_TABLE_ROWS);
                Rendered::Table { header, rows, truncated }
            }
            _ => Rendered::Html(markdown::code("", content)),
        },
        _ => Rendered::Html(markdown::code("", content)),
    }
}

/// Indented JSON when it parses; the text as it is when it does not.
fn pretty_json(content: &str) -> String {
    serde_json::from_str::<serde_json::Value>(content)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| content.to_owned())
}

/// RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks. `None` when a
/// quote is never closed.
pub fn parse_csv(content: &str) -> Option<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            c => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Some(rows)
}

/// A document as the viewer shows it (the View tab).
#[component]
pub(super) fn Viewer(document: DocumentView) -> impl IntoView {
    let body = match render(&document.kind, document.language.as_deref(), &document.content) {
        Rendered::Html(html) => view! {
            <div class="markdown space-y-2 break-words" data-testid="document-view" inner_html=html></div>
        }
        .into_any(),
        Rendered::Table { header, rows, truncated } => view! {
            <div class="overflow-x-auto" data-testid="document-view">
                <table class="min-w-full text-left text-sm">
                    <thead><tr>{header.into_iter().map(|cell| view! { <th class="border-b px-2 py-1 font-semibold">{cell}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {rows.into_iter().map(|row| view! {
                            <tr>{row.into_iter().map(|cell| view! { <td class="border-b border-slate-100 px-2 py-1 align-top whitespace-pre-wrap">{cell}</td> }).collect_view()}</tr>
                        }).collect_view()}
                    </tbody>
                </table>
                {truncated.then(|| view! { <p class="mt-2 text-xs text-slate-500">"Only the first 1,000 rows are shown; download the file for all of them."</p> })}
            </div>
        }
        .into_any(),
    };
    view! { <div class="min-h-0 flex-1 overflow-y-auto p-4">{body}</div> }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markdown::tests::{PAYLOADS, assert_inert};

    #[test]
    fn no_payload_survives_in_any_kind_of_document() {
        for payload in PAYLOADS {
            for kind in ["markdown", "text", "code", "html", "json"] {
                match render(kind, Some("html"), payload) {
                    Rendered::Html(html) => assert_inert(payload, &html),
                    Rendered::Table { .. } => unreachable!(),
                }
            }
            // CSV cells are text nodes, escaped by Leptos; a payload in one is just text.
            let Rendered::Table { header, .. } = render("csv", None, &format!("a\n{payload}")) else {
                panic!("{payload}: CSV is a table")
            };
            assert_eq!(header, vec!["a".to_owned()]);
        }
    }

    #[test]
    fn html_documents_are_shown_as_source_not_rendered() {
        let Rendered::Html(html) = render("html", None, "<h1 onclick=\"x()\">Hi</h1>") else { panic!() };
        assert!(html.contains("&lt;h1"), "{html}");
        assert!(!html.contains("<h1"), "{html}");
    }

    #[test]
    fn markdown_images_from_elsewhere_are_links_and_script_urls_go() {
        let Rendered::Html(html) = render(
            "markdown",
            None,
            "![cat](https://example.com/cat.png) ![x](javascript:alert(1)) ![mine](/api/files/1)",
        ) else {
            panic!()
        };
        assert!(html.contains(r#"href="https://example.com/cat.png""#), "{html}");
        assert!(!html.contains(r#"src="https://"#), "{html}");
        assert!(html.contains(r#"<img src="/api/files/1" alt="mine">"#), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn json_is_indented_and_csv_becomes_a_table() {
        let Rendered::Html(html) = render("json", None, r#"{"a":[1,2]}"#) else { panic!() };
        assert!(html.contains("\n  "), "{html}");
        let table = render("csv", None, "name,notes\r\n\"Smith, J\",\"said \"\"hi\"\"\nthen left\"\nLee,\n");
        assert_eq!(
            table,
            Rendered::Table {
                header: vec!["name".into(), "notes".into()],
                rows: vec![
                    vec!["Smith, J".into(), "said \"hi\"\nthen left".into()],
                    vec!["Lee".into(), String::new()]
                ],
                truncated: false,
            }
        );
        assert_eq!(parse_csv("a,\"open"), None);
    }
}
