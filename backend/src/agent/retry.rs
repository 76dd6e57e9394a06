//! When to try a model call again, and after how long. Pure: the client asks, this answers.
//!
//! Retried: 408, 409, 429, every 5xx (529 "overloaded" included), connection failures, and an
//! `error` event after a 200. `x-should-retry: true|false` overrides the status. The wait is
//! what the server asks (`retry-after-ms`, then `retry-after` in seconds or as an HTTP date),
//! else 0.5 s × 2ⁿ with jitter, capped at 8 s. A 429 saying the spend limit is reached is never
//! retried: waiting will not help.

use std::time::Duration;

pub const MAX_ATTEMPTS: u32 = 4;
const BASE: Duration = Duration::from_millis(500);
const CAP: Duration = Duration::from_secs(8);
/// A server asking for longer than this is not waited for.
const LONGEST_HONOURED_WAIT: Duration = Duration::from_secs(60);

/// What happened on one attempt.
#[derive(Debug, Clone)]
pub enum Failure<'a> {
    /// An HTTP error status, with the headers and body that came with it.
    Status { status: u16, headers: &'a [(String, String)], body: &'a str },
    /// The connection failed or the stream broke off.
    Connection,
    /// The API sent an `error` event after a 200.
    StreamError { kind: &'a str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAfter(Duration),
    GiveUp,
}

/// Decides about attempt `attempt` (0-based) that failed as `failure`. `jitter` in `[0, 1)`.
pub fn decide(failure: &Failure<'_>, attempt: u32, jitter: f64) -> Decision {
    if attempt + 1 >= MAX_ATTEMPTS {
        return Decision::GiveUp;
    }
    let backoff = backoff(attempt, jitter);
    match failure {
        Failure::Connection => Decision::RetryAfter(backoff),
        Failure::StreamError { kind } => match *kind {
            "overloaded_error" | "api_error" | "rate_limit_error" | "timeout_error" => {
                Decision::RetryAfter(backoff)
            }
            _ => Decision::GiveUp,
        },
        Failure::Status { status, headers, body } => {
            let header = |name: &str| {
                headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.trim())
            };
            if *status == 429 && is_spend_limit(body) {
                return Decision::GiveUp;
            }
            let retryable = match header("x-should-retry") {
                Some("true") => true,
                Some("false") => false,
                _ => matches!(status, 408 | 409 | 429) || *status >= 500,
            };
            if !retryable {
                return Decision::GiveUp;
            }
            match server_wait(header("retry-after-ms"), header("retry-after")) {
                Some(wait) if wait <= LONGEST_HONOURED_WAIT => Decision::RetryAfter(wait),
                Some(_) => Decision::GiveUp,
                None => Decision::RetryAfter(backoff),
            }
        }
    }
}

fn backoff(attempt: u32, jitter: f64) -> Duration {
    let exponential = BASE.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(CAP);
    // Jitter takes up to a quarter off, so that clients that failed together spread out.
    exponential.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0))
}

fn server_wait(retry_after_ms: Option<&str>, retry_after: Option<&str>) -> Option<Duration> {
    if let Some(ms) = retry_after_ms.and_then(|value| value.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = retry_after?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or_default())
}

/// Whether an error body says the organisation's spend limit is reached.
pub(crate) fn is_spend_limit(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    lower.contains("spend limit") || lower.contains("usage limit") || lower.contains("credit balance")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, headers: &[(&str, &str)], body: &str) -> Decision {
        let headers: Vec<(String, String)> =
            headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        decide(&Failure::Status { status, headers: &headers, body }, 0, 0.0)
    }

    #[test]
    fn retryable_statuses_are_retried_and_others_are_not() {
        for code in [408, 409, 429, 500, 502, 503, 529] {
            assert_eq!(status(code, &[], "{}"), Decision::RetryAfter(Duration::from_millis(500)), "{code}");
        }
        for code in [400, 401, 403, 404, 413] {
            assert_eq!(status(code, &[], "{}"), Decision::GiveUp, "{code}");
        }
    }

    #[test]
    fn x_should_retry_overrides_the_status() {
        assert_eq!(
            status(400, &[("x-should-retry", "true")], ""),
            Decision::RetryAfter(Duration::from_millis(500))
        );
        assert_eq!(status(503, &[("X-Should-Retry", "false")], ""), Decision::GiveUp);
    }

    #[test]
    fn the_servers_requested_wait_is_honoured() {
        assert_eq!(
            status(429, &[("retry-after-ms", "1500")], ""),
            Decision::RetryAfter(Duration::from_millis(1500))
        );
        assert_eq!(status(429, &[("retry-after", "3")], ""), Decision::RetryAfter(Duration::from_secs(3)));
        assert_eq!(
            status(429, &[("retry-after-ms", "250"), ("retry-after", "3")], ""),
            Decision::RetryAfter(Duration::from_millis(250)),
            "the millisecond header wins"
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc2822();
        let Decision::RetryAfter(wait) = status(503, &[("retry-after", &soon)], "") else { panic!() };
        assert!(wait <= Duration::from_secs(5) && wait >= Duration::from_secs(3), "{wait:?}");
        assert_eq!(
            status(429, &[("retry-after", "3600")], ""),
            Decision::GiveUp,
            "an hour is not worth waiting for"
        );
    }

    #[test]
    fn a_spend_limit_429_is_not_retried() {
        let body = r#"{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API usage limits. Your spend limit will reset on 2026-12-01."}}"#;
        assert_eq!(status(429, &[("retry-after", "1")], body), Decision::GiveUp);
    }

    #[test]
    fn backoff_doubles_from_half_a_second_up_to_eight_with_jitter_below() {
        let wait = |attempt| match decide(&Failure::Connection, attempt, 0.0) {
            Decision::RetryAfter(wait) => wait,
            Decision::GiveUp => Duration::ZERO,
        };
        assert_eq!(wait(0), Duration::from_millis(500));
        assert_eq!(wait(1), Duration::from_secs(1));
        assert_eq!(wait(2), Duration::from_secs(2));
        assert_eq!(backoff(10, 0.0), CAP);
        assert_eq!(backoff(10, 1.0), Duration::from_secs(6));
    }

    #[test]
    fn attempts_run_out() {
        assert_eq!(decide(&Failure::Connection, MAX_ATTEMPTS - 1, 0.0), Decision::GiveUp);
    }

    #[test]
    fn an_overloaded_error_event_is_retried_but_an_invalid_request_is_not() {
        assert!(matches!(
            decide(&Failure::StreamError { kind: "overloaded_error" }, 0, 0.0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(decide(&Failure::StreamError { kind: "invalid_request_error" }, 0, 0.0), Decision::GiveUp);
    }
}
