//! Errors in Stripe's exact shape: `{"error": {"code", "doc_url", "message", "param",
//! "request_log_url", "type"}}` with Stripe's statuses and messages, and whether an idempotent
//! request stores the answer.

use serde_json::{Map, Value, json};

use super::calendar::now;

/// An error as Stripe answers it.
pub(super) struct ApiError {
    pub(super) status: u16,
    pub(super) kind: &'static str,
    pub(super) code: Option<&'static str>,
    pub(super) message: String,
    pub(super) param: Option<String>,
    /// Whether an idempotent request stores this answer (not for validation errors).
    pub(super) stored: bool,
}

impl ApiError {
    /// A 400 for invalid parameters, without a code (as Stripe answers for a value out of an
    /// enumeration, or parameters that exclude each other): never stored for idempotency.
    pub(super) fn bad(message: String, param: &str) -> Self {
        Self {
            status: 400,
            kind: "invalid_request_error",
            code: None,
            message,
            param: Some(param.to_owned()),
            stored: false,
        }
    }

    /// A 400 for invalid parameters, with Stripe's code: never stored for idempotency.
    pub(super) fn invalid(code: &'static str, message: String, param: &str) -> Self {
        Self {
            status: 400,
            kind: "invalid_request_error",
            code: Some(code),
            message,
            param: Some(param.to_owned()),
            stored: false,
        }
    }

    /// `No such customer: 'cus_x'`: 404 for the object in the URL, 400 for one named by a
    /// parameter.
    pub(super) fn no_such(status: u16, what: &str, id: &str, param: &str) -> Self {
        Self {
            status,
            kind: "invalid_request_error",
            code: Some("resource_missing"),
            message: format!("No such {what}: '{id}'"),
            param: Some(param.to_owned()),
            stored: true,
        }
    }

    pub(super) fn body(&self, request_id: &str) -> Value {
        let mut error = Map::new();
        if let Some(code) = self.code {
            error.insert("code".into(), json!(code));
            error.insert(
                "doc_url".into(),
                json!(format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"))),
            );
        }
        error.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        error.insert(
            "request_log_url".into(),
            json!(format!("https://dashboard.stripe.com/test/logs/{request_id}?t={}", now())),
        );
        error.insert("type".into(), json!(self.kind));
        json!({ "error": error })
    }
}
