//! A stand-in for an OpenTelemetry collector's OTLP/HTTP trace receiver, as the OTLP
//! specification describes it: `POST /v1/traces` with a binary protobuf
//! `ExportTraceServiceRequest` (`content-type: application/x-protobuf`), plain or
//! `content-encoding: gzip`, at most 20 MiB before and after decompression. Success is
//! `200` with an empty protobuf `ExportTraceServiceResponse` (`partial_success` unset); a body
//! that does not decode is `400`, a body too large `413`, another content type or encoding
//! `415`, each with a protobuf `google.rpc.Status` saying why. Other paths are `404`, other
//! methods `405`. Every span received is recorded, flattened with its resource and scope, for a
//! test to look at; so is each export request's headers.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message as _;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::http::{self, Request, Response};

/// The path of trace exports.
pub const TRACES_PATH: &str = "/v1/traces";
const PROTOBUF: &str = "application/x-protobuf";
/// The request size limit the specification recommends, before and after decompression.
pub const MAX_BODY_BYTES: usize = 20 * 1024 * 1024;

/// One span as received, with what the request said about where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    pub name: String,
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// `None` for a root span.
    pub parent_span_id: Option<String>,
    /// The protobuf `SpanKind` number (1 internal, 2 server, 3 client, …).
    pub kind: i32,
    pub attributes: BTreeMap<String, Value>,
    /// The span's events, in order: name and attributes.
    pub events: Vec<(String, BTreeMap<String, Value>)>,
    /// The attributes of the resource the span was sent under (`service.name`, …).
    pub resource: BTreeMap<String, Value>,
    /// The instrumentation scope's name.
    pub scope: String,
}

impl ReceivedSpan {
    /// A span attribute as a string (`None` if absent or not a string).
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    /// A resource attribute as a string (`None` if absent or not a string).
    pub fn resource_attribute(&self, key: &str) -> Option<&str> {
        self.resource.get(key).and_then(Value::as_str)
    }
}

/// One export request that was accepted: its headers (lowercase names) and how many spans it held.
#[derive(Debug, Clone)]
pub struct ReceivedExport {
    pub headers: Vec<(String, String)>,
    pub spans: usize,
}

impl ReceivedExport {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

#[derive(Default)]
struct State {
    spans: Vec<ReceivedSpan>,
    exports: Vec<ReceivedExport>,
    /// Requests that were refused, with the status they got.
    refused: Vec<(u16, String)>,
}

/// The collector stand-in, serving until dropped.
pub struct FakeOtlp {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeOtlp {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await.expect("bind the fake OTLP collector")
    }

    /// Starts on `addr` (`127.0.0.1:4318`, the OTLP/HTTP default port, to catch an exporter that
    /// sends to the default endpoint); an error if the address is taken.
    pub async fn start_on(addr: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let server = tokio::spawn(http::serve(listener, move |request| {
            let state = Arc::clone(&shared);
            async move { receive(&request, &state) }
        }));
        Ok(Self { addr, state, server })
    }

    /// The base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter appends `/v1/traces`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far, in the order received.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.lock().spans.clone()
    }

    /// Every export request accepted so far.
    pub fn exports(&self) -> Vec<ReceivedExport> {
        self.lock().exports.clone()
    }

    /// Requests refused so far (status, reason): none, when the exporter speaks OTLP/HTTP.
    pub fn refused(&self) -> Vec<(u16, String)> {
        self.lock().refused.clone()
    }

    /// The spans received so far once `done` holds for them, waiting up to `timeout`; `Err`
    /// with what was received if it never did.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Result<Vec<ReceivedSpan>, Vec<ReceivedSpan>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if done(&spans) {
                return Ok(spans);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(spans);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for FakeOtlp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One request: refused as the specification says, or recorded and acknowledged.
fn receive(request: &Request, state: &Mutex<State>) -> Response {
    let path = request.path.split('?').next().unwrap_or_default();
    let refusal = if path != TRACES_PATH {
        Some((404, format!("no OTLP receiver at {path}; traces go to {TRACES_PATH}")))
    } else if request.method != "POST" {
        Some((405, format!("{} is not allowed; OTLP/HTTP exports are POSTed", request.method)))
    } else {
        None
    };
    let result = match refusal {
        Some(refusal) => Err(refusal),
        None => decode(request),
    };
    let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match result {
        Ok(export) => {
            let spans = flatten(export);
            state.exports.push(ReceivedExport { headers: request.headers.clone(), spans: spans.len() });
            state.spans.extend(spans);
            let body = ExportTraceServiceResponse { partial_success: None }.encode_to_vec();
            Response::whole(200, vec![("content-type".into(), PROTOBUF.into())], body)
        }
        Err((status, message)) => {
            state.refused.push((status, message.clone()));
            let mut headers = vec![("content-type".into(), PROTOBUF.into())];
            if status == 405 {
                headers.push(("allow".into(), "POST".into()));
            }
            Response::whole(status, headers, RpcStatus { code: 0, message }.encode_to_vec())
        }
    }
}

/// The request's body as an export request, or the status and reason it is refused with.
fn decode(request: &Request) -> Result<ExportTraceServiceRequest, (u16, String)> {
    let content_type = request.header("content-type").unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case(PROTOBUF) {
        return Err((415, format!("content-type {content_type:?} is not supported; send {PROTOBUF}")));
    }
    if request.body.len() > MAX_BODY_BYTES {
        return Err((413, format!("the body is over {MAX_BODY_BYTES} bytes")));
    }
    let body = match request.header("content-encoding").map(str::trim) {
        None | Some("") | Some("identity") => request.body.clone(),
        Some(encoding) if encoding.eq_ignore_ascii_case("gzip") => {
            let mut inflated = Vec::new();
            flate2::read::GzDecoder::new(request.body.as_slice())
                .take(MAX_BODY_BYTES as u64 + 1)
                .read_to_end(&mut inflated)
                .map_err(|error| (400, format!("the gzip body does not inflate: {error}")))?;
            if inflated.len() > MAX_BODY_BYTES {
                return Err((413, format!("the inflated body is over {MAX_BODY_BYTES} bytes")));
            }
            inflated
        }
        Some(encoding) => {
            return Err((415, format!("content-encoding {encoding:?} is not supported; send gzip or none")));
        }
    };
    ExportTraceServiceRequest::decode(body.as_slice())
        .map_err(|error| (400, format!("the body is not an ExportTraceServiceRequest: {error}")))
}

/// Each span of the request with its resource's and scope's details.
fn flatten(export: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    for resource_spans in export.resource_spans {
        let resource =
            attributes(resource_spans.resource.map(|resource| resource.attributes).unwrap_or_default());
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans.scope.map(|scope| scope.name).unwrap_or_default();
            for span in scope_spans.spans {
                spans.push(ReceivedSpan {
                    name: span.name,
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                    parent_span_id: (!span.parent_span_id.is_empty())
                        .then(|| hex::encode(&span.parent_span_id)),
                    kind: span.kind,
                    attributes: attributes(span.attributes),
                    events: span
                        .events
                        .into_iter()
                        .map(|event| (event.name, attributes(event.attributes)))
                        .collect(),
                    resource: resource.clone(),
                    scope: scope.clone(),
                });
            }
        }
    }
    spans
}

fn attributes(pairs: Vec<KeyValue>) -> BTreeMap<String, Value> {
    pairs.into_iter().map(|pair| (pair.key, pair.value.map_or(Value::Null, json))).collect()
}

/// An attribute value as JSON: strings, booleans and numbers as themselves, arrays and maps
/// as arrays and objects, bytes as hex.
fn json(value: AnyValue) -> Value {
    match value.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(text)) => Value::String(text),
        Some(any_value::Value::BoolValue(flag)) => Value::Bool(flag),
        Some(any_value::Value::IntValue(number)) => Value::from(number),
        Some(any_value::Value::DoubleValue(number)) => Value::from(number),
        Some(any_value::Value::ArrayValue(array)) => {
            Value::Array(array.values.into_iter().map(json).collect())
        }
        Some(any_value::Value::KvlistValue(list)) => {
            Value::Object(attributes(list.values).into_iter().collect())
        }
        Some(any_value::Value::BytesValue(bytes)) => Value::String(hex::encode(bytes)),
        Some(other) => Value::String(format!("{other:?}")),
    }
}

/// `google.rpc.Status`, the body of every OTLP/HTTP failure (`details` left empty).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    use super::*;

    fn string(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
            ..Default::default()
        }
    }

    fn export() -> ExportTraceServiceRequest {
        let span = |name: &str, id: u8, parent: Option<u8>| Span {
            trace_id: vec![7; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|parent| vec![parent; 8]).unwrap_or_default(),
            name: name.into(),
            kind: 2,
            attributes: vec![
                string("http.method", "GET"),
                KeyValue {
                    key: "busy_ns".into(),
                    value: Some(AnyValue { value: Some(any_value::Value::IntValue(42)) }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![string("service.name", "jarvis")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope { name: "jarvis-server".into(), ..Default::default() }),
                    spans: vec![span("http.request", 1, None), span("health.readiness", 2, Some(1))],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    async fn post(
        fake: &FakeOtlp,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, Vec<u8>, String) {
        let client = reqwest::Client::new();
        let mut request = client.post(format!("{}{path}", fake.endpoint())).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the fake answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, response.bytes().await.expect("a body").to_vec(), content_type)
    }

    #[tokio::test]
    async fn an_export_is_acknowledged_with_an_empty_response_and_its_spans_recorded() {
        let fake = FakeOtlp::start().await;
        let (status, body, content_type) = post(
            &fake,
            TRACES_PATH,
            &[("content-type", PROTOBUF), ("x-token", "t1")],
            export().encode_to_vec(),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(content_type, PROTOBUF);
        let response = ExportTraceServiceResponse::decode(body.as_slice()).expect("a protobuf response");
        assert_eq!(response.partial_success, None, "full success leaves partial_success unset");

        let spans = fake.spans();
        assert_eq!(spans.len(), 2);
        let root = &spans[0];
        assert_eq!(root.name, "http.request");
        assert_eq!(root.trace_id, "07".repeat(16));
        assert_eq!(root.parent_span_id, None);
        assert_eq!(root.attribute("http.method"), Some("GET"));
        assert_eq!(root.attributes.get("busy_ns"), Some(&Value::from(42)));
        assert_eq!(root.resource_attribute("service.name"), Some("jarvis"));
        assert_eq!(root.scope, "jarvis-server");
        assert_eq!(spans[1].parent_span_id.as_deref(), Some(root.span_id.as_str()));
        assert_eq!(fake.exports()[0].header("x-token"), Some("t1"));
    }

    #[tokio::test]
    async fn a_gzipped_export_is_accepted() {
        let fake = FakeOtlp::start().await;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(&export().encode_to_vec()).expect("compress");
        let body = gzip.finish().expect("compress");
        let (status, ..) =
            post(&fake, TRACES_PATH, &[("content-type", PROTOBUF), ("content-encoding", "gzip")], body).await;
        assert_eq!(status, 200);
        assert_eq!(fake.spans().len(), 2);
    }

    #[tokio::test]
    async fn what_is_not_an_otlp_protobuf_export_is_refused_with_a_status_message() {
        let fake = FakeOtlp::start().await;
        type Case = (&'static str, &'static [(&'static str, &'static str)], Vec<u8>, u16);
        let cases: [Case; 4] = [
            (TRACES_PATH, &[("content-type", "application/json")], b"{}".to_vec(), 415),
            (TRACES_PATH, &[("content-type", PROTOBUF), ("content-encoding", "br")], Vec::new(), 415),
            (TRACES_PATH, &[("content-type", PROTOBUF)], vec![0xff, 0xff, 0xff], 400),
            ("/v1/metrics", &[("content-type", PROTOBUF)], Vec::new(), 404),
        ];
        for (path, headers, body, expected) in cases {
            let (status, body, content_type) = post(&fake, path, headers, body).await;
            assert_eq!(status, expected, "{path} {headers:?}");
            assert_eq!(content_type, PROTOBUF);
            let rpc = RpcStatus::decode(body.as_slice()).expect("a google.rpc.Status body");
            assert!(!rpc.message.is_empty(), "a reason for {path} {headers:?}");
        }
        assert!(fake.spans().is_empty());
        assert_eq!(fake.refused().len(), 4);
    }
}
