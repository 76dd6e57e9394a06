//! The database section: the owner's URL (migrations) and the runtime role's URL, and the pool.

use std::time::Duration;

use jarvis_backend::db::DatabaseSettings;

use super::ConfigError;
use super::parse::{parse_or, postgres_url};

/// `DATABASE_URL`, `DATABASE_APP_URL`, `JARVIS_DB_MAX_CONNECTIONS` (default 10) and
/// `JARVIS_DB_ACQUIRE_TIMEOUT_MS` (default 3000).
pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<DatabaseSettings, ConfigError> {
    Ok(DatabaseSettings {
        owner_url: postgres_url(
            "DATABASE_URL",
            get("DATABASE_URL"),
            "set it to a postgres:// URL of the role that owns the schema, or start Jarvis with ./scripts/run, which provisions a local PostgreSQL",
        )?,
        app_url: postgres_url(
            "DATABASE_APP_URL",
            get("DATABASE_APP_URL"),
            "set it to a postgres:// URL that logs in as the jarvis_app role (it owns nothing and is bound by row-level security), or start Jarvis with ./scripts/run",
        )?,
        max_connections: parse_or("JARVIS_DB_MAX_CONNECTIONS", get("JARVIS_DB_MAX_CONNECTIONS"), 10)?,
        acquire_timeout: Duration::from_millis(parse_or(
            "JARVIS_DB_ACQUIRE_TIMEOUT_MS",
            get("JARVIS_DB_ACQUIRE_TIMEOUT_MS"),
            3_000,
        )?),
    })
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config_from;

    #[test]
    fn a_missing_database_url_is_named_in_the_error() {
        let error = config_from(&[]).unwrap_err().to_string();
        assert!(error.starts_with("DATABASE_URL is not set"), "{error}");
    }
}
