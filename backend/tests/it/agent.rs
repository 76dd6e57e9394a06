//! The agent driver against the project's fake Anthropic server: the tool loop, each retry
//! rule, cancellation, partial answers kept, and the exact requests sent.

use std::time::{Duration, Instant};

use crate::support;
use futures::future::BoxFuture;
use jarvis_backend::agent::anthropic::{AnthropicProvider, AnthropicSettings};
use jarvis_backend::agent::driver::{DriverEvent, RunObserver, RunRequest, RunSummary, run};
use jarvis_backend::agent::messages::{Message, Role};
use jarvis_backend::agent::provider::ProviderError;
use jarvis_backend::agent::tools::{ToolContext, ToolRegistry};
use jarvis_backend::agent::turn::{Outcome, TurnLimits};
use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply, Script};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Default)]
struct Recorder {
    events: Vec<DriverEvent>,
    stored: Vec<Message>,
}

impl Recorder {
    fn text(&self) -> String {
        self.events
            .iter()
            .filter_map(|event| match event {
                DriverEvent::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl RunObserver for Recorder {
    fn on_event(&mut self, event: DriverEvent) {
        self.events.push(event);
    }

    fn persist<'a>(&'a mut self, message: &'a Message) -> BoxFuture<'a, Result<(), String>> {
        self.stored.push(message.clone());
        Box::pin(async { Ok(()) })
    }
}

fn provider(fake: &FakeAnthropic) -> AnthropicProvider {
    support::anthropic_provider(fake, Duration::from_millis(500))
}

/// A provider with no API key, at `base_url`.
fn keyless(base_url: &str, model: &str) -> AnthropicProvider {
    AnthropicProvider::new(AnthropicSettings {
        base_url: base_url.parse().unwrap(),
        api_key: None,
        version: "2023-06-01".into(),
        model: model.into(),
        max_tokens: 512,
        max_output_tokens: 8192,
        first_byte_timeout: Duration::from_secs(1),
        stall_timeout: Duration::from_secs(1),
    })
}

fn request(question: &str) -> RunRequest {
    RunRequest {
        context: ToolContext::for_run(Uuid::new_v4(), Uuid::new_v4()),
        model: None,
        system: "You are Jarvis.".into(),
        history: vec![Message::user_text(question)],
        limits: TurnLimits::default(),
        context_budget_tokens: 100_000,
    }
}

async fn go(fake: &FakeAnthropic, question: &str) -> (RunSummary, Recorder) {
    let mut recorder = Recorder::default();
    let summary = run(
        &provider(fake),
        &ToolRegistry::standard(),
        request(question),
        CancellationToken::new(),
        &mut recorder,
    )
    .await;
    (summary, recorder)
}

#[tokio::test]
async fn a_reply_split_into_one_byte_chunks_streams_whole() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Good evening. All systems are nominal.").chunked(1));

    let (summary, recorder) = go(&fake, "Status?").await;

    assert_eq!(summary.outcome, Outcome::Completed);
    assert_eq!(recorder.text(), "Good evening. All systems are nominal.");
    assert!(
        recorder.events.iter().filter(|e| matches!(e, DriverEvent::Text(_))).count() > 3,
        "streamed in pieces"
    );
    assert_eq!(recorder.stored.len(), 1);
    assert_eq!(summary.usage.input_tokens, 20);
    assert_eq!(summary.usage.output_tokens, 10);
}

#[tokio::test]
async fn the_request_carries_key_version_model_tools_and_cache_breakpoints() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Hi"));

    go(&fake, "Hello").await;

    let sent = &fake.requests()[0];
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.body["model"], "claude-test");
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.body["max_tokens"], 1024);
    assert_eq!(sent.body["system"][0]["cache_control"]["type"], "ephemeral");
    let tools = sent.body["tools"].as_array().unwrap();
    assert_eq!(tools.last().unwrap()["cache_control"]["type"], "ephemeral");
    assert!(tools.iter().any(|tool| tool["name"] == "get_current_time"));
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Hello"}]}])
    );
}

#[tokio::test]
async fn the_tool_loop_runs_every_tool_and_sends_all_results_in_the_next_message() {
    let fake = FakeAnthropic::start().await;
    fake.reply(
        Reply::tool_use("toolu_a", "get_current_time", json!({}))
            .with_thinking("The user wants the time.", "sig-123")
            .with_tool_use("toolu_b", "get_current_time", json!({"utc_offset": "nonsense"}))
            .chunked(7),
    );
    fake.reply(Reply::text("It is noon."));

    let (summary, recorder) = go(&fake, "What time is it?").await;

    assert_eq!(summary.outcome, Outcome::Completed);
    assert_eq!(recorder.text(), "It is noon.");
    let requests = fake.requests();
    assert_eq!(
        requests.len(),
        2,
        "the fake refuses (400) any unanswered tool_use, so two calls means valid history"
    );
    let second = &requests[1].body["messages"];
    let assistant = &second[1]["content"];
    assert_eq!(
        assistant[0],
        json!({"type": "thinking", "thinking": "The user wants the time.", "signature": "sig-123"}),
        "thinking is sent back unchanged"
    );
    let results = second[2]["content"].as_array().unwrap();
    assert_eq!(results[0]["tool_use_id"], "toolu_a");
    assert!(results[0].get("is_error").is_none());
    assert_eq!(results[1]["tool_use_id"], "toolu_b");
    assert_eq!(results[1]["is_error"], true);
    let tool_events: Vec<&DriverEvent> =
        recorder.events.iter().filter(|e| matches!(e, DriverEvent::ToolResult { .. })).collect();
    assert_eq!(tool_events.len(), 2);
    assert_eq!(recorder.stored.len(), 3, "tool calls, tool results, answer");
    assert_eq!(recorder.stored[1].role, Role::User);
}

#[tokio::test]
async fn overloaded_and_rate_limited_calls_are_retried_honouring_retry_after() {
    let fake = FakeAnthropic::start().await;
    fake.push(Script::overloaded());
    fake.push(
        Script::status(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        )
        .with_header("retry-after", "1"),
    );
    fake.reply(Reply::text("Back online."));

    let started = Instant::now();
    let (summary, recorder) = go(&fake, "Hello?").await;

    assert_eq!(summary.outcome, Outcome::Completed);
    assert_eq!(fake.requests().len(), 3);
    let retries: Vec<(u32, u64)> = recorder
        .events
        .iter()
        .filter_map(|e| match e {
            DriverEvent::Retrying { attempt, wait_ms } => Some((*attempt, *wait_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(retries.iter().map(|(attempt, _)| *attempt).collect::<Vec<_>>(), vec![1, 2]);
    // The backoff is 0.5 s less up to a quarter of jitter; then the server's 1 s retry-after.
    assert!((375..=500).contains(&retries[0].1), "{retries:?}");
    assert_eq!(retries[1].1, 1000, "retry-after is honoured");
    let waited = Duration::from_millis(retries[0].1 + retries[1].1);
    assert!(started.elapsed() >= waited, "both waits were actually waited: {:?}", started.elapsed());
}

#[tokio::test]
async fn x_should_retry_false_and_client_errors_are_not_retried() {
    let fake = FakeAnthropic::start().await;
    fake.push(Script::status(503, "api_error", "Internal").with_header("x-should-retry", "false"));

    let (summary, _) = go(&fake, "Hello?").await;

    assert_eq!(fake.requests().len(), 1);
    assert!(matches!(summary.outcome, Outcome::Failed { .. }));
    assert!(matches!(summary.error, Some(ProviderError::Status { status: 503, .. })));

    let fake = FakeAnthropic::start().await;
    fake.push(Script::status(401, "authentication_error", "invalid x-api-key"));
    let (summary, _) = go(&fake, "Hello?").await;
    assert_eq!(fake.requests().len(), 1);
    let error = summary.error.expect("an error");
    assert_eq!(error.code(), "model_auth_failed");
    assert!(!error.retryable());
    assert!(error.to_string().contains("API key"), "a sentence of ours: {error}");
    assert!(!error.to_string().contains("invalid x-api-key"), "not the API's words: {error}");
    assert!(
        matches!(&error, ProviderError::Status { kind, message, request_id: Some(id), .. }
            if kind == "authentication_error" && message == "invalid x-api-key" && id.starts_with("req_")),
        "the API's error is kept for the log: {error:?}"
    );
}

#[tokio::test]
async fn a_spend_limit_429_fails_at_once_with_the_services_message() {
    let fake = FakeAnthropic::start().await;
    fake.push(
        Script::status(
            429,
            "rate_limit_error",
            "You have reached your specified API usage limits. Your spend limit resets on the 1st.",
        )
        .with_header("retry-after", "1"),
    );

    let (summary, _) = go(&fake, "Hello?").await;

    assert_eq!(fake.requests().len(), 1);
    let error = summary.error.unwrap();
    assert!(error.to_string().contains("spending limit"), "{error}");
    assert!(!error.retryable());
}

#[tokio::test]
async fn an_error_event_after_200_fails_the_attempt_and_the_retry_replaces_its_text() {
    let fake = FakeAnthropic::start().await;
    fake.push(Script::ErrorEvent {
        reply: Reply::text("Half an ans"),
        after_events: 4,
        kind: "overloaded_error".into(),
    });
    fake.reply(Reply::text("A whole answer."));

    let (summary, recorder) = go(&fake, "Hello?").await;

    assert_eq!(summary.outcome, Outcome::Completed);
    let retry_at =
        recorder.events.iter().position(|e| matches!(e, DriverEvent::Retrying { .. })).expect("a retry");
    let after: String = recorder.events[retry_at..]
        .iter()
        .filter_map(|e| match e {
            DriverEvent::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(after, "A whole answer.");
    assert_eq!(recorder.stored[0].text(), "A whole answer.");
}

#[tokio::test]
async fn a_stalled_stream_is_abandoned_and_retried() {
    let fake = FakeAnthropic::start().await;
    fake.push(Script::Stall { reply: Reply::text("Never finishes"), after_events: 3 });
    fake.reply(Reply::text("Recovered."));

    let (summary, recorder) = go(&fake, "Hello?").await;

    assert_eq!(summary.outcome, Outcome::Completed);
    assert_eq!(recorder.stored[0].text(), "Recovered.");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn retries_run_out_with_a_clear_error() {
    let fake = FakeAnthropic::start().await;
    for _ in 0..4 {
        fake.push(Script::overloaded().with_header("retry-after-ms", "10"));
    }

    let (summary, _) = go(&fake, "Hello?").await;

    assert_eq!(fake.requests().len(), 4);
    let error = summary.error.expect("an error");
    assert_eq!(error.code(), "model_overloaded");
    assert_eq!(error.to_string(), "The model service is overloaded right now. Try again in a moment.");
    assert!(error.retryable(), "overloaded is worth another try later");
}

#[tokio::test]
async fn stopping_mid_reply_keeps_the_text_already_streamed() {
    let fake = FakeAnthropic::start().await;
    fake.reply(
        Reply::text("one two three four five six seven eight nine ten").slowly(Duration::from_millis(60)),
    );
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        stopper.cancel();
    });

    let mut recorder = Recorder::default();
    let summary =
        run(&provider(&fake), &ToolRegistry::standard(), request("Count"), cancel, &mut recorder).await;

    assert_eq!(summary.outcome, Outcome::Cancelled);
    assert!(!summary.unfinished_text.is_empty(), "some words arrived before Stop");
    assert!(summary.unfinished_text.len() < "one two three four five six seven eight nine ten".len());
    assert_eq!(summary.unfinished_text, recorder.text());
    assert!(recorder.stored.is_empty(), "an unfinished reply is not a model message");
}

#[tokio::test]
async fn refusal_and_max_tokens_end_the_run_with_their_outcome() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("I can't help with that.").stop_reason("refusal"));
    let (summary, _) = go(&fake, "Something bad").await;
    assert_eq!(summary.outcome, Outcome::Refused);

    fake.reply(Reply::text("A very long").stop_reason("max_tokens"));
    let (summary, recorder) = go(&fake, "Write a novel").await;
    assert_eq!(summary.outcome, Outcome::MaxTokens);
    assert_eq!(recorder.stored[0].text(), "A very long", "the cut reply is kept");
}

#[tokio::test]
async fn pause_turn_continues_with_the_paused_content() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Searching… ").stop_reason("pause_turn"));
    fake.reply(Reply::text("Found it."));

    let (summary, recorder) = go(&fake, "Find it").await;

    assert_eq!(summary.outcome, Outcome::Completed);
    assert_eq!(recorder.text(), "Searching… Found it.");
    let second = &fake.requests()[1].body["messages"];
    assert_eq!(second[1]["content"][0]["text"], "Searching…", "sent back without trailing whitespace");
}

#[tokio::test]
async fn without_a_key_or_local_base_url_the_run_says_how_to_configure_one() {
    let provider = keyless(AnthropicSettings::DEFAULT_BASE_URL, "claude-test");
    let mut recorder = Recorder::default();

    let summary =
        run(&provider, &ToolRegistry::standard(), request("Hi"), CancellationToken::new(), &mut recorder)
            .await;

    let error = summary.error.expect("an error");
    assert_eq!(error, ProviderError::NotConfigured);
    assert!(error.to_string().contains("ANTHROPIC_API_KEY"));
}

#[tokio::test]
async fn a_local_server_needs_no_key() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Local model here."));
    let provider = keyless(&fake.base_url(), "llama3.2");
    let mut recorder = Recorder::default();

    let summary =
        run(&provider, &ToolRegistry::standard(), request("Hi"), CancellationToken::new(), &mut recorder)
            .await;

    assert_eq!(summary.outcome, Outcome::Completed);
    assert_eq!(fake.requests()[0].header("x-api-key"), None);
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_refused_like_the_real_api_and_never_retried() {
    let fake = FakeAnthropic::start().await;
    fake.require_api_key("sk-ant-test");
    fake.reply(Reply::text("With the key."));
    let mut recorder = Recorder::default();
    let summary = run(
        &provider(&fake),
        &ToolRegistry::standard(),
        request("Hi"),
        CancellationToken::new(),
        &mut recorder,
    )
    .await;
    assert_eq!(summary.outcome, Outcome::Completed);

    let keyless = keyless(&fake.base_url(), "claude-sonnet-4-5");
    let mut recorder = Recorder::default();
    let summary =
        run(&keyless, &ToolRegistry::standard(), request("Hi"), CancellationToken::new(), &mut recorder)
            .await;
    assert!(matches!(summary.outcome, Outcome::Failed { .. }), "{:?}", summary.outcome);
    let error = summary.error.expect("an error");
    assert_eq!(error.code(), "model_auth_failed");
    assert!(!error.retryable());
    assert!(
        matches!(&error, ProviderError::Status { status: 401, kind, message, .. }
            if kind == "authentication_error" && message == "x-api-key header is required"),
        "{error:?}"
    );
    assert_eq!(fake.requests().len(), 2, "one request each, the refused one not retried");
}

#[test]
fn the_fake_refuses_an_unanswered_tool_use_like_the_real_api() {
    let body = json!({"messages": [
        {"role": "user", "content": [{"type": "text", "text": "time?"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "t", "input": {}}]},
        {"role": "user", "content": [{"type": "text", "text": "never mind"}]},
    ]});
    let message = jarvis_testkit::fake_anthropic::unanswered_tool_use(&body).expect("refused");
    assert!(
        message.starts_with(
            "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01."
        ),
        "{message}"
    );
}
