//! The backend's one error type. Callers map it to a status or a protocol error; its `Display`
//! may hold internal detail, so it is logged, never sent to a client.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the application's database role `{role}` is not bound by row-level security (it is a superuser, has BYPASSRLS or owns the tables); connect DATABASE_APP_URL as the jarvis_app role"
    )]
    RoleBypassesRowSecurity { role: String },
    #[error("database did not answer within {0:?}")]
    DatabaseTimeout(std::time::Duration),
}
