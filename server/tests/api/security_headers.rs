//! Security headers and the Content Security Policy on every kind of answer, and the redirect
//! after log-in that never leaves our site.

use jarvis_testkit::fake_stripe::{FAKE_SECRET_KEY, FakeStripe};
use serde_json::Value;

use crate::helpers::{PASSWORD, TestApp, location, spawn_app, spawn_app_with, unique_email};
use crate::library::PNG;

/// Every way we know of to write "go to evil.example" that a lax check lets through.
const FOREIGN_NEXTS: &[&str] = &[
    "/\t/evil.example",
    "/\t\\evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
    "/..//evil.example",
    "/%2e%2e//evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/app\r\nLocation: //evil.example",
    "/\u{0}/evil.example",
    " //evil.example",
];

/// Asserts that `location` is a path on our own site, as a browser would read it.
fn assert_local(location: &str, context: &str) {
    let base = url::Url::parse("http://jarvis.test/").unwrap();
    let resolved = base.join(location).unwrap_or_else(|error| panic!("{context}: {location:?}: {error}"));
    assert_eq!(resolved.origin(), base.origin(), "{context}: {location:?}");
    assert!(location.starts_with('/') && !location.starts_with("//"), "{context}: {location:?}");
    assert!(!location.contains('\\'), "{context}: {location:?}");
}

#[tokio::test]
async fn every_form_of_foreign_next_is_refused_after_log_in_and_none_is_a_500() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;

    for next in FOREIGN_NEXTS {
        let client = app.client();
        let response =
            client.post_form("/login", &[("email", &email), ("password", PASSWORD), ("next", next)]).await;
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(location(&response), "/app", "{next:?}");

        // A failed log-in keeps where the user was going: only ever a local path.
        let response =
            client.post_form("/login", &[("email", &email), ("password", "wrong"), ("next", next)]).await;
        assert_eq!(response.status(), 303, "{next:?}");
        let back = location(&response);
        assert!(back.starts_with("/login?"), "{next:?}: {back}");
        let url = url::Url::parse(&format!("http://jarvis.test{back}")).unwrap();
        for (key, value) in url.query_pairs() {
            if key == "next" {
                assert_eq!(value, "/app", "{next:?}");
            }
        }
    }

    // A path of ours is followed, query and all.
    let response = app
        .client()
        .post_form("/login", &[("email", &email), ("password", PASSWORD), ("next", "/settings?tab=sessions")])
        .await;
    assert_eq!(location(&response), "/settings?tab=sessions");
    for next in ["/%2F%2Fevil.example", "/app/../settings", "/app?c=%0A"] {
        let response = app
            .client()
            .post_form("/login", &[("email", &email), ("password", PASSWORD), ("next", next)])
            .await;
        assert_eq!(response.status(), 303, "{next:?}");
        assert_local(&location(&response), next);
    }
    app.stop().await;
}

/// The headers every answer carries, whatever it is.
fn assert_common_headers(response: &reqwest::Response, what: &str) {
    let headers = response.headers();
    assert_eq!(headers.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{what}");
    assert_eq!(
        headers.get("referrer-policy").map(|v| v.to_str().unwrap()),
        Some("strict-origin-when-cross-origin"),
        "{what}"
    );
    assert!(headers.get("x-frame-options").is_some(), "{what}");
    assert!(headers.get("content-security-policy").is_some(), "{what}");
    assert!(headers.get("strict-transport-security").is_none(), "{what}: no HSTS on plain http");
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// The nonce the page's CSP names.
fn csp_nonce(response: &reqwest::Response) -> String {
    let csp = header(response, "content-security-policy");
    csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap_or_default().to_owned()
}

/// Asserts a page's headers: the full CSP with a nonce, no framing, not stored.
fn assert_page_headers(response: &reqwest::Response, what: &str) -> String {
    assert_common_headers(response, what);
    assert!(header(response, "content-type").starts_with("text/html"), "{what}");
    assert_eq!(header(response, "x-frame-options"), "DENY", "{what}");
    assert_eq!(header(response, "cache-control"), "no-store", "{what}");
    let csp = header(response, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "{what}: {directive} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{what}: {csp}");
    let connect = csp.split("connect-src ").nth(1).unwrap_or_default();
    assert!(connect.starts_with("'self' ws://localhost:"), "{what}: {csp}");
    let nonce = csp_nonce(response);
    assert!(nonce.len() >= 22, "{what}: a 128-bit nonce in {csp}");
    nonce
}

/// Asserts that every script of `html` carries `nonce` and that there is at least one.
fn assert_scripts_carry(html: &str, nonce: &str, what: &str) {
    let scripts: Vec<&str> =
        html.split("<script").skip(1).map(|rest| rest.split('>').next().unwrap()).collect();
    assert!(!scripts.is_empty(), "{what}: no script in {html}");
    for script in scripts {
        assert!(script.contains(&format!(r#"nonce="{nonce}""#)), "{what}: <script{script}> lacks {nonce}");
    }
}

#[tokio::test]
async fn pages_carry_a_fresh_nonce_csp_and_their_scripts_the_same_nonce() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;

    let mut seen = Vec::new();
    for path in
        ["/", "/", "/login", "/register", "/pricing", "/app", "/settings", "/billing", "/no/such/page"]
    {
        let response = client.get(path).await;
        let status = response.status();
        assert_eq!(status, if path == "/no/such/page" { 404 } else { 200 }, "{path}");
        let nonce = assert_page_headers(&response, path);
        let html = response.text().await.unwrap();
        assert_scripts_carry(&html, &nonce, path);
        assert!(!seen.contains(&nonce), "{path}: the nonce {nonce} was used before");
        seen.push(nonce);
    }

    // A visitor's page and the redirect to log in.
    let response = app.get("/login?next=%2Fsettings").await;
    let nonce = assert_page_headers(&response, "/login as a visitor");
    assert_scripts_carry(&response.text().await.unwrap(), &nonce, "/login as a visitor");
    let response = app.get("/app").await;
    assert_eq!(response.status(), 303);
    assert_common_headers(&response, "redirect to log in");
    assert_eq!(header(&response, "cache-control"), "no-store");
    app.stop().await;
}

#[tokio::test]
async fn api_answers_probes_and_static_files_carry_the_headers_too() {
    let site = std::env::temp_dir().join(format!("jarvis-site-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/jarvis.css"), "body { color: black }").unwrap();
    let app = spawn_app_with(&[("JARVIS_SITE_ROOT", site.to_str().unwrap())]).await;
    let (client, _) = app.signed_in_client().await;

    // JSON answers: the API (found or not, signed in or not), probes.
    let missing = format!("/api/files/{}", uuid::Uuid::new_v4());
    for (path, response) in [
        ("/api/files/<missing>", client.get(&missing).await),
        ("/api/files/<anonymous>", app.get(&missing).await),
        ("/api/clips/<missing>", client.get(&format!("/api/clips/{}", uuid::Uuid::new_v4())).await),
        ("/healthz", app.get("/healthz").await),
    ] {
        assert_common_headers(&response, path);
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
        assert!(header(&response, "content-security-policy").contains("default-src 'none'"), "{path}");
    }
    // A server function's answer.
    let response = client.post_form("/api/no_such_function", &[]).await;
    assert_common_headers(&response, "server function");
    assert_eq!(header(&response, "cache-control"), "no-store");

    // Static files: never sniffed, and cacheable (the same for everyone).
    let response = app.get("/pkg/jarvis.css").await;
    assert_eq!(response.status(), 200);
    assert_common_headers(&response, "/pkg/jarvis.css");
    assert_ne!(header(&response, "cache-control"), "no-store");

    // The library's export: private and not stored.
    let response = client.get("/api/library.zip").await;
    assert_eq!(response.status(), 200);
    assert_common_headers(&response, "/api/library.zip");
    assert_eq!(header(&response, "cache-control"), "private, no-store");

    // An uploaded image keeps the file's own policy: sandboxed, framed only by our pages (the
    // viewer shows PDFs in a frame), never stored.
    let report: Value = client.upload(&[("dot.png", PNG)]).await.json().await.unwrap();
    let id = report["uploaded"][0]["file"]["id"].as_str().unwrap_or_else(|| panic!("{report}"));
    let response = client.get(&format!("/api/files/{id}")).await;
    assert_eq!(response.status(), 200);
    assert_common_headers(&response, "an uploaded file");
    assert_eq!(header(&response, "x-frame-options"), "SAMEORIGIN");
    let csp = header(&response, "content-security-policy");
    assert!(csp.starts_with("sandbox;") && csp.contains("frame-ancestors 'self'"), "{csp}");
    assert_eq!(header(&response, "cache-control"), "private, no-store");

    app.stop().await;
    std::fs::remove_dir_all(site).ok();
}

#[tokio::test]
async fn hsts_is_sent_only_when_the_public_url_is_https() {
    let app = spawn_app_with(&[("JARVIS_PUBLIC_URL", "https://jarvis.example")]).await;

    for path in ["/", "/login", "/healthz", "/no/such/page"] {
        let response = app.get(path).await;
        assert_eq!(
            header(&response, "strict-transport-security"),
            "max-age=63072000; includeSubDomains",
            "{path}"
        );
    }
    let csp = header(&app.get("/").await, "content-security-policy");
    assert!(csp.contains("connect-src 'self' wss://jarvis.example;"), "{csp}");
    app.stop().await;

    let app = spawn_app().await;
    assert!(app.get("/").await.headers().get("strict-transport-security").is_none());
    app.stop().await;
}

#[tokio::test]
async fn stripes_checkout_is_a_redirect_the_pages_form_action_allows() {
    let stripe = FakeStripe::start().await.unwrap();
    stripe.add_price("price_pro", "Jarvis Pro", 2000);
    let app: TestApp = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", FAKE_SECRET_KEY),
        ("STRIPE_API_BASE", &stripe.base_url()),
        ("STRIPE_WEBHOOK_SECRET", "whsec_jarvis_test"),
        ("STRIPE_PRICE_PRO", "price_pro"),
    ])
    .await;
    let (client, _) = app.signed_in_client().await;

    let pricing = client.get("/pricing").await;
    let csp = header(&pricing, "content-security-policy");
    let form_action = csp.split("form-action ").nth(1).unwrap_or_default().to_owned();
    let html = pricing.text().await.unwrap();
    assert!(html.contains(r#"action="/billing/checkout""#), "a plain form post to us: {html}");

    // The browser follows our 303 to Stripe's page; form-action must name where it leads.
    let response = client.post_form("/billing/checkout", &[("plan", "pro")]).await;
    assert_eq!(response.status(), 303);
    let target = url::Url::parse(&location(&response)).unwrap();
    let origin = target.origin().ascii_serialization();
    assert!(form_action.split(' ').any(|source| source == origin), "{origin} in {form_action}");
    assert!(form_action.contains("https://checkout.stripe.com https://billing.stripe.com"), "{form_action}");
    app.stop().await;
}
