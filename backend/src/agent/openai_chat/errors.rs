//! The errors of the Chat Completions API, read by its rules: the error object
//! (`{"error": {"message", "type", "param", "code"}}`) of a non-2xx body or of a `data:` line in
//! the middle of a stream, with the forms the compatible servers use (vLLM's older bare
//! `{"object": "error", …}`, llama.cpp's numeric `code`); whether a failure is worth another
//! attempt (a 429 whose code is `insufficient_quota` is a spent budget, never retried); and the
//! mapping onto [`ProviderError`], so that what the user reads stays our sentence.

use serde::Deserialize;
use serde_json::Value;

use crate::agent::provider::ProviderError;
use crate::agent::stream::ApiError;

/// The API's error object. Every field is optional: compatible servers fill in what they have.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OpenAiError {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub param: Value,
    /// A string at OpenAI (`insufficient_quota`, `invalid_api_key`), a number at llama.cpp.
    #[serde(default)]
    pub code: Value,
}

impl OpenAiError {
    /// Reads the error object out of a whole JSON document: `{"error": {…}}`, or vLLM's bare
    /// `{"object": "error", "message", "type", "code"}`. `None` for anything else.
    pub fn from_document(value: &Value) -> Option<Self> {
        match value.get("error") {
            Some(error @ Value::Object(_)) => serde_json::from_value(error.clone()).ok(),
            // Some servers send `{"error": "text"}`.
            Some(Value::String(message)) => Some(Self { message: Some(message.clone()), ..Self::default() }),
            _ if value.get("object").and_then(Value::as_str) == Some("error") => {
                serde_json::from_value(value.clone()).ok()
            }
            _ => None,
        }
    }

    /// The error of a non-2xx response body; a body that is not the documented JSON becomes the
    /// message (cut short), so that the log still says what came back.
    pub fn from_body(body: &str) -> Self {
        serde_json::from_str::<Value>(body)
            .ok()
            .as_ref()
            .and_then(Self::from_document)
            .unwrap_or_else(|| Self { message: Some(body.chars().take(300).collect()), ..Self::default() })
    }

    pub fn code_str(&self) -> Option<&str> {
        self.code.as_str()
    }

    /// The code, else the type, else "unknown": what the log and `ProviderError::Status` call it.
    pub fn name(&self) -> String {
        self.code_str()
            .or(self.kind.as_deref())
            .map(str::to_owned)
            .unwrap_or_else(|| if self.code.is_null() { "unknown".to_owned() } else { self.code.to_string() })
    }

    /// A budget spent: OpenAI answers 429 with `code` (and `type`) `insufficient_quota`, and
    /// waiting does not help until someone pays.
    pub fn is_insufficient_quota(&self) -> bool {
        self.code_str() == Some("insufficient_quota") || self.kind.as_deref() == Some("insufficient_quota")
    }

    /// The message as the API wrote it, with its type and code, for the log.
    pub fn describe(&self) -> String {
        format!(
            "{} (type {}, code {})",
            self.message.as_deref().unwrap_or("no message"),
            self.kind.as_deref().unwrap_or("none"),
            if self.code.is_null() { "none".to_owned() } else { self.code.to_string() }
        )
    }

    /// The error as one that arrived in a 200's stream. Its kind is put in the vocabulary the
    /// shared retry rules and user sentences know (`agent::retry`, `ProviderError`), since the
    /// same words mean the same thing: the service failing or busy is retried, a request refused
    /// is not.
    pub fn into_stream_error(self) -> ApiError {
        let kind = match (self.code_str(), self.kind.as_deref()) {
            (Some("insufficient_quota"), _) | (_, Some("insufficient_quota")) => "permission_error",
            (Some("invalid_api_key"), _) | (_, Some("authentication_error")) => "authentication_error",
            (Some("context_length_exceeded" | "invalid_prompt"), _)
            | (_, Some("invalid_request_error" | "BadRequestError" | "NotFoundError")) => {
                "invalid_request_error"
            }
            (Some("rate_limit_exceeded"), _) | (_, Some("rate_limit_error" | "tokens" | "requests")) => {
                "rate_limit_error"
            }
            (_, Some("timeout" | "timeout_error")) => "timeout_error",
            // `server_error`, anything a compatible server invents, or nothing at all: the service
            // broke off mid-reply, which another attempt may not meet.
            _ => "api_error",
        };
        ApiError { kind: kind.to_owned(), message: self.describe() }
    }

    /// The error of a non-2xx response, as the provider reports it. A spent quota's message says
    /// "spend limit" so that the shared rules give it their sentence and never retry it.
    pub fn into_status_error(self, status: u16, request_id: Option<String>) -> ProviderError {
        let mut message = self.describe();
        if self.is_insufficient_quota() {
            message.push_str(": the account's spend limit is reached");
        }
        ProviderError::Status { status, kind: self.name(), message, request_id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kinded as _;

    #[test]
    fn the_documented_error_body_is_read_field_by_field() {
        let error = OpenAiError::from_body(
            r#"{"error":{"message":"Incorrect API key provided: sk-wrong.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        );
        assert_eq!(error.message.as_deref(), Some("Incorrect API key provided: sk-wrong."));
        assert_eq!(error.kind.as_deref(), Some("invalid_request_error"));
        assert_eq!(error.name(), "invalid_api_key");
    }

    #[test]
    fn compatible_servers_error_forms_are_read_too() {
        let llama = OpenAiError::from_body(
            r#"{"error":{"code":400,"message":"bad","type":"invalid_request_error"}}"#,
        );
        assert_eq!(llama.code, Value::from(400));
        let vllm = OpenAiError::from_body(
            r#"{"object":"error","message":"no such model","type":"NotFoundError","param":null,"code":404}"#,
        );
        assert_eq!(vllm.message.as_deref(), Some("no such model"));
        let text = OpenAiError::from_body("<html>Bad gateway</html>");
        assert_eq!(text.message.as_deref(), Some("<html>Bad gateway</html>"));
        assert_eq!(text.name(), "unknown");
    }

    #[test]
    fn an_insufficient_quota_429_is_not_retryable_and_says_so() {
        let error = OpenAiError::from_body(
            r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
        )
        .into_status_error(429, None);
        assert!(!error.retryable());
        assert!(error.to_string().contains("spending limit"), "{error}");
        let busy = OpenAiError::from_body(
            r#"{"error":{"message":"Rate limit reached for gpt-4o on tokens per min.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
        )
        .into_status_error(429, None);
        assert!(busy.retryable());
    }

    #[test]
    fn a_server_error_mid_stream_is_retryable_and_a_refused_request_is_not() {
        let server = OpenAiError { kind: Some("server_error".into()), ..OpenAiError::default() };
        let server =
            ProviderError::Stream(crate::agent::stream::StreamError::Api(server.into_stream_error()));
        assert!(server.retryable());
        let refused = OpenAiError {
            kind: Some("invalid_request_error".into()),
            code: Value::from("context_length_exceeded"),
            ..OpenAiError::default()
        };
        let refused =
            ProviderError::Stream(crate::agent::stream::StreamError::Api(refused.into_stream_error()));
        assert!(!refused.retryable());
        assert_eq!(refused.kind(), crate::ErrorKind::Internal);
    }
}
