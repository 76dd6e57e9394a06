//! Prometheus metrics: the process-wide recorder (the `metrics` facade, which `backend` records
//! through too), the layer that counts HTTP requests, and the listener that serves
//! `GET /metrics` on its own address (`JARVIS_METRICS_ADDR`), never on the public one.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Seconds: from a millisecond to two minutes (a long model call).
const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// How often histograms are compacted when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. Several servers in one process (the tests)
/// share it, as they share the process.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("metrics.recorder_already_installed");
            }
            metrics::gauge!("jarvis_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

/// Counts every request by route (the router's pattern, never the raw path, so ids do not make
/// new series), method and status, with its duration.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("jarvis_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("jarvis_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Counts an open WebSocket for as long as it lives.
pub struct OpenSocket(());

impl OpenSocket {
    pub fn new() -> Self {
        metrics::gauge!("jarvis_websockets_open").increment(1.0);
        Self(())
    }
}

impl Default for OpenSocket {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics::gauge!("jarvis_websockets_open").decrement(1.0);
    }
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    pool: PgPool,
}

/// Serves `GET /metrics` on `listener` until `shutdown`, and keeps histograms compact.
pub fn serve(listener: TcpListener, pool: PgPool, shutdown: CancellationToken) {
    let handle = handle();
    tokio::spawn({
        let handle = handle.clone();
        let shutdown = shutdown.clone();
        async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                tokio::select! {
                    _ = every.tick() => handle.run_upkeep(),
                    () = shutdown.cancelled() => break,
                }
            }
        }
    });
    let router = Router::new().route("/metrics", get(render)).with_state(Scrape { handle, pool });
    tokio::spawn(async move {
        let served = axum::serve(listener, router).with_graceful_shutdown(shutdown.cancelled_owned()).await;
        if let Err(error) = served {
            tracing::error!(%error, "metrics.serve_failed");
        }
    });
}

/// The text exposition format, with the pool's use sampled now.
async fn render(State(scrape): State<Scrape>) -> impl IntoResponse {
    let size = f64::from(scrape.pool.size());
    let idle = f64::from(u32::try_from(scrape.pool.num_idle()).unwrap_or(u32::MAX));
    metrics::gauge!("jarvis_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("jarvis_db_pool_connections", "state" => "in_use").set((size - idle).max(0.0));
    metrics::gauge!("jarvis_db_pool_max_connections")
        .set(f64::from(scrape.pool.options().get_max_connections()));
    scrape.handle.run_upkeep();
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], scrape.handle.render())
}
