//! What our OpenAI clients (speech, transcription, chat) share about the API's HTTP: the address
//! of an endpoint under a configured base URL, and a spent budget told apart from a busy server.

use url::Url;

use crate::agent::openai_chat::errors::OpenAiError;

/// `{base}/v1/{path}`, with no `/v1` doubled: the base may be the server
/// (`https://api.openai.com`) or, as the OpenAI SDKs take it, its `/v1`
/// (`https://api.openai.com/v1`), with or without a trailing slash, under any path prefix.
pub fn endpoint(base: &Url, path: &str) -> String {
    let base = base.as_str().trim_end_matches('/');
    if base.ends_with("/v1") { format!("{base}/{path}") } else { format!("{base}/v1/{path}") }
}

/// A 429 whose error `code` (or `type`) is `insufficient_quota`: the account's credit is spent
/// ("You exceeded your current quota"), which no wait lifts — unlike a 429 for too many requests.
pub fn is_spent_quota(status: u16, body: &str) -> bool {
    status == 429 && OpenAiError::from_body(body).is_insufficient_quota()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_is_under_v1_once_whatever_the_base_looks_like() {
        for base in [
            "https://api.openai.com",
            "https://api.openai.com/",
            "https://api.openai.com/v1",
            "https://api.openai.com/v1/",
        ] {
            assert_eq!(
                endpoint(&Url::parse(base).unwrap(), "audio/speech"),
                "https://api.openai.com/v1/audio/speech",
                "{base}"
            );
        }
        let proxied = Url::parse("http://127.0.0.1:9000/openai").unwrap();
        assert_eq!(
            endpoint(&proxied, "audio/transcriptions"),
            "http://127.0.0.1:9000/openai/v1/audio/transcriptions"
        );
    }

    #[test]
    fn a_spent_quota_is_not_a_busy_server() {
        let spent = r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
        assert!(is_spent_quota(429, spent));
        let busy = r#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        assert!(!is_spent_quota(429, busy));
        assert!(!is_spent_quota(500, spent));
    }
}
