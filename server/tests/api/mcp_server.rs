//! `/mcp` driven by the official MCP Python SDK as a client, with personal access tokens: what a
//! read and a write token are offered, a document saved, found and read back (and kept as the
//! connection's version), each user seeing only their own, and refused tokens, origins and plans.

use std::process::Command;

use jarvis_backend::connections::AccessTokens;
use jarvis_types::connections::TokenScope;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, unique_email};

/// How the SDK connects: the `initialize` handshake, or `server/discover` and the 2026-07-28
/// per-request protocol.
#[derive(Clone, Copy)]
enum Mode {
    Legacy,
    Auto,
}

/// Runs `server/tests/fixtures/mcp_client.py` with these steps over one connection; its JSON.
async fn mcp(app: &TestApp, token: &str, mode: Mode, origin: Option<&str>, steps: &[Value]) -> Value {
    let python = std::env::var("JARVIS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mcp_client.py");
    let mut command = Command::new(&python);
    command.arg(script).arg("--url").arg(format!("{}/mcp", app.address)).arg("--token").arg(token);
    command.arg("--mode").arg(match mode {
        Mode::Legacy => "legacy",
        Mode::Auto => "auto",
    });
    if let Some(origin) = origin {
        command.arg("--origin").arg(origin);
    }
    command.args(steps.iter().map(Value::to_string));
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap_or_else(|error| {
        panic!("cannot run {python} ({error}); set JARVIS_TEST_PYTHON to a Python with mcp==2.3.0 (scripts/lib.sh ensure_python_test_tools)")
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the MCP client failed ({}): {stderr}\nInstall the SDK with `scripts/lib.sh ensure_python_test_tools` (mcp==2.3.0 in $JARVIS_TEST_PYTHON).",
        output.status
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!("the client printed JSON: {}\n{stderr}", String::from_utf8_lossy(&output.stdout))
    })
}

/// The answers of a connection that must have connected.
fn results(output: &Value) -> &Vec<Value> {
    assert!(output.get("connect_error").is_none(), "the client connected: {output}");
    output["results"].as_array().unwrap()
}

fn call(name: &str, arguments: Value) -> Value {
    json!({"op": "call", "name": name, "arguments": arguments})
}

/// A tool result's text parsed as the JSON the document tools answer.
fn answer(result: &Value) -> Value {
    assert_eq!(result["is_error"], false, "the tool succeeded: {result}");
    serde_json::from_str(result["text"].as_str().unwrap()).unwrap()
}

/// Registers an account; its id.
async fn user(app: &TestApp) -> Uuid {
    let email = unique_email();
    app.register(&email).await;
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&email)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap()
}

/// A new token of the user's, as Settings → Connections creates it; its id and secret.
async fn token(app: &TestApp, user: Uuid, scope: TokenScope) -> (Uuid, String) {
    let created =
        AccessTokens::new(app.app_pool.clone()).create(user, "Claude Desktop", scope, 30).await.unwrap();
    (created.token.id.parse().unwrap(), created.secret)
}

/// `initialize` posted by hand, with these extra headers.
async fn raw_initialize(app: &TestApp, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/mcp", app.address))
        .header("accept", "application/json, text/event-stream")
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn tool_names(result: &Value) -> Vec<&str> {
    let mut names: Vec<&str> =
        result["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn a_read_token_is_offered_the_reading_tools_and_a_write_token_all_five_in_either_protocol() {
    let app = spawn_app().await;
    let alice = user(&app).await;
    let (_, read) = token(&app, alice, TokenScope::Read).await;
    let (_, write) = token(&app, alice, TokenScope::Write).await;

    let output = mcp(&app, &read, Mode::Legacy, None, &[json!({"op": "tools"})]).await;
    let connected = &output["connected"];
    assert_eq!(connected["server_name"], "Jarvis", "{output}");
    assert_eq!((connected["tools"].clone(), connected["resources"].clone()), (json!(true), json!(true)));
    assert!(connected["instructions"].as_str().unwrap().contains("documents"), "{output}");
    assert_eq!(tool_names(&results(&output)[0]), ["list_documents", "read_document", "search_documents"]);
    let read_tool = &results(&output)[0]["tools"].as_array().unwrap()[1];
    assert_eq!(read_tool["inputSchema"]["required"], json!(["id"]), "the tool's own schema: {read_tool}");
    assert_eq!(read_tool["annotations"]["readOnlyHint"], true);

    // The current revision (server/discover, no session), then the handshake: the same tools.
    for mode in [Mode::Auto, Mode::Legacy] {
        let output = mcp(&app, &write, mode, None, &[json!({"op": "tools"})]).await;
        assert_eq!(
            tool_names(&results(&output)[0]),
            ["list_documents", "read_document", "save_document", "search_documents", "update_document"],
            "{output}"
        );
    }
    let modern = mcp(&app, &write, Mode::Auto, None, &[]).await;
    assert_eq!(modern["connected"]["protocol_version"], "2026-07-28", "{modern}");

    // A read token cannot write, and says how to get one that can.
    let output = mcp(
        &app,
        &read,
        Mode::Auto,
        None,
        &[call("save_document", json!({"title": "Nope", "kind": "text", "content": "x"}))],
    )
    .await;
    let refused = &results(&output)[0];
    assert_eq!(refused["is_error"], true, "{refused}");
    assert!(refused["text"].as_str().unwrap().contains("read-only"), "{refused}");
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM documents").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(count, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_document_saved_through_mcp_is_found_read_back_and_kept_as_the_connections_version() {
    let app = spawn_app().await;
    let alice = user(&app).await;
    let (_, write) = token(&app, alice, TokenScope::Write).await;
    let content = "# Launch plan\n\nShip the aardvark importer on Friday. Ünïcödé stays.";

    let output = mcp(
        &app,
        &write,
        Mode::Auto,
        None,
        &[
            call("save_document", json!({"title": "Launch plan", "kind": "markdown", "content": content})),
            call("search_documents", json!({"query": "aardvark"})),
            json!({"op": "resources"}),
        ],
    )
    .await;
    let results = results(&output);
    let saved = answer(&results[0]);
    let id = saved["id"].as_str().unwrap().to_owned();
    assert_eq!(saved["version"], 1);
    let hits = answer(&results[1]);
    assert_eq!(hits["results"][0]["id"], id.as_str(), "{hits}");
    assert!(hits["results"][0]["snippet"].as_str().unwrap().contains("«aardvark»"), "{hits}");
    let uri = format!("jarvis://documents/{id}");
    let resources = results[2]["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_eq!(resources[0]["uri"], uri.as_str());
    assert_eq!(resources[0]["name"], "Launch plan");
    assert_eq!(resources[0]["mimeType"], "text/markdown");

    // Read back over the handshake protocol, as a tool and as a resource.
    let output = mcp(
        &app,
        &write,
        Mode::Legacy,
        None,
        &[call("read_document", json!({"id": id})), json!({"op": "read", "uri": uri})],
    )
    .await;
    let results = self::results(&output);
    assert_eq!(answer(&results[0])["content"], content);
    let contents = &results[1]["contents"][0];
    assert_eq!(
        (contents["text"].as_str(), contents["mimeType"].as_str()),
        (Some(content), Some("text/markdown"))
    );

    // In the user's library, written by the connected app.
    let (owner, author, run): (Uuid, String, Option<Uuid>) = sqlx::query_as(
        "SELECT d.user_id, v.author, v.run_id FROM documents d JOIN document_versions v ON v.document_id = d.id
          WHERE d.id = $1",
    )
    .bind(Uuid::parse_str(&id).unwrap())
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!((owner, author.as_str(), run), (alice, "connection", None));
    app.stop().await;
}

#[tokio::test]
async fn another_users_token_sees_only_its_own_documents() {
    let app = spawn_app().await;
    let alice = user(&app).await;
    let bob = user(&app).await;
    let (_, alices) = token(&app, alice, TokenScope::Write).await;
    let (_, bobs) = token(&app, bob, TokenScope::Write).await;
    let output = mcp(
        &app,
        &alices,
        Mode::Legacy,
        None,
        &[call(
            "save_document",
            json!({"title": "Alice's secret", "kind": "text", "content": "the aardvark code"}),
        )],
    )
    .await;
    let id = answer(&results(&output)[0])["id"].as_str().unwrap().to_owned();
    let uri = format!("jarvis://documents/{id}");

    for mode in [Mode::Legacy, Mode::Auto] {
        let output = mcp(
            &app,
            &bobs,
            mode,
            None,
            &[
                call("list_documents", json!({})),
                call("search_documents", json!({"query": "aardvark"})),
                call("read_document", json!({"id": id})),
                call("update_document", json!({"id": id, "version": 1, "content": "mine now"})),
                json!({"op": "resources"}),
                json!({"op": "read", "uri": uri}),
            ],
        )
        .await;
        let results = results(&output);
        assert_eq!(answer(&results[0])["total"], 0, "{output}");
        assert_eq!(answer(&results[1])["results"], json!([]), "{output}");
        for result in &results[2..4] {
            assert_eq!(
                (&result["is_error"], &result["text"]),
                (&json!(true), &json!("No document with that id."))
            );
        }
        assert_eq!(results[4]["resources"], json!([]), "{output}");
        assert_eq!(results[5]["error"]["message"], "No document with that id.", "{output}");
    }
    let content: String =
        sqlx::query_scalar("SELECT content FROM documents").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(content, "the aardvark code", "Bob's update changed nothing");
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once_and_a_request_without_one_is_challenged() {
    let app = spawn_app().await;
    let alice = user(&app).await;
    let (id, secret) = token(&app, alice, TokenScope::Read).await;
    let before = mcp(&app, &secret, Mode::Legacy, None, &[json!({"op": "tools"})]).await;
    assert_eq!(results(&before).len(), 1);

    AccessTokens::new(app.app_pool.clone()).revoke(alice, id).await.unwrap();
    let after = mcp(&app, &secret, Mode::Legacy, None, &[json!({"op": "tools"})]).await;
    let refusal = after["connect_error"]["message"].as_str().unwrap_or_default();
    assert!(refusal.contains("not valid"), "the SDK shows our sentence: {after}");

    let response = raw_initialize(&app, &[("authorization", &format!("Bearer {secret}"))]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="jarvis", error="invalid_token""#);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("revoked"), "{body}");

    let response = raw_initialize(&app, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="jarvis""#);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("Authorization: Bearer"), "{body}");
    let response = raw_initialize(&app, &[("authorization", "Bearer jvs_made-up")]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn an_expired_token_or_one_of_a_disabled_account_is_refused() {
    let app = spawn_app().await;
    let alice = user(&app).await;
    let bob = user(&app).await;
    let (expired_id, expired) = token(&app, alice, TokenScope::Write).await;
    let (_, disabled) = token(&app, bob, TokenScope::Write).await;
    let bearer = |secret: &str| format!("Bearer {secret}");
    assert_eq!(raw_initialize(&app, &[("authorization", &bearer(&expired))]).await.status(), StatusCode::OK);

    sqlx::query("UPDATE access_tokens SET created_at = now() - interval '31 days', expires_at = now() - interval '1 day' WHERE id = $1")
        .bind(expired_id)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
        .bind(bob)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    for secret in [&expired, &disabled] {
        let response = raw_initialize(&app, &[("authorization", &bearer(secret))]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let output = mcp(&app, secret, Mode::Auto, None, &[json!({"op": "tools"})]).await;
        assert!(output.get("connect_error").is_some(), "{output}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_page_of_another_site_is_refused_and_our_own_origin_is_served() {
    let app = spawn_app().await;
    let alice = user(&app).await;
    let (_, secret) = token(&app, alice, TokenScope::Read).await;
    let bearer = format!("Bearer {secret}");

    let response =
        raw_initialize(&app, &[("authorization", &bearer), ("origin", "https://evil.example")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("other sites"), "{body}");
    // Refused before the token is even looked at.
    let response = raw_initialize(&app, &[("origin", "https://evil.example")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let ours = format!("http://localhost:{}", app.port);
    let output = mcp(&app, &secret, Mode::Legacy, Some(&ours), &[json!({"op": "tools"})]).await;
    assert_eq!(results(&output).len(), 1, "{output}");
    let output = mcp(&app, &secret, Mode::Legacy, Some("https://evil.example"), &[]).await;
    assert!(output.get("connect_error").is_some(), "{output}");
    app.stop().await;
}

#[tokio::test]
async fn a_plan_that_allows_no_messages_pauses_connected_apps_in_words() {
    let plans = std::env::temp_dir().join(format!("jarvis-plans-{}.json", Uuid::new_v4().simple()));
    std::fs::write(
        &plans,
        r#"{"plans": [{"id": "free", "name": "Free", "messages_per_day": 0}], "default_plan": "free"}"#,
    )
    .unwrap();
    let app = spawn_app_with(&[("JARVIS_PLANS_FILE", &plans.display().to_string())]).await;
    let alice = user(&app).await;
    let (_, secret) = token(&app, alice, TokenScope::Write).await;

    let output = mcp(
        &app,
        &secret,
        Mode::Legacy,
        None,
        &[json!({"op": "tools"}), call("list_documents", json!({})), json!({"op": "resources"})],
    )
    .await;
    let results = results(&output);
    assert_eq!(tool_names(&results[0]).len(), 5, "connecting and listing tools still work: {output}");
    let sentence = "Your Free plan does not include using Jarvis from connected apps.";
    assert_eq!((&results[1]["is_error"], &results[1]["text"]), (&json!(true), &json!(sentence)));
    assert_eq!(results[2]["error"]["message"], sentence, "{output}");
    app.stop().await;
}
