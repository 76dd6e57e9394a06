//! Ended sessions reach this instance's open connections. Postgres announces every session that
//! ends on [`CHANNEL`] (a trigger on `sessions`, inside the ending transaction); one `LISTEN`
//! connection per instance ends those sessions in [`OpenSessions`] within moments. Because a
//! notification sent while that connection was down is lost, every session with a connection
//! here is checked against the database whenever the listener (re)connects, and again every
//! `check_every`, which also catches sessions that simply expired. The listening connection is
//! one of its own, outside the pool that serves requests.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::open_sessions::OpenSessions;

/// Where Postgres announces an ended session; the payload is its id.
pub const CHANNEL: &str = "jarvis_session_revoked";

/// Listens and checks until `stop`.
pub fn spawn(
    pool: PgPool,
    open: Arc<OpenSessions>,
    check_every: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    // PgListener holds a pooled connection for good: a pool of one, lest it take one of the
    // request pool's.
    let listen_pool =
        PgPoolOptions::new().max_connections(1).connect_lazy_with((*pool.connect_options()).clone());
    tokio::spawn(async move {
        tokio::select! {
            () = stop.cancelled() => {}
            () = listen(&listen_pool, &pool, &open) => {}
            () = check_periodically(&pool, &open, check_every) => {}
        }
    })
}

async fn listen(listen_pool: &PgPool, pool: &PgPool, open: &OpenSessions) {
    loop {
        let mut listener = match connect(listen_pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "accounts.revocation_listener_connect_failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Anything may have ended while we were not listening.
        check_open_sessions(pool, open).await;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => match Uuid::parse_str(notification.payload()) {
                    Ok(session_id) => {
                        let connections = open.end(session_id);
                        if connections > 0 {
                            tracing::info!(session.id = %session_id, connections, "accounts.session_connections_closed");
                        }
                    }
                    Err(_) => {
                        tracing::warn!(payload = notification.payload(), "accounts.revocation_unreadable")
                    }
                },
                // The connection was lost: listen afresh, then check what may have been missed.
                Ok(None) => {
                    tracing::warn!("accounts.revocation_listener_reconnecting");
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "accounts.revocation_listener_interrupted");
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn check_periodically(pool: &PgPool, open: &OpenSessions, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate; the listener checks on connecting
    loop {
        ticks.tick().await;
        check_open_sessions(pool, open).await;
    }
}

/// Ends here every open session the database no longer holds live. A failed check is logged
/// and tried again at the next occasion.
#[tracing::instrument(name = "accounts.check_open_sessions", skip_all)]
pub async fn check_open_sessions(pool: &PgPool, open: &OpenSessions) {
    let sessions: Vec<Uuid> = open.snapshot().into_iter().map(|user| user.session_id).collect();
    if sessions.is_empty() {
        return;
    }
    let live: Vec<Uuid> =
        match sqlx::query_scalar("SELECT auth_live_sessions($1)").bind(&sessions).fetch_all(pool).await {
            Ok(live) => live,
            Err(error) => {
                tracing::warn!(%error, "accounts.open_sessions_check_failed");
                return;
            }
        };
    let live: HashSet<Uuid> = live.into_iter().collect();
    for session_id in sessions.into_iter().filter(|id| !live.contains(id)) {
        let connections = open.end(session_id);
        tracing::info!(session.id = %session_id, connections, "accounts.ended_session_connections_closed");
    }
}
