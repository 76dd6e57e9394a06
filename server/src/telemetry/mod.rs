//! Tracing: human-readable lines by default, one JSON object per line with
//! `JARVIS_LOG_FORMAT=json`; the level filter comes from `RUST_LOG`. When
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the same spans
//! are also exported over OTLP ([`otlp`]); unset, no exporter exists and nothing is sent.

pub mod http;
mod otlp;

use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::LogFormat;

pub use otlp::SERVICE_NAME;

/// The filter used when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// What [`init`] installed that must be stopped on exit: the trace exporter, if any.
pub struct Telemetry {
    traces: Option<otlp::Traces>,
}

impl Telemetry {
    /// Sends the spans still buffered and stops the exporter (nothing to do when traces are off).
    /// Call once, after the server stopped, or the last spans are lost.
    pub async fn shutdown(self) {
        if let Some(traces) = self.traces {
            traces.shutdown().await;
        }
    }
}

/// Installs the global subscriber, and the trace exporter when the environment asks for one.
/// Call once, first thing in `main`, inside the tokio runtime (the exporter's batches run on
/// it). An exporter that cannot be built (an endpoint that is not a URL) is logged as an error
/// and the server runs without it: traces are not worth an outage.
pub fn init(format: LogFormat) -> Telemetry {
    let (traces, failure) = match otlp::Traces::from_env() {
        Ok(traces) => (traces, None),
        Err(error) => (None, Some(error)),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // `None` is a layer that does nothing: without an endpoint, spans cost what they did before.
    let registry =
        tracing_subscriber::registry().with(filter).with(traces.as_ref().map(|traces| traces.layer()));
    let result = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true).with_current_span(true).with_span_list(false))
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
    // Tests install a subscriber once per process and may call this again.
    if let Err(error) = result {
        tracing::debug!(%error, "telemetry.already_initialised");
    }
    match (&traces, failure) {
        (Some(traces), _) => traces.log_started(),
        (None, Some(error)) => tracing::error!(%error, "telemetry.traces_failed"),
        (None, None) => tracing::info!("telemetry.traces_off"),
    }
    Telemetry { traces }
}
