//! Models as configuration, end to end: `GET /api/models` lists what the plan allows, a `send`
//! names a model (refused with a sentence, nothing stored, when the plan does not include it),
//! the conversation remembers it, the run is answered by that model's provider and metered at
//! its prices, and attachments reach the model as image and document blocks, or are refused
//! before anything is stored when the chosen model cannot read them; the agent saves an
//! attachment into the library.

use std::io::Cursor;

use base64::Engine as _;
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply};
use jarvis_testkit::fake_openai_chat::{FakeOpenAiChat, Reply as OpenAiReply};
use jarvis_types::chat::{ConversationView, ModelChoices};
use jarvis_types::protocol::{ClientMessage, ErrorCode, RunEvent, RunStatus, ServerMessage};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::chat::{Socket, next, open, send, until_finished};
use crate::helpers::{Client, TestApp, spawn_app_with};

fn temp_json(json: &str) -> String {
    let path = std::env::temp_dir().join(format!("jarvis-models-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}

/// Two Claude models on the fake: "smart" (the default; reads images and PDFs; $3/$15) and
/// "fast" (text only; $1/$5), and, when given, an OpenAI-compatible "local" one.
fn models_file(anthropic: &FakeAnthropic, openai: Option<&FakeOpenAiChat>) -> String {
    let local = openai.map_or(String::new(), |fake| {
        format!(
            r#", {{"id": "local", "display_name": "Local Llama", "provider": "openai", "base_url": "{}",
                 "model": "llama3.2", "context_window": 8192, "max_output_tokens": 2048,
                 "prices": {{"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}}}}"#,
            fake.base_url()
        )
    });
    temp_json(&format!(
        r#"{{"models": [
            {{"id": "smart", "display_name": "Claude Sonnet", "provider": "anthropic", "base_url": "{base}",
              "api_key_env": "TEST_MODELS_ANTHROPIC_KEY", "model": "claude-sonnet-4-5",
              "context_window": 200000, "max_output_tokens": 64000, "images": true, "pdf": true,
              "prices": {{"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75}}}},
            {{"id": "fast", "display_name": "Claude Haiku", "provider": "anthropic", "base_url": "{base}",
              "api_key_env": "TEST_MODELS_ANTHROPIC_KEY", "model": "claude-haiku-4-5",
              "context_window": 200000, "max_output_tokens": 64000,
              "prices": {{"input": 1, "output": 5, "cache_read": 0.1, "cache_write": 1.25}}}}{local}
           ], "default": "smart"}}"#,
        base = anthropic.base_url()
    ))
}

async fn app(anthropic: &FakeAnthropic, openai: Option<&FakeOpenAiChat>, plans: Option<&str>) -> TestApp {
    let models = models_file(anthropic, openai);
    let plans = plans.map(temp_json);
    let mut settings =
        vec![("JARVIS_MODELS_FILE", models.as_str()), ("TEST_MODELS_ANTHROPIC_KEY", "sk-ant-test")];
    if let Some(plans) = &plans {
        settings.push(("JARVIS_PLANS_FILE", plans.as_str()));
    }
    spawn_app_with(&settings).await
}

fn ask(
    conversation_id: Option<&str>,
    text: &str,
    model: Option<&str>,
    attachments: Vec<String>,
) -> ClientMessage {
    ClientMessage::Send {
        client_message_id: uuid::Uuid::new_v4().to_string(),
        conversation_id: conversation_id.map(str::to_owned),
        text: text.to_owned(),
        attachments,
        model: model.map(str::to_owned),
    }
}

/// Sends and waits for the run; its events.
async fn exchange(socket: &mut Socket, message: &ClientMessage) -> Vec<(String, u64, RunEvent)> {
    send(socket, message).await;
    until_finished(socket).await
}

fn started(events: &[(String, u64, RunEvent)]) -> (String, Option<String>, usize) {
    match &events[0].2 {
        RunEvent::Started { conversation_id, model, attachments, .. } => {
            (conversation_id.clone(), model.clone(), attachments.len())
        }
        other => panic!("started first, not {other:?}"),
    }
}

fn finished_status(events: &[(String, u64, RunEvent)]) -> RunStatus {
    match &events.last().unwrap().2 {
        RunEvent::Finished { status, .. } => *status,
        other => panic!("{other:?}"),
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.owner_pool).await.unwrap()
}

async fn conversation_view(client: &Client, id: &str) -> ConversationView {
    let body = client.post_form("/api/conversation", &[("id", id)]).await.text().await.unwrap();
    serde_json::from_str::<Option<ConversationView>>(&body).expect("a conversation").expect("found")
}

async fn attach(app: &TestApp, client: &Client, name: &str, bytes: &[u8]) -> Value {
    let form = Form::new().part("file", Part::bytes(bytes.to_vec()).file_name(name.to_owned()));
    let response = client
        .http
        .post(format!("{}/api/attachments", app.address))
        .header("origin", &app.address)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image).write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A one-page PDF with a correct cross-reference table.
fn pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(b"xref\n0 4\n0000000000 65535 f \n");
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    pdf
}

#[tokio::test]
async fn the_models_endpoint_lists_only_the_models_the_plan_allows() {
    let fake = FakeAnthropic::start().await;
    let plans = r#"{"plans": [{"id": "free", "name": "Free", "models": ["fast"]}], "default_plan": "free"}"#;
    let app = app(&fake, None, Some(plans)).await;
    assert_eq!(app.client().get("/api/models").await.status(), StatusCode::UNAUTHORIZED);

    let (client, _) = app.signed_in_client().await;
    let response = client.get("/api/models").await;
    assert_eq!(response.status(), StatusCode::OK);
    let choices: ModelChoices = response.json().await.unwrap();
    let ids: Vec<&str> = choices.models.iter().map(|model| model.id.as_str()).collect();
    assert_eq!(ids, ["fast"]);
    assert_eq!(choices.default, "fast", "the deployment's default is not in the plan: its first model");
    assert_eq!(choices.models[0].display_name, "Claude Haiku");
    assert!(!choices.models[0].images);
    app.stop().await;
}

#[tokio::test]
async fn a_send_with_a_model_the_plan_does_not_allow_is_refused_and_stores_nothing() {
    let fake = FakeAnthropic::start().await;
    let plans = r#"{"plans": [{"id": "free", "name": "Free", "models": ["fast"]}], "default_plan": "free"}"#;
    let app = app(&fake, None, Some(plans)).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ask(None, "Hello", Some("smart"), Vec::new())).await;
    match next(&mut socket).await {
        ServerMessage::Error { code: ErrorCode::InvalidMessage, message, .. } => {
            assert_eq!(message, "Your Free plan does not include Claude Sonnet. Choose another model.");
        }
        other => panic!("refused, not {other:?}"),
    }
    send(&mut socket, &ask(None, "Hello", Some("opus"), Vec::new())).await;
    assert!(matches!(next(&mut socket).await, ServerMessage::Error { code: ErrorCode::InvalidMessage, .. }));
    for table in ["conversations", "messages", "runs", "usage_records"] {
        assert_eq!(count(&app, &format!("SELECT count(*) FROM {table}")).await, 0, "{table}");
    }
    assert!(fake.requests().is_empty(), "the model was not asked");
    app.stop().await;
}

#[tokio::test]
async fn the_chosen_model_is_remembered_per_conversation_used_by_the_run_and_metered_at_its_prices() {
    let fake = FakeAnthropic::start().await;
    for _ in 0..3 {
        fake.reply(Reply::text("Noted.").usage(1000, 100));
    }
    let app = app(&fake, None, None).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let events = exchange(&mut socket, &ask(None, "First", Some("fast"), Vec::new())).await;
    let (conversation, model, _) = started(&events);
    assert_eq!(model.as_deref(), Some("fast"));
    assert_eq!(fake.requests()[0].body["model"], "claude-haiku-4-5");

    // No model named: the conversation's is used.
    let events = exchange(&mut socket, &ask(Some(&conversation), "Second", None, Vec::new())).await;
    assert_eq!(started(&events).1.as_deref(), Some("fast"));
    assert_eq!(fake.requests()[1].body["model"], "claude-haiku-4-5");

    // Another conversation without a choice: the default.
    let events = exchange(&mut socket, &ask(None, "Elsewhere", None, Vec::new())).await;
    assert_eq!(started(&events).1.as_deref(), Some("smart"));
    assert_eq!(fake.requests()[2].body["model"], "claude-sonnet-4-5");

    let view = conversation_view(&client, &conversation).await;
    assert_eq!(view.model.as_deref(), Some("fast"));
    let reply = view.messages.iter().find(|message| message.role == "assistant").unwrap();
    assert_eq!(reply.model.as_deref(), Some("fast"), "a reply names the model that wrote it");

    let mut costs: Vec<(String, i64)> =
        sqlx::query_as("SELECT model, cost_micros FROM usage_records ORDER BY started_at")
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    costs.sort();
    // 1000 in and 100 out: fast at $1/$5 per million, smart at $3/$15.
    assert_eq!(costs, [("fast".into(), 1500), ("fast".into(), 1500), ("smart".into(), 4500)]);
    app.stop().await;
}

#[tokio::test]
async fn a_model_of_the_openai_protocol_answers_when_chosen() {
    let anthropic = FakeAnthropic::start().await;
    let openai = FakeOpenAiChat::start().await;
    openai.reply(OpenAiReply::text("Hello from llama.").usage(20, 5, 0));
    let app = app(&anthropic, Some(&openai), None).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let events = exchange(&mut socket, &ask(None, "Hi", Some("local"), Vec::new())).await;
    assert_eq!(finished_status(&events), RunStatus::Completed, "{events:?}");
    assert_eq!(crate::chat::text_of(&events), "Hello from llama.");
    assert_eq!(openai.requests()[0].body["model"], "llama3.2");
    assert!(openai.requests()[0].bearer().is_none(), "no api_key_env: no key is sent");
    assert!(anthropic.requests().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn an_image_for_a_model_without_images_is_refused_with_a_sentence_and_nothing_is_stored() {
    let fake = FakeAnthropic::start().await;
    let app = app(&fake, None, None).await;
    let (client, _) = app.signed_in_client().await;
    let image = attach(&app, &client, "cat.png", &png(40, 30)).await;
    let mut socket = open(app.port, &client).await;

    let id = image["id"].as_str().unwrap().to_owned();
    send(&mut socket, &ask(None, "What is this?", Some("fast"), vec![id])).await;
    match next(&mut socket).await {
        ServerMessage::Error { code: ErrorCode::InvalidMessage, message, .. } => assert_eq!(
            message,
            "Claude Haiku cannot read images, so \"cat.png\" cannot be sent to it. Remove it, or choose a model that reads images."
        ),
        other => panic!("refused, not {other:?}"),
    }
    assert_eq!(count(&app, "SELECT count(*) FROM messages").await, 0);
    assert_eq!(
        count(&app, "SELECT count(*) FROM attachments WHERE message_id IS NULL").await,
        1,
        "still unsent"
    );
    assert!(fake.requests().is_empty());

    let too_many: Vec<String> = (0..11).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    send(&mut socket, &ask(None, "Many", None, too_many)).await;
    assert!(matches!(next(&mut socket).await, ServerMessage::Error { code: ErrorCode::InvalidMessage, .. }));
    app.stop().await;
}

#[tokio::test]
async fn attachments_reach_the_model_as_image_and_document_blocks_and_stay_on_the_message_after_a_reload() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("A chart and a form."));
    let app = app(&fake, None, None).await;
    let (client, _) = app.signed_in_client().await;
    let png = png(64, 48);
    let pdf = pdf();
    let image = attach(&app, &client, "chart.png", &png).await;
    let document = attach(&app, &client, "form.pdf", &pdf).await;
    let ids = vec![image["id"].as_str().unwrap().to_owned(), document["id"].as_str().unwrap().to_owned()];
    let mut socket = open(app.port, &client).await;

    // Attachments with no text at all.
    let events = exchange(&mut socket, &ask(None, "", None, ids.clone())).await;
    assert_eq!(finished_status(&events), RunStatus::Completed, "{events:?}");
    let (conversation, model, attached) = started(&events);
    assert_eq!((model.as_deref(), attached), (Some("smart"), 2));

    let request = &fake.requests()[0].body;
    let content = request["messages"][0]["content"].as_array().unwrap();
    let of_type = |kind: &str| {
        content.iter().find(|block| block["type"] == kind).unwrap_or_else(|| panic!("{kind} in {content:?}"))
    };
    let engine = base64::engine::general_purpose::STANDARD;
    let image_block = of_type("image");
    assert_eq!(image_block["source"]["media_type"], "image/png");
    assert_eq!(engine.decode(image_block["source"]["data"].as_str().unwrap()).unwrap(), png);
    let document_block = of_type("document");
    assert_eq!(document_block["source"]["media_type"], "application/pdf");
    assert_eq!(engine.decode(document_block["source"]["data"].as_str().unwrap()).unwrap(), pdf);
    assert!(content.iter().all(|block| block["type"] != "attachment"), "never sent as such");

    let view = conversation_view(&client, &conversation).await;
    let question = &view.messages[0];
    let names: Vec<&str> = question.attachments.iter().map(|view| view.filename.as_str()).collect();
    assert_eq!(names, ["chart.png", "form.pdf"]);
    assert_eq!(view.title, "chart.png", "a question of attachments alone is named after the first");

    // Sent once: the same attachments cannot be sent again.
    send(&mut socket, &ask(Some(&conversation), "Again", None, ids)).await;
    assert!(matches!(next(&mut socket).await, ServerMessage::Error { code: ErrorCode::InvalidMessage, .. }));
    app.stop().await;
}

#[tokio::test]
async fn the_agent_saves_an_attachment_of_the_users_into_the_library_but_not_another_users() {
    let fake = FakeAnthropic::start().await;
    let app = app(&fake, None, None).await;
    let (client, _) = app.signed_in_client().await;
    let (stranger, _) = app.signed_in_client().await;
    let png = png(32, 32);
    let mine = attach(&app, &client, "sketch.png", &png).await["id"].as_str().unwrap().to_owned();
    let theirs = attach(&app, &stranger, "private.png", &png).await["id"].as_str().unwrap().to_owned();
    // The model asks to save the user's attachment, then a stranger's (an id it could have
    // guessed): the first is saved, the second is an error result, not someone else's file.
    fake.reply(Reply::tool_use(
        "toolu_save_1",
        "save_attachment_to_library",
        serde_json::json!({"attachment_id": mine, "filename": "kept-sketch.png"}),
    ));
    fake.reply(Reply::tool_use(
        "toolu_save_2",
        "save_attachment_to_library",
        serde_json::json!({"attachment_id": theirs}),
    ));
    fake.reply(Reply::text("Saved it."));
    let mut socket = open(app.port, &client).await;
    let events = exchange(&mut socket, &ask(None, "Keep this", None, vec![mine.clone()])).await;
    assert_eq!(finished_status(&events), RunStatus::Completed, "{events:?}");

    let results: Vec<(bool, String)> = events
        .iter()
        .filter_map(|(_, _, event)| match event {
            RunEvent::ToolResult { is_error, output, .. } => Some((*is_error, output.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 2, "{events:?}");
    assert!(!results[0].0, "{results:?}");
    assert!(results[1].0, "a stranger's attachment is refused: {results:?}");

    let (_, library) = client.server_fn("library", &[("sort", "updated"), ("query", "")]).await;
    let names: Vec<&str> =
        library["files"].as_array().unwrap().iter().filter_map(|file| file["filename"].as_str()).collect();
    assert_eq!(names, ["kept-sketch.png"], "{library}");
    let (_, theirs) = stranger.server_fn("library", &[("sort", "updated"), ("query", "")]).await;
    assert_eq!(theirs["files"].as_array().unwrap().len(), 0, "{theirs}");
    app.stop().await;
}
