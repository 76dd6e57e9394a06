//! The OpenAI-compatible provider against the project's fake Chat Completions server: streaming
//! text and tool calls, usage, images and PDFs, tool results sent back, each error and retry
//! rule, and chunks split anywhere.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use jarvis_backend::agent::driver::{DriverEvent, RunObserver, RunRequest, run};
use jarvis_backend::agent::messages::{
    ContentBlock, MediaSource, Message, ModelReply, Role, StopReason, ToolSpec, Usage,
};
use jarvis_backend::agent::openai_chat::{OpenAiChatProvider, OpenAiChatSettings, TokenParameter};
use jarvis_backend::agent::provider::{ModelDelta, ModelProvider, ModelRequest, ProviderError};
use jarvis_backend::agent::stream::StreamError;
use jarvis_backend::agent::tools::{ToolContext, ToolRegistry};
use jarvis_backend::agent::turn::{Outcome, TurnLimits};
use jarvis_testkit::fake_openai_chat::{FakeOpenAiChat, Reply, Script};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const KEY: &str = "sk-test-openai";

fn settings(base_url: &str, api_key: Option<&str>) -> OpenAiChatSettings {
    OpenAiChatSettings {
        base_url: base_url.parse().unwrap(),
        api_key: api_key.map(SecretString::from),
        model: "gpt-test".into(),
        max_output_tokens: 1024,
        largest_output_tokens: 16384,
        token_parameter: TokenParameter::MaxCompletionTokens,
        first_byte_timeout: Duration::from_millis(500),
        stall_timeout: Duration::from_millis(500),
    }
}

fn provider(fake: &FakeOpenAiChat) -> OpenAiChatProvider {
    OpenAiChatProvider::new(settings(&fake.base_url(), Some(KEY)))
}

fn tools() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "get_current_time".into(),
        description: "The current time.".into(),
        input_schema: json!({"type": "object", "properties": {"utc_offset": {"type": "string"}}}),
    }]
}

fn request(messages: Vec<Message>) -> ModelRequest {
    ModelRequest {
        model: None,
        system: "You are Jarvis.".into(),
        messages,
        tools: tools(),
        largest_output: false,
    }
}

/// Calls the provider once, collecting what it reported on the way.
async fn complete(
    provider: &OpenAiChatProvider,
    request: &ModelRequest,
) -> (Result<ModelReply, ProviderError>, Vec<ModelDelta>) {
    let mut deltas = Vec::new();
    let result = provider.complete(request, &mut |delta| deltas.push(delta)).await;
    (result, deltas)
}

fn streamed_text(deltas: &[ModelDelta]) -> String {
    deltas
        .iter()
        .filter_map(|delta| match delta {
            ModelDelta::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn retries(deltas: &[ModelDelta]) -> usize {
    deltas.iter().filter(|delta| matches!(delta, ModelDelta::Retrying { .. })).count()
}

#[tokio::test]
async fn text_streams_in_pieces_and_the_request_is_the_documented_one() {
    let fake = FakeOpenAiChat::start().await;
    fake.require_key(KEY);
    fake.reply(Reply::text("Good evening. All systems are nominal."));

    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Status?")])).await;

    let reply = reply.unwrap();
    assert_eq!(reply.message.text(), "Good evening. All systems are nominal.");
    assert_eq!(reply.stop_reason, StopReason::EndTurn);
    assert_eq!(streamed_text(&deltas), "Good evening. All systems are nominal.");
    assert!(
        deltas.iter().filter(|delta| matches!(delta, ModelDelta::Text(_))).count() > 3,
        "streamed in pieces"
    );

    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.bearer(), Some(KEY));
    assert_eq!(sent.body["model"], "gpt-test");
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.body["stream_options"], json!({"include_usage": true}));
    assert_eq!(sent.body["max_completion_tokens"], 1024);
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "system", "content": "You are Jarvis."}, {"role": "user", "content": "Status?"}])
    );
    assert_eq!(sent.body["tools"][0]["type"], "function");
    assert_eq!(sent.body["tools"][0]["function"]["name"], "get_current_time");
    assert_eq!(sent.body["tools"][0]["function"]["parameters"]["properties"]["utc_offset"]["type"], "string");
}

#[tokio::test]
async fn two_tool_calls_in_one_reply_are_assembled_by_index_from_split_fragments() {
    let fake = FakeOpenAiChat::start().await;
    fake.reply(
        Reply::tool_call("call_a", "get_current_time", json!({"utc_offset": "+02:00"}))
            .with_tool_call("call_b", "search_documents", json!({"query": "tents and stoves"}))
            .with_text("Let me look. ")
            .interleaved()
            .chunked(7),
    );

    let (reply, deltas) =
        complete(&provider(&fake), &request(vec![Message::user_text("Time and tents?")])).await;

    let reply = reply.unwrap();
    assert_eq!(reply.stop_reason, StopReason::ToolUse);
    assert_eq!(
        reply.message.content,
        vec![
            ContentBlock::Text { text: "Let me look. ".into() },
            ContentBlock::ToolUse {
                id: "call_a".into(),
                name: "get_current_time".into(),
                input: json!({"utc_offset": "+02:00"})
            },
            ContentBlock::ToolUse {
                id: "call_b".into(),
                name: "search_documents".into(),
                input: json!({"query": "tents and stoves"})
            },
        ]
    );
    let started: Vec<(String, String)> = deltas
        .iter()
        .filter_map(|delta| match delta {
            ModelDelta::ToolUseStarted { id, name } => Some((id.clone(), name.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        started,
        [
            ("call_a".to_owned(), "get_current_time".to_owned()),
            ("call_b".to_owned(), "search_documents".to_owned())
        ]
    );
}

#[tokio::test]
async fn usage_comes_from_the_final_chunk_with_cached_tokens_as_cache_reads() {
    let fake = FakeOpenAiChat::start().await;
    fake.reply(Reply::text("Hi.").usage(1200, 30, 1024));

    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    let expected = Usage {
        input_tokens: 176,
        output_tokens: 30,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 1024,
    };
    assert_eq!(reply.unwrap().usage, expected);
    assert_eq!(deltas.last(), Some(&ModelDelta::Usage(expected)), "reported as it arrived");
}

#[tokio::test]
async fn images_and_pdfs_arrive_as_image_url_and_file_parts_with_base64_intact() {
    use base64::Engine as _;
    let png: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n".to_vec();
    let png64 = base64::engine::general_purpose::STANDARD.encode(&png);
    let pdf64 = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let fake = FakeOpenAiChat::start().await;
    fake.reply(Reply::text("Two files."));
    let question = Message {
        role: Role::User,
        content: vec![
            ContentBlock::Image {
                source: MediaSource::Base64 { media_type: "image/png".into(), data: png64.clone() },
            },
            ContentBlock::Document {
                source: MediaSource::Base64 { media_type: "application/pdf".into(), data: pdf64.clone() },
                title: Some("invoice.pdf".into()),
            },
            ContentBlock::Attachment { id: "never-resolved".into() },
            ContentBlock::Text { text: "What are these?".into() },
        ],
    };

    let (reply, _) = complete(&provider(&fake), &request(vec![question])).await;

    reply.unwrap();
    let parts = fake.requests()[0].body["messages"][1]["content"].as_array().unwrap().clone();
    assert_eq!(parts.len(), 3, "the unresolved attachment is not sent: {parts:?}");
    let url = parts[0]["image_url"]["url"].as_str().unwrap();
    let data = url.strip_prefix("data:image/png;base64,").unwrap();
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(data).unwrap(), png);
    assert_eq!(parts[1]["type"], "file");
    assert_eq!(parts[1]["file"]["filename"], "invoice.pdf");
    let data =
        parts[1]["file"]["file_data"].as_str().unwrap().strip_prefix("data:application/pdf;base64,").unwrap();
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(data).unwrap(), pdf);
    assert_eq!(parts[2], json!({"type": "text", "text": "What are these?"}));
}

#[derive(Default)]
struct Recorder {
    events: Vec<DriverEvent>,
}

impl RunObserver for Recorder {
    fn on_event(&mut self, event: DriverEvent) {
        self.events.push(event);
    }

    fn persist<'a>(&'a mut self, _message: &'a Message) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn tool_results_go_back_as_tool_messages_answering_each_call() {
    let fake = FakeOpenAiChat::start().await;
    fake.reply(
        Reply::tool_call("call_a", "get_current_time", json!({}))
            .with_tool_call("call_b", "get_current_time", json!({"utc_offset": "nonsense"}))
            .with_text("Checking. "),
    );
    fake.reply(Reply::text("It is noon."));
    let mut recorder = Recorder::default();

    let summary = run(
        &provider(&fake),
        &ToolRegistry::standard(),
        RunRequest {
            context: ToolContext::for_run(Uuid::new_v4(), Uuid::new_v4()),
            model: None,
            system: "You are Jarvis.".into(),
            history: vec![Message::user_text("What time is it?")],
            limits: TurnLimits::default(),
            context_budget_tokens: 100_000,
        },
        CancellationToken::new(),
        &mut recorder,
    )
    .await;

    assert_eq!(summary.outcome, Outcome::Completed, "{:?}", summary.error);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "the fake refuses what the real API refuses, so both were accepted");
    let messages = requests[1].body["messages"].as_array().unwrap().clone();
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(messages[2]["content"], "Checking. ");
    assert_eq!(messages[2]["tool_calls"][1]["function"]["arguments"], r#"{"utc_offset":"nonsense"}"#);
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], "call_a");
    assert!(messages[3]["content"].as_str().unwrap().contains("20"), "a time: {}", messages[3]);
    assert_eq!(messages[4]["role"], "tool");
    assert_eq!(messages[4]["tool_call_id"], "call_b");
    assert!(messages[4]["content"].as_str().unwrap().starts_with("Error: "), "{}", messages[4]);
    assert_eq!(messages.len(), 5);
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_that_wait_then_succeeds() {
    let fake = FakeOpenAiChat::start().await;
    fake.push(Script::rate_limited().with_header("retry-after", "1"));
    fake.push(Script::rate_limited().with_header("retry-after-ms", "50"));
    fake.reply(Reply::text("Finally."));

    let started = Instant::now();
    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    assert_eq!(reply.unwrap().message.text(), "Finally.");
    assert!(started.elapsed() >= Duration::from_millis(1050), "waited as asked: {:?}", started.elapsed());
    let waits: Vec<u64> = deltas
        .iter()
        .filter_map(|delta| match delta {
            ModelDelta::Retrying { wait_ms, .. } => Some(*wait_ms),
            _ => None,
        })
        .collect();
    assert_eq!(waits, [1000, 50]);
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn insufficient_quota_is_not_retried_and_says_the_spend_limit_is_reached() {
    let fake = FakeOpenAiChat::start().await;
    fake.push(Script::insufficient_quota().with_header("retry-after", "1"));
    fake.reply(Reply::text("Never reached."));

    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    let error = reply.unwrap_err();
    assert!(!error.retryable());
    assert!(error.to_string().contains("spending limit"), "{error}");
    assert_eq!(retries(&deltas), 0);
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_key_is_not_retried_and_the_user_reads_our_sentence() {
    let fake = FakeOpenAiChat::start().await;
    fake.require_key("sk-the-right-one");
    fake.reply(Reply::text("Never reached."));

    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    let error = reply.unwrap_err();
    let ProviderError::Status { status: 401, kind, request_id, .. } = &error else { panic!("{error:?}") };
    assert_eq!(kind, "invalid_api_key");
    assert_eq!(request_id.as_deref(), Some(fake.requests()[0].request_id.as_str()));
    assert_eq!(
        error.to_string(),
        "Jarvis's access to the model service was refused. An operator has to fix its API key; trying again will not help."
    );
    assert!(!error.to_string().contains("sk-"), "the API's words stay in the log");
    assert_eq!(retries(&deltas), 0);
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_request_and_a_missing_model_are_not_retried() {
    for (script, status) in [
        (Script::status(400, "Invalid 'messages[1].content'.", "invalid_request_error", None), 400),
        (
            Script::status(
                404,
                "The model `gpt-nope` does not exist.",
                "invalid_request_error",
                Some("model_not_found"),
            ),
            404,
        ),
        (
            Script::status(
                403,
                "Country not supported.",
                "invalid_request_error",
                Some("unsupported_country_region_territory"),
            ),
            403,
        ),
    ] {
        let fake = FakeOpenAiChat::start().await;
        fake.push(script);
        let (reply, _) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;
        let error = reply.unwrap_err();
        assert!(matches!(error, ProviderError::Status { status: s, .. } if s == status), "{error:?}");
        assert_eq!(fake.requests().len(), 1, "{status} is not retried");
    }
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let fake = FakeOpenAiChat::start().await;
    fake.push(Script::server_error(500));
    fake.push(Script::server_error(502));
    fake.push(Script::server_error(503));
    fake.reply(Reply::text("Back."));

    let started = Instant::now();
    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    assert_eq!(reply.unwrap().message.text(), "Back.");
    assert_eq!(retries(&deltas), 3);
    // 0.5 s, 1 s and 2 s, each up to a quarter shorter for jitter.
    assert!(started.elapsed() >= Duration::from_millis(2600), "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_error_in_the_middle_of_the_stream_is_an_error_and_is_retried() {
    let fake = FakeOpenAiChat::start().await;
    fake.push(Script::error_mid_stream(Reply::text("This will break off."), 3));
    fake.reply(Reply::text("Whole this time."));

    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    assert_eq!(reply.unwrap().message.text(), "Whole this time.");
    let Some(ModelDelta::Retrying { reason, .. }) =
        deltas.iter().find(|d| matches!(d, ModelDelta::Retrying { .. }))
    else {
        panic!("{deltas:?}")
    };
    assert!(reason.contains("server_error"), "{reason}");
    assert!(streamed_text(&deltas).starts_with("This "), "the broken attempt's text was shown first");
}

#[tokio::test]
async fn a_refused_request_in_the_middle_of_the_stream_is_not_retried() {
    let fake = FakeOpenAiChat::start().await;
    for _ in 0..4 {
        fake.push(Script::ErrorMidStream {
            reply: Reply::text("No."),
            after_events: 1,
            error: json!({"message": "This model's maximum context length is 128000 tokens.", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}),
        });
    }

    let (reply, _) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    let error = reply.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Stream(StreamError::Api(api)) if api.kind == "invalid_request_error"),
        "{error:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn chunks_split_at_every_byte_with_crlf_and_keep_alives_stream_whole() {
    let fake = FakeOpenAiChat::start().await;
    let reply = Reply::tool_call("call_é", "get_current_time", json!({"utc_offset": "+01:00"}))
        .with_text("Héllo 👋 — all fine. ")
        .usage(40, 12, 0)
        .with_crlf()
        .with_keep_alive()
        .chunked(1);
    fake.reply(reply);

    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    let reply = reply.unwrap();
    assert_eq!(streamed_text(&deltas), "Héllo 👋 — all fine. ");
    assert_eq!(
        reply.message.content[1],
        ContentBlock::ToolUse {
            id: "call_é".into(),
            name: "get_current_time".into(),
            input: json!({"utc_offset": "+01:00"})
        }
    );
    assert_eq!(reply.usage.input_tokens, 40);
    assert_eq!(retries(&deltas), 0);
}

#[tokio::test]
async fn a_dropped_connection_and_a_stream_cut_short_are_retried() {
    let fake = FakeOpenAiChat::start().await;
    fake.push(Script::Drop { reply: Reply::text("Cut off here and there."), after_events: 3 });
    fake.push(Script::EndEarly { reply: Reply::text("Ended early."), after_events: 2 });
    fake.reply(Reply::text("Third time lucky."));

    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    assert_eq!(reply.unwrap().message.text(), "Third time lucky.");
    assert_eq!(retries(&deltas), 2);
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn a_stream_that_keeps_breaking_ends_in_our_sentence() {
    let fake = FakeOpenAiChat::start().await;
    for _ in 0..4 {
        fake.push(Script::EndEarly { reply: Reply::text("Again and again."), after_events: 2 });
    }

    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    let error = reply.unwrap_err();
    assert_eq!(error, ProviderError::Stream(StreamError::Incomplete));
    assert_eq!(error.to_string(), "The model service stopped answering mid-reply. Try again in a moment.");
    assert_eq!(retries(&deltas), 3);
}

#[tokio::test]
async fn a_silent_stream_is_given_up_on_and_retried() {
    let fake = FakeOpenAiChat::start().await;
    fake.push(Script::Stall { reply: Reply::text("Thinking very hard."), after_events: 2 });
    fake.reply(Reply::text("Here."));

    let (reply, deltas) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    assert_eq!(reply.unwrap().message.text(), "Here.");
    assert_eq!(retries(&deltas), 1);
}

#[tokio::test]
async fn a_local_server_gets_no_key_the_max_tokens_name_and_a_v1_base_url_is_not_doubled() {
    let fake = FakeOpenAiChat::start().await;
    fake.reply(Reply::text("Local."));
    let mut local = settings(&format!("{}/v1", fake.base_url()), None);
    local.token_parameter = TokenParameter::MaxTokens;
    let mut asked = request(vec![Message::user_text("Hi")]);
    asked.model = Some("llama3.2".into());
    asked.largest_output = true;

    let (reply, _) = complete(&OpenAiChatProvider::new(local), &asked).await;

    reply.unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.body["model"], "llama3.2");
    assert_eq!(sent.body["max_tokens"], 16384);
    assert_eq!(sent.body.get("max_completion_tokens"), None::<&Value>);
}

#[tokio::test]
async fn a_tool_call_cut_by_the_output_limit_is_left_out_and_reported() {
    let fake = FakeOpenAiChat::start().await;
    fake.reply(
        Reply::text("Here is the document. ")
            .with_raw_tool_call("call_a", "save_document", r#"{"title": "Notes", "content": "A long docu"#)
            .finish_reason("length"),
    );

    let (reply, _) = complete(&provider(&fake), &request(vec![Message::user_text("Write it")])).await;

    let reply = reply.unwrap();
    assert!(reply.truncated_tool_use);
    assert_eq!(reply.stop_reason, StopReason::MaxTokens);
    assert_eq!(reply.message.content, vec![ContentBlock::Text { text: "Here is the document. ".into() }]);
}

#[tokio::test]
async fn invalid_tool_arguments_with_a_normal_finish_are_an_error() {
    let fake = FakeOpenAiChat::start().await;
    for _ in 0..4 {
        fake.reply(Reply::text("").with_raw_tool_call("call_a", "get_current_time", "{not json"));
    }

    let (reply, _) = complete(&provider(&fake), &request(vec![Message::user_text("Hi")])).await;

    let error = reply.unwrap_err();
    assert!(
        matches!(error, ProviderError::Stream(StreamError::Malformed { what: "tool input", .. })),
        "{error:?}"
    );
}
