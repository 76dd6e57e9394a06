//! The backend's one error type. Callers map it to a status or a protocol error; its `Display`
//! may hold internal detail, so it is logged, never sent to a client.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database did not answer within {0:?}")]
    DatabaseTimeout(std::time::Duration),
}
