//! The retry loop of our OpenAI clients (speech and transcription): each attempt under a time
//! limit, a retryable failure tried again after what the server asked (`retry-after`) or
//! 250 ms × 2ⁿ, up to a number of retries; any other failure returned at once.

use std::future::Future;
use std::time::Duration;

/// Runs `attempt` until it succeeds, fails for good, or `retries` retries are spent. An attempt
/// answers its error with the wait the server asked for, if any; one past `timeout` fails with
/// `timed_out()`. `retryable` says which errors are worth another try; `client` names the
/// client in the log line of each retry.
pub async fn with_retries<T, E, F, Fut>(
    client: &'static str,
    timeout: Duration,
    retries: u32,
    timed_out: impl Fn() -> E,
    retryable: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, (E, Option<Duration>)>>,
{
    let mut tries = 0;
    loop {
        let result =
            tokio::time::timeout(timeout, attempt()).await.unwrap_or_else(|_| Err((timed_out(), None)));
        match result {
            Ok(value) => return Ok(value),
            Err((error, retry_after)) if retryable(&error) && tries < retries => {
                let backoff = Duration::from_millis(250 * 2u64.pow(tries));
                tracing::warn!(client, %error, attempt = tries, "openai.retry");
                tokio::time::sleep(retry_after.unwrap_or(backoff)).await;
                tries += 1;
            }
            Err((error, _)) => return Err(error),
        }
    }
}
