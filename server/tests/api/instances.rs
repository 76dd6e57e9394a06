//! Real server processes for the fault tests: the `jarvis-server` binary started as a child
//! process, configured through its environment as an operator would, several of them on one test
//! database, so that a test can kill one (`SIGKILL`), deploy over it (`SIGTERM`) or put a
//! [`TcpProxy`](jarvis_testkit::tcp_proxy::TcpProxy) between it and Postgres. Each instance's
//! output goes to a log file in the test's own folder, printed when the test fails.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use jarvis_types::protocol::ServerMessage;
use reqwest::cookie::{CookieStore, Jar};
use sqlx::PgPool;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};

use crate::chat::Socket;
use crate::helpers::{
    JWT_SECRET, PASSWORD, app_database_url, create_database, drop_database, link_in, location, mails_in,
    owner_database_url, unique_email, with_database,
};

/// How long an instance may take from spawn to a ready `/readyz` (a debug build that runs the
/// migrations).
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The lines of an instance's log printed when a test fails.
const LOG_TAIL_LINES: usize = 400;

/// One test database, the folder of the test's files (logs, outbox, objects), and the instances
/// started on them.
pub struct Cluster {
    pub database_name: String,
    /// Connected as the schema owner, directly, for checking rows.
    pub owner_pool: PgPool,
    dir: PathBuf,
    smtp_url: Option<String>,
    mail_dir: PathBuf,
}

impl Cluster {
    /// Creates the database (the first instance migrates it) and the test's folder.
    pub async fn new() -> Self {
        let database_name = create_database().await;
        let dir = std::env::temp_dir().join(format!("jarvis-faults-{database_name}"));
        std::fs::create_dir_all(&dir).expect("create the test folder");
        let (smtp_url, mail_dir) =
            match (std::env::var("JARVIS_TEST_SMTP_URL"), std::env::var("JARVIS_TEST_MAILDIR")) {
                (Ok(url), Ok(maildir)) => (Some(url), PathBuf::from(maildir)),
                _ => (None, dir.join("outbox")),
            };
        let owner_pool = PgPool::connect(&with_database(&owner_database_url(), &database_name))
            .await
            .expect("connect to the test database as its owner");
        Self { database_name, owner_pool, dir, smtp_url, mail_dir }
    }

    /// Where Postgres listens (for a proxy in front of it).
    pub async fn postgres_addr() -> std::net::SocketAddr {
        let url = url::Url::parse(&app_database_url()).expect("a database URL");
        let host = url.host_str().expect("a database host").to_owned();
        let port = url.port().unwrap_or(5432);
        tokio::net::lookup_host((host.as_str(), port))
            .await
            .expect("resolve the database host")
            .next()
            .expect("an address for the database host")
    }

    /// How the application role reaches this test's database through `proxy` rather than directly.
    pub fn app_url_through(&self, proxy: std::net::SocketAddr) -> String {
        let mut url = url::Url::parse(&with_database(&app_database_url(), &self.database_name))
            .expect("a database URL");
        url.set_host(Some(&proxy.ip().to_string())).expect("a host");
        url.set_port(Some(proxy.port())).expect("a port");
        url.to_string()
    }

    /// Starts an instance named `name` and waits until it is ready. `settings` (environment
    /// variables) override the defaults: the application role connecting directly, a free
    /// port, the shared JWT secret, voice off, no model configured.
    pub async fn start(&self, name: &str, settings: &[(&str, &str)]) -> Instance {
        self.start_on(name, free_port(), settings).await
    }

    /// [`Cluster::start`] on a given port (an instance restarted where a balancer expects it).
    pub async fn start_on(&self, name: &str, port: u16, settings: &[(&str, &str)]) -> Instance {
        let log_path = self.dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).expect("create the instance log");
        let mut env: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), with_database(&owner_database_url(), &self.database_name)),
            ("DATABASE_APP_URL".into(), with_database(&app_database_url(), &self.database_name)),
            ("JARVIS_ADDR".into(), format!("127.0.0.1:{port}")),
            ("JARVIS_METRICS_ADDR".into(), "127.0.0.1:0".into()),
            ("JARVIS_PUBLIC_URL".into(), format!("http://localhost:{port}")),
            ("JARVIS_JWT_SECRET".into(), JWT_SECRET.into()),
            ("JARVIS_VOICE_ENGINE".into(), "off".into()),
            ("JARVIS_DB_ACQUIRE_TIMEOUT_MS".into(), "1000".into()),
            ("JARVIS_SHUTDOWN_GRACE_SECS".into(), "10".into()),
            ("JARVIS_OUTBOX_DIR".into(), self.mail_dir.display().to_string()),
            ("JARVIS_MAIL_FROM".into(), "Jarvis <jarvis@jarvis.test>".into()),
            ("JARVIS_STORAGE_DIR".into(), self.dir.join("objects").display().to_string()),
            ("ANTHROPIC_API_KEY".into(), "test".into()),
            ("RUST_LOG".into(), "info,sqlx=warn,tower_http=warn".into()),
            ("RUST_BACKTRACE".into(), "1".into()),
            ("NO_COLOR".into(), "1".into()),
        ];
        if let Some(smtp_url) = &self.smtp_url {
            env.push(("JARVIS_SMTP_URL".into(), smtp_url.clone()));
        }
        for (key, value) in settings {
            env.retain(|(existing, _)| existing != key);
            env.push(((*key).to_owned(), (*value).to_owned()));
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_jarvis-server"));
        // A folder of its own: no `.env` of the developer's is read, nothing is written elsewhere.
        command.current_dir(&self.dir).env_clear();
        for inherited in ["PATH", "HOME", "TMPDIR"] {
            if let Ok(value) = std::env::var(inherited) {
                command.env(inherited, value);
            }
        }
        command
            .envs(env)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("share the log file"))
            .stderr(log);
        let child = command.spawn().expect("start the jarvis-server binary");
        let mut instance =
            Instance { name: name.to_owned(), port, pid: child.id(), child, log_path, exited: None };
        instance.wait_ready().await;
        instance
    }

    /// Registers a new account through `via`, confirms it with the mailed link and logs in.
    pub async fn sign_up(&self, via: &impl Endpoint) -> User {
        let email = unique_email();
        let user = User::new(email, via);
        let response =
            user.post_form(via, "/register", &[("email", &user.email), ("password", PASSWORD)]).await;
        assert_eq!(response.status(), 303, "registering through {} must succeed", via.base_url());
        let mail = self.mail_to(&user.email).await;
        let link =
            link_in(&mail, "/verify-email").unwrap_or_else(|| panic!("no verification link in:\n{mail}"));
        let verified =
            user.http.get(format!("{}{link}", via.base_url())).send().await.expect("the server answers");
        assert_eq!(verified.status(), 303, "the verification link works");
        let response = user.post_form(via, "/login", &[("email", &user.email), ("password", PASSWORD)]).await;
        assert_eq!(location(&response), "/app", "log-in of {} must succeed", user.email);
        user
    }

    /// How instances started by something else (a script) must send mail for this cluster to
    /// read it: the test SMTP peer when there is one, else the cluster's outbox folder.
    pub fn mail_setting(&self) -> (&'static str, String) {
        match &self.smtp_url {
            Some(url) => ("JARVIS_SMTP_URL", url.clone()),
            None => ("JARVIS_OUTBOX_DIR", self.mail_dir.display().to_string()),
        }
    }

    /// Mails to `to` that arrived so far, from any instance, oldest first.
    pub fn read_mails_to(&self, to: &str) -> Vec<String> {
        mails_in(&self.mail_dir, to)
    }

    /// The newest mail to `to`, waiting up to 10 s for it.
    async fn mail_to(&self, to: &str) -> String {
        for _ in 0..100 {
            if let Some(mail) = mails_in(&self.mail_dir, to).pop() {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail to {to} in {}", self.mail_dir.display());
    }

    /// Drops the database (ending any connection still open to it) and the test's folder.
    /// Instances should be stopped first.
    pub async fn finish(self) {
        self.owner_pool.close().await;
        drop_database(&self.database_name).await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where a client reaches Jarvis: an instance, or a load balancer in front of several.
pub trait Endpoint {
    /// `http://localhost:<port>`.
    fn base_url(&self) -> String;
    fn port(&self) -> u16;
}

impl Endpoint for Instance {
    fn base_url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    fn port(&self) -> u16 {
        self.port
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("a local address").port()
}

/// A running `jarvis-server` process. Dropping it kills the process (if still running) and,
/// when the test is failing, prints its log.
pub struct Instance {
    pub name: String,
    pub port: u16,
    pid: u32,
    child: Child,
    log_path: PathBuf,
    exited: Option<ExitStatus>,
}

impl Instance {
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(3)).build().expect("a client");
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().expect("check the child") {
                self.exited = Some(status);
                panic!(
                    "instance {} exited before it was ready ({status}); its log:\n{}",
                    self.name,
                    self.log()
                );
            }
            if let Ok(response) = http.get(format!("{}/readyz", self.base_url())).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "instance {} not ready within {READY_WITHIN:?}", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: the process ends at once, with no chance to clean up (a crash, an OOM kill).
    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL the instance");
        self.exited = Some(self.child.wait().expect("reap the instance"));
    }

    /// SIGTERM: what an orchestrator sends at a deploy; the instance should drain and exit 0.
    pub fn terminate(&self) {
        let status =
            Command::new("kill").args(["-TERM", &self.pid.to_string()]).status().expect("run kill -TERM");
        assert!(status.success(), "kill -TERM {} failed: {status}", self.pid);
    }

    /// Waits up to `timeout` for the process to exit; its exit status, or `None` if it still runs.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited {
                return Some(status);
            }
            if let Some(status) = self.child.try_wait().expect("check the child") {
                self.exited = Some(status);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The process's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_else(|error| format!("(no log: {error})"))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
            eprintln!(
                "----- instance {} (port {}, {}), last {} lines of {} -----\n{}\n----- end of instance {} -----",
                self.name,
                self.port,
                self.exited.map_or_else(|| "killed at the end of the test".to_owned(), |s| s.to_string()),
                tail.len(),
                self.log_path.display(),
                tail.join("\n"),
                self.name
            );
        }
    }
}

/// A verified, signed-in user. Every instance accepts their access token (one JWT secret).
pub struct User {
    pub email: String,
    pub http: reqwest::Client,
    jar: Arc<Jar>,
    /// Where the cookies were set (cookies ignore the port, so any instance on localhost).
    cookie_url: url::Url,
}

impl User {
    fn new(email: String, via: &impl Endpoint) -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36")
            .build()
            .expect("a client");
        let cookie_url = via.base_url().parse().expect("a URL");
        Self { email, http, jar, cookie_url }
    }

    async fn post_form(&self, to: &impl Endpoint, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", to.base_url()))
            .header("origin", to.base_url())
            .form(form)
            .send()
            .await
            .expect("the server answers")
    }

    /// The access token (`jarvis_access` cookie).
    pub fn access_token(&self) -> String {
        let header = self.jar.cookies(&self.cookie_url).expect("signed in");
        header
            .to_str()
            .expect("a cookie header")
            .split("; ")
            .find_map(|pair| pair.strip_prefix("jarvis_access=").map(str::to_owned))
            .expect("an access cookie")
    }

    /// Opens the chat socket on `instance`, as `chat::open` does, and reads its `Hello`.
    pub async fn open(&self, instance: &impl Endpoint) -> Socket {
        self.open_with_response(instance).await.0
    }

    /// [`User::open`], with the upgrade's response (a balancer says there which instance answered).
    pub async fn open_with_response(
        &self,
        instance: &impl Endpoint,
    ) -> (Socket, tokio_tungstenite::tungstenite::handshake::client::Response) {
        let mut request =
            format!("ws://localhost:{}/ws", instance.port()).into_client_request().expect("a request");
        request.headers_mut().insert(
            "cookie",
            HeaderValue::from_str(&format!("jarvis_access={}", self.access_token())).expect("a header"),
        );
        let (mut socket, response) =
            tokio_tungstenite::connect_async(request).await.expect("the socket opens");
        assert!(matches!(crate::chat::next(&mut socket).await, ServerMessage::Hello { .. }));
        (socket, response)
    }
}
