//! The benchmark's database: a fresh one created for the run (dropped at the end), users put in
//! it directly as the schema owner (verified, each with a live session, no password anyone could
//! log in with), and the database's transaction counter.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

/// `url` pointing at database `name` instead.
pub fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    jarvis_testkit::database::with_database(url, name).context("a postgres:// database URL")
}

/// `url` with `sslmode=disable` when it names a loopback host and no `sslmode`: TLS to a
/// Postgres on the same machine protects nothing and costs the server CPU for every statement.
/// Any other URL is left as it is.
pub fn without_loopback_tls(url: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).context("a postgres:// database URL")?;
    let loopback = match parsed.host() {
        // A `postgres:` URL's host is opaque to `url`: an IPv4 address comes as a name.
        Some(url::Host::Domain(name)) => {
            name == "localhost"
                || name.parse::<std::net::Ipv4Addr>().is_ok_and(|address| address.is_loopback())
        }
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    };
    if !loopback || parsed.query_pairs().any(|(key, _)| key == "sslmode") {
        return Ok(url.to_owned());
    }
    parsed.query_pairs_mut().append_pair("sslmode", "disable");
    Ok(parsed.into())
}

/// Creates a uniquely named database with the owner role of `owner_url`; returns its name.
pub async fn create(owner_url: &str) -> anyhow::Result<String> {
    jarvis_testkit::database::create_database(owner_url, "jarvis_load_")
        .await
        .context("creating the database as the owner role")
}

/// Drops the database, ending the connections still open to it.
pub async fn drop(owner_url: &str, name: &str) -> anyhow::Result<()> {
    jarvis_testkit::database::drop_database(owner_url, name)
        .await
        .context("dropping the database as the owner role")
}

/// A pool on the benchmark's database as the schema owner (whom row-level security does not bind).
pub async fn owner_pool(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .context("connecting to the benchmark's database")
}

/// A user the benchmark acts as.
#[derive(Debug, Clone, Copy)]
pub struct LoadUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

/// Inserts `count` verified users, each with a session valid for a day. Logging in through the
/// server would hash a password with argon2 per user; these rows are what a log-in leaves behind
/// (a session the access token names), minus the refresh token, which the benchmark never needs.
pub async fn create_users(pool: &PgPool, count: usize) -> anyhow::Result<Vec<LoadUser>> {
    let run = Uuid::new_v4().simple().to_string();
    let users: Vec<LoadUser> =
        (0..count).map(|_| LoadUser { user_id: Uuid::new_v4(), session_id: Uuid::new_v4() }).collect();
    for batch in users.chunks(1000) {
        let ids: Vec<Uuid> = batch.iter().map(|user| user.user_id).collect();
        let sessions: Vec<Uuid> = batch.iter().map(|user| user.session_id).collect();
        let emails: Vec<String> =
            ids.iter().map(|id| format!("load-{run}-{}@example.com", id.simple())).collect();
        let mut tx = pool.begin().await?;
        // "!" is no PHC string: no password verifies against it, so nobody can log in as these users.
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, display_name, email_verified_at)
             SELECT id, email::citext, '!', 'Load test', now() FROM unnest($1::uuid[], $2::text[]) AS u(id, email)",
        )
        .bind(&ids)
        .bind(&emails)
        .execute(&mut *tx)
        .await
        .context("inserting the users")?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, user_agent, ip, expires_at)
             SELECT sid, uid, 'jarvis-load', '127.0.0.1', now() + interval '1 day'
               FROM unnest($1::uuid[], $2::uuid[]) AS s(sid, uid)",
        )
        .bind(&sessions)
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .context("inserting the sessions")?;
        tx.commit().await?;
    }
    Ok(users)
}

/// Deletes the benchmark's users (their conversations, runs and sessions go with them), for a
/// server whose database the benchmark did not create.
pub async fn delete_users(pool: &PgPool, users: &[LoadUser]) -> anyhow::Result<()> {
    let ids: Vec<Uuid> = users.iter().map(|user| user.user_id).collect();
    for batch in ids.chunks(1000) {
        sqlx::query("DELETE FROM users WHERE id = ANY($1)")
            .bind(batch)
            .execute(pool)
            .await
            .context("deleting the benchmark's users")?;
    }
    Ok(())
}

/// Transactions committed and rolled back in this database so far, by Postgres's statistics
/// (which each backend reports at most once a second, so read it a second after activity).
pub async fn transactions(pool: &PgPool) -> anyhow::Result<i64> {
    let count: i64 = sqlx::query_scalar(
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(pool)
    .await
    .context("reading pg_stat_database")?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::without_loopback_tls as plain;

    #[test]
    fn only_a_loopback_url_without_an_sslmode_loses_tls() {
        assert_eq!(
            plain("postgres://a:b@127.0.0.1:5432/db").unwrap(),
            "postgres://a:b@127.0.0.1:5432/db?sslmode=disable"
        );
        assert_eq!(
            plain("postgres://a@localhost/db?x=1").unwrap(),
            "postgres://a@localhost/db?x=1&sslmode=disable"
        );
        assert_eq!(plain("postgres://a@[::1]/db").unwrap(), "postgres://a@[::1]/db?sslmode=disable");
        assert_eq!(
            plain("postgres://a@127.0.0.1/db?sslmode=require").unwrap(),
            "postgres://a@127.0.0.1/db?sslmode=require"
        );
        assert_eq!(plain("postgres://a@db.example.com/db").unwrap(), "postgres://a@db.example.com/db");
    }
}
