//! [`ApiError`]'s answers and its one log line per failure on our side.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use jarvis_backend::library::documents::DocumentError;

use super::*;

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("No such thing.")]
    Missing,
    #[error("the thing store failed")]
    Store(#[source] io::Error),
    #[error("the thing store is away")]
    Away,
}

impl Kinded for Failure {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Missing => ErrorKind::NotFound,
            Self::Store(_) => ErrorKind::Internal,
            Self::Away => ErrorKind::Unavailable,
        }
    }
}

/// Where the test subscriber writes its log lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("the log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The answer to `error` (status, body) and the lines logged while making it.
async fn answer(error: impl Into<ApiError>) -> (StatusCode, Value, Vec<String>) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let error = error.into();
    let response = tracing::subscriber::with_default(subscriber, || error.into_response());
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    let logged = captured.0.lock().expect("the log buffer").clone();
    let lines = String::from_utf8_lossy(&logged).lines().map(str::to_owned).collect();
    (status, serde_json::from_slice(&body).expect("a JSON body"), lines)
}

#[tokio::test]
async fn a_client_mistake_answers_its_own_sentence_and_logs_nothing() {
    let (status, body, logged) = answer(Failure::Missing).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, serde_json::json!({ "error": "not_found", "message": "No such thing." }));
    assert!(logged.is_empty(), "{logged:?}");
}

#[tokio::test]
async fn an_internal_failure_answers_a_generic_sentence_and_logs_once_with_its_cause_chain() {
    let cause = io::Error::other("disk on fire");
    let (status, body, logged) = answer(Failure::Store(cause)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, serde_json::json!({ "error": "internal", "message": INTERNAL_MESSAGE }));
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].contains("ERROR"), "{logged:?}");
    assert!(logged[0].contains("the thing store failed: disk on fire"), "{logged:?}");
}

#[tokio::test]
async fn an_unavailable_dependency_is_503_with_a_generic_sentence_and_a_warning() {
    let (status, body, logged) = answer(Failure::Away).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, serde_json::json!({ "error": "unavailable", "message": UNAVAILABLE_MESSAGE }));
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].contains("WARN") && logged[0].contains("the thing store is away"), "{logged:?}");
}

#[tokio::test]
async fn a_document_version_conflict_is_409() {
    let (status, body, _) = answer(DocumentError::VersionConflict { expected: 1, current: 2 }).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "conflict");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("changed since you read it")), "{body}");
}

#[tokio::test]
async fn a_precise_code_and_more_fields_keep_the_shape() {
    let error = ApiError::invalid("Choose at least one file.")
        .with_code("bad_upload")
        .with_field("report", serde_json::json!({ "uploaded": [] }));
    let (status, body, logged) = answer(error).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        serde_json::json!({
            "error": "bad_upload",
            "message": "Choose at least one file.",
            "report": { "uploaded": [] }
        })
    );
    assert!(logged.is_empty());
}

#[test]
fn every_kind_has_one_status() {
    let statuses = [
        (ErrorKind::NotFound, 404),
        (ErrorKind::Conflict, 409),
        (ErrorKind::Invalid, 400),
        (ErrorKind::Limit, 429),
        (ErrorKind::Unauthenticated, 401),
        (ErrorKind::Forbidden, 403),
        (ErrorKind::Unavailable, 503),
        (ErrorKind::Internal, 500),
    ];
    for (kind, expected) in statuses {
        assert_eq!(status(kind).as_u16(), expected, "{kind:?}");
        assert_eq!(ApiError::new(kind, "x").status().as_u16(), expected);
    }
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    pairs.iter().map(|(name, value)| (name.parse().unwrap(), HeaderValue::from_static(value))).collect()
}

#[test]
fn a_navigation_or_a_request_for_html_wants_a_page_and_an_api_client_json() {
    assert!(wants_page(&headers(&[("sec-fetch-mode", "navigate")])));
    assert!(wants_page(&headers(&[("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")])));
    assert!(!wants_page(&headers(&[("accept", "application/json")])));
    assert!(!wants_page(&headers(&[("accept", "*/*"), ("sec-fetch-mode", "cors")])));
    assert!(!wants_page(&HeaderMap::new()));
}
