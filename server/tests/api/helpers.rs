//! Spawns the application for one test: a uniquely named database created for it (dropped by
//! the test script's clean-up, never shared), the server bound to port 0, and a clean stop.

use std::sync::LazyLock;

use jarvis_server::{config::Config, startup::Application, telemetry};
use sqlx::{Connection, Executor, PgConnection};
use tokio_util::sync::CancellationToken;

/// The server the test talks to.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub database_name: String,
    pub public_url: String,
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
pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://jarvis:jarvis@127.0.0.1:5432/jarvis".to_owned())
}

fn with_database(url: &str, database: &str) -> String {
    let mut url = url::Url::parse(url).expect("DATABASE_URL is a URL");
    url.set_path(database);
    url.to_string()
}

pub async fn create_database() -> (String, String) {
    let name = format!("jarvis_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_database_url()).await.expect("connect to Postgres");
    admin
        .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
        .await
        .expect("create the test database");
    let url = with_database(&admin_database_url(), &name);
    (name, url)
}

/// Drops a database even while the server still holds connections to it.
pub async fn drop_database(name: &str) {
    let mut admin = PgConnection::connect(&admin_database_url()).await.expect("connect to Postgres");
    admin
        .execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
        .await
        .expect("drop the test database");
}

pub fn test_config(database_url: &str) -> Config {
    let public_url = "http://localhost:3000";
    Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(database_url.to_owned()),
        "JARVIS_ADDR" => Some("127.0.0.1:0".to_owned()),
        "JARVIS_PUBLIC_URL" => Some(public_url.to_owned()),
        "JARVIS_DB_ACQUIRE_TIMEOUT_MS" => Some("1000".to_owned()),
        "JARVIS_SHUTDOWN_GRACE_SECS" => Some("2".to_owned()),
        _ => None,
    })
    .expect("the test configuration is valid")
}

pub async fn spawn_app() -> TestApp {
    LazyLock::force(&TRACING);
    let (database_name, database_url) = create_database().await;
    let config = test_config(&database_url);
    let public_url = config.public_url.to_string();
    let application = Application::build(config).await.expect("the application builds");
    let port = application.port();
    let stop = CancellationToken::new();
    let server = tokio::spawn(application.run_until(stop.clone().cancelled_owned()));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        database_name,
        public_url,
        stop,
        server,
    }
}

impl TestApp {
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the server answers")
    }

    /// Stops the server as SIGTERM would and waits for it to finish.
    pub async fn stop(self) {
        self.stop.cancel();
        self.server.await.expect("the server task completes").expect("the server stops cleanly");
        drop_database(&self.database_name).await;
    }
}
