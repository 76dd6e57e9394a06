//! Conversations stay usable whatever the model does: an empty reply, `max_tokens` after or
//! inside a tool call, a refusal, a 400, a stalled stream. The fake model checks every request
//! the way the Messages API does and answers the real 400 otherwise, so a conversation that a
//! reply broke fails the next message here.

use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply, Script};
use jarvis_types::chat::ConversationView;
use jarvis_types::protocol::{REFUSAL_NOTE, RunError, RunEvent, RunStatus, TOOL_INPUT_TOO_LONG_NOTE};
use serde_json::json;

use crate::chat::{Socket, ask, open, send, text_of, until_finished};
use crate::helpers::{Client, TestApp, spawn_app_with};

async fn app_with_model(fake: &FakeAnthropic, extra: &[(&str, &str)]) -> TestApp {
    let base_url = fake.base_url();
    let mut settings = vec![("ANTHROPIC_BASE_URL", base_url.as_str()), ("ANTHROPIC_API_KEY", "sk-ant-test")];
    settings.extend_from_slice(extra);
    spawn_app_with(&settings).await
}

type Events = Vec<(String, u64, RunEvent)>;

/// Sends `text` (in `conversation`, or a new one) and waits for the run to end.
async fn exchange(socket: &mut Socket, conversation: Option<&str>, text: &str) -> (String, Events) {
    send(socket, &ask(conversation.map(str::to_owned), text)).await;
    let events = until_finished(socket).await;
    let RunEvent::Started { conversation_id, .. } = &events[0].2 else { panic!("{events:?}") };
    (conversation_id.clone(), events)
}

fn finished(events: &Events) -> (RunStatus, String, Option<RunError>) {
    match &events.last().expect("events").2 {
        RunEvent::Finished { status, stop_reason, error } => (*status, stop_reason.clone(), error.clone()),
        other => panic!("the run did not finish: {other:?}"),
    }
}

/// Asserts that the conversation takes another message and answers it normally.
async fn accepts_the_next_message(fake: &FakeAnthropic, socket: &mut Socket, conversation: &str) {
    fake.reply(Reply::text("Still here."));
    let (_, events) = exchange(socket, Some(conversation), "Are you still there?").await;
    let (status, _, error) = finished(&events);
    assert_eq!((status, error), (RunStatus::Completed, None), "{events:?}");
    assert_eq!(text_of(&events), "Still here.");
}

/// Every request the fake received was one the real API accepts.
fn every_request_was_valid(fake: &FakeAnthropic) {
    for (index, request) in fake.requests().iter().enumerate() {
        if let Err(error) = jarvis_testkit::fake_anthropic::validate_request(&request.body) {
            panic!("request {index} would be refused: {error}\n{:#}", request.body);
        }
    }
}

async fn conversation_view(client: &Client, id: &str) -> ConversationView {
    let body = client.post_form("/api/conversation", &[("id", id)]).await.text().await.unwrap();
    serde_json::from_str::<Option<ConversationView>>(&body).expect("a conversation").expect("found")
}

#[tokio::test]
async fn an_empty_reply_after_tool_results_is_not_kept_and_the_conversation_goes_on() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::tool_use("toolu_1", "get_current_time", json!({})));
    fake.reply(Reply::empty());
    let app = app_with_model(&fake, &[]).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let (conversation, events) = exchange(&mut socket, None, "What time is it?").await;
    assert_eq!(finished(&events).0, RunStatus::Completed);
    let empty: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE content = '[]'::jsonb")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(empty, 0, "no empty message is stored");

    accepts_the_next_message(&fake, &mut socket, &conversation).await;
    every_request_was_valid(&fake);
    app.stop().await;
}

#[tokio::test]
async fn max_tokens_right_after_a_complete_tool_call_runs_it_and_the_conversation_goes_on() {
    let fake = FakeAnthropic::start().await;
    fake.reply(
        Reply::text("Checking the clock.")
            .with_tool_use("toolu_1", "get_current_time", json!({}))
            .stop_reason("max_tokens"),
    );
    fake.reply(Reply::text("It is noon."));
    let app = app_with_model(&fake, &[]).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let (conversation, events) = exchange(&mut socket, None, "What time is it?").await;

    assert!(
        events.iter().any(
            |(_, _, e)| matches!(e, RunEvent::ToolResult { id, is_error: false, .. } if id == "toolu_1")
        ),
        "the tool ran: {events:?}"
    );
    assert_eq!(finished(&events).0, RunStatus::Completed);
    accepts_the_next_message(&fake, &mut socket, &conversation).await;
    every_request_was_valid(&fake);
    app.stop().await;
}

fn long_document() -> serde_json::Value {
    json!({"title": "The long report", "kind": "markdown", "content": "A paragraph of the report. ".repeat(40)})
}

#[tokio::test]
async fn a_document_cut_inside_its_tool_call_is_asked_again_with_the_largest_output_and_saved() {
    let fake = FakeAnthropic::start().await;
    fake.reply(
        Reply::text("Writing it now.").with_tool_use("toolu_1", "save_document", long_document()).truncated(),
    );
    fake.reply(Reply::text("Writing it now.").with_tool_use("toolu_2", "save_document", long_document()));
    fake.reply(Reply::text("Saved."));
    let app =
        app_with_model(&fake, &[("ANTHROPIC_MAX_TOKENS", "1000"), ("ANTHROPIC_MAX_OUTPUT_TOKENS", "16000")])
            .await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let (conversation, events) = exchange(&mut socket, None, "Write me a long report").await;

    let requests = fake.requests();
    assert_eq!(requests[0].max_tokens(), Some(1000));
    assert_eq!(requests[1].max_tokens(), Some(16000), "asked again with the largest output");
    assert_eq!(
        requests[1].body["messages"], requests[0].body["messages"],
        "nothing of the cut reply is sent"
    );
    assert!(events.iter().any(|(_, _, e)| matches!(e, RunEvent::Retrying { .. })), "the cut text is void");
    assert_eq!(finished(&events).0, RunStatus::Completed);
    assert_eq!(text_of_after_last_retry(&events), "Writing it now.\n\nSaved.");
    let documents: i64 =
        sqlx::query_scalar("SELECT count(*) FROM documents").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(documents, 1);
    accepts_the_next_message(&fake, &mut socket, &conversation).await;
    every_request_was_valid(&fake);
    app.stop().await;
}

#[tokio::test]
async fn a_document_too_long_even_for_the_largest_output_is_explained_and_nothing_half_parsed_is_kept() {
    let fake = FakeAnthropic::start().await;
    for _ in 0..2 {
        fake.reply(
            Reply::text("Writing it now.")
                .with_tool_use("toolu_1", "save_document", long_document())
                .truncated(),
        );
    }
    let app = app_with_model(&fake, &[]).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let (conversation, events) = exchange(&mut socket, None, "Write me a long report").await;

    let (status, stop_reason, error) = finished(&events);
    assert_eq!(status, RunStatus::Completed, "what was written is there; nothing failed");
    assert_eq!(stop_reason, "tool_input_too_long");
    let error = error.expect("the user is told");
    assert_eq!(error.message, TOOL_INPUT_TOO_LONG_NOTE);
    assert!(!error.retryable, "the same request would be cut again");
    assert_eq!(fake.requests().len(), 2, "asked again once, not more");
    let documents: i64 =
        sqlx::query_scalar("SELECT count(*) FROM documents").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(documents, 0);
    let stored_tool_calls: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages, jsonb_array_elements(content) block WHERE block->>'type' = 'tool_use'",
    )
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(stored_tool_calls, 0, "no half-parsed tool call is stored");

    accepts_the_next_message(&fake, &mut socket, &conversation).await;
    every_request_was_valid(&fake);
    app.stop().await;
}

#[tokio::test]
async fn a_refused_exchange_is_shown_but_left_out_of_what_the_model_is_sent_next() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Sure."));
    fake.reply(Reply::refusal("I'll start with the first st"));
    let app = app_with_model(&fake, &[]).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;
    let (conversation, _) = exchange(&mut socket, None, "Hello").await;

    let (_, events) = exchange(&mut socket, Some(&conversation), "Something the model refuses").await;

    let (status, stop_reason, error) = finished(&events);
    assert_eq!((status, stop_reason.as_str()), (RunStatus::Completed, "refusal"));
    let error = error.expect("the user is told why");
    assert_eq!(error.message, REFUSAL_NOTE);
    assert!(!error.retryable);

    accepts_the_next_message(&fake, &mut socket, &conversation).await;
    let sent = &fake.requests()[2].body["messages"];
    assert_eq!(
        *sent,
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Hello"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Sure."}]},
            {"role": "user", "content": [{"type": "text", "text": "Are you still there?"}]},
        ]),
        "the refused question and its half-sentence are not sent again"
    );

    let view = conversation_view(&client, &conversation).await;
    let refused: Vec<(&str, bool)> = view.messages.iter().map(|m| (m.text.as_str(), m.refused)).collect();
    assert_eq!(
        refused,
        vec![
            ("Hello", false),
            ("Sure.", false),
            ("Something the model refuses", true),
            ("I'll start with the first st", true),
            ("Are you still there?", false),
            ("Still here.", false),
        ],
        "the refused exchange is still shown, marked"
    );
    every_request_was_valid(&fake);
    app.stop().await;
}

#[tokio::test]
async fn a_400_is_not_retried_and_the_user_reads_our_sentence_not_the_apis() {
    let fake = FakeAnthropic::start().await;
    fake.push(Script::status(400, "invalid_request_error", "messages.0.content.0.text: secret internals"));
    let app = app_with_model(&fake, &[]).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let (_, events) = exchange(&mut socket, None, "Hello").await;

    let (status, _, error) = finished(&events);
    assert_eq!(status, RunStatus::Failed);
    let error = error.expect("an error");
    assert_eq!(error.code, "model_request_refused");
    assert!(!error.retryable, "sending the same conversation again gets the same 400");
    assert!(!error.message.contains("secret internals"), "{}", error.message);
    assert!(error.message.contains("trying again will not help"), "{}", error.message);
    assert_eq!(fake.requests().len(), 1, "not retried");
    app.stop().await;
}

#[tokio::test]
async fn a_stalled_stream_is_retried_after_the_configured_wait_and_the_user_sees_it() {
    let fake = FakeAnthropic::start().await;
    fake.push(Script::Stall { reply: Reply::text("Half of an answer that"), after_events: 4 });
    fake.reply(Reply::text("The whole answer."));
    let app = app_with_model(
        &fake,
        &[("ANTHROPIC_STALL_TIMEOUT_SECS", "0.5"), ("ANTHROPIC_FIRST_BYTE_TIMEOUT_SECS", "0.3")],
    )
    .await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let started = std::time::Instant::now();
    let (_, events) = exchange(&mut socket, None, "Hello").await;

    assert!(events.iter().any(|(_, _, e)| matches!(e, RunEvent::Retrying { attempt: 1, .. })), "{events:?}");
    assert_eq!(finished(&events).0, RunStatus::Completed);
    assert_eq!(text_of_after_last_retry(&events), "The whole answer.");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "the configured wait, not 90 s");
    app.stop().await;
}

#[tokio::test]
async fn the_text_shown_live_is_exactly_what_a_reload_shows() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Let me check the clock.").with_tool_use(
        "toolu_1",
        "get_current_time",
        json!({}),
    ));
    fake.reply(Reply::text("It is noon. Now the long part: ").stop_reason("pause_turn"));
    fake.reply(Reply::text("which goes on.").with_text(" And a second block."));
    let app = app_with_model(&fake, &[]).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let (conversation, events) = exchange(&mut socket, None, "Time, then a story").await;

    let live = text_of(&events);
    assert_eq!(
        live,
        "Let me check the clock.\n\nIt is noon. Now the long part: which goes on. And a second block."
    );
    let view = conversation_view(&client, &conversation).await;
    assert_eq!(view.messages.len(), 2, "{view:?}");
    assert_eq!(view.messages[1].text, live);
    every_request_was_valid(&fake);
    app.stop().await;
}

/// The reply's text as the page shows it: what came after the last `Retrying`.
fn text_of_after_last_retry(events: &Events) -> String {
    let start =
        events.iter().rposition(|(_, _, e)| matches!(e, RunEvent::Retrying { .. })).map_or(0, |i| i + 1);
    text_of(&events[start..])
}
