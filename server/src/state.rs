//! What every handler can reach: the database, the configuration and the stop signal.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: PgPool,
    pub leptos_options: LeptosOptions,
    /// Cancelled when the process starts to stop; long-lived connections close on it.
    pub shutdown: CancellationToken,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
