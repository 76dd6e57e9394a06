//! The web tools against a local site: fetch_url (SSRF refusals, redirects re-checked, size limit, HTML to Markdown, PDF to text) and web_search against the fake search API.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jarvis_backend::agent::tools::{ToolContext, ToolError, ToolRegistry};
use jarvis_backend::web::outbound::{self, OutboundError, OutboundPolicy};
use jarvis_backend::web::{FetchLimits, FetchUrl, SearchProvider, SearchSettings, WebSearch, WebSettings};
use jarvis_testkit::fake_search::{FakeResult, FakeSearch, SearchScript};
use jarvis_testkit::http::{Request, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use url::Url;
use uuid::Uuid;

const DENY: OutboundPolicy = OutboundPolicy { allow_private: false };
const ALLOW: OutboundPolicy = OutboundPolicy { allow_private: true };
/// A name the tests pin to the local site, standing for a public site.
const PUBLIC_NAME: &str = "public.example";

const PAGE: &str = r#"<!doctype html><html><head><title>Test page</title>
<style>.x { color: red }</style><script>window.secretTracker = 1;</script></head>
<body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<main><h1>Heading one</h1><p>Some <em>text</em> with <a href="/next">a link</a>.</p>
<h2>Heading two</h2><ul><li>apple</li><li>pear</li></ul></main>
<footer>Footer words</footer><script>alert("noise")</script></body></html>"#;

/// A local site; every path it is asked for is recorded.
struct Site {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Site {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the site");
        let addr = listener.local_addr().expect("an address");
        let hits = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&hits);
        tokio::spawn(jarvis_testkit::http::serve(listener, move |request: Request| {
            recorded.lock().expect("hits").push(request.path.clone());
            async move { answer(&request, addr).await }
        }));
        Self { addr, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The same path under the pinned public name.
    fn public_url(&self, path: &str) -> String {
        format!("http://{PUBLIC_NAME}:{}{path}", self.addr.port())
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().expect("hits").clone()
    }
}

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

fn redirect(to: String) -> Response {
    Response::whole(302, vec![header("location", &to)], Vec::new())
}

async fn answer(request: &Request, addr: SocketAddr) -> Response {
    let html = || vec![header("content-type", "text/html; charset=utf-8")];
    match request.path.as_str() {
        "/page" => Response::whole(200, html(), PAGE),
        "/private" => Response::whole(200, html(), "<p>The internal admin page.</p>"),
        "/to-private" => redirect(format!("http://127.0.0.1:{}/private", addr.port())),
        "/to-localhost" => redirect(format!("http://localhost:{}/private", addr.port())),
        "/to-metadata" => redirect("http://169.254.169.254/latest/meta-data/".to_owned()),
        "/to-file" => redirect("file:///etc/passwd".to_owned()),
        "/loop" => redirect("/loop".to_owned()),
        "/huge" => {
            let paragraph = "<p>All work and no play makes Jack a dull boy.</p>\n";
            Response::whole(200, html(), paragraph.repeat(3 * 1024 * 1024 / paragraph.len()))
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Response::whole(200, html(), "<p>Too late.</p>")
        }
        "/doc.pdf" => {
            Response::whole(200, vec![header("content-type", "application/pdf")], pdf("Hello from a PDF"))
        }
        "/notes.txt" => {
            Response::whole(200, vec![header("content-type", "text/plain")], "plain notes\nline two")
        }
        "/data.json" => {
            Response::whole(200, vec![header("content-type", "application/json")], r#"{"answer":42}"#)
        }
        "/image.png" => {
            Response::whole(200, vec![header("content-type", "image/png")], vec![0x89, b'P', b'N', b'G'])
        }
        _ => Response::whole(404, html(), "<h1>Not Found</h1>"),
    }
}

/// A one-page PDF showing `text` in Courier.
fn pdf(text: &str) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};

    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id =
        doc.add_object(dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier"});
    let resources_id = doc.add_object(dictionary! {"Font" => dictionary! {"F1" => font_id}});
    let content = Content {
        operations: vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 24.into()]),
            Operation::new("Td", vec![72.into(), 700.into()]),
            Operation::new("Tj", vec![Object::string_literal(text)]),
            Operation::new("ET", vec![]),
        ],
    };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().expect("content")));
    let page_id =
        doc.add_object(dictionary! {"Type" => "Page", "Parent" => pages_id, "Contents" => content_id});
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
            "Resources" => resources_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let info_id = doc.add_object(dictionary! {"Title" => Object::string_literal("A test document")});
    let catalog_id = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("save the PDF");
    bytes
}

fn limits() -> FetchLimits {
    FetchLimits { max_bytes: 1024 * 1024, timeout: Duration::from_secs(5) }
}

/// fetch_url under `policy`, with [`PUBLIC_NAME`] pinned to the site.
fn fetcher(site: &Site, policy: OutboundPolicy, limits: FetchLimits) -> FetchUrl {
    let addr = site.addr;
    FetchUrl::with_client(policy, limits, move |builder| builder.resolve(PUBLIC_NAME, addr))
        .expect("a client")
}

fn context() -> ToolContext {
    ToolContext::for_run(Uuid::new_v4(), Uuid::new_v4())
}

#[tokio::test]
async fn an_html_page_becomes_markdown_with_its_url_title_headings_and_absolute_links() {
    let site = Site::start().await;
    let text = fetcher(&site, ALLOW, limits()).fetch(&site.url("/page")).await.expect("the page");
    let head = format!("URL: {}\nTitle: Test page\n\n", site.url("/page"));
    assert!(text.starts_with(&head), "{text}");
    assert!(text.contains("# Heading one") && text.contains("## Heading two"), "{text}");
    assert!(text.contains(&format!("[a link]({})", site.url("/next"))), "{text}");
    assert!(text.contains("apple") && text.contains("pear"), "{text}");
    for noise in ["secretTracker", "alert", "color: red", "Footer words", "About"] {
        assert!(!text.contains(noise), "{noise:?} is noise: {text}");
    }
}

#[tokio::test]
async fn a_loopback_address_is_refused_before_any_request_unless_allowed() {
    let site = Site::start().await;
    let refused = fetcher(&site, DENY, limits()).fetch(&site.url("/page")).await.expect_err("an error");
    assert_eq!(
        refused.0,
        "Jarvis only reaches public addresses; 127.0.0.1 is a loopback one (this machine)."
    );
    let by_name = fetcher(&site, DENY, limits())
        .fetch(&format!("http://localhost:{}/page", site.addr.port()))
        .await
        .expect_err("an error");
    assert_eq!(by_name.0, "Jarvis only reaches public addresses; localhost is this machine.");
    assert!(site.hits().is_empty(), "the site was never asked: {:?}", site.hits());
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_on_the_hop_unless_allowed() {
    let site = Site::start().await;
    let deny = fetcher(&site, DENY, limits());
    let to_loopback = deny.fetch(&site.public_url("/to-private")).await.expect_err("an error");
    assert_eq!(
        to_loopback.0,
        "Jarvis only reaches public addresses; 127.0.0.1 is a loopback one (this machine)."
    );
    let to_metadata = deny.fetch(&site.public_url("/to-metadata")).await.expect_err("an error");
    assert_eq!(to_metadata.0, "Jarvis only reaches public addresses; 169.254.169.254 is a link-local one.");
    let to_localhost = deny.fetch(&site.public_url("/to-localhost")).await.expect_err("an error");
    assert_eq!(to_localhost.0, "Jarvis only reaches public addresses; localhost is this machine.");
    let to_file = deny.fetch(&site.public_url("/to-file")).await.expect_err("an error");
    assert_eq!(to_file.0, "Jarvis only reaches http and https addresses; `file:` is not one.");
    assert!(
        !site.hits().contains(&"/private".to_owned()),
        "the private page was never asked: {:?}",
        site.hits()
    );
    // The pinned public name itself is read.
    let public = deny.fetch(&site.public_url("/page")).await.expect("a public page");
    assert!(public.contains("# Heading one"), "{public}");

    let followed =
        fetcher(&site, ALLOW, limits()).fetch(&site.public_url("/to-private")).await.expect("allowed");
    assert!(
        followed.starts_with(&format!("URL: {}\n", site.url("/private"))),
        "the final URL is cited: {followed}"
    );
    assert!(followed.contains("The internal admin page."), "{followed}");
}

#[tokio::test]
async fn a_redirect_loop_stops_after_five_hops() {
    let site = Site::start().await;
    let error = fetcher(&site, ALLOW, limits()).fetch(&site.url("/loop")).await.expect_err("an error");
    assert_eq!(error.0, OutboundError::TooManyRedirects.to_string());
    let hops = site.hits().iter().filter(|path| *path == "/loop").count();
    assert_eq!(hops, 6, "the first request and five redirects");
}

#[tokio::test]
async fn the_guarded_client_refuses_a_redirect_to_a_private_address_with_the_refusal_in_its_error() {
    let site = Site::start().await;
    let client = outbound::client_builder(DENY).resolve(PUBLIC_NAME, site.addr).build().expect("a client");
    let error = client.get(site.public_url("/to-private")).send().await.expect_err("an error");
    let refused = outbound::refusal(&error).expect("a refusal in the chain");
    assert!(matches!(refused, OutboundError::NonPublicAddress { .. }), "{refused}");
    // A name resolved by the guarded resolver to this machine is refused too.
    let error = outbound::client_builder(DENY)
        .build()
        .expect("a client")
        .get(format!("http://localhost:{}/page", site.addr.port()))
        .send()
        .await
        .expect_err("an error");
    assert!(
        matches!(outbound::refusal(&error), Some(OutboundError::NonPublicName { .. })),
        "{:?}",
        outbound::refusal(&error)
    );
}

#[tokio::test]
async fn a_page_over_the_size_limit_is_cut_and_says_so() {
    let site = Site::start().await;
    let small = FetchLimits { max_bytes: 64 * 1024, ..limits() };
    let text = fetcher(&site, ALLOW, small).fetch(&site.url("/huge")).await.expect("the first part");
    assert!(
        text.ends_with("[Cut: the page is larger than 64 KiB; only its first part was read.]"),
        "{}",
        &text[text.len() - 200..]
    );
    let lines = text.matches("All work and no play").count();
    assert!(lines > 100 && lines < 64 * 1024 / 40, "only about 64 KiB of the 3 MiB page: {lines} paragraphs");
}

#[tokio::test]
async fn a_slow_site_gives_a_timeout_sentence() {
    let site = Site::start().await;
    let quick = FetchLimits { timeout: Duration::from_secs(1), ..limits() };
    let error = fetcher(&site, ALLOW, quick).fetch(&site.url("/slow")).await.expect_err("an error");
    assert_eq!(error.0, format!("{} did not answer within 1 second.", site.url("/slow")));
}

#[tokio::test]
async fn pdfs_text_and_json_are_read_and_other_types_and_errors_are_sentences() {
    let site = Site::start().await;
    let fetch = fetcher(&site, ALLOW, limits());
    let pdf = fetch.fetch(&site.url("/doc.pdf")).await.expect("the PDF");
    assert!(
        pdf.starts_with(&format!(
            "URL: {}\nTitle: A test document\nA PDF of 1 page.\n",
            site.url("/doc.pdf")
        )),
        "{pdf}"
    );
    assert!(pdf.contains("Hello from a PDF"), "{pdf}");

    let notes = fetch.fetch(&site.url("/notes.txt")).await.expect("the notes");
    assert!(notes.ends_with("\n\nplain notes\nline two"), "{notes}");
    let json = fetch.fetch(&site.url("/data.json")).await.expect("the JSON");
    assert!(json.ends_with(r#"{"answer":42}"#), "{json}");

    let image = fetch.fetch(&site.url("/image.png")).await.expect_err("an error");
    assert_eq!(
        image.0,
        format!(
            "{} is `image/png`, which Jarvis cannot read; it reads web pages, text, JSON and PDFs.",
            site.url("/image.png")
        )
    );
    let missing = fetch.fetch(&site.url("/nowhere")).await.expect_err("an error");
    assert_eq!(missing.0, format!("{} answered 404 Not Found.", site.url("/nowhere")));
}

#[tokio::test]
async fn the_registered_tool_refuses_other_schemes_and_unknown_arguments() {
    let mut registry = ToolRegistry::default();
    jarvis_backend::web::register(&mut registry, &WebSettings::default());
    assert!(registry.contains("fetch_url"));
    assert!(!registry.contains("web_search"), "no search API configured");
    for (url, scheme) in [("file:///etc/passwd", "file"), ("ftp://ftp.example.com/readme", "ftp")] {
        let error = registry.call(context(), "fetch_url", json!({"url": url})).await.expect_err("an error");
        assert_eq!(
            error,
            ToolError(format!("Jarvis only reaches http and https addresses; `{scheme}:` is not one."))
        );
    }
    let extra =
        registry.call(context(), "fetch_url", json!({"url": "https://example.com", "method": "POST"})).await;
    assert!(
        matches!(&extra, Err(ToolError(message)) if message.starts_with("Invalid arguments: unknown field `method`")),
        "{extra:?}"
    );
}

fn search_settings(provider: SearchProvider) -> SearchSettings {
    SearchSettings { provider, timeout: Duration::from_secs(1) }
}

fn searxng(fake: &FakeSearch) -> WebSearch {
    let base_url = Url::parse(&fake.base_url()).expect("a URL");
    WebSearch::new(search_settings(SearchProvider::SearXng { base_url })).expect("a search tool")
}

fn brave(fake: &FakeSearch, key: &str) -> WebSearch {
    let base_url = Url::parse(&fake.base_url()).expect("a URL");
    WebSearch::new(search_settings(SearchProvider::Brave { base_url, api_key: SecretString::from(key) }))
        .expect("a search tool")
}

async fn search_text(tool: WebSearch, args: Value) -> Result<String, ToolError> {
    let mut registry = ToolRegistry::default();
    registry.register(tool);
    registry.call(context(), "web_search", args).await.map(|output| output.content)
}

#[tokio::test]
async fn searxng_results_are_numbered_with_title_url_and_snippet() {
    let fake = FakeSearch::start("unused").await;
    fake.set_results(vec![
        FakeResult::new("First &amp; best", "https://one.example/", "The first snippet."),
        FakeResult::new("Second", "https://two.example/", "The second snippet."),
        FakeResult::new("Third", "https://three.example/", "The third snippet."),
    ]);
    let text =
        search_text(searxng(&fake), json!({"query": "rust async", "count": 2})).await.expect("results");
    assert_eq!(
        text,
        "Web results for \"rust async\" (cite the URLs you use):\n\n\
         1. First & best\n   https://one.example/\n   The first snippet.\n\n\
         2. Second\n   https://two.example/\n   The second snippet."
    );
    let request = &fake.requests()[0];
    assert_eq!(request.path, "/search");
    assert_eq!((request.param("q"), request.param("format")), (Some("rust async"), Some("json")));
}

#[tokio::test]
async fn searxng_without_json_rate_limited_or_silent_gives_sentences() {
    let fake = FakeSearch::start("unused").await;
    fake.push(SearchScript::RateLimited);
    let limited = search_text(searxng(&fake), json!({"query": "x"})).await.expect_err("an error");
    assert!(
        limited.0.starts_with("The web search service is limiting how often Jarvis may search"),
        "{limited}"
    );
    fake.push(SearchScript::Stall);
    let silent = search_text(searxng(&fake), json!({"query": "x"})).await.expect_err("an error");
    assert!(silent.0.starts_with("The web search service did not answer within 1 second"), "{silent}");
    fake.disable_searxng_json();
    let no_json = search_text(searxng(&fake), json!({"query": "x"})).await.expect_err("an error");
    assert!(
        no_json.0.contains("does not allow JSON results") && no_json.0.contains("search.formats"),
        "{no_json}"
    );
}

#[tokio::test]
async fn brave_results_come_with_the_key_and_count_and_lose_their_markup() {
    let fake = FakeSearch::start("BSA-good").await;
    let text = search_text(brave(&fake, "BSA-good"), json!({"query": "tokio"})).await.expect("results");
    assert!(text.starts_with("Web results for \"tokio\" (cite the URLs you use):\n\n1. The Rust Programming Language\n   https://doc.rust-lang.org/book/\n   An introductory book about Rust."), "{text}");
    assert!(text.contains("3. Tokio - An asynchronous Rust runtime\n   https://tokio.rs/"), "{text}");
    assert!(!text.contains("<strong>"), "{text}");
    let request = &fake.requests()[0];
    assert_eq!(request.path, "/res/v1/web/search");
    assert_eq!(request.subscription_token.as_deref(), Some("BSA-good"));
    assert_eq!((request.param("q"), request.param("count")), (Some("tokio"), Some("5")));
    assert_eq!(request.accept.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn brave_refusals_and_bad_arguments_are_sentences() {
    let fake = FakeSearch::start("BSA-good").await;
    let wrong_key =
        search_text(brave(&fake, "BSA-wrong"), json!({"query": "x"})).await.expect_err("an error");
    assert_eq!(wrong_key.0, "Web search is not available: the search service refused Jarvis's API key.");
    fake.push(SearchScript::RateLimited);
    let limited = search_text(brave(&fake, "BSA-good"), json!({"query": "x"})).await.expect_err("an error");
    assert!(
        limited.0.starts_with("The web search service is limiting how often Jarvis may search"),
        "{limited}"
    );
    fake.push(SearchScript::ServerError(503));
    let down = search_text(brave(&fake, "BSA-good"), json!({"query": "x"})).await.expect_err("an error");
    assert_eq!(down.0, "The web search service answered 503; try again later.");

    let asked = fake.requests().len();
    let too_many = search_text(brave(&fake, "BSA-good"), json!({"query": "x", "count": 11}))
        .await
        .expect_err("an error");
    assert_eq!(too_many.0, "`count` must be between 1 and 10.");
    let blank = search_text(brave(&fake, "BSA-good"), json!({"query": "  "})).await.expect_err("an error");
    assert_eq!(blank.0, "The search query is empty; say what to search for.");
    assert_eq!(fake.requests().len(), asked, "bad arguments never reach the API");
}

#[tokio::test]
async fn web_search_is_registered_only_when_a_search_api_is_configured() {
    let fake = FakeSearch::start("BSA-good").await;
    let base_url = Url::parse(&fake.base_url()).expect("a URL");
    let settings = WebSettings {
        search: Some(search_settings(SearchProvider::SearXng { base_url })),
        ..WebSettings::default()
    };
    let mut registry = ToolRegistry::default();
    jarvis_backend::web::register(&mut registry, &settings);
    assert!(registry.contains("fetch_url") && registry.contains("web_search"));
    let text =
        registry.call(context(), "web_search", json!({"query": "rust"})).await.expect("results").content;
    assert!(text.contains("1. The Rust Programming Language"), "{text}");
}
