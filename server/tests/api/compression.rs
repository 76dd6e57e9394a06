//! How answers travel: dynamic ones compressed by `Accept-Encoding` with their security headers
//! intact; the site's bundles in the copy compressed at build time, hashed ones cached for a
//! year as `immutable`; the WebSocket upgrade untouched.

use std::io::Read;
use std::path::PathBuf;

use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn get_encoded(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let client = app.client();
    let mut request = client.http.get(format!("{}{path}", app.address));
    if let Some(accept) = accept {
        request = request.header("accept-encoding", accept);
    }
    request.send().await.unwrap_or_else(|error| panic!("GET {path}: {error}"))
}

fn unbrotli(bytes: &[u8]) -> String {
    let mut text = String::new();
    brotli::Decompressor::new(bytes, 4096).read_to_string(&mut text).expect("valid brotli");
    text
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).expect("valid gzip");
    text
}

#[tokio::test]
async fn pages_are_compressed_by_accept_encoding_and_keep_their_security_headers() {
    let app = spawn_app().await;

    let plain = get_encoded(&app, "/", None).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, "content-encoding"), "");
    assert!(header(&plain, "vary").to_ascii_lowercase().contains("accept-encoding"));
    let html = plain.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");

    for (accept, expected) in [("br", "br"), ("gzip, deflate, br, zstd", "br"), ("gzip", "gzip")] {
        let response = get_encoded(&app, "/", Some(accept)).await;
        assert_eq!(response.status(), 200, "{accept}");
        assert_eq!(header(&response, "content-encoding"), expected, "{accept}");
        assert!(header(&response, "vary").to_ascii_lowercase().contains("accept-encoding"), "{accept}");
        assert!(header(&response, "content-type").starts_with("text/html"), "{accept}");
        assert!(header(&response, "content-security-policy").contains("'nonce-"), "{accept}");
        assert_eq!(header(&response, "cache-control"), "no-store", "{accept}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{accept}");
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{accept}");
        let bytes = response.bytes().await.unwrap();
        assert!(
            bytes.len() * 2 < html.len(),
            "{accept}: {} bytes for a {}-byte page",
            bytes.len(),
            html.len()
        );
        let decoded = if expected == "br" { unbrotli(&bytes) } else { gunzip(&bytes) };
        assert!(decoded.starts_with("<!DOCTYPE html>") && decoded.contains("</html>"), "{accept}: {decoded}");
    }

    // A signed-in page, rendered after its data loaded, too.
    let (client, _) = app.signed_in_client().await;
    let response =
        client.http.get(format!("{}/app", app.address)).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-encoding"), "br");
    assert!(unbrotli(&response.bytes().await.unwrap()).contains("</html>"));

    // Tiny answers are not worth it.
    let response = get_encoded(&app, "/healthz", Some("br")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-encoding"), "");
    app.stop().await;
}

/// A site as cargo-leptos builds it with `hash-files` and `--precompress`: hashed bundles, each
/// with a `.br` and a `.gz` copy, the hash file, an icon and an unhashed file in `pkg`.
struct BuiltSite {
    root: PathBuf,
}

const JS: &str = "export default function init() { return 'the hydration script'; }\n";

impl BuiltSite {
    fn new() -> Self {
        let root = std::env::temp_dir().join(format!("jarvis-site-{}", uuid::Uuid::new_v4().simple()));
        let pkg = root.join("pkg");
        std::fs::create_dir_all(pkg.join("snippets")).unwrap();
        std::fs::write(root.join("hash.txt"), "js: Js1hash\nwasm: Wasm1hash\ncss: Css1hash\n").unwrap();
        std::fs::write(pkg.join("jarvis.Js1hash.js"), JS).unwrap();
        // Marked copies: what is served shows which file it came from (never compressed again).
        std::fs::write(pkg.join("jarvis.Js1hash.js.br"), b"precompressed brotli").unwrap();
        std::fs::write(pkg.join("jarvis.Js1hash.js.gz"), b"precompressed gzip").unwrap();
        std::fs::write(pkg.join("jarvis.Wasm1hash.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(pkg.join("jarvis.Css1hash.css"), "body { color: black }\n".repeat(40)).unwrap();
        std::fs::write(pkg.join("snippets/inline0.js"), "export const x = 1;\n".repeat(40)).unwrap();
        std::fs::write(root.join("favicon.ico"), [1u8; 300]).unwrap();
        Self { root }
    }
}

impl Drop for BuiltSite {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.root).ok();
    }
}

#[tokio::test]
async fn hashed_bundles_are_named_in_pages_served_precompressed_and_immutable() {
    let site = BuiltSite::new();
    let app = spawn_app_with(&[("JARVIS_SITE_ROOT", site.root.to_str().unwrap())]).await;

    // Pages name the hashed bundles (from the site's hash file) and nothing unhashed.
    let html = app.get("/").await.text().await.unwrap();
    for bundle in ["/pkg/jarvis.Js1hash.js", "/pkg/jarvis.Wasm1hash.wasm", "/pkg/jarvis.Css1hash.css"] {
        assert!(html.contains(bundle), "{bundle} in {html}");
    }
    assert!(!html.contains("/pkg/jarvis.js") && !html.contains("/pkg/jarvis.css"), "{html}");

    // The build's own compressed copies, as they are, by what the browser accepts.
    for (accept, encoding, body) in [
        (Some("gzip, deflate, br"), "br", b"precompressed brotli".as_slice()),
        (Some("gzip"), "gzip", b"precompressed gzip".as_slice()),
        (None, "", JS.as_bytes()),
    ] {
        let response = get_encoded(&app, "/pkg/jarvis.Js1hash.js", accept).await;
        assert_eq!(response.status(), 200, "{accept:?}");
        assert_eq!(header(&response, "content-encoding"), encoding, "{accept:?}");
        assert_eq!(header(&response, "cache-control"), "public, max-age=31536000, immutable", "{accept:?}");
        assert!(header(&response, "vary").to_ascii_lowercase().contains("accept-encoding"), "{accept:?}");
        assert!(header(&response, "content-type").contains("javascript"), "{accept:?}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{accept:?}");
        assert_eq!(response.bytes().await.unwrap().as_ref(), body, "{accept:?}");
    }
    for path in ["/pkg/jarvis.Wasm1hash.wasm", "/pkg/jarvis.Css1hash.css"] {
        let response = get_encoded(&app, path, Some("br")).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "cache-control"), "public, max-age=31536000, immutable", "{path}");
    }
    // The wasm has no compressed copy here, and is not compressed per request either.
    let response = get_encoded(&app, "/pkg/jarvis.Wasm1hash.wasm", Some("br")).await;
    assert_eq!(header(&response, "content-encoding"), "");
    assert_eq!(header(&response, "content-type"), "application/wasm");

    // Unhashed files are revalidated; the icon is cached briefly; a missing bundle is not kept.
    let response = get_encoded(&app, "/pkg/snippets/inline0.js", None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), "no-cache");
    let last_modified = header(&response, "last-modified");
    assert!(!last_modified.is_empty());
    let revalidated = app
        .client()
        .http
        .get(format!("{}/pkg/snippets/inline0.js", app.address))
        .header("if-modified-since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(header(&revalidated, "cache-control"), "no-cache");

    let response = get_encoded(&app, "/favicon.ico", None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), "public, max-age=3600");

    let response = get_encoded(&app, "/pkg/jarvis.Missing.js", Some("br")).await;
    assert_eq!(response.status(), 404);
    assert_eq!(header(&response, "cache-control"), "no-store");
    app.stop().await;
}

#[tokio::test]
async fn without_a_hash_file_pages_name_the_plain_bundles() {
    let site = BuiltSite::new();
    std::fs::remove_file(site.root.join("hash.txt")).unwrap();
    let app = spawn_app_with(&[("JARVIS_SITE_ROOT", site.root.to_str().unwrap())]).await;

    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("/pkg/jarvis.css") && html.contains("/pkg/jarvis.js"), "{html}");
    // Nothing is known to be immutable then.
    let response = get_encoded(&app, "/pkg/jarvis.Js1hash.js", None).await;
    assert_eq!(header(&response, "cache-control"), "no-cache");
    app.stop().await;
}

#[tokio::test]
async fn the_websocket_upgrade_is_not_compressed() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let mut request = app.ws_url().into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("origin", HeaderValue::from_str(&app.address).unwrap());
    headers.insert("accept-encoding", HeaderValue::from_static("gzip, deflate, br"));
    let access = client.cookie("jarvis_access").expect("the client is signed in");
    headers.insert("cookie", HeaderValue::from_str(&format!("jarvis_access={access}")).unwrap());

    let (mut socket, response) =
        tokio_tungstenite::connect_async(request).await.expect("the upgrade succeeds");
    assert_eq!(response.status(), 101);
    assert!(response.headers().get("content-encoding").is_none());
    socket.close(None).await.ok();
    app.stop().await;
}
