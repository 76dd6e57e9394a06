//! Throwaway databases for tests and benchmarks: a uniquely named database created with the
//! schema owner's role (`DATABASE_URL`), migrated on request, reachable as the owner and as the
//! application role (`DATABASE_APP_URL`, bound by row-level security), and dropped at the end
//! even while connections to it remain.

use sqlx::{Connection, Executor, PgConnection, PgPool};

/// The prefix of the tests' databases.
pub const TEST_PREFIX: &str = "jarvis_test_";

/// Where databases are created: `DATABASE_URL`, as the test scripts export it.
pub fn owner_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://jarvis:jarvis@127.0.0.1:5432/jarvis".to_owned())
}

/// How the application role logs in: `DATABASE_APP_URL`, as the test scripts export it.
pub fn app_url() -> String {
    std::env::var("DATABASE_APP_URL")
        .unwrap_or_else(|_| "postgres://jarvis_app:jarvis_app@127.0.0.1:5432/jarvis".to_owned())
}

/// `url` pointing at database `name` instead.
pub fn with_database(url: &str, name: &str) -> Result<String, url::ParseError> {
    let mut url = url::Url::parse(url)?;
    url.set_path(name);
    Ok(url.to_string())
}

/// Creates a database named `prefix` and a fresh UUID, as the role of `owner_url`; its name.
pub async fn create_database(owner_url: &str, prefix: &str) -> Result<String, sqlx::Error> {
    let name = format!("{prefix}{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(owner_url).await?;
    admin.execute(format!(r#"CREATE DATABASE "{name}""#).as_str()).await?;
    Ok(name)
}

/// Drops database `name`, ending the connections still open to it.
pub async fn drop_database(owner_url: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(owner_url).await?;
    admin.execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str()).await?;
    Ok(())
}

/// A database of a test's own. Not dropped by itself: call [`TestDatabase::drop`] at the end.
pub struct TestDatabase {
    name: String,
    /// The server URLs (owner and application role) the database was created on.
    owner_base: String,
    app_base: String,
}

impl TestDatabase {
    /// A `jarvis_test_…` database on the servers of `DATABASE_URL` and `DATABASE_APP_URL`.
    /// Panics if Postgres refuses, as a test would.
    pub async fn create() -> Self {
        Self::create_on(&owner_url(), &app_url(), TEST_PREFIX).await.expect("create the test database")
    }

    /// A database named `prefix` and a UUID, created as the role of `owner_base`.
    pub async fn create_on(owner_base: &str, app_base: &str, prefix: &str) -> Result<Self, sqlx::Error> {
        with_database(owner_base, "").map_err(|error| sqlx::Error::Configuration(error.into()))?;
        with_database(app_base, "").map_err(|error| sqlx::Error::Configuration(error.into()))?;
        let name = create_database(owner_base, prefix).await?;
        Ok(Self { name, owner_base: owner_base.to_owned(), app_base: app_base.to_owned() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database's URL as the schema owner.
    pub fn owner_url(&self) -> String {
        with_database(&self.owner_base, &self.name).expect("checked when created")
    }

    /// The database's URL as the application role.
    pub fn app_url(&self) -> String {
        with_database(&self.app_base, &self.name).expect("checked when created")
    }

    /// Runs the project's migrations (`migrations/`) as the schema owner.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        let mut owner = PgConnection::connect(&self.owner_url()).await?;
        let result = sqlx::migrate!("../migrations").run(&mut owner).await;
        let _ = owner.close().await;
        result
    }

    /// A pool connected as the schema owner (whom row-level security does not bind).
    pub async fn owner_pool(&self) -> Result<PgPool, sqlx::Error> {
        PgPool::connect(&self.owner_url()).await
    }

    /// A pool connected as the application role.
    pub async fn app_pool(&self) -> Result<PgPool, sqlx::Error> {
        PgPool::connect(&self.app_url()).await
    }

    /// Drops the database, even while connections to it remain.
    pub async fn drop(self) -> Result<(), sqlx::Error> {
        drop_database(&self.owner_base, &self.name).await
    }
}
