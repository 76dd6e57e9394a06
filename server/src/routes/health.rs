//! `GET /healthz` (the process lives) and `GET /readyz` (it can serve: Postgres answers).

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode};
use jarvis_types::health::{Liveness, Readiness, Status};

use crate::{error::CauseChain, state::AppState};

/// How long readiness waits for Postgres before calling it unavailable.
const DATABASE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn liveness() -> Json<Liveness> {
    Json(Liveness { status: Status::Ok, version: env!("CARGO_PKG_VERSION").to_owned() })
}

#[tracing::instrument(name = "health.readiness", skip_all)]
pub async fn readiness(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    match jarvis_backend::db::ping(&state.pool, DATABASE_PROBE_TIMEOUT).await {
        Ok(()) => (StatusCode::OK, Json(Readiness { status: Status::Ok, database: Status::Ok })),
        Err(error) => {
            tracing::warn!(error = %CauseChain(&error), "health.database_unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Readiness { status: Status::Unavailable, database: Status::Unavailable }),
            )
        }
    }
}
