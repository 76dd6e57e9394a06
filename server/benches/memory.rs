//! What an instance holds in memory: the resident set (VmRSS) of the real server binary, started
//! as a child process on a fresh database, while idle, after every 50 of 500 log-ins (argon2 hashes
//! 19 MiB each), and after idling; then, on a second, fresh instance, per idle WebSocket with 1,000
//! of them open, and after they close.
//! Prints figures; asserts only that every request succeeded. Run with
//! `cargo bench -p jarvis-server --bench memory` (needs the test database, like the tests).
//!
//! `JARVIS_BENCH_SERVER` names another server binary to measure (e.g. an older build);
//! `JARVIS_BENCH_LOGIN_CONCURRENCY` (default 16) is how many log-ins are in flight at once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures::{StreamExt, stream};
use jarvis_testkit::database::{self, TestDatabase};
use sqlx::{Connection, Executor, PgConnection};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

const PASSWORD: &str = "correct horse battery staple";
const LOGINS: usize = 500;
const REPORT_EVERY: usize = 50;
const SOCKETS: usize = 1_000;
/// Sockets opening at once; the server closes a socket idle for 60 s, so all must open well within.
const SOCKETS_OPENING: usize = 50;
const IDLE: Duration = Duration::from_secs(15);
const SETTLE: Duration = Duration::from_secs(3);

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let binary = PathBuf::from(
        std::env::var("JARVIS_BENCH_SERVER")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_jarvis-server").to_owned()),
    );
    let concurrency = match std::env::var("JARVIS_BENCH_LOGIN_CONCURRENCY") {
        Ok(value) => value.parse().context("JARVIS_BENCH_LOGIN_CONCURRENCY is a number")?,
        Err(_) => 16,
    };
    let database = TestDatabase::create_on(&database::owner_url(), &database::app_url(), "jarvis_memory_")
        .await
        .context("create the benchmark's database")?;
    let dir = std::env::temp_dir().join(format!("jarvis-memory-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let outcome = measure(&binary, &database, &dir, concurrency).await;
    database.drop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(
    binary: &Path,
    database: &TestDatabase,
    dir: &Path,
    concurrency: usize,
) -> anyhow::Result<()> {
    println!("memory: {} (log-ins {concurrency} at a time, {} cores)", binary.display(), cores());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let email = format!("memory-{}@example.com", uuid::Uuid::new_v4().simple());
    {
        let server = Server::start(binary, database, dir)?;
        server.report("idle after start-up")?;
        let response =
            server.post_form(&http, "/register", &[("email", &email), ("password", PASSWORD)]).await?;
        ensure!(response.status() == 303, "registration answered {}", response.status());
        PgConnection::connect(&database.owner_url())
            .await?
            .execute(sqlx::query("UPDATE users SET email_verified_at = now() WHERE email = $1").bind(&email))
            .await?;
        server.report("after registering")?;
        log_ins(&server, &http, &email, concurrency).await?;
    }
    // A fresh instance for the sockets: memory the log-ins freed would otherwise hide their cost.
    let server = Server::start(binary, database, dir)?;
    server.report("fresh instance, idle")?;
    let access = log_in(&server, &http, &email).await?;
    server.report("after one log-in")?;
    idle_sockets(&server, &access).await
}

async fn log_ins(
    server: &Server,
    http: &reqwest::Client,
    email: &str,
    concurrency: usize,
) -> anyhow::Result<()> {
    let started = Instant::now();
    server.report("log-ins   0")?;
    for done in (REPORT_EVERY..=LOGINS).step_by(REPORT_EVERY) {
        let batch = Instant::now();
        stream::iter(0..REPORT_EVERY)
            .map(|_| log_in(server, http, email))
            .buffer_unordered(concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<anyhow::Result<Vec<_>>>()?;
        let per_log_in = batch.elapsed().as_secs_f64() * 1000.0 / REPORT_EVERY as f64;
        server.report(&format!("log-ins {done:>3}  ({per_log_in:.0} ms each)"))?;
    }
    println!("memory: {LOGINS} log-ins took {:.1} s", started.elapsed().as_secs_f64());
    tokio::time::sleep(IDLE).await;
    server.report(&format!("after idling {} s", IDLE.as_secs()))
}

async fn idle_sockets(server: &Server, access: &str) -> anyhow::Result<()> {
    let before = server.rss_kb()?;
    let opening = Instant::now();
    let sockets: Vec<_> = stream::iter(0..SOCKETS)
        .map(|_| open_socket(server, access))
        .buffer_unordered(SOCKETS_OPENING)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let opened_in = opening.elapsed().as_secs_f64();
    tokio::time::sleep(SETTLE).await;
    let open = server.rss_kb()?;
    server.report(&format!("{SOCKETS} idle sockets (opened in {opened_in:.1} s)"))?;
    println!("memory: per idle socket {:.1} KB", open.saturating_sub(before) as f64 / SOCKETS as f64);
    stream::iter(sockets)
        .for_each_concurrent(SOCKETS_OPENING, |mut socket| async move {
            let _ = socket.close(None).await;
            // Wait for the server's side of the close (or the connection's end).
            while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(5), socket.next()).await {}
        })
        .await;
    tokio::time::sleep(SETTLE).await;
    server.report("after the sockets closed")
}

/// Logs in once; returns the access cookie's value.
async fn log_in(server: &Server, http: &reqwest::Client, email: &str) -> anyhow::Result<String> {
    let response = server.post_form(http, "/login", &[("email", email), ("password", PASSWORD)]).await?;
    let location = response.headers().get("location").and_then(|value| value.to_str().ok());
    ensure!(location == Some("/app"), "log-in answered {} to {location:?}", response.status());
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("jarvis_access="))
        .and_then(|value| value.split(';').next())
        .map(str::to_owned)
        .context("log-in sets jarvis_access")
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a signed-in socket, as the browser does, and waits for the server's greeting.
async fn open_socket(server: &Server, access: &str) -> anyhow::Result<Socket> {
    let mut request = format!("ws://127.0.0.1:{}/ws", server.port).into_client_request()?;
    request.headers_mut().insert("cookie", HeaderValue::from_str(&format!("jarvis_access={access}"))?);
    request.headers_mut().insert("origin", HeaderValue::from_str(&server.public_url)?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.context("the socket opens")?;
    match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        Ok(Some(Ok(Message::Text(hello)))) if hello.contains("\"hello\"") => Ok(socket),
        other => bail!("expected the greeting, got {other:?}"),
    }
}

/// The server binary, running as a child process on its own port.
struct Server {
    child: Child,
    port: u16,
    public_url: String,
}

impl Server {
    fn start(binary: &Path, database: &TestDatabase, dir: &Path) -> anyhow::Result<Self> {
        // Free now; the server binds it a moment later (its own port 0 would not tell us which).
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let public_url = format!("http://localhost:{port}");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log"))?;
        let child = Command::new(binary)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database.owner_url())
            .env("DATABASE_APP_URL", database.app_url())
            .env("JARVIS_ADDR", format!("127.0.0.1:{port}"))
            .env("JARVIS_METRICS_ADDR", "127.0.0.1:0")
            .env("JARVIS_PUBLIC_URL", &public_url)
            .env("JARVIS_JWT_SECRET", "memory-benchmark-secret-memory-benchmark-secret")
            .env("JARVIS_VOICE_ENGINE", "off")
            .env("JARVIS_OUTBOX_DIR", dir.join("outbox"))
            .env("JARVIS_STORAGE_DIR", dir.join("objects"))
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", binary.display()))?;
        let server = Server { child, port, public_url };
        server.wait_until_healthy(&dir.join("server.log"))?;
        Ok(server)
    }

    fn wait_until_healthy(&self, log: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let request = format!(
                    "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                    self.port
                );
                let mut answer = String::new();
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.1 200")
                {
                    // Let start-up's allocations settle before the first figure.
                    std::thread::sleep(SETTLE);
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "the server did not become healthy; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        )
    }

    async fn post_form(
        &self,
        http: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<reqwest::Response> {
        Ok(http
            .post(format!("http://127.0.0.1:{}{path}", self.port))
            .header("origin", &self.public_url)
            .form(form)
            .send()
            .await?)
    }

    /// Prints the resident set and the number of threads.
    fn report(&self, moment: &str) -> anyhow::Result<()> {
        let threads = self.status("Threads:")?;
        println!("memory: {moment:<38} {}  ({threads} threads)", mb(self.rss_kb()?));
        Ok(())
    }

    /// The resident set in KiB (`VmRSS` of /proc/<pid>/status).
    fn rss_kb(&self) -> anyhow::Result<u64> {
        self.status("VmRSS:")
    }

    /// A figure of /proc/<pid>/status.
    fn status(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|line| line.starts_with(field)).context("the field in status")?;
        Ok(line.split_whitespace().nth(1).context("a figure")?.parse()?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn mb(kb: u64) -> String {
    format!("{:>6.1} MB", kb as f64 / 1024.0)
}
