//! Postgres: the connection pool, the embedded migrations and the readiness probe.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::Error;

/// How to reach the database. Built by the server's configuration.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `postgres://` URL of the role that owns the schema: used only to run migrations.
    pub owner_url: SecretString,
    /// `postgres://` URL of the role the application runs as (`jarvis_app`): owns nothing and
    /// is bound by row-level security.
    pub app_url: SecretString,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before failing.
    pub acquire_timeout: Duration,
}

impl DatabaseSettings {
    /// Connect options for the application role.
    pub fn app_options(&self) -> Result<PgConnectOptions, Error> {
        connect_options(&self.app_url)
    }

    /// Connect options for the schema owner.
    pub fn owner_options(&self) -> Result<PgConnectOptions, Error> {
        connect_options(&self.owner_url)
    }
}

/// Parses a URL into connect options, logging statements only when they are slow.
fn connect_options(url: &SecretString) -> Result<PgConnectOptions, Error> {
    let options: PgConnectOptions = url.expose_secret().parse()?;
    Ok(options
        .log_statements(log::LevelFilter::Trace)
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(500)))
}

/// A pool that connects on first use, so that the process starts (and `/healthz` answers) even
/// while the database is briefly away; `/readyz` tells the difference.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, Error> {
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(settings.app_options()?))
}

/// Applies the migrations under `migrations/` that this database has not seen yet, connected
/// as the schema owner. Safe when several instances start at once (sqlx takes an advisory lock).
#[tracing::instrument(name = "db.migrate", skip_all)]
pub async fn migrate(settings: &DatabaseSettings) -> Result<(), Error> {
    let owner = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(settings.owner_options()?)
        .await?;
    let result = sqlx::migrate!("../migrations").run(&owner).await;
    owner.close().await;
    result?;
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

/// Whether a failed statement may succeed if tried again: the connection or the server was
/// away (or busy), not the data refused. A constraint or data error fails the same way every time.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            // Connection exceptions, operator intervention (shutdown), insufficient resources,
            // serialization failures and deadlocks.
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || code == "40001"
                || code == "40P01"
        }),
        _ => false,
    }
}

/// Opens a transaction on behalf of `user_id`: Postgres row-level security then shows and
/// accepts only that user's rows, whatever the queries inside forget. Every query on a user's
/// data runs inside one of these (and still names the user in its `WHERE`: isolation is enforced
/// twice).
pub async fn user_transaction(
    pool: &PgPool,
    user_id: Uuid,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    act_for_user(&mut tx, user_id).await?;
    Ok(tx)
}

/// Runs `work` in a transaction on behalf of `user_id` (see [`user_transaction`]) and commits it
/// when `work` succeeds; an error rolls it back. The one way stores read or change a user's rows
/// when they need nothing else from the transaction.
pub async fn for_user<T, E>(
    pool: &PgPool,
    user_id: Uuid,
    work: impl AsyncFnOnce(&mut sqlx::PgConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<sqlx::Error>,
{
    let mut tx = user_transaction(pool, user_id).await?;
    let value = work(&mut tx).await?;
    tx.commit().await?;
    Ok(value)
}

/// Makes the rest of an open transaction act on behalf of `user_id` (see [`user_transaction`]).
pub async fn act_for_user(tx: &mut Transaction<'static, Postgres>, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('app.user_id', $1, true)")
        .bind(user_id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Refuses to run with a database role that row-level security does not bind: a superuser, a
/// role with BYPASSRLS, or the owner of our tables.
#[tracing::instrument(name = "db.check_runtime_role", skip_all)]
pub async fn check_runtime_role(pool: &PgPool) -> Result<(), Error> {
    let (role, superuser, bypass, owns): (String, bool, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, r.rolsuper, r.rolbypassrls,
                EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user)
           FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    if superuser || bypass || owns {
        return Err(Error::RoleBypassesRowSecurity { role });
    }
    Ok(())
}
