//! Traces over OTLP/HTTP with protobuf bodies (the specification's default protocol), sent to
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given or to `{OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`.
//! tracing's spans become OpenTelemetry spans (tracing-opentelemetry), are batched by the SDK's
//! processor on the tokio runtime and sent by opentelemetry-otlp through the workspace's reqwest
//! client. Those crates read the other standard variables themselves: `OTEL_EXPORTER_OTLP_HEADERS`,
//! `_TIMEOUT`, `_COMPRESSION` (and their `_TRACES_` forms), `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SERVICE_NAME`.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, Key, KeyValue};
use opentelemetry_otlp::{ExporterBuildError, SpanExporter};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// The variables that turn the exporter on, the traces-only one first (it wins).
const ENDPOINT_VARS: [&str; 2] = ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"];

/// `service.name` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one.
pub const SERVICE_NAME: &str = "jarvis";

/// The protocol variables; only `http/protobuf` is built in.
const PROTOCOL_VARS: [&str; 2] = ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"];
const PROTOCOL: &str = "http/protobuf";

/// How long the exit waits for the last batch (an export has its own timeout, 10 s by default).
const SHUTDOWN_WITHIN: Duration = Duration::from_secs(15);

/// Targets whose spans are not exported: the exporter's own HTTP stack (exporting its spans would
/// make spans about sending spans, without end) and OpenTelemetry's diagnostics. They are still
/// logged as before.
const NOT_EXPORTED: [&str; 4] = ["h2", "hyper", "reqwest", "opentelemetry"];

/// Why the exporter could not be built.
#[derive(Debug, thiserror::Error)]
pub(super) enum TracesError {
    #[error(transparent)]
    Exporter(#[from] ExporterBuildError),
    #[error("traces need a tokio runtime: init ran outside one")]
    NoRuntime,
}

/// The running exporter.
pub(super) struct Traces {
    provider: SdkTracerProvider,
    endpoint: String,
    resource: Resource,
}

impl Traces {
    /// The exporter the environment asks for: `None` (and nothing built) when no endpoint is set.
    pub(super) fn from_env() -> Result<Option<Self>, TracesError> {
        let Some(endpoint) = traces_endpoint(|name| std::env::var(name).ok()) else {
            return Ok(None);
        };
        // The batch processor spawns its task at once.
        tokio::runtime::Handle::try_current().map_err(|_| TracesError::NoRuntime)?;
        let exporter = SpanExporter::builder().with_http().build()?;
        let resource = resource();
        // Requests that carry a W3C `traceparent` join the caller's trace (telemetry::http).
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder()
            .with_span_processor(BatchSpanProcessor::builder(exporter, Tokio).build())
            .with_resource(resource.clone())
            .build();
        Ok(Some(Self { provider, endpoint, resource }))
    }

    /// The tracing layer that hands every span (but [`NOT_EXPORTED`]'s) to the exporter.
    pub(super) fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        let scope =
            InstrumentationScope::builder("jarvis-server").with_version(env!("CARGO_PKG_VERSION")).build();
        let not_exported = Targets::new()
            .with_default(LevelFilter::TRACE)
            .with_targets(NOT_EXPORTED.map(|target| (target, LevelFilter::OFF)));
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer_with_scope(scope))
            .with_filter(not_exported)
    }

    /// Says where traces go, once the subscriber is installed.
    pub(super) fn log_started(&self) {
        let attribute = |key: &'static str| {
            self.resource.get(&Key::from_static_str(key)).map(|value| value.to_string()).unwrap_or_default()
        };
        tracing::info!(
            endpoint = %self.endpoint,
            service.name = %attribute("service.name"),
            service.instance.id = %attribute("service.instance.id"),
            "telemetry.traces_on"
        );
        for name in PROTOCOL_VARS {
            if let Ok(protocol) = std::env::var(name)
                && !protocol.is_empty()
                && protocol != PROTOCOL
            {
                tracing::warn!(variable = name, %protocol, supported = PROTOCOL, "telemetry.protocol_unsupported");
            }
        }
    }

    /// Sends the spans still buffered, then stops. The SDK's shutdown blocks its thread until the
    /// batch task (on the runtime) answers, so it runs on a blocking thread.
    pub(super) async fn shutdown(self) {
        let provider = self.provider;
        let stopping = tokio::task::spawn_blocking(move || provider.shutdown());
        match tokio::time::timeout(SHUTDOWN_WITHIN, stopping).await {
            Ok(Ok(Ok(()))) => tracing::info!("telemetry.traces_flushed"),
            Ok(Ok(Err(error))) => tracing::warn!(%error, "telemetry.traces_shutdown_failed"),
            Ok(Err(error)) => tracing::warn!(%error, "telemetry.traces_shutdown_failed"),
            Err(_) => tracing::warn!(within = ?SHUTDOWN_WITHIN, "telemetry.traces_shutdown_timed_out"),
        }
    }
}

/// Where spans go, as opentelemetry-otlp resolves it: the traces endpoint as given, else the
/// general one with `/v1/traces` appended; an empty variable counts as unset. Nowhere when
/// `OTEL_SDK_DISABLED=true`, as the specification's general variables say.
fn traces_endpoint(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    if var("OTEL_SDK_DISABLED").is_some_and(|value| value.trim().eq_ignore_ascii_case("true")) {
        return None;
    }
    let [traces, general] = ENDPOINT_VARS;
    let set = |name: &str| var(name).filter(|value| !value.is_empty());
    set(traces)
        .or_else(|| set(general).map(|base| format!("{}/v1/traces", base.strip_suffix('/').unwrap_or(&base))))
}

/// The SDK's resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `telemetry.sdk.*`) with
/// what it lacks: `service.name` [`SERVICE_NAME`] (rather than the SDK's `unknown_service`), this
/// build's `service.version`, and a `service.instance.id` new at each start.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let has = |key: &'static str| detected.get(&Key::from_static_str(key)).is_some();
    let named = detected
        .get(&Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    let mut missing = Vec::new();
    if !named {
        missing.push(KeyValue::new("service.name", SERVICE_NAME));
    }
    if !has("service.version") {
        missing.push(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    }
    if !has("service.instance.id") {
        missing.push(KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()));
    }
    Resource::builder().with_attributes(missing).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint_with(vars: &[(&str, &str)]) -> Option<String> {
        traces_endpoint(|name| {
            vars.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn no_endpoint_variable_means_no_exporter() {
        assert_eq!(endpoint_with(&[]), None);
        assert_eq!(endpoint_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "")]), None);
        assert_eq!(endpoint_with(&[("OTEL_SERVICE_NAME", "jarvis")]), None);
        let disabled =
            [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), ("OTEL_SDK_DISABLED", "TRUE")];
        assert_eq!(endpoint_with(&disabled), None);
    }

    #[test]
    fn the_general_endpoint_gets_the_traces_path() {
        for base in ["http://collector:4318", "http://collector:4318/"] {
            assert_eq!(
                endpoint_with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", base)]).as_deref(),
                Some("http://collector:4318/v1/traces")
            );
        }
    }

    #[test]
    fn the_traces_endpoint_is_used_as_given_and_wins() {
        let vars = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://traces.example/custom"),
        ];
        assert_eq!(endpoint_with(&vars).as_deref(), Some("https://traces.example/custom"));
    }
}
