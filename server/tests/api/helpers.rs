//! Spawns the application for one test: a uniquely named database created for it (dropped when
//! the test stops the app), the server bound to port 0, mail going to the SMTP peer the test
//! script runs (or, when run by hand, to an outbox folder of the test's own), and HTTP clients
//! with cookie jars that do not follow redirects, so tests see every 303.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use jarvis_backend::accounts::jwt::AccessTokens;
use jarvis_server::{config::Config, startup::Application, telemetry};
use jarvis_testkit::database;
use reqwest::cookie::{CookieStore, Jar};
use secrecy::SecretString;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub const JWT_SECRET: &str = "integration-test-secret-integration-test-secret";
pub const PASSWORD: &str = "correct horse battery staple";

/// Longest a request of a test client may take, body included: a server that never answers
/// fails the test instead of hanging the whole run.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest the server may take to stop once told to (its own shutdown is bounded well within).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// The server the test talks to.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// Where `GET /metrics` answers (its own port).
    pub metrics_address: Option<String>,
    pub database_name: String,
    /// A pool connected as the schema owner, for checking and arranging rows directly.
    pub owner_pool: PgPool,
    /// A pool connected as the application role, bound by row-level security.
    pub app_pool: PgPool,
    mail_dir: PathBuf,
    stop: CancellationToken,
    server: tokio::task::JoinHandle<Result<(), jarvis_server::startup::StartupError>>,
}

/// `TEST_LOG=1 cargo test` shows the server's logs.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        telemetry::init(jarvis_server::config::LogFormat::Pretty);
    }
});

/// Where the tests create their databases: `DATABASE_URL`, as exported by the test script.
pub fn owner_database_url() -> String {
    database::owner_url()
}

/// How the application role logs in: `DATABASE_APP_URL`, as exported by the test script.
pub fn app_database_url() -> String {
    database::app_url()
}

pub fn with_database(url: &str, database: &str) -> String {
    database::with_database(url, database).expect("a database URL")
}

/// A `jarvis_test_…` database of the test's own; its name.
pub async fn create_database() -> String {
    database::create_database(&owner_database_url(), database::TEST_PREFIX)
        .await
        .expect("create the test database")
}

/// Drops a database even while the server still holds connections to it.
pub async fn drop_database(name: &str) {
    database::drop_database(&owner_database_url(), name).await.expect("drop the test database");
}

/// Where this test's mail lands: the SMTP peer's maildir, or an outbox folder of its own.
fn mail_settings() -> (Option<String>, PathBuf) {
    match (std::env::var("JARVIS_TEST_SMTP_URL"), std::env::var("JARVIS_TEST_MAILDIR")) {
        (Ok(url), Ok(dir)) => (Some(url), PathBuf::from(dir)),
        _ => (None, std::env::temp_dir().join(format!("jarvis-outbox-{}", uuid::Uuid::new_v4().simple()))),
    }
}

pub fn test_config(database_name: &str, extra: &[(&str, &str)]) -> (Config, PathBuf) {
    let owner_url = with_database(&owner_database_url(), database_name);
    let app_url = with_database(&app_database_url(), database_name);
    let (smtp_url, mail_dir) = mail_settings();
    let outbox = mail_dir.display().to_string();
    let objects_dir =
        std::env::temp_dir().join(format!("jarvis-objects-{database_name}")).display().to_string();
    let extra: Vec<(String, String)> =
        extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let config = Config::from_lookup(|name| {
        if let Some((_, value)) = extra.iter().find(|(key, _)| key == name) {
            return Some(value.clone());
        }
        match name {
            "DATABASE_URL" => Some(owner_url.clone()),
            "DATABASE_APP_URL" => Some(app_url.clone()),
            "JARVIS_ADDR" => Some("127.0.0.1:0".to_owned()),
            "JARVIS_METRICS_ADDR" => Some("127.0.0.1:0".to_owned()),
            "JARVIS_DB_ACQUIRE_TIMEOUT_MS" => Some("1000".to_owned()),
            "JARVIS_SHUTDOWN_GRACE_SECS" => Some("2".to_owned()),
            "JARVIS_JWT_SECRET" => Some(JWT_SECRET.to_owned()),
            "JARVIS_SMTP_URL" => smtp_url.clone(),
            "JARVIS_OUTBOX_DIR" => Some(outbox.clone()),
            "JARVIS_MAIL_FROM" => Some("Jarvis <jarvis@jarvis.test>".to_owned()),
            "JARVIS_STORAGE_DIR" => Some(objects_dir.clone()),
            // Replies are spoken only in the tests about voice, which choose an engine.
            "JARVIS_VOICE_ENGINE" => Some("off".to_owned()),
            _ => None,
        }
    })
    .expect("the test configuration is valid");
    (config, mail_dir)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    LazyLock::force(&TRACING);
    let database_name = create_database().await;
    let (config, mail_dir) = test_config(&database_name, extra);
    let application = Application::build(config).await.expect("the application builds");
    let port = application.port();
    let metrics_address = application.metrics_addr().map(|addr| format!("http://{addr}"));
    let stop = CancellationToken::new();
    let server = tokio::spawn(application.run_until(stop.clone().cancelled_owned()));
    let owner_pool = PgPool::connect(&with_database(&owner_database_url(), &database_name)).await.unwrap();
    let app_pool = PgPool::connect(&with_database(&app_database_url(), &database_name)).await.unwrap();
    TestApp {
        address: format!("http://localhost:{port}"),
        port,
        metrics_address,
        database_name,
        owner_pool,
        app_pool,
        mail_dir,
        stop,
        server,
    }
}

/// A browser-like client: a cookie jar, our Origin on every request, redirects not followed.
pub struct Client {
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
    base: String,
}

impl Client {
    /// Uploads `files` (name, bytes) to the library in one multipart request, from our origin.
    pub async fn upload(&self, files: &[(&str, &[u8])]) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in files {
            form = form
                .part("file", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name((*name).to_owned()));
        }
        self.http
            .post(format!("{}/api/uploads", self.base))
            .header("origin", &self.base)
            .multipart(form)
            .send()
            .await
            .expect("the server answers")
    }

    /// Calls server function `name` with form arguments: its status and its JSON answer (or
    /// its text, as a JSON string, when it is not JSON).
    pub async fn server_fn(
        &self,
        name: &str,
        args: &[(&str, &str)],
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self.post_form(&format!("/api/{name}"), args).await;
        let status = response.status();
        let text = response.text().await.expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    /// Replaces a cookie (or removes it with an empty value).
    pub fn set_cookie(&self, name: &str, value: &str) {
        let url = self.base.parse().unwrap();
        let cookie = if value.is_empty() {
            format!("{name}=; Max-Age=0; Path=/")
        } else {
            format!("{name}={value}; Path=/")
        };
        self.jar.add_cookie_str(&cookie, &url);
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        let sent = self.http.get(format!("{}{path}", self.base)).send().await;
        sent.unwrap_or_else(|error| panic!("GET {path}: the server did not answer: {error:?}"))
    }

    /// GET as a browser following a link: it navigates and asks for HTML first.
    pub async fn navigate(&self, path: &str) -> reqwest::Response {
        let sent = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
            .header("sec-fetch-mode", "navigate")
            .send()
            .await;
        sent.unwrap_or_else(|error| panic!("GET {path}: the server did not answer: {error:?}"))
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let sent = self
            .http
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .form(form)
            .send()
            .await;
        sent.unwrap_or_else(|error| panic!("POST {path}: the server did not answer: {error:?}"))
    }
}

/// Where a redirect points.
pub fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// The `Set-Cookie` header that sets `name`, if any.
pub fn set_cookie_header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with(&format!("{name}=")))
}

/// The SeaweedFS that `./scripts/test` starts. Without it this test fails, unless
/// `JARVIS_TEST_SKIP_S3=1` says to skip it on purpose.
pub fn s3_settings() -> Option<Vec<(&'static str, String)>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        var("JARVIS_TEST_S3_ENDPOINT"),
        var("JARVIS_TEST_S3_BUCKET"),
        var("JARVIS_TEST_S3_ACCESS_KEY_ID"),
        var("JARVIS_TEST_S3_SECRET_ACCESS_KEY"),
    ) {
        (Some(endpoint), Some(bucket), Some(key), Some(secret)) => Some(vec![
            ("JARVIS_STORAGE", "s3".to_owned()),
            ("JARVIS_S3_ENDPOINT", endpoint),
            ("JARVIS_S3_BUCKET", bucket),
            ("JARVIS_S3_ACCESS_KEY_ID", key),
            ("JARVIS_S3_SECRET_ACCESS_KEY", secret),
        ]),
        _ if var("JARVIS_TEST_SKIP_S3").as_deref() == Some("1") => None,
        _ => panic!("no S3 server: run ./scripts/test (it starts SeaweedFS), or set JARVIS_TEST_SKIP_S3=1"),
    }
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

impl TestApp {
    pub fn ws_url(&self) -> String {
        format!("ws://localhost:{}/ws", self.port)
    }

    pub fn client(&self) -> Client {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36")
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap();
        Client { http, jar, base: self.address.clone() }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client().get(path).await
    }

    /// The id of the account with this address (read as the schema owner).
    pub async fn user_id(&self, email: &str) -> uuid::Uuid {
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1::citext")
            .bind(email)
            .fetch_one(&self.owner_pool)
            .await
            .unwrap()
    }

    pub fn access_tokens(&self) -> AccessTokens {
        AccessTokens::new(&SecretString::from(JWT_SECRET), Duration::from_secs(900))
    }

    /// Registers an account (unverified) and returns its address.
    pub async fn register(&self, email: &str) {
        let client = self.client();
        let response = client.post_form("/register", &[("email", email), ("password", PASSWORD)]).await;
        assert_eq!(response.status(), 303);
        // A new account is signed in at once; callers want only the account, so that session
        // ends (they log in as they need).
        assert_eq!(location(&response), "/app");
        assert_eq!(location(&client.post_form("/logout", &[]).await), "/login?notice=logged_out");
    }

    /// Registers from a page served at `origin` (when the public URL is not this server's).
    pub async fn register_from(&self, origin: &str, email: &str) {
        let response = self
            .client()
            .http
            .post(format!("{}/register", self.address))
            .header("origin", origin)
            .form(&[("email", email), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
    }

    /// One user signed in on two devices (a laptop and a phone: two sessions), and their
    /// address.
    pub async fn signed_in_on_two_devices(&self) -> (Client, Client, String) {
        let (laptop, email) = self.signed_in_client().await;
        let phone = self.client();
        self.log_in(&phone, &email, PASSWORD).await;
        (laptop, phone, email)
    }

    /// Registers, verifies through the mailed link, and logs in; returns the signed-in client.
    pub async fn signed_in_client(&self) -> (Client, String) {
        let email = unique_email();
        self.register(&email).await;
        let link = self.link_in_mail(&email, "/verify-email").await;
        let client = self.client();
        assert_eq!(client.get(&link).await.status(), 303);
        self.log_in(&client, &email, PASSWORD).await;
        (client, email)
    }

    pub async fn log_in(&self, client: &Client, email: &str, password: &str) {
        let response = client.post_form("/login", &[("email", email), ("password", password)]).await;
        assert_eq!(location(&response), "/app", "log-in of {email} must succeed");
    }

    /// The body of the newest mail to `to`, waiting up to 10 s for it.
    pub async fn mail_to(&self, to: &str) -> String {
        self.mails_to(to, 1).await.pop().unwrap()
    }

    /// Waits until at least `count` mails to `to` arrived; returns them oldest first.
    pub async fn mails_to(&self, to: &str, count: usize) -> Vec<String> {
        for _ in 0..100 {
            let found = self.read_mails_to(to);
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail to {to} in {}", self.mail_dir.display());
    }

    /// Mails to `to` that arrived so far.
    pub fn read_mails_to(&self, to: &str) -> Vec<String> {
        mails_in(&self.mail_dir, to)
    }

    /// The first link in the newest mail to `to` whose path is `path`, as a path and query.
    pub async fn link_in_mail(&self, to: &str, path: &str) -> String {
        let mail = self.mail_to(to).await;
        link_in(&mail, path).unwrap_or_else(|| panic!("no {path} link in:\n{mail}"))
    }

    /// Stops the server as SIGTERM would and waits for it to finish (failing the test, rather
    /// than hanging the run, if it does not within [`STOP_TIMEOUT`]).
    pub async fn stop(self) {
        self.stop.cancel();
        match tokio::time::timeout(STOP_TIMEOUT, self.server).await {
            Ok(joined) => joined.expect("the server task completes").expect("the server stops cleanly"),
            Err(_) => panic!(
                "the server did not stop within {} s of being told to (TEST_LOG=1 shows how far its shutdown got)",
                STOP_TIMEOUT.as_secs()
            ),
        }
        for (name, pool) in [("owner", &self.owner_pool), ("application", &self.app_pool)] {
            if tokio::time::timeout(STOP_TIMEOUT, pool.close()).await.is_err() {
                panic!("the test's {name} pool did not close within {} s", STOP_TIMEOUT.as_secs());
            }
        }
        if tokio::time::timeout(STOP_TIMEOUT, drop_database(&self.database_name)).await.is_err() {
            panic!("dropping the database {} took over {} s", self.database_name, STOP_TIMEOUT.as_secs());
        }
    }
}

/// Finds `http…{path}?…` in a text and returns its path and query.
/// Mails to `to` in `dir` (an outbox or a maildir, searched recursively), oldest first.
pub fn mails_in(dir: &std::path::Path, to: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // A maildir's tmp/ holds mails still being written (then moved to new/).
                if path.file_name().is_none_or(|name| name != "tmp") {
                    stack.push(path);
                }
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                let addressed = text.lines().any(|line| {
                    let line = line.to_ascii_lowercase();
                    line.starts_with("to:") && line.contains(to)
                });
                if addressed {
                    let modified = entry.metadata().and_then(|m| m.modified()).ok();
                    found.push((modified, decode_quoted_printable(&text)));
                }
            }
        }
    }
    found.sort_by_key(|(modified, _)| *modified);
    found.into_iter().map(|(_, text)| text).collect()
}

pub fn link_in(text: &str, path: &str) -> Option<String> {
    text.split_whitespace().filter(|word| word.starts_with("http")).find_map(|word| {
        let url = url::Url::parse(word).ok()?;
        (url.path() == path).then(|| format!("{}?{}", url.path(), url.query().unwrap_or_default()))
    })
}

/// Undoes quoted-printable transfer encoding (soft line breaks and `=XX` escapes), which mail
/// uses for bodies with long lines such as links.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() && joined.is_char_boundary(i + 3) {
            if let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes a plans file (`JARVIS_PLANS_FILE`) for one test; returns its path.
pub fn plans_file(json: &str) -> String {
    let path = std::env::temp_dir().join(format!("jarvis-plans-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}
