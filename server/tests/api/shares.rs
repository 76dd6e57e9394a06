//! Shared conversations and the Markdown export, end to end: a link shows the conversation as it
//! was when shared, to anyone with no session, marked `noindex`, and nothing else of its owner's;
//! stopping sharing kills it at once; nobody can share or export another user's conversation.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

/// A conversation of `user` titled `title` with these (role, content blocks) messages.
async fn conversation(
    app: &TestApp,
    user: Uuid,
    title: &str,
    messages: &[(&str, serde_json::Value)],
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(user)
        .bind(title)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    for (role, content) in messages {
        add_message(app, user, id, role, content.clone()).await;
    }
    id
}

async fn add_message(app: &TestApp, user: Uuid, conversation: Uuid, role: &str, content: serde_json::Value) {
    sqlx::query(
        "INSERT INTO messages (id, user_id, conversation_id, role, content) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(user)
    .bind(conversation)
    .bind(role)
    .bind(content)
    .execute(&app.owner_pool)
    .await
    .unwrap();
}

fn text(text: &str) -> serde_json::Value {
    json!([{ "type": "text", "text": text }])
}

/// Alice's conversation about a plan: a question, a reply that used a tool (whose output holds a
/// secret that must not be shared) and says something in Markdown, with a script in it.
async fn alices_plan(app: &TestApp, alice: Uuid) -> Uuid {
    conversation(
        app,
        alice,
        "Trip plan",
        &[
            ("user", text("Plan a trip to Lisbon")),
            (
                "assistant",
                json!([
                    { "type": "text", "text": "Saving it." },
                    { "type": "tool_use", "id": "t1", "name": "save_document", "input": { "title": "Lisbon" } }
                ]),
            ),
            (
                "user",
                json!([{ "type": "tool_result", "tool_use_id": "t1", "content": "TOOL-OUTPUT-SECRET" }]),
            ),
            ("assistant", text("Day one is **Alfama**. <script>alert('x')</script>")),
        ],
    )
    .await
}

/// Shares conversation `id` as `client`: the server function's status and answer.
async fn share(client: &crate::helpers::Client, id: Uuid) -> (StatusCode, serde_json::Value) {
    client.server_fn("share_conversation", &[("id", &id.to_string())]).await
}

#[tokio::test]
async fn a_shared_link_shows_the_snapshot_to_anyone_noindexed_and_nothing_else() {
    let app = spawn_app().await;
    let (alice, email) = app.signed_in_client().await;
    let alice_id = app.user_id(&email).await;
    let plan = alices_plan(&app, alice_id).await;
    let other =
        conversation(&app, alice_id, "Medical notes", &[("user", text("OTHER-CONVERSATION-TEXT"))]).await;

    let (status, path) = share(&alice, plan).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    let path = path.as_str().unwrap().to_owned();
    let token = path.strip_prefix("/share/").expect("a share path");
    assert_eq!(token.len(), 43, "256 random bits, base64url");
    // Only the token's hash is stored.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM conversation_shares")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(stored, jarvis_backend::accounts::tokens::hash_token(token));

    // A later message is not in the snapshot.
    add_message(&app, alice_id, plan, "user", text("LATER-MESSAGE")).await;

    // Anyone: a client with no cookies at all.
    let response = app.client().get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("x-robots-tag").unwrap(), "noindex");
    // No cache may keep it past a revocation.
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"<meta name="robots" content="noindex""#), "{page}");
    assert!(page.contains(r#"<meta name="referrer" content="no-referrer""#), "{page}");
    assert!(page.contains("Trip plan"), "{page}");
    assert!(page.contains("Plan a trip to Lisbon"), "{page}");
    assert!(page.contains("<strong>Alfama</strong>"), "rendered as the chat renders Markdown: {page}");
    assert!(page.contains("Saved a document"), "what the tool did is said in words: {page}");
    assert!(page.contains(">User</h2>") && page.contains(">Jarvis</h2>"), "who said what: {page}");
    assert!(!page.contains("<script>alert"), "raw HTML is never markup: {page}");
    for secret in [
        "LATER-MESSAGE",
        "TOOL-OUTPUT-SECRET",
        "OTHER-CONVERSATION-TEXT",
        "Medical notes",
        email.as_str(),
        &alice_id.to_string(),
        &plan.to_string(),
        &other.to_string(),
    ] {
        assert!(!page.contains(secret), "the shared page shows {secret:?}");
    }

    // The page's data function, called directly, tells no more.
    let (status, body) = app.client().server_fn("read_shared", &[("token", token)]).await;
    assert_eq!(status, StatusCode::OK);
    let body = body.to_string();
    assert!(
        body.contains("Plan a trip to Lisbon") && !body.contains(&email) && !body.contains("LATER-MESSAGE")
    );

    // Unknown and malformed tokens name nothing.
    let mut wrong = token.to_owned();
    wrong.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
    for path in [format!("/share/{wrong}"), "/share/x".to_owned(), format!("/share/{token}x")] {
        assert_eq!(app.client().get(&path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn stopping_sharing_kills_the_link_at_once_and_only_the_owner_can() {
    let app = spawn_app().await;
    let (alice, email) = app.signed_in_client().await;
    let (bob, _) = app.signed_in_client().await;
    let plan = alices_plan(&app, app.user_id(&email).await).await;
    let (_, path) = share(&alice, plan).await;
    let path = path.as_str().unwrap().to_owned();
    // A second link: Stop sharing ends both.
    let (_, second) = share(&alice, plan).await;
    let second = second.as_str().unwrap().to_owned();
    assert_ne!(path, second);

    // Bob can neither share nor revoke Alice's conversation: it does not exist for him.
    let (status, body) = share(&bob, plan).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = bob.server_fn("stop_sharing", &[("id", &plan.to_string())]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(app.client().get(&path).await.status(), StatusCode::OK, "Bob's attempt changed nothing");
    // Nor can anyone signed out.
    let (status, _) = share(&app.client(), plan).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = alice.server_fn("stop_sharing", &[("id", &plan.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for path in [&path, &second] {
        let response = app.client().get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!response.text().await.unwrap().contains("Plan a trip"));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_disabled_accounts_links_stop_working_and_come_back_when_it_is_enabled() {
    let app = spawn_app().await;
    let (alice, email) = app.signed_in_client().await;
    let alice_id = app.user_id(&email).await;
    let plan = alices_plan(&app, alice_id).await;
    let (_, path) = share(&alice, plan).await;
    let path = path.as_str().unwrap().to_owned();
    assert_eq!(app.client().get(&path).await.status(), StatusCode::OK);

    let set_disabled = |disabled: bool| {
        sqlx::query("UPDATE users SET disabled_at = CASE WHEN $2 THEN now() END WHERE id = $1")
            .bind(alice_id)
            .bind(disabled)
            .execute(&app.owner_pool)
    };
    set_disabled(true).await.unwrap();
    let response = app.client().get(&path).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!response.text().await.unwrap().contains("Plan a trip"));
    set_disabled(false).await.unwrap();
    assert_eq!(app.client().get(&path).await.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn the_markdown_export_needs_the_owners_session() {
    let app = spawn_app().await;
    let (alice, email) = app.signed_in_client().await;
    let (bob, _) = app.signed_in_client().await;
    let plan = alices_plan(&app, app.user_id(&email).await).await;
    let path = format!("/api/conversations/{plan}/export.md");

    assert_eq!(app.client().get(&path).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bob.get(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(alice.get("/api/conversations/not-an-id/export.md").await.status(), StatusCode::NOT_FOUND);
    // Opened in a browser tab (a navigation): the refusal is a page to read, not JSON.
    let page = bob.navigate(&path).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("No such conversation.") && html.contains(r#"<a href="/app">Back to Jarvis</a>"#),
        "{html}"
    );
    assert!(!html.contains("Plan a trip"), "{html}");

    let response = alice.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get("content-type").unwrap(), "text/markdown; charset=utf-8");
    let disposition = response.headers().get("content-disposition").unwrap().to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"conversation-trip-plan.md\""), "{disposition}");
    assert_eq!(
        response.text().await.unwrap(),
        "# Trip plan\n\n## You\n\nPlan a trip to Lisbon\n\n## Jarvis\n\nSaving it.\n\nDay one is **Alfama**. \
         <script>alert('x')</script>\n\n> Tool call: `save_document` `{\"title\":\"Lisbon\"}`\n"
    );
    app.stop().await;
}
