//! The one error of the HTTP API: [`ApiError`], answered as `{"error": code, "message": sentence}`
//! with the status of its [`ErrorKind`] (or, to an address the browser itself opened, such as a
//! download link, as a small page with the same sentence: [`ApiError::into_page`]).
//!
//! Every backend error converts into it by its kind (`?` on any [`Kinded`] error), following the
//! backend's policy: for the client's mistakes (not found, conflict, invalid, limit, …) the
//! error's `Display` is a sentence for the user and is answered as it is, with no log above a
//! warning; a failure on our side (internal, unavailable) answers a generic sentence and is
//! logged once, when the answer is made, with its whole cause chain. The WebSocket uses the same
//! [`log_failure`] and [`is_ours`], so a failure is told the same way on every edge.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use axum::{
    Json,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use jarvis_backend::{ErrorKind, Kinded};
use serde::Serialize;
use serde_json::{Map, Value};

/// What a user reads when something failed on our side.
pub const INTERNAL_MESSAGE: &str = "Something went wrong on our side.";
/// What a user reads when something we depend on is away or busy.
pub const UNAVAILABLE_MESSAGE: &str = "Jarvis cannot reach a service it needs right now. Try again shortly.";

type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// A failed API request, as it is answered.
#[derive(Debug)]
pub struct ApiError {
    kind: ErrorKind,
    code: &'static str,
    message: Cow<'static, str>,
    /// A failure on our side, logged once when the answer is made; never shown.
    cause: Option<Cause>,
    /// More fields of the body (an upload's report).
    fields: Map<String, Value>,
    /// A status HTTP names more precisely than the kind's (413 for a body past its limit).
    status: Option<StatusCode>,
}

impl ApiError {
    /// An error of `kind` with the kind's code and this sentence for the user.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            code: kind.code(),
            message: message.into(),
            cause: None,
            fields: Map::new(),
            status: None,
        }
    }

    /// 404: nothing of this user's has that id (or the id is not one).
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 400: the request itself is wrong.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    /// A failure on our side (`Internal` or `Unavailable`) with its cause: answered with the
    /// generic sentence of its kind, logged with the cause when answered.
    pub fn ours(kind: ErrorKind, cause: impl Into<Cause>) -> Self {
        Self { message: generic_message(kind).into(), cause: Some(cause.into()), ..Self::new(kind, "") }
    }

    /// The same error with a more precise code than its kind's.
    #[must_use]
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// The same error answered with `status` rather than its kind's: only for a status HTTP
    /// names more precisely (413 for a body past its limit).
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// The same error with one more field in its body.
    #[must_use]
    pub fn with_field(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.fields.insert(name.to_owned(), value);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The sentence the user reads.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| status(self.kind))
    }

    /// The answer to a request for an address a browser may open itself (a download link): a
    /// page with the sentence and a link back to `back` (`label`) when it did ([`wants_page`]),
    /// the usual JSON otherwise; `Vary` says which request headers chose.
    pub fn into_response_for(self, request: &HeaderMap, back: &str, label: &str) -> Response {
        let mut response =
            if wants_page(request) { self.into_page(back, label) } else { self.into_response() };
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept, Sec-Fetch-Mode"));
        response
    }

    /// The same answer for a page the browser itself opened: the status, with the sentence in a
    /// small HTML page and a link back to `back` (`label`), not JSON shown raw.
    fn into_page(self, back: &str, label: &str) -> Response {
        if let Some(cause) = &self.cause {
            log_failure(self.kind, self.code, cause.as_ref());
        }
        let status = self.status();
        let page = format!(
            concat!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
                "<meta name=\"robots\" content=\"noindex\"><title>{title} · Jarvis</title></head>",
                "<body><main><h1>{title}</h1><p role=\"alert\">{message}</p>",
                "<p><a href=\"{back}\">{label}</a></p></main></body></html>"
            ),
            title = html_escape::encode_text(status.canonical_reason().unwrap_or("Error")),
            message = html_escape::encode_text(&self.message),
            back = html_escape::encode_double_quoted_attribute(back),
            label = html_escape::encode_text(label),
        );
        (status, axum::response::Html(page)).into_response()
    }
}

impl<E> From<E> for ApiError
where
    E: Kinded + StdError + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        let (kind, code) = (error.kind(), error.code());
        let error = if is_ours(kind) { Self::ours(kind, error) } else { Self::new(kind, error.to_string()) };
        error.with_code(code)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            log_failure(self.kind, self.code, cause.as_ref());
        }
        let status = self.status();
        let mut body = self.fields;
        body.insert("error".to_owned(), Value::from(self.code));
        body.insert("message".to_owned(), Value::from(self.message.into_owned()));
        (status, Json(Value::Object(body))).into_response()
    }
}

/// Whether the browser itself opened the address (a link followed, a download), so that a
/// refusal is shown as a page rather than JSON: it asks for HTML, or says it navigates.
fn wants_page(request: &HeaderMap) -> bool {
    let header = |name: &str| request.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default();
    header("sec-fetch-mode") == "navigate"
        || header("accept").split(',').any(|kind| kind.trim().starts_with("text/html"))
}

/// The one mapping from an error's kind to an HTTP status.
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Limit => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Whether a kind is a failure on our side: its detail is logged, never shown.
pub fn is_ours(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Internal | ErrorKind::Unavailable)
}

/// The sentence shown for a failure on our side.
pub fn generic_message(kind: ErrorKind) -> &'static str {
    if kind == ErrorKind::Unavailable { UNAVAILABLE_MESSAGE } else { INTERNAL_MESSAGE }
}

/// Logs a failure on our side with its cause chain: an error for a bug, a warning for a
/// dependency that is away (it says nothing about our code).
pub fn log_failure(kind: ErrorKind, code: &str, error: &(dyn StdError + 'static)) {
    let chain = CauseChain(error);
    if kind == ErrorKind::Unavailable {
        tracing::warn!(error = %chain, code, "api.unavailable");
    } else {
        tracing::error!(error = %chain, code, "api.internal_error");
    }
}

/// An error and its sources, `outer: inner: innermost`.
pub struct CauseChain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for CauseChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
