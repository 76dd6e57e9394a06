//! The site's static files and how every answer travels: compressed by `Accept-Encoding`, cached
//! as long as it may be.
//!
//! - `/pkg/…`, the bundles cargo-leptos builds: served from the site root, in the brotli or gzip
//!   copy made at build time (`cargo leptos build --release --precompress`) when the browser
//!   accepts it, never compressed per request. Bundles whose names carry their content hash
//!   (`hash-files` in Cargo.toml; the hashes are in the site's `hash.txt`) are cached for a year
//!   as `immutable`; any other file there is revalidated (`no-cache`). A site built with
//!   `--split` also has the lazy-loaded wasm chunks (`split_….<hash>.wasm`, `chunk_….<hash>.wasm`,
//!   named in the split manifest) and their loader (`__wasm_split.<hash>.js`): immutable too.
//!   There the main script and wasm are revalidated instead: the script and the loader import
//!   each other by name, so cargo-leptos names them before writing the loader's final name into
//!   them, and a later build can change them under the same name.
//! - The other files of the site root (the icon, `/highlight/…`): cached for an hour.
//! - Dynamic answers (pages, JSON, text) are compressed on the fly with brotli or gzip. Already
//!   compressed kinds (audio, archives, PDFs, images, the wasm), server-sent events, ranges and
//!   the WebSocket upgrade are left as they are.
//! - Everything else gets its `Cache-Control` from its handler or, failing that, `no-store`
//!   (`security`).

use std::collections::{HashMap, HashSet};
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
/// `css: …`, and for a split build `manifest: …` and `split: …`), written by cargo-leptos
/// (`hash-file-name` in Cargo.toml).
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
                let mut hashed = hashed_paths(&text, output_name);
                let split = split_paths(&text, &root.join(PKG_DIR));
                if !split.is_empty() {
                    // Named before the loader's hash was written into them (see the module
                    // documentation): not immutable.
                    hashed.retain(|path| path.ends_with(".css"));
                }
                hashed.extend(split);
                (Some(absolute), hashed)
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
    hash_entries(hash_file)
        .filter(|(kind, _)| matches!(*kind, "js" | "wasm" | "css"))
        .map(|(kind, hash)| format!("/{PKG_DIR}/{output_name}.{hash}.{kind}"))
        .collect()
}

/// The `kind: hash` lines of a cargo-leptos hash file (`js`, `wasm`, `css`, and in a split build
/// `manifest` and `split`).
fn hash_entries(hash_file: &str) -> impl Iterator<Item = (&str, &str)> {
    hash_file
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(kind, hash)| (kind.trim(), hash.trim()))
        .filter(|(_, hash)| !hash.is_empty())
}

/// In a site built with `cargo leptos build --split`: the request paths of the chunk loader
/// (`__wasm_split.<hash>.js`, `split` in the hash file) and of every wasm chunk it may fetch, as
/// the split manifest (`__wasm_split_manifest.<hash>.json` in `pkg_dir`, `manifest` in the hash
/// file) lists them: each lazy function's name with the chunks it needs, named with their
/// content hash and without `.wasm`. Nothing for a site built without `--split`, or whose
/// manifest cannot be read (the chunks are then revalidated, which is slower but correct).
fn split_paths(hash_file: &str, pkg_dir: &Path) -> HashSet<String> {
    let mut paths = HashSet::new();
    for (kind, hash) in hash_entries(hash_file) {
        match kind {
            "split" => {
                paths.insert(format!("/{PKG_DIR}/__wasm_split.{hash}.js"));
            }
            "manifest" => {
                let manifest = pkg_dir.join(format!("__wasm_split_manifest.{hash}.json"));
                let chunks = std::fs::read_to_string(&manifest)
                    .ok()
                    .and_then(|text| serde_json::from_str::<HashMap<String, Vec<String>>>(&text).ok())
                    .unwrap_or_default();
                paths.extend(
                    chunks
                        .into_values()
                        .flatten()
                        .filter(|chunk| is_file_name(chunk))
                        .map(|chunk| format!("/{PKG_DIR}/{chunk}.wasm")),
                );
            }
            _ => {}
        }
    }
    paths
}

/// A plain file name (what the manifest holds): no folder, nothing that climbs out of one.
fn is_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\'])
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
    fn a_split_site_has_its_loader_and_the_chunks_its_manifest_names_immutable() {
        let root = std::env::temp_dir().join(format!("jarvis-assets-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(root.join(PKG_DIR)).unwrap();
        std::fs::write(root.join(HASH_FILE), "js: J1\nwasm: W1\ncss: C1\nmanifest: M1\nsplit: S1\n").unwrap();
        // As cargo-leptos 0.3 writes it: each lazy function's chunks, hashed names without `.wasm`.
        std::fs::write(
            root.join("pkg/__wasm_split_manifest.M1.json"),
            r#"{"settings_route_view_1": ["chunk_3.Ch3", "split_settings_route_view_1.Sp1"],
                "admin_route_view_2": ["chunk_3.Ch3"], "odd": ["../escape", "sub/dir"]}"#,
        )
        .unwrap();

        let site = Site::load(root.to_str().unwrap(), "jarvis");
        // The main script and wasm change under the same name when only a chunk changed.
        assert_eq!(site.cache_policy("/pkg/jarvis.J1.js"), Some(REVALIDATE));
        assert_eq!(site.cache_policy("/pkg/jarvis.W1.wasm"), Some(REVALIDATE));
        assert_eq!(site.cache_policy("/pkg/jarvis.C1.css"), Some(IMMUTABLE));
        assert_eq!(site.cache_policy("/pkg/__wasm_split.S1.js"), Some(IMMUTABLE));
        assert_eq!(site.cache_policy("/pkg/chunk_3.Ch3.wasm"), Some(IMMUTABLE));
        assert_eq!(site.cache_policy("/pkg/split_settings_route_view_1.Sp1.wasm"), Some(IMMUTABLE));
        // Not named by the manifest: revalidated like any other file under /pkg.
        assert_eq!(site.cache_policy("/pkg/chunk_4.Ch4.wasm"), Some(REVALIDATE));
        assert_eq!(site.cache_policy("/pkg/../escape.wasm"), Some(REVALIDATE));
        assert_eq!(site.cache_policy("/pkg/sub/dir.wasm"), Some(REVALIDATE));

        // A manifest that cannot be read makes no chunk immutable, and the site still loads.
        std::fs::write(root.join("pkg/__wasm_split_manifest.M1.json"), "not json").unwrap();
        let broken = Site::load(root.to_str().unwrap(), "jarvis");
        assert_eq!(broken.cache_policy("/pkg/chunk_3.Ch3.wasm"), Some(REVALIDATE));
        assert_eq!(broken.cache_policy("/pkg/__wasm_split.S1.js"), Some(IMMUTABLE));
        std::fs::remove_dir_all(root).ok();
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
