//! NUL (U+0000), which Postgres can store neither in `text` nor in `jsonb`, never ends in a 500:
//! a person's message, document or setting holding one is refused with a sentence and changes
//! nothing; a search holding one searches for the rest; a tool input from the model holding one
//! is kept with U+FFFD in its place.

use jarvis_backend::agent::tools::{ToolContext, ToolRegistry};
use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply};
use jarvis_types::protocol::{ErrorCode, RunEvent, RunStatus, ServerMessage};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::chat::{ask, next, open, send, until_finished};
use crate::helpers::{Client, TestApp, spawn_app, spawn_app_with};

const REFUSAL: &str = "contains a NUL character (U+0000), which cannot be saved. Remove it and try again.";

async fn app_with_model(fake: &FakeAnthropic) -> TestApp {
    spawn_app_with(&[("ANTHROPIC_BASE_URL", &fake.base_url()), ("ANTHROPIC_API_KEY", "sk-ant-test")]).await
}

/// Uploads one text file, which becomes a document; returns the document.
async fn upload_text(client: &Client, name: &str, text: &str) -> Value {
    let response = client.upload(&[(name, text.as_bytes())]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    report["uploaded"][0]["document"].clone()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&app.owner_pool).await.unwrap()
}

#[tokio::test]
async fn a_message_with_nul_is_refused_with_a_sentence_and_nothing_is_stored() {
    let fake = FakeAnthropic::start().await;
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ask(None, "Hello\0there")).await;
    let ServerMessage::Error { code, message, retryable } = next(&mut socket).await else {
        panic!("an error, not a run")
    };
    assert_eq!(code, ErrorCode::InvalidMessage);
    assert_eq!(message, format!("Your message {REFUSAL}"));
    assert!(!retryable);

    // The same message in a conversation that exists is refused too, and it stays as it was.
    send(&mut socket, &ask(None, "Hello")).await;
    let events = until_finished(&mut socket).await;
    let RunEvent::Started { conversation_id, .. } = &events[0].2 else { panic!("{events:?}") };
    let messages = count(&app, "messages").await;
    send(&mut socket, &ask(Some(conversation_id.clone()), "\0")).await;
    assert!(matches!(
        next(&mut socket).await,
        ServerMessage::Error { code: ErrorCode::InvalidMessage, message, .. } if message.contains("U+0000")
    ));
    assert_eq!((count(&app, "runs").await, count(&app, "messages").await), (1, messages));
    assert_eq!(fake.requests().len(), 1, "only the clean message reached the model");
    app.stop().await;
}

#[tokio::test]
async fn a_document_saved_from_the_editor_with_nul_is_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let document = upload_text(&client, "plan.md", "# Plan\n").await;
    let id = document["id"].as_str().unwrap();

    let (status, refused) =
        client.server_fn("save_document", &[("id", id), ("version", "1"), ("content", "# Plan\0\n")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused.to_string().contains(&format!("The document {REFUSAL}")), "{refused}");

    let (status, current) = client.server_fn("document", &[("id", id)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((current["version"].as_i64(), current["content"].as_str()), (Some(1), Some("# Plan\n")));
    assert_eq!(count(&app, "document_versions").await, 1);

    // A title drops control characters, NUL among them, as it always did: no error either.
    let (status, renamed) = client.server_fn("rename_document", &[("id", id), ("title", "Pl\0an")]).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["title"], "Plan");
    app.stop().await;
}

#[tokio::test]
async fn a_search_with_nul_answers_and_looks_for_the_rest() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    upload_text(&client, "notes.txt", "Remember the flashlight and spare batteries.").await;

    let (status, library) =
        client.server_fn("library", &[("sort", "updated"), ("query", "flashlight\0batteries")]).await;
    assert_eq!(status, StatusCode::OK, "{library}");
    let hits = library["documents"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{library}");
    assert!(hits[0]["snippet"].as_str().unwrap().contains("«flashlight»"), "{library}");

    let (status, library) = client.server_fn("library", &[("sort", "updated"), ("query", "\0")]).await;
    assert_eq!(status, StatusCode::OK, "{library}");
    app.stop().await;
}

#[tokio::test]
async fn a_voice_name_with_nul_is_refused_with_a_sentence() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let (status, refused) = client
        .server_fn(
            "voice_settings",
            &[
                ("settings[enabled]", "false"),
                ("settings[voice]", "al\0to"),
                ("settings[speed]", "1.0"),
                ("settings[autoplay]", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused.to_string().contains(&format!("The voice's name {REFUSAL}")), "{refused}");
    assert_eq!(count(&app, "voice_settings").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn tool_inputs_with_nul_are_kept_with_the_replacement_character() {
    let app = spawn_app().await;
    let (_client, email) = app.signed_in_client().await;
    let user_id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1::citext")
        .bind(&email)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    // A run for the versions to name as their author.
    let (conversation_id, run_id) = (Uuid::new_v4(), Uuid::new_v4());
    sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, 'Tools')")
        .bind(conversation_id)
        .bind(user_id)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO runs (id, user_id, conversation_id, status, outcome, model)
         VALUES ($1, $2, $3, 'completed', 'completed', 'm')",
    )
    .bind(run_id)
    .bind(user_id)
    .bind(conversation_id)
    .execute(&app.owner_pool)
    .await
    .unwrap();
    let mut registry = ToolRegistry::default();
    jarvis_backend::library::documents::tools::register(&mut registry, app.app_pool.clone(), None);
    let context = ToolContext::for_run(user_id, run_id);

    let saved = registry
        .call(
            context,
            "save_document",
            json!({"title": "Nul\0s", "kind": "code", "language": "ru\0st", "content": "a\0b"}),
        )
        .await
        .expect("the document is saved");
    let id: Uuid =
        serde_json::from_str::<Value>(&saved.content).unwrap()["id"].as_str().unwrap().parse().unwrap();
    let updated = registry
        .call(
            context,
            "update_document",
            json!({"id": id.to_string(), "version": 1, "find": "\u{FFFD}b", "replace": "\0c\0"}),
        )
        .await
        .expect("the document is updated");
    assert!(updated.content.contains("\"version\":2"), "{}", updated.content);
    let searched =
        registry.call(context, "search_documents", json!({"query": "\0"})).await.expect("a search answers");
    assert!(!searched.content.contains('\0'));

    let stored: (String, Option<String>, String) =
        sqlx::query_as("SELECT title, language, content FROM documents WHERE id = $1")
            .bind(id)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(stored, ("Nul\u{FFFD}s".into(), Some("ru\u{FFFD}st".into()), "a\u{FFFD}c\u{FFFD}".into()));
    app.stop().await;
}

#[tokio::test]
async fn a_tool_call_from_the_model_with_nul_saves_the_document_with_the_replacement_character() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::tool_use(
        "toolu_nul",
        "save_document",
        json!({"title": "Bytes", "kind": "text", "content": "before\0after"}),
    ));
    fake.reply(Reply::text("Saved."));
    let app = app_with_model(&fake).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ask(None, "Save the bytes")).await;
    let events = until_finished(&mut socket).await;

    assert!(
        events.iter().any(
            |(_, _, e)| matches!(e, RunEvent::ToolResult { name, is_error: false, .. } if name == "save_document")
        ),
        "{events:?}"
    );
    assert!(
        matches!(&events.last().unwrap().2, RunEvent::Finished { status: RunStatus::Completed, .. }),
        "{events:?}"
    );
    let content: String = sqlx::query_scalar("SELECT content FROM documents WHERE title = 'Bytes'")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(content, "before\u{FFFD}after");
    app.stop().await;
}
