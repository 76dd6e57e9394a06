//! The site's static files and how every answer travels: compressed by `Accept-Encoding`, cached
//! as long as it may be.
//!
//! - `/pkg/…`, the bundles cargo-leptos builds: served from the site root, in the brotli or gzip
//!   copy made at build time (`cargo leptos build --release --precompress`) when the browser
//!   accepts it, never compressed per request. Bundles whose names carry their content hash
//!   (`hash-files` in Cargo.toml; the hashes are in the site's `hash.txt`) are cached for a year
//!   as `immutable`; any other file there is revalidated (`no-cache`).
//! - The other files of the site root (the icon, `/highlight/…`): cached for an hour.
//! - Dynamic answers (pages, JSON, text) are compressed on the fly with brotli or gzip. Already
//!   compressed kinds (audio, archives, PDFs, images, the wasm), server-sent events, ranges and
//!   the WebSocket upgrade are left as they are.
//! - Everything else gets its `Cache-Control` from its handler or, failing that, `no-store`
//!   (`security`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{Extensions, HeaderMap, HeaderValue, StatusCode, Version, header},
    middleware::Next,
    response::Response,
};
use tower_http::{
    CompressionLevel,
    compression::{
        CompressionLayer,
        predicate::{Predicate, SizeAbove},
    },
    services::ServeDir,
};

/// Where the bundles live under the site root, and the path they are served under.
pub const PKG_DIR: &str = "pkg";

/// The file in the site root that lists the bundles' content hashes (`js: …`, `wasm: …`,
/// `css: …`), written by cargo-leptos (`hash-file-name` in Cargo.toml).
pub const HASH_FILE: &str = "hash.txt";

/// A bundle whose name carries its content hash never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A bundle without a hash in its name (a debug build without `hash-files`, wasm-bindgen's
/// snippets): kept, but asked about again each time (answered 304 when unchanged).
pub const REVALIDATE: &str = "no-cache";

/// The other public files (the icon, the highlighter): the same for everyone, and may change
/// with a release.
pub const SHORT: &str = "public, max-age=3600";

/// Answers smaller than this are sent as they are: compressing them saves nothing.
const MIN_COMPRESSED_SIZE: u16 = 256;

/// Brotli quality and gzip level of dynamic answers: fast enough per request, and most of the
/// gain (static files are compressed once, at build time, at brotli's best).
const DYNAMIC_QUALITY: i32 = 4;

/// The built site: its root, the hash file if it was built with hashed names, and which paths
/// are what.
#[derive(Debug, Clone)]
pub struct Site {
    root: PathBuf,
    hash_file: Option<PathBuf>,
    /// `/pkg/jarvis.<hash>.js` and the like.
    hashed: Arc<HashSet<String>>,
    /// `/favicon.ico` and the like: the files at the top of the site root.
    public: Arc<HashSet<String>>,
}

impl Site {
    /// Reads what the site root holds. `output_name` is the bundles' name (`jarvis`). A missing
    /// or unreadable root is a site without files (every path then falls through to the pages).
    pub fn load(root: &str, output_name: &str) -> Self {
        let root = PathBuf::from(root);
        let hash_path = root.join(HASH_FILE);
        let (hash_file, hashed) = match std::fs::read_to_string(&hash_path) {
            Ok(text) => {
                // Leptos looks for the hash file beside the server binary unless the path it is
                // given is absolute; the site root may be relative to the working directory.
                let absolute = std::path::absolute(&hash_path).unwrap_or(hash_path);
                (Some(absolute), hashed_paths(&text, output_name))
            }
            Err(_) => (None, HashSet::new()),
        };
        let mut public = HashSet::new();
        public_files(&root, "", &mut public);
        Self { root, hash_file, hashed: Arc::new(hashed), public: Arc::new(public) }
    }

    /// The absolute path of the hash file, when the bundles have hashed names: Leptos then
    /// names them in every page (`HydrationScripts`, `HashedStylesheet`).
    pub fn hash_file(&self) -> Option<&Path> {
        self.hash_file.as_deref()
    }

    /// The service for `/pkg` (mount it with `nest_service`): the files under `{root}/pkg`, the
    /// precompressed copy when there is one and the browser accepts it.
    pub fn pkg_service(&self) -> ServeDir {
        ServeDir::new(self.root.join(PKG_DIR)).precompressed_br().precompressed_gzip()
    }

    /// How long the answer to `path` may be cached, if it is a static file.
    pub fn cache_policy(&self, path: &str) -> Option<&'static str> {
        if self.hashed.contains(path) {
            Some(IMMUTABLE)
        } else if path.starts_with(&format!("/{PKG_DIR}/")) {
            Some(REVALIDATE)
        } else if self.public.contains(path) {
            Some(SHORT)
        } else {
            None
        }
    }
}

/// Adds the request paths of the files under `dir` (`prefix` is its path below the root) to
/// `paths`: the public files (the icon, `/highlight/…`), not `pkg`, the hash file or the
/// compressed copies.
fn public_files(dir: &Path, prefix: &str, paths: &mut HashSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        let path = format!("{prefix}/{name}");
        match entry.file_type() {
            Ok(kind) if kind.is_dir() && path != format!("/{PKG_DIR}") => {
                public_files(&entry.path(), &path, paths);
            }
            Ok(kind) if kind.is_file() => {
                if path != format!("/{HASH_FILE}") && !name.ends_with(".br") && !name.ends_with(".gz") {
                    paths.insert(path);
                }
            }
            _ => {}
        }
    }
}

/// The request paths of the hashed bundles named by a cargo-leptos hash file.
fn hashed_paths(hash_file: &str, output_name: &str) -> HashSet<String> {
    hash_file
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(kind, hash)| (kind.trim(), hash.trim()))
        .filter(|(kind, hash)| matches!(*kind, "js" | "wasm" | "css") && !hash.is_empty())
        .map(|(kind, hash)| format!("/{PKG_DIR}/{output_name}.{hash}.{kind}"))
        .collect()
}

/// Sets the `Cache-Control` of static files (where the handler set none) and `Vary:
/// Accept-Encoding` on them, since the same path may be answered in brotli, gzip or neither.
/// Errors (a missing file) keep no policy here, and so are not stored.
pub async fn static_cache(State(site): State<Site>, request: Request, next: Next) -> Response {
    let policy = site.cache_policy(request.uri().path());
    let mut response = next.run(request).await;
    if let Some(policy) = policy {
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            let headers = response.headers_mut();
            if !headers.contains_key(header::CACHE_CONTROL) {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
            }
            if !headers.contains_key(header::VARY) {
                headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            }
        }
    }
    response
}

/// Compression of dynamic answers by `Accept-Encoding`: brotli, else gzip (see the module
/// documentation for what is left alone).
pub fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .quality(CompressionLevel::Precise(DYNAMIC_QUALITY))
        .compress_when(SizeAbove::new(MIN_COMPRESSED_SIZE).and(is_compressible))
}

/// Text that compresses well and is sent whole: HTML, CSS, JavaScript, JSON, Markdown, plain
/// text, XML and SVG. Not server-sent events (they must reach the browser as written), and
/// nothing without a type (the WebSocket upgrade) or of a kind that is already compressed.
fn is_compressible(status: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions) -> bool {
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return false;
    }
    let Some(content_type) = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence == "text/event-stream" {
        return false;
    }
    essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/manifest+json"
                | "image/svg+xml"
        )
        || essence.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        headers
    }

    fn compressible(status: StatusCode, content_type: Option<&str>) -> bool {
        let headers = content_type.map(headers).unwrap_or_default();
        is_compressible(status, Version::HTTP_11, &headers, &Extensions::new())
    }

    #[test]
    fn text_is_compressed_and_compressed_kinds_streams_and_upgrades_are_not() {
        for kind in [
            "text/html; charset=utf-8",
            "application/json",
            "text/markdown; charset=utf-8",
            "text/css",
            "application/javascript",
            "image/svg+xml",
            "application/problem+json",
        ] {
            assert!(compressible(StatusCode::OK, Some(kind)), "{kind}");
        }
        for kind in [
            "audio/mpeg",
            "application/zip",
            "application/pdf",
            "image/png",
            "application/wasm",
            "application/octet-stream",
            "text/event-stream",
        ] {
            assert!(!compressible(StatusCode::OK, Some(kind)), "{kind}");
        }
        assert!(!compressible(StatusCode::OK, None));
        assert!(!compressible(StatusCode::SWITCHING_PROTOCOLS, Some("text/plain")));
    }

    #[test]
    fn the_hash_file_names_the_hashed_bundles() {
        let paths = hashed_paths("js: AbC-1_xyz\nwasm: Wq2\ncss: Css9\nmanifest: Ignored\n\n", "jarvis");
        let mut paths: Vec<_> = paths.into_iter().collect();
        paths.sort();
        assert_eq!(paths, ["/pkg/jarvis.AbC-1_xyz.js", "/pkg/jarvis.Css9.css", "/pkg/jarvis.Wq2.wasm"]);
    }

    #[test]
    fn static_files_get_their_cache_policy_and_the_rest_none() {
        let root = std::env::temp_dir().join(format!("jarvis-assets-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(root.join(PKG_DIR)).unwrap();
        std::fs::write(root.join(HASH_FILE), "js: J1\nwasm: W1\ncss: C1\n").unwrap();
        std::fs::write(root.join("favicon.ico"), [0u8; 4]).unwrap();
        std::fs::write(root.join("favicon.ico.br"), [0u8; 4]).unwrap();
        std::fs::create_dir_all(root.join("highlight")).unwrap();
        std::fs::write(root.join("highlight/highlight.min.js"), "hljs").unwrap();
        std::fs::write(root.join("pkg/jarvis.J1.js"), "js").unwrap();

        let site = Site::load(root.to_str().unwrap(), "jarvis");
        assert!(site.hash_file().is_some_and(Path::is_absolute));
        assert_eq!(site.cache_policy("/pkg/jarvis.J1.js"), Some(IMMUTABLE));
        assert_eq!(site.cache_policy("/pkg/jarvis.W1.wasm"), Some(IMMUTABLE));
        assert_eq!(site.cache_policy("/pkg/jarvis.C1.css"), Some(IMMUTABLE));
        assert_eq!(site.cache_policy("/pkg/jarvis.js"), Some(REVALIDATE));
        assert_eq!(site.cache_policy("/pkg/snippets/x/inline0.js"), Some(REVALIDATE));
        assert_eq!(site.cache_policy("/favicon.ico"), Some(SHORT));
        assert_eq!(site.cache_policy("/highlight/highlight.min.js"), Some(SHORT));
        for dynamic in ["/favicon.ico.br", "/hash.txt", "/app", "/", "/api/files/1"] {
            assert_eq!(site.cache_policy(dynamic), None, "{dynamic}");
        }

        std::fs::remove_file(root.join(HASH_FILE)).unwrap();
        let unhashed = Site::load(root.to_str().unwrap(), "jarvis");
        assert!(unhashed.hash_file().is_none());
        assert_eq!(unhashed.cache_policy("/pkg/jarvis.J1.js"), Some(REVALIDATE));
        std::fs::remove_dir_all(root).ok();
    }
}
