//! Traces over OTLP/HTTP, with the real `jarvis-server` binary (the tracing subscriber is global
//! to a process) pointed at the collector stand-in of the testkit: request and run spans arrive
//! with the service's resource and their parents, the exporter's headers are sent (compressed when
//! asked), the last spans leave at shutdown, and nothing is sent when no endpoint is set.

use std::collections::BTreeSet;
use std::time::Duration;

use jarvis_testkit::fake_otlp::{FakeOtlp, ReceivedSpan};
use jarvis_types::protocol::{RunEvent, RunStatus};

use crate::chat::{ask, send, until_finished};
use crate::faults::fake_model;
use crate::instances::{Cluster, Endpoint};

/// How long spans may take to arrive when batches leave every [`QUICK_BATCHES_MS`].
const ARRIVE_WITHIN: Duration = Duration::from_secs(30);
const QUICK_BATCHES_MS: &str = "200";

/// The span of a caller that sends a `traceparent` (W3C Trace Context).
const CALLER_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
/// OTLP's `SPAN_KIND_SERVER`.
const SERVER_SPAN_KIND: i32 = 2;

fn named<'a>(spans: &'a [ReceivedSpan], name: &str) -> Vec<&'a ReceivedSpan> {
    spans.iter().filter(|span| span.name == name).collect()
}

fn request_to<'a>(spans: &'a [ReceivedSpan], method: &str, path: &str) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|span| {
        span.name == "http.request"
            && span.attribute("http.method") == Some(method)
            && span.attribute("http.path") == Some(path)
    })
}

fn names(spans: &[ReceivedSpan]) -> BTreeSet<&str> {
    spans.iter().map(|span| span.name.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_and_run_spans_reach_the_collector_with_the_service_resource() {
    let collector = FakeOtlp::start().await;
    let model = fake_model("Hello from the fake model.", Duration::from_millis(1)).await;
    let cluster = Cluster::new().await;
    let endpoint = collector.endpoint();
    let model_url = model.base_url();
    let instance = cluster
        .start(
            "traced",
            &[
                ("ANTHROPIC_BASE_URL", &model_url),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-jarvis-test=traces,authorization=Bearer%20collector-token"),
                ("OTEL_BSP_SCHEDULE_DELAY", QUICK_BATCHES_MS),
            ],
        )
        .await;
    let user = cluster.sign_up(&instance).await;
    let mut socket = user.open(&instance).await;
    send(&mut socket, &ask(None, "Hi")).await;
    let events = until_finished(&mut socket).await;
    let (run_id, _, finished) = events.last().expect("the run's events").clone();
    assert!(
        matches!(finished, RunEvent::Finished { status: RunStatus::Completed, .. }),
        "the run completes: {finished:?}"
    );

    let received = collector
        .wait_for(ARRIVE_WITHIN, |spans| {
            request_to(spans, "GET", "/ws").is_some()
                && spans
                    .iter()
                    .any(|span| span.name == "agent.run" && span.attribute("run.id") == Some(&run_id))
        })
        .await;
    let spans = received.unwrap_or_else(|spans| {
        panic!("no /ws request span and agent.run span of run {run_id} within {ARRIVE_WITHIN:?}; received {:?}\n{}", names(&spans), instance.log())
    });

    // Every span under one resource: the default service name, this build, one instance id.
    let instance_ids: BTreeSet<_> =
        spans.iter().map(|span| span.resource_attribute("service.instance.id").unwrap_or_default()).collect();
    assert_eq!(instance_ids.len(), 1, "one service.instance.id: {instance_ids:?}");
    assert!(!instance_ids.iter().next().expect("an id").is_empty(), "a service.instance.id is set");
    for span in &spans {
        assert_eq!(span.resource_attribute("service.name"), Some("jarvis"), "{span:?}");
        assert_eq!(span.resource_attribute("service.version"), Some(env!("CARGO_PKG_VERSION")), "{span:?}");
        assert_eq!(span.scope, "jarvis-server");
    }

    // A request is the root of its trace, with its method, path and request id.
    let register = request_to(&spans, "POST", "/register").expect("the registration's request span");
    assert_eq!(register.parent_span_id, None, "a request without traceparent is a root: {register:?}");
    assert_eq!(register.kind, SERVER_SPAN_KIND, "{register:?}");
    assert!(
        register.attributes.get("http.response.status_code").and_then(serde_json::Value::as_i64).is_some(),
        "the answer's status is on the span: {register:?}"
    );
    assert_eq!(register.trace_id.len(), 32);
    assert!(
        register.attribute("request_id").is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "the request id (a UUID): {register:?}"
    );
    // The handler's span is its child, in the same trace.
    let readiness = named(&spans, "health.readiness");
    assert!(!readiness.is_empty(), "readiness checks traced: {:?}", names(&spans));
    for check in readiness {
        let parent = spans
            .iter()
            .find(|span| Some(&span.span_id) == check.parent_span_id.as_ref())
            .unwrap_or_else(|| panic!("the parent of {check:?} was exported"));
        assert_eq!(parent.name, "http.request");
        assert_eq!(parent.attribute("http.path"), Some("/readyz"));
        assert_eq!(parent.trace_id, check.trace_id);
    }
    // Who asked is recorded on the request once the session is known.
    let socket_request = request_to(&spans, "GET", "/ws").expect("the socket's request span");
    assert!(
        socket_request.attribute("user.id").is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "the user id on the socket's request: {socket_request:?}"
    );
    // The run's span, with its run and user.
    let run = spans.iter().find(|span| span.name == "agent.run").expect("the run's span");
    assert_eq!(run.attribute("run.id"), Some(run_id.as_str()));
    assert_eq!(run.attribute("user.id"), socket_request.attribute("user.id"), "the run is the socket user's");

    // Exports carry OTEL_EXPORTER_OTLP_HEADERS (values percent-decoded), and none was refused.
    let exports = collector.exports();
    assert!(!exports.is_empty());
    for export in &exports {
        assert_eq!(export.header("content-type"), Some("application/x-protobuf"));
        assert_eq!(export.header("x-jarvis-test"), Some("traces"));
        assert_eq!(export.header("authorization"), Some("Bearer collector-token"));
    }
    assert_eq!(collector.refused(), vec![], "every export was valid OTLP/HTTP protobuf");
    drop(instance);
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_spans_leave_when_the_server_stops() {
    let collector = FakeOtlp::start().await;
    let cluster = Cluster::new().await;
    let endpoint = format!("{}/", collector.endpoint());
    // Batches would leave only after ten minutes (or 512 spans): what arrives was sent at shutdown.
    let mut instance = cluster
        .start(
            "stopping",
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
                ("OTEL_SERVICE_NAME", "jarvis-edge"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ],
        )
        .await;
    let request_id = uuid::Uuid::new_v4().to_string();
    // The caller traces too: its W3C traceparent makes the request span a child of its span.
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", instance.base_url()))
        .header("x-request-id", &request_id)
        .header("traceparent", format!("00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    assert!(collector.exports().is_empty(), "nothing is exported before a batch is due");

    instance.terminate();
    let status = instance.wait_exit(Duration::from_secs(30)).await.expect("the instance stops within 30 s");
    assert!(status.success(), "a clean stop: {status}\n{}", instance.log());
    let spans = collector.spans();
    let last = spans
        .iter()
        .find(|span| span.name == "http.request" && span.attribute("request_id") == Some(request_id.as_str()))
        .unwrap_or_else(|| {
            panic!("the last request's span was flushed at exit; received {:?}", names(&spans))
        });
    assert_eq!(last.attribute("http.path"), Some("/healthz"));
    assert_eq!(last.trace_id, CALLER_TRACE_ID, "the request joined the caller's trace: {last:?}");
    assert_eq!(last.parent_span_id.as_deref(), Some(CALLER_SPAN_ID), "{last:?}");
    assert_eq!(last.kind, SERVER_SPAN_KIND, "a request span is a server span: {last:?}");
    assert_eq!(
        last.attributes.get("http.response.status_code").and_then(serde_json::Value::as_i64),
        Some(200),
        "the answer's status is on the span: {last:?}"
    );
    assert_eq!(last.resource_attribute("service.name"), Some("jarvis-edge"), "OTEL_SERVICE_NAME wins");
    let exports = collector.exports();
    assert!(
        exports.iter().all(|export| export.header("content-encoding") == Some("gzip")),
        "OTEL_EXPORTER_OTLP_COMPRESSION=gzip compresses every export: {exports:?}"
    );
    assert_eq!(collector.refused(), vec![]);
    assert!(instance.log().contains("telemetry.traces_flushed"), "{}", instance.log());
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_nothing_is_exported() {
    // The exporter's default endpoint is localhost:4318: a stand-in there catches an exporter
    // built without being asked for (when the port is free on this machine).
    let default_port = FakeOtlp::start_on("127.0.0.1:4318").await.ok();
    if default_port.is_none() {
        eprintln!("127.0.0.1:4318 is taken: only the log line is checked");
    }
    let cluster = Cluster::new().await;
    let mut instance = cluster.start("untraced", &[("OTEL_SERVICE_NAME", "jarvis")]).await;
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", instance.base_url()))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    instance.terminate();
    let status = instance.wait_exit(Duration::from_secs(30)).await.expect("the instance stops within 30 s");
    assert!(status.success(), "a clean stop: {status}");

    let log = instance.log();
    assert!(log.contains("telemetry.traces_off"), "the start says traces are off:\n{log}");
    assert!(!log.contains("telemetry.traces_on"), "{log}");
    if let Some(collector) = default_port {
        assert!(collector.exports().is_empty() && collector.refused().is_empty(), "nothing sent to :4318");
    }
    cluster.finish().await;
}
