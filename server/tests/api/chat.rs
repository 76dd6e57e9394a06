//! Chat over the real WebSocket: runs streamed with sequence numbers, stored, stopped, resumed
//! exactly once (on this instance or another), and refused when they must be.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jarvis_server::startup::Application;
use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply};
use jarvis_types::protocol::{ClientMessage, ErrorCode, RunEvent, RunStatus, ServerMessage};
use serde_json::json;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
use tokio_util::sync::CancellationToken;

use crate::helpers::{Client, TestApp, spawn_app_with, test_config};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn app_with_model(fake: &FakeAnthropic) -> TestApp {
    spawn_app_with(&[("ANTHROPIC_BASE_URL", &fake.base_url()), ("ANTHROPIC_API_KEY", "sk-ant-test")]).await
}

pub(crate) async fn open(port: u16, client: &Client) -> Socket {
    let mut request = format!("ws://localhost:{port}/ws").into_client_request().unwrap();
    let access = client.cookie("jarvis_access").expect("signed in");
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_str(&format!("jarvis_access={access}")).unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("the socket opens");
    assert!(matches!(next(&mut socket).await, ServerMessage::Hello { .. }));
    socket
}

/// A new message with a fresh client id.
pub(crate) fn ask(conversation_id: Option<String>, text: impl Into<String>) -> ClientMessage {
    ClientMessage::Send {
        client_message_id: uuid::Uuid::new_v4().to_string(),
        conversation_id,
        text: text.into(),
        attachments: Vec::new(),
        model: None,
    }
}

/// A signed-in user whose question "Count" is being answered slowly (40 words, one every 40 ms).
async fn counting() -> (FakeAnthropic, TestApp, Client, Socket) {
    let fake = FakeAnthropic::start().await;
    fake.reply(slow_reply());
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;
    send(&mut socket, &ask(None, "Count")).await;
    (fake, app, client, socket)
}

pub(crate) async fn send(socket: &mut Socket, message: &ClientMessage) {
    socket.send(Message::text(serde_json::to_string(message).unwrap())).await.unwrap();
}

pub(crate) async fn next(socket: &mut Socket) -> ServerMessage {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("the socket is open")
            .expect("a valid frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("a protocol message");
        }
    }
}

/// Run events until (and with) `Finished`.
pub(crate) async fn until_finished(socket: &mut Socket) -> Vec<(String, u64, RunEvent)> {
    let mut events = Vec::new();
    loop {
        match next(socket).await {
            ServerMessage::Run { run_id, seq, event } => {
                let done = matches!(event, RunEvent::Finished { .. });
                events.push((run_id, seq, event));
                if done {
                    return events;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

pub(crate) fn text_of(events: &[(String, u64, RunEvent)]) -> String {
    events
        .iter()
        .filter_map(|(_, _, event)| match event {
            RunEvent::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn assert_contiguous(events: &[(String, u64, RunEvent)], from: u64) {
    let seqs: Vec<u64> = events.iter().map(|(_, seq, _)| *seq).collect();
    let expected: Vec<u64> = (from..from + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "every event once, in order, no gaps");
}

#[tokio::test]
async fn a_message_streams_its_reply_as_numbered_events_and_both_are_stored() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Good evening. Everything is in order.").usage(42, 9));
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ask(None, "Status report")).await;
    let events = until_finished(&mut socket).await;

    assert_contiguous(&events, 1);
    assert!(
        matches!(&events[0].2, RunEvent::Started { title, user_text, .. } if title == "Status report" && user_text == "Status report")
    );
    assert_eq!(text_of(&events), "Good evening. Everything is in order.");
    assert!(
        matches!(&events.last().unwrap().2, RunEvent::Finished { status: RunStatus::Completed, error: None, stop_reason } if stop_reason == "completed")
    );
    assert!(
        events
            .iter()
            .any(|(_, _, e)| matches!(e, RunEvent::Usage { input_tokens: 42, output_tokens: 9, .. }))
    );

    let stored: Vec<(String, String)> = sqlx::query_as("SELECT role, status FROM messages ORDER BY position")
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(stored, vec![("user".into(), "complete".into()), ("assistant".into(), "complete".into())]);
    let (status, input, output): (String, i64, i64) =
        sqlx::query_as("SELECT status, input_tokens, output_tokens FROM runs")
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), input, output), ("completed", 42, 9));
    let settings = client.get("/settings").await.text().await.unwrap();
    assert!(settings.contains("51 tokens this month"), "usage per user is shown");
    let sent = &fake.requests()[0].body;
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Status report"}]}])
    );
    assert!(sent["system"][0]["text"].as_str().unwrap().contains("Jarvis"));
    app.stop().await;
}

#[tokio::test]
async fn a_follow_up_sends_the_whole_conversation_and_tools_run_end_to_end() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Hello."));
    fake.reply(Reply::tool_use("toolu_1", "get_current_time", json!({})));
    fake.reply(Reply::text("It is late."));
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ask(None, "Hi")).await;
    let first = until_finished(&mut socket).await;
    let RunEvent::Started { conversation_id, .. } = &first[0].2 else { panic!() };
    send(&mut socket, &ask(Some(conversation_id.clone()), "What time is it?")).await;
    let second = until_finished(&mut socket).await;

    assert_contiguous(&second, 1);
    assert!(
        second
            .iter()
            .any(|(_, _, e)| matches!(e, RunEvent::ToolCall { name, .. } if name == "get_current_time"))
    );
    assert!(second.iter().any(|(_, _, e)| matches!(e, RunEvent::ToolResult { is_error: false, .. })));
    assert_eq!(text_of(&second), "It is late.");
    let requests = fake.requests();
    assert_eq!(requests[1].body["messages"].as_array().unwrap().len(), 3, "Hi, Hello., the new question");
    assert_eq!(requests[2].body["messages"].as_array().unwrap().len(), 5, "…, tool call, tool result");
    app.stop().await;
}

#[tokio::test]
async fn an_unverified_user_cannot_start_the_agent_and_nothing_reaches_the_model() {
    let fake = FakeAnthropic::start().await;
    let app = app_with_model(&fake).await;
    let email = crate::helpers::unique_email();
    app.register(&email).await;
    let client = app.client();
    app.log_in(&client, &email, crate::helpers::PASSWORD).await;
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ask(None, "Hello")).await;

    assert!(matches!(
        next(&mut socket).await,
        ServerMessage::Error { code: ErrorCode::EmailNotVerified, .. }
    ));
    assert!(fake.requests().is_empty());
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM runs").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(runs, 0);
    app.stop().await;
}

#[tokio::test]
async fn empty_and_oversized_messages_are_refused_and_change_nothing() {
    let fake = FakeAnthropic::start().await;
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ask(None, "   ")).await;
    assert!(matches!(next(&mut socket).await, ServerMessage::Error { code: ErrorCode::InvalidMessage, .. }));
    send(&mut socket, &ask(None, "x".repeat(40_000))).await;
    assert!(matches!(next(&mut socket).await, ServerMessage::Error { code: ErrorCode::InvalidMessage, .. }));
    send(
        &mut socket,
        &ClientMessage::Send {
            client_message_id: uuid::Uuid::new_v4().to_string(),
            conversation_id: Some("not-a-uuid".into()),
            text: "hi".into(),
            attachments: Vec::new(),
            model: None,
        },
    )
    .await;
    assert!(matches!(next(&mut socket).await, ServerMessage::Error { code: ErrorCode::NotFound, .. }));

    let conversations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM conversations").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(conversations, 0);
    assert!(fake.requests().is_empty());
    app.stop().await;
}

fn slow_reply() -> Reply {
    let words: Vec<String> = (1..=40).map(|n| format!("w{n}")).collect();
    Reply::text(words.join(" ")).slowly(Duration::from_millis(40))
}

#[tokio::test]
async fn a_run_goes_on_without_its_socket_and_a_reconnect_resumes_with_no_gap_and_no_duplicate() {
    let (_fake, app, client, mut socket) = counting().await;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        if let ServerMessage::Run { run_id, seq, event } = next(&mut socket).await {
            seen.push((run_id, seq, event));
        }
    }
    drop(socket);
    tokio::time::sleep(Duration::from_millis(400)).await;

    let (run_id, last_seq, _) = seen.last().unwrap().clone();
    let mut socket = open(app.port, &client).await;
    send(&mut socket, &ClientMessage::Resume { run_id: run_id.clone(), after_seq: last_seq }).await;
    let rest = until_finished(&mut socket).await;

    assert_contiguous(&rest, last_seq + 1);
    let mut all = seen.clone();
    all.extend(rest);
    assert_contiguous(&all, 1);
    let expected: Vec<String> = (1..=40).map(|n| format!("w{n}")).collect();
    assert_eq!(text_of(&all), expected.join(" "));
    app.stop().await;
}

#[tokio::test]
async fn another_instance_replays_a_run_from_the_start_and_follows_it_live() {
    let fake = FakeAnthropic::start().await;
    fake.reply(slow_reply());
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let (config, _) = test_config(
        &app.database_name,
        &[("ANTHROPIC_BASE_URL", &fake.base_url()), ("ANTHROPIC_API_KEY", "sk-ant-test")],
    );
    let sibling = Application::build(config).await.unwrap();
    let sibling_port = sibling.port();
    let stop_sibling = CancellationToken::new();
    let sibling_task = tokio::spawn(sibling.run_until(stop_sibling.clone().cancelled_owned()));

    let mut socket = open(app.port, &client).await;
    send(&mut socket, &ask(None, "Count")).await;
    let ServerMessage::Run { run_id, .. } = next(&mut socket).await else { panic!() };
    drop(socket);

    let mut elsewhere = open(sibling_port, &client).await;
    send(&mut elsewhere, &ClientMessage::Resume { run_id, after_seq: 0 }).await;
    let events = until_finished(&mut elsewhere).await;

    assert_contiguous(&events, 1);
    let expected: Vec<String> = (1..=40).map(|n| format!("w{n}")).collect();
    assert_eq!(text_of(&events), expected.join(" "));
    stop_sibling.cancel();
    sibling_task.await.unwrap().unwrap();
    app.stop().await;
}

#[tokio::test]
async fn stop_ends_the_run_and_keeps_the_partial_reply_marked_as_such() {
    let (_fake, app, _client, mut socket) = counting().await;
    let mut events = Vec::new();
    let run_id = loop {
        if let ServerMessage::Run { run_id, seq, event } = next(&mut socket).await {
            let is_text = matches!(event, RunEvent::TextDelta { .. });
            events.push((run_id.clone(), seq, event));
            if is_text {
                break run_id;
            }
        }
    };
    send(&mut socket, &ClientMessage::Cancel { run_id }).await;
    events.extend(until_finished(&mut socket).await);

    assert!(matches!(events.last().unwrap().2, RunEvent::Finished { status: RunStatus::Cancelled, .. }));
    let shown = text_of(&events);
    assert!(!shown.is_empty() && !shown.contains("w40"), "{shown}");
    let (status, content): (String, serde_json::Value) =
        sqlx::query_as("SELECT status, content FROM messages WHERE role = 'assistant'")
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(status, "partial");
    assert_eq!(content[0]["text"].as_str().unwrap(), shown, "what the user saw is what is kept");
    let run_status: String =
        sqlx::query_scalar("SELECT status FROM runs").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(run_status, "cancelled");
    app.stop().await;
}

#[tokio::test]
async fn another_user_can_neither_follow_nor_stop_my_run() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Private answer."));
    let app = app_with_model(&fake).await;
    let (alice, _) = app.signed_in_client().await;
    let (mallory, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &alice).await;
    send(&mut socket, &ask(None, "Secret")).await;
    let events = until_finished(&mut socket).await;
    let run_id = events[0].0.clone();
    let RunEvent::Started { conversation_id, .. } = &events[0].2 else { panic!() };

    let mut intruder = open(app.port, &mallory).await;
    send(&mut intruder, &ClientMessage::Resume { run_id: run_id.clone(), after_seq: 0 }).await;
    assert!(matches!(next(&mut intruder).await, ServerMessage::Error { code: ErrorCode::NotFound, .. }));
    send(&mut intruder, &ClientMessage::Cancel { run_id }).await;
    assert!(matches!(next(&mut intruder).await, ServerMessage::Error { code: ErrorCode::NotFound, .. }));
    send(&mut intruder, &ask(Some(conversation_id.clone()), "Me too")).await;
    assert!(matches!(next(&mut intruder).await, ServerMessage::Error { code: ErrorCode::NotFound, .. }));
    assert_eq!(fake.requests().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn without_a_model_configured_the_reply_says_how_to_configure_one() {
    let app = spawn_app_with(&[("ANTHROPIC_BASE_URL", "https://api.anthropic.com")]).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ask(None, "Hello")).await;
    let events = until_finished(&mut socket).await;

    let RunEvent::Finished { status: RunStatus::Failed, error: Some(error), .. } = &events.last().unwrap().2
    else {
        panic!("{events:?}")
    };
    assert_eq!(error.code, "model_not_configured");
    assert!(!error.retryable, "configuration, not luck, fixes this");
    assert!(error.message.contains("ANTHROPIC_API_KEY"));
    app.stop().await;
}

#[tokio::test]
async fn sending_the_same_message_twice_after_a_reconnect_starts_one_run() {
    let fake = FakeAnthropic::start().await;
    fake.reply(slow_reply());
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let message = ClientMessage::Send {
        client_message_id: "client-msg-1".into(),
        conversation_id: None,
        text: "Count".into(),
        attachments: Vec::new(),
        model: None,
    };

    let mut socket = open(app.port, &client).await;
    send(&mut socket, &message).await;
    drop(socket);
    let mut socket = open(app.port, &client).await;
    send(&mut socket, &message).await;
    let events = until_finished(&mut socket).await;

    assert_contiguous(&events, 1);
    assert!(
        matches!(&events[0].2, RunEvent::Started { client_message_id: Some(id), .. } if id == "client-msg-1")
    );
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM runs").fetch_one(&app.owner_pool).await.unwrap();
    let questions: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE role = 'user'")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!((runs, questions), (1, 1));
    assert_eq!(fake.requests().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn conversations_are_listed_renamed_and_deleted_by_their_owner_only() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Noted."));
    let app = app_with_model(&fake).await;
    let (alice, _) = app.signed_in_client().await;
    let (bob, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &alice).await;
    send(&mut socket, &ask(None, "Remember the milk")).await;
    let events = until_finished(&mut socket).await;
    let RunEvent::Started { conversation_id, .. } = &events[0].2 else { panic!() };

    let listed = alice.post_form("/api/conversations", &[]).await.text().await.unwrap();
    assert!(listed.contains("Remember the milk"), "{listed}");
    let bobs = bob.post_form("/api/conversations", &[]).await.text().await.unwrap();
    assert_eq!(bobs, "[]");
    let peek = bob.post_form("/api/conversation", &[("id", conversation_id)]).await.text().await.unwrap();
    assert_eq!(peek, "null", "another user's conversation does not exist for them");

    let hijack =
        bob.post_form("/api/rename_conversation", &[("id", conversation_id), ("title", "pwned")]).await;
    assert!(!hijack.status().is_success());
    let wipe = bob.post_form("/api/delete_conversation", &[("id", conversation_id)]).await;
    assert!(!wipe.status().is_success());
    let title: String =
        sqlx::query_scalar("SELECT title FROM conversations").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(title, "Remember the milk");

    let renamed =
        alice.post_form("/api/rename_conversation", &[("id", conversation_id), ("title", "Groceries")]).await;
    assert!(renamed.status().is_success());
    let title: String =
        sqlx::query_scalar("SELECT title FROM conversations").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(title, "Groceries");
    let deleted = alice.post_form("/api/delete_conversation", &[("id", conversation_id)]).await;
    assert!(deleted.status().is_success());
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM conversations").fetch_one(&app.owner_pool).await.unwrap();
    let messages: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!((left, messages), (0, 0));
    app.stop().await;
}

#[tokio::test]
async fn a_document_saved_by_a_tool_is_announced_live_and_again_on_resume() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::tool_use(
        "toolu_save",
        "save_document",
        json!({"title": "Fib", "kind": "code", "language": "rust", "content": "fn fib() {}"}),
    ));
    fake.reply(Reply::text("Saved."));
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ask(None, "Write fib in Rust")).await;
    let events = until_finished(&mut socket).await;
    let result_at = events
        .iter()
        .position(|(_, _, e)| matches!(e, RunEvent::ToolResult { name, is_error: false, .. } if name == "save_document"))
        .expect("the tool ran");
    let RunEvent::DocumentSaved { document } = &events[result_at + 1].2 else {
        panic!("document_saved right after the tool result: {:?}", events[result_at + 1].2)
    };
    assert_eq!(
        (document.title.as_str(), document.kind.as_str(), document.version, document.created),
        ("Fib", "code", 1, true)
    );
    let stored: (String, Option<String>) =
        sqlx::query_as("SELECT kind, language FROM documents WHERE id = $1::uuid")
            .bind(&document.id)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(stored, ("code".to_owned(), Some("rust".to_owned())));

    // Another connection resuming the run from the start is told too.
    let run_id = events[0].0.clone();
    let mut again = open(app.port, &client).await;
    send(&mut again, &ClientMessage::Resume { run_id, after_seq: 0 }).await;
    let replayed = until_finished(&mut again).await;
    assert!(
        replayed
            .iter()
            .any(|(_, _, e)| matches!(e, RunEvent::DocumentSaved { document: d } if d == document))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_run_closed_without_a_finished_event_still_ends_for_a_resuming_client() {
    // Runs closed before every log ended with `Finished` (an older server's orphans).
    let fake = FakeAnthropic::start().await;
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let user_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users").fetch_one(&app.owner_pool).await.unwrap();
    let (conversation_id, run_id) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, 'Old')")
        .bind(conversation_id)
        .bind(user_id)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO runs (id, user_id, conversation_id, status, outcome, error_code, model)
         VALUES ($1, $2, $3, 'failed', 'orphaned', 'interrupted', 'm')",
    )
    .bind(run_id)
    .bind(user_id)
    .bind(conversation_id)
    .execute(&app.owner_pool)
    .await
    .unwrap();
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ClientMessage::Resume { run_id: run_id.to_string(), after_seq: 0 }).await;
    let events = until_finished(&mut socket).await;

    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0], (_, 1, RunEvent::Finished { status: RunStatus::Failed, error: Some(error), .. }) if error.retryable),
        "{events:?}"
    );
    app.stop().await;
}
