//! Edits and regenerations make branches: the earlier version is kept, the model is sent only the
//! branch shown, the version shown is kept for the next visit, and nobody reaches another user's
//! messages.

use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply};
use jarvis_types::protocol::{ClientMessage, ErrorCode, RunEvent, RunStatus, ServerMessage};
use reqwest::StatusCode;
use serde_json::Value;

use crate::chat::{Socket, ask, next, open, send, until_finished};
use crate::helpers::{Client, TestApp, spawn_app_with};

async fn app_with_model(fake: &FakeAnthropic) -> TestApp {
    spawn_app_with(&[("ANTHROPIC_BASE_URL", &fake.base_url()), ("ANTHROPIC_API_KEY", "sk-ant-test")]).await
}

/// What a run's `Started` said: its conversation, its question's id, its reply's id.
struct Begun {
    conversation_id: String,
    question_id: String,
    reply_id: String,
}

/// Sends `message` and waits for its run to complete.
async fn run(socket: &mut Socket, message: &ClientMessage) -> Begun {
    send(socket, message).await;
    let events = until_finished(socket).await;
    let RunEvent::Started { conversation_id, user_message_id, reply_id, .. } = &events[0].2 else {
        panic!("started first: {events:?}")
    };
    assert!(
        matches!(&events.last().unwrap().2, RunEvent::Finished { status: RunStatus::Completed, .. }),
        "{events:?}"
    );
    Begun {
        conversation_id: conversation_id.clone(),
        question_id: user_message_id.clone().expect("the question's id"),
        reply_id: reply_id.clone().expect("the reply's id"),
    }
}

/// The messages of the model's last request, as (role, text).
fn last_request(fake: &FakeAnthropic) -> Vec<(String, String)> {
    let requests = fake.requests();
    let body = &requests.last().expect("the model was called").body;
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|message| {
            let text = match &message["content"] {
                Value::String(text) => text.clone(),
                Value::Array(blocks) => blocks.iter().filter_map(|block| block["text"].as_str()).collect(),
                other => panic!("content {other}"),
            };
            (message["role"].as_str().unwrap().to_owned(), text)
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(role, text)| ((*role).to_owned(), (*text).to_owned())).collect()
}

/// The conversation as a page load shows it: (role, text, versions) of each message.
async fn shown(client: &Client, conversation_id: &str) -> Vec<(String, String, Vec<String>)> {
    let (status, view) = client.server_fn("conversation", &[("id", conversation_id)]).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    messages_of(&view)
}

fn messages_of(view: &Value) -> Vec<(String, String, Vec<String>)> {
    view["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|message| {
            let versions = message["versions"]
                .as_array()
                .map(|ids| ids.iter().map(|id| id.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            (
                message["role"].as_str().unwrap().to_owned(),
                message["text"].as_str().unwrap().to_owned(),
                versions,
            )
        })
        .collect()
}

fn edit(begun: &Begun, message_id: &str, text: &str) -> ClientMessage {
    ClientMessage::Edit {
        client_message_id: uuid::Uuid::new_v4().to_string(),
        conversation_id: begun.conversation_id.clone(),
        message_id: message_id.to_owned(),
        text: text.to_owned(),
        model: None,
    }
}

fn regenerate(conversation_id: &str, message_id: &str) -> ClientMessage {
    ClientMessage::Regenerate {
        client_message_id: uuid::Uuid::new_v4().to_string(),
        conversation_id: conversation_id.to_owned(),
        message_id: message_id.to_owned(),
        model: None,
    }
}

#[tokio::test]
async fn an_edit_is_a_new_version_beside_the_question_and_the_model_sees_only_its_branch() {
    let fake = FakeAnthropic::start().await;
    for answer in ["Answer one.", "Answer two.", "Answer to the edit."] {
        fake.reply(Reply::text(answer));
    }
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let first = run(&mut socket, &ask(None, "First")).await;
    let second = run(&mut socket, &ask(Some(first.conversation_id.clone()), "Second")).await;
    let edited = run(&mut socket, &edit(&first, &second.question_id, "Second, edited")).await;

    assert_eq!(edited.conversation_id, first.conversation_id);
    assert_ne!(edited.question_id, second.question_id, "a new message, not a changed one");
    assert_eq!(
        last_request(&fake),
        pairs(&[("user", "First"), ("assistant", "Answer one."), ("user", "Second, edited")]),
        "the edited question's old branch is not sent"
    );
    let versions = vec![second.question_id.clone(), edited.question_id.clone()];
    assert_eq!(
        shown(&client, &first.conversation_id).await,
        vec![
            ("user".into(), "First".into(), vec![]),
            ("assistant".into(), "Answer one.".into(), vec![]),
            ("user".into(), "Second, edited".into(), versions.clone()),
            ("assistant".into(), "Answer to the edit.".into(), vec![]),
        ]
    );

    // The earlier version is a switch away, with its reply, and stays shown after a reload.
    let (status, view) = client
        .server_fn(
            "show_version",
            &[("conversation_id", &first.conversation_id), ("message_id", &second.question_id)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let old_branch = vec![
        ("user".into(), "First".into(), vec![]),
        ("assistant".into(), "Answer one.".into(), vec![]),
        ("user".into(), "Second".into(), versions),
        ("assistant".into(), "Answer two.".into(), vec![]),
    ];
    assert_eq!(messages_of(&view), old_branch);
    assert_eq!(shown(&client, &first.conversation_id).await, old_branch);

    let stored: Vec<(String, Option<uuid::Uuid>)> = sqlx::query_as(
        "SELECT content->0->>'text', parent_id FROM messages WHERE role = 'user' ORDER BY position",
    )
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert_eq!(stored[1].1, stored[2].1, "the edit has the edited question's parent");
}

#[tokio::test]
async fn a_regenerated_reply_keeps_the_old_one_and_the_version_chosen_is_the_one_continued() {
    let fake = FakeAnthropic::start().await;
    for answer in ["Hi, one.", "Hi, two.", "Going on from one."] {
        fake.reply(Reply::text(answer));
    }
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let first = run(&mut socket, &ask(None, "Hello")).await;
    let again = run(&mut socket, &regenerate(&first.conversation_id, &first.reply_id)).await;

    assert_eq!(again.question_id, first.question_id, "the same question is answered again");
    assert_eq!(last_request(&fake), pairs(&[("user", "Hello")]), "the old reply is not sent");
    let versions = vec![first.reply_id.clone(), again.reply_id.clone()];
    assert_eq!(
        shown(&client, &first.conversation_id).await,
        vec![
            ("user".into(), "Hello".into(), vec![]),
            ("assistant".into(), "Hi, two.".into(), versions.clone())
        ]
    );
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM runs WHERE status = 'completed'")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(runs, 2, "each version has its own run (and usage)");

    let (status, _) = client
        .server_fn(
            "show_version",
            &[("conversation_id", &first.conversation_id), ("message_id", &first.reply_id)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let old_branch =
        vec![("user".into(), "Hello".into(), vec![]), ("assistant".into(), "Hi, one.".into(), versions)];
    assert_eq!(shown(&client, &first.conversation_id).await, old_branch, "kept across a reload");

    // The conversation goes on from the version shown.
    run(&mut socket, &ask(Some(first.conversation_id.clone()), "And then?")).await;
    assert_eq!(
        last_request(&fake),
        pairs(&[("user", "Hello"), ("assistant", "Hi, one."), ("user", "And then?")])
    );
}

#[tokio::test]
async fn another_users_messages_cannot_be_edited_regenerated_or_switched_to() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Private answer."));
    fake.reply(Reply::text("Mallory's answer."));
    let app = app_with_model(&fake).await;
    let (alice, _) = app.signed_in_client().await;
    let (mallory, _) = app.signed_in_client().await;
    let mut alice_socket = open(app.port, &alice).await;
    let mut mallory_socket = open(app.port, &mallory).await;
    let private = run(&mut alice_socket, &ask(None, "Private question")).await;
    let own = run(&mut mallory_socket, &ask(None, "Mallory's question")).await;
    let count = |sql: &'static str| {
        let pool = app.owner_pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    let before = (count("SELECT count(*) FROM messages").await, count("SELECT count(*) FROM runs").await);
    let heads = || async {
        sqlx::query_scalar::<_, Option<uuid::Uuid>>("SELECT head_message_id FROM conversations ORDER BY id")
            .fetch_all(&app.owner_pool)
            .await
            .unwrap()
    };
    let heads_before = heads().await;

    for attempt in [
        edit(&private, &private.question_id, "Mine now"),
        // Her message named from a conversation of his own.
        edit(&own, &private.question_id, "Mine now"),
        regenerate(&private.conversation_id, &private.reply_id),
        regenerate(&own.conversation_id, &private.question_id),
    ] {
        send(&mut mallory_socket, &attempt).await;
        match next(&mut mallory_socket).await {
            ServerMessage::Error { code: ErrorCode::NotFound, .. } => {}
            other => panic!("{attempt:?} answered {other:?}"),
        }
    }
    let (status, _) = mallory
        .server_fn(
            "show_version",
            &[("conversation_id", &private.conversation_id), ("message_id", &private.question_id)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = mallory
        .server_fn(
            "show_version",
            &[("conversation_id", &own.conversation_id), ("message_id", &private.reply_id)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert_eq!(
        (count("SELECT count(*) FROM messages").await, count("SELECT count(*) FROM runs").await),
        before,
        "nothing was stored"
    );
    assert_eq!(heads().await, heads_before, "no branch moved");
    assert_eq!(fake.requests().len(), 2, "the model was not called");

    // His own reply cannot be "edited" either: only questions can.
    send(&mut mallory_socket, &edit(&own, &own.reply_id, "Changed")).await;
    assert!(matches!(
        next(&mut mallory_socket).await,
        ServerMessage::Error { code: ErrorCode::InvalidMessage, .. }
    ));
}
