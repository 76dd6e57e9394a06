//! Postgres: the connection pool, the embedded migrations and the readiness probe.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::Error;

/// How to reach the database. Built by the server's configuration.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// A `postgres://` URL; secret because it may carry a password.
    pub url: SecretString,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before failing.
    pub acquire_timeout: Duration,
}

impl DatabaseSettings {
    /// Parses the URL into connect options, logging statements only when they are slow.
    pub fn connect_options(&self) -> Result<PgConnectOptions, Error> {
        let options: PgConnectOptions = self.url.expose_secret().parse()?;
        Ok(options
            .log_statements(log::LevelFilter::Trace)
            .log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(500)))
    }
}

/// A pool that connects on first use, so that the process starts (and `/healthz` answers) even
/// while the database is briefly away; `/readyz` tells the difference.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, Error> {
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(settings.connect_options()?))
}

/// Applies the migrations under `migrations/` that this database has not seen yet.
#[tracing::instrument(name = "db.migrate", skip_all)]
pub async fn migrate(pool: &PgPool) -> Result<(), Error> {
    sqlx::migrate!("../migrations").run(pool).await?;
    Ok(())
}

/// Answers whether the database executes a trivial query within `timeout`.
#[tracing::instrument(name = "db.ping", skip_all)]
pub async fn ping(pool: &PgPool, timeout: Duration) -> Result<(), Error> {
    match tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(pool)).await {
        Ok(result) => result.map(|_| ()).map_err(Error::from),
        Err(_) => Err(Error::DatabaseTimeout(timeout)),
    }
}
