//! Builds the application (database, migrations, router, listener) and runs it until told to stop.

use std::future::Future;
use std::sync::Arc;

use axum::{Router, http::Request, routing::get};
use jarvis_app::{App, OUTPUT_NAME, shell};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::{
    config::Config,
    routes::{health, ws},
    state::AppState,
};

/// Why the application could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("could not reach or migrate the database")]
    Database(#[from] jarvis_backend::Error),
    #[error("could not listen on {addr}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("the server failed")]
    Serve(#[source] std::io::Error),
}

/// A built application: bound to its port, database migrated, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    #[tracing::instrument(name = "startup.build", skip_all, fields(addr = %config.listen_addr))]
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let pool = jarvis_backend::db::pool(&config.database)?;
        jarvis_backend::db::migrate(&pool).await?;
        tracing::info!("startup.migrations_applied");

        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| StartupError::Bind { addr: config.listen_addr, source })?;
        let local_addr = listener.local_addr().map_err(StartupError::Serve)?;

        let leptos_options = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(local_addr)
            .reload_port(config.reload_port)
            .build();
        let state = AppState {
            config: Arc::new(config),
            pool,
            leptos_options,
            shutdown: CancellationToken::new(),
        };
        let router = router(state.clone());
        tracing::info!(addr = %local_addr, public_url = %state.config.public_url, "startup.listening");
        Ok(Self { listener, router, state })
    }

    /// The port actually bound (useful when the configuration asked for port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|addr| addr.port()).unwrap_or_default()
    }

    /// Serves until `stop` resolves, then closes sockets and lets open requests finish for up
    /// to the configured grace period.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> Result<(), StartupError> {
        let Self { listener, router, state } = self;
        let shutdown = state.shutdown.clone();
        tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                stop.await;
                tracing::info!("shutdown.begin");
                shutdown.cancel();
            }
        });

        let serve = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let grace = state.config.shutdown_grace;
        let result = tokio::select! {
            result = serve => result.map_err(StartupError::Serve),
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_secs = grace.as_secs(), "shutdown.grace_expired");
                Ok(())
            }
        };
        state.pool.close().await;
        tracing::info!("shutdown.complete");
        result
    }
}

fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();

    Router::new()
        .route("/healthz", get(health::liveness))
        .route("/readyz", get(health::readiness))
        .route(jarvis_types::protocol::WS_PATH, get(ws::upgrade))
        .leptos_routes(&state, routes, move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "http.request",
                        http.method = %request.method(),
                        http.path = %request.uri().path(),
                        request_id = %request_id,
                    )
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
