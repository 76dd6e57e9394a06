//! `fetch_url`: reads one web page for the model, through the outbound policy (public addresses
//! only unless allowed, every redirect re-checked), within a time and size limit; HTML becomes
//! readable Markdown, a PDF its text, plain text and JSON stay as they are. The answer starts
//! with the final URL and the title, so the model can cite them.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, USER_AGENT};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::outbound::{self, OutboundPolicy};
use super::{DEFAULT_FETCH_MAX_BYTES, DEFAULT_FETCH_TIMEOUT, pdf_text, readable};
use crate::agent::messages::ToolSpec;
use crate::agent::tools::{Tool, ToolContext, ToolError, ToolOutput};

/// At most this many characters of a page go to the model.
pub const MAX_OUTPUT_CHARS: usize = 60_000;

const ACCEPTED: &str = "text/html,application/xhtml+xml;q=0.9,text/markdown;q=0.9,text/plain;q=0.8,\
                        application/json;q=0.8,application/pdf;q=0.8,*/*;q=0.1";
const AGENT: &str = concat!(
    "Jarvis/",
    env!("CARGO_PKG_VERSION"),
    " (fetch_url; an AI assistant reading a page for its user)"
);

/// How much of a page `fetch_url` reads, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// `JARVIS_FETCH_MAX_BYTES`: bytes of body read at most (a longer page is cut; a longer PDF
    /// refused, since half a PDF cannot be read).
    pub max_bytes: usize,
    /// `JARVIS_FETCH_TIMEOUT_SECS`: the whole fetch, redirects and body included.
    pub timeout: Duration,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self { max_bytes: DEFAULT_FETCH_MAX_BYTES, timeout: DEFAULT_FETCH_TIMEOUT }
    }
}

/// The `fetch_url` tool.
#[derive(Debug, Clone)]
pub struct FetchUrl {
    client: reqwest::Client,
    policy: OutboundPolicy,
    limits: FetchLimits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchArgs {
    url: String,
}

/// What kind of body a page has, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Html,
    Text,
    Pdf,
}

impl FetchUrl {
    pub fn new(policy: OutboundPolicy, limits: FetchLimits) -> Result<Self, reqwest::Error> {
        Self::with_client(policy, limits, |builder| builder)
    }

    /// Like [`FetchUrl::new`], with the guarded client builder adjusted first: for tests, which
    /// pin a public-looking name to a local site with `ClientBuilder::resolve` (a pinned name
    /// skips the guarded resolver, so never pin one in production).
    pub fn with_client(
        policy: OutboundPolicy,
        limits: FetchLimits,
        adjust: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Result<Self, reqwest::Error> {
        let client = adjust(outbound::client_builder(policy))
            .connect_timeout(limits.timeout.min(Duration::from_secs(10)))
            .timeout(limits.timeout)
            .build()?;
        Ok(Self { client, policy, limits })
    }

    /// Fetches `raw_url` and renders it for the model.
    #[tracing::instrument(name = "web.fetch_url", skip_all, fields(host))]
    pub async fn fetch(&self, raw_url: &str) -> Result<String, ToolError> {
        let url = parse_url(raw_url)?;
        tracing::Span::current().record("host", url.host_str().unwrap_or_default());
        outbound::check_url(self.policy, &url).map_err(|refused| ToolError(refused.to_string()))?;
        match tokio::time::timeout(self.limits.timeout, self.fetch_checked(&url)).await {
            Ok(result) => result,
            Err(_) => Err(self.timed_out(&url)),
        }
    }

    async fn fetch_checked(&self, url: &Url) -> Result<String, ToolError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(ACCEPT, ACCEPTED)
            .header(USER_AGENT, AGENT)
            .send()
            .await
            .map_err(|error| self.request_failed(url, &error))?;
        let final_url = response.url().clone();
        let status = response.status();
        if status.is_redirection() {
            // reqwest hands back a redirect it will not follow (to a scheme other than http/https).
            return Err(unfollowed_redirect(self.policy, &final_url, &response));
        }
        if !status.is_success() {
            return Err(ToolError(format!(
                "{final_url} answered {} {}.",
                status.as_u16(),
                status.canonical_reason().unwrap_or("(an unknown status)")
            )));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let declared_kind = content_type.as_deref().map(body_kind).transpose().map_err(|media| {
            ToolError(format!(
                "{final_url} is {media}, which Jarvis cannot read; it reads web pages, text, JSON and PDFs."
            ))
        })?;
        let declared_length = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared_kind == Some(Body::Pdf)
            && declared_length.is_some_and(|length| length > self.limits.max_bytes as u64)
        {
            return Err(self.pdf_too_large(&final_url));
        }

        let mut body = Vec::new();
        let mut cut = false;
        while let Some(chunk) =
            response.chunk().await.map_err(|error| self.request_failed(&final_url, &error))?
        {
            let room = self.limits.max_bytes - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        drop(response);

        // No Content-Type: a PDF by its magic number, else text if it decodes as such.
        let kind = match declared_kind {
            Some(kind) => kind,
            None if body.starts_with(b"%PDF-") => Body::Pdf,
            None if std::str::from_utf8(&body).is_ok() => Body::Text,
            None => {
                return Err(ToolError(format!(
                    "{final_url} did not say what it is and does not look like text; Jarvis cannot read it."
                )));
            }
        };
        let (title, text, note) = match kind {
            Body::Pdf if cut => return Err(self.pdf_too_large(&final_url)),
            Body::Pdf => {
                let pdf = pdf_text::extract(body)
                    .await
                    .map_err(|error| ToolError(format!("{final_url}: {error}")))?;
                let pages = if pdf.pages == 1 { "1 page".to_owned() } else { format!("{} pages", pdf.pages) };
                (pdf.title, pdf.text, Some(format!("A PDF of {pages}.")))
            }
            Body::Html => {
                let page = readable::to_markdown(&String::from_utf8_lossy(&body), &final_url);
                (page.title, page.markdown, None)
            }
            Body::Text => (None, String::from_utf8_lossy(&body).into_owned(), None),
        };
        tracing::info!(text_bytes = text.len(), cut, kind = ?kind, "web.fetch_url_read");
        Ok(render(&final_url, title.as_deref(), note.as_deref(), &text, cut.then_some(self.limits.max_bytes)))
    }

    fn timed_out(&self, url: &Url) -> ToolError {
        ToolError(format!("{url} did not answer within {}.", super::seconds(self.limits.timeout)))
    }

    fn pdf_too_large(&self, url: &Url) -> ToolError {
        ToolError(format!(
            "The PDF at {url} is larger than {}; Jarvis reads PDFs up to that size.",
            size(self.limits.max_bytes)
        ))
    }

    /// A failed request as a sentence: a policy refusal says why, the rest what happened.
    fn request_failed(&self, url: &Url, error: &reqwest::Error) -> ToolError {
        if let Some(refused) = outbound::refusal(error) {
            return ToolError(refused.to_string());
        }
        if error.is_timeout() {
            return self.timed_out(url);
        }
        tracing::info!(error = %crate::error::with_causes(error), "web.fetch_url_failed");
        let host = url.host_str().unwrap_or("the site");
        if error.is_connect() {
            ToolError(format!(
                "Jarvis could not connect to {host}: the name may not exist, or the site refused or dropped the connection."
            ))
        } else if error.is_redirect() {
            ToolError(format!("{url} redirects in a way Jarvis cannot follow."))
        } else {
            ToolError(format!("Reading {url} failed: the connection broke off before the page was complete."))
        }
    }
}

/// Why a redirect was not followed, from its `Location`.
fn unfollowed_redirect(policy: OutboundPolicy, url: &Url, response: &reqwest::Response) -> ToolError {
    let target = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|location| url.join(location).ok());
    match target.map(|target| outbound::check_url(policy, &target)) {
        Some(Err(refused)) => ToolError(refused.to_string()),
        _ => ToolError(format!("{url} redirects to an address Jarvis cannot follow.")),
    }
}

fn parse_url(raw: &str) -> Result<Url, ToolError> {
    Url::parse(raw.trim()).map_err(|_| {
        ToolError(format!("`{raw}` is not a web address; give a full one such as https://example.com/page."))
    })
}

/// The body kind of a media type, or the media type back when Jarvis does not read it.
fn body_kind(media: &str) -> Result<Body, String> {
    match media {
        "text/html" | "application/xhtml+xml" => Ok(Body::Html),
        "application/pdf" => Ok(Body::Pdf),
        "text/plain" | "text/markdown" | "text/x-markdown" | "text/csv" | "application/json" => {
            Ok(Body::Text)
        }
        json if json.starts_with("application/") && json.ends_with("+json") => Ok(Body::Text),
        "" => Err("of no declared type".to_owned()),
        other => Err(format!("`{other}`")),
    }
}

/// A byte count as people read it (`5 MiB`, `64 KiB`, `300 bytes`).
fn size(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// The answer for the model: where the text is from, its title, the text (capped), and notes on
/// what was cut.
fn render(
    url: &Url,
    title: Option<&str>,
    note: Option<&str>,
    text: &str,
    cut_at_bytes: Option<usize>,
) -> String {
    let mut out = format!("URL: {url}\n");
    if let Some(title) = title {
        out.push_str(&format!("Title: {title}\n"));
    }
    if let Some(note) = note {
        out.push_str(note);
        out.push('\n');
    }
    out.push('\n');
    let text = text.trim();
    let shown = match text.char_indices().nth(MAX_OUTPUT_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    };
    if shown.is_empty() {
        out.push_str("(The page has no readable text.)");
    } else {
        out.push_str(shown);
    }
    if shown.len() < text.len() {
        out.push_str(&format!(
            "\n\n[Cut: only the first {MAX_OUTPUT_CHARS} characters of the page's text are shown.]"
        ));
    }
    if let Some(limit) = cut_at_bytes {
        out.push_str(&format!(
            "\n\n[Cut: the page is larger than {}; only its first part was read.]",
            size(limit)
        ));
    }
    out
}

impl Tool for FetchUrl {
    type Args = FetchArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "fetch_url".into(),
            description: "Reads a web page (http or https) and returns its URL, title and text: HTML as \
                          Markdown with its links, PDFs as text, plain text and JSON as they are. Cite the \
                          URL when you use what it says."
                .into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "url": { "type": "string", "description": "The full address, such as https://example.com/page." }
                },
                "required": ["url"],
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, _context: ToolContext, args: FetchArgs) -> Result<ToolOutput, ToolError> {
        self.fetch(&args.url).await.map(ToolOutput::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://example.com/a").expect("a URL")
    }

    #[test]
    fn media_types_map_to_what_jarvis_reads_and_others_are_named_back() {
        assert_eq!(body_kind("text/html"), Ok(Body::Html));
        assert_eq!(body_kind("application/pdf"), Ok(Body::Pdf));
        assert_eq!(body_kind("application/ld+json"), Ok(Body::Text));
        assert_eq!(body_kind("text/markdown"), Ok(Body::Text));
        assert_eq!(body_kind("image/png"), Err("`image/png`".into()));
    }

    #[test]
    fn the_answer_starts_with_the_url_and_title_and_says_what_was_cut() {
        let short = render(&url(), Some("A page"), None, "Hello.", None);
        assert_eq!(short, "URL: https://example.com/a\nTitle: A page\n\nHello.");

        let long = "é".repeat(MAX_OUTPUT_CHARS + 10);
        let capped = render(&url(), None, None, &long, Some(5 * 1024 * 1024));
        assert!(capped.starts_with("URL: https://example.com/a\n\néé"), "{}", &capped[..40]);
        assert_eq!(capped.matches('é').count(), MAX_OUTPUT_CHARS);
        assert!(capped.contains("only the first 60000 characters"));
        assert!(capped.ends_with("[Cut: the page is larger than 5 MiB; only its first part was read.]"));
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size(5 * 1024 * 1024), "5 MiB");
        assert_eq!(size(64 * 1024), "64 KiB");
        assert_eq!(size(300), "300 bytes");
    }

    #[tokio::test]
    async fn a_non_web_address_is_refused_before_any_request() {
        let tool = FetchUrl::new(OutboundPolicy::default(), FetchLimits::default()).expect("a client");
        let refused = tool.fetch("file:///etc/passwd").await.expect_err("an error");
        assert_eq!(refused.0, "Jarvis only reaches http and https addresses; `file:` is not one.");
        let nonsense = tool.fetch("not a url").await.expect_err("an error");
        assert!(nonsense.0.starts_with("`not a url` is not a web address"), "{nonsense}");
    }
}
