//! Settings → Connections over HTTP: personal access tokens and connectors, each user seeing only their own.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Client, TestApp, spawn_app};

async fn connections(client: &Client) -> Value {
    let (status, view) = client.server_fn("connections", &[]).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view
}

/// A connector of `user`'s, stored as adding one stores it (its server is not reached here).
async fn stored_connector(app: &TestApp, user: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO mcp_connectors (id, user_id, name, url, tools) VALUES ($1, $2, 'notes', $3, $4)",
    )
    .bind(id)
    .bind(user)
    .bind("https://notes.example/mcp")
    .bind(json!([
        { "name": "add_note", "description": "Adds a note.", "input_schema": { "type": "object" } },
        { "name": "list_notes", "description": "", "input_schema": { "type": "object" } }
    ]))
    .execute(&app.owner_pool)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn a_created_token_is_shown_once_then_listed_without_its_secret_until_revoked() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let empty = connections(&client).await;
    assert_eq!(empty["tokens"], json!([]));
    assert_eq!(empty["connectors"], json!([]));
    let mcp_url = empty["mcp_url"].as_str().unwrap();
    assert!(
        mcp_url.starts_with("http") && mcp_url.ends_with("/mcp") && !mcp_url.ends_with("//mcp"),
        "{mcp_url}"
    );

    let (status, created) = client
        .server_fn(
            "connections_create_token",
            &[("name", "Claude Code"), ("scope", "write"), ("lifetime_days", "90")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("jvs_"), "{secret}");
    assert_eq!(created["token"]["name"], "Claude Code");
    assert_eq!(created["token"]["scope"], "write");

    let listed = connections(&client).await;
    assert_eq!(listed["tokens"], json!([created["token"]]));
    assert!(!listed.to_string().contains(secret), "the list never holds the secret");

    let id = created["token"]["id"].as_str().unwrap();
    let (status, answer) = client.server_fn("connections_revoke_token", &[("id", id)]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(connections(&client).await["tokens"], json!([]));
    let (status, answer) = client.server_fn("connections_revoke_token", &[("id", id)]).await;
    assert_eq!(
        (status, answer),
        (StatusCode::NOT_FOUND, json!({ "kind": "not_found", "message": "No such connection." }))
    );
    app.stop().await;
}

#[tokio::test]
async fn another_users_tokens_and_servers_are_not_found() {
    let app = spawn_app().await;
    let (alice, alice_email) = app.signed_in_client().await;
    let (bob, _) = app.signed_in_client().await;
    let (_, created) = alice
        .server_fn(
            "connections_create_token",
            &[("name", "Alice's"), ("scope", "read"), ("lifetime_days", "30")],
        )
        .await;
    let token_id = created["token"]["id"].as_str().unwrap().to_owned();
    let connector = stored_connector(&app, app.user_id(&alice_email).await).await.to_string();

    let bobs = connections(&bob).await;
    assert_eq!((bobs["tokens"].clone(), bobs["connectors"].clone()), (json!([]), json!([])));
    let not_found = json!({ "kind": "not_found", "message": "No such connection." });
    for (name, args) in [
        ("connections_revoke_token", vec![("id", token_id.as_str())]),
        ("connections_remove_connector", vec![("id", connector.as_str())]),
        ("connections_set_connector_enabled", vec![("id", connector.as_str()), ("enabled", "false")]),
        (
            "connections_set_connector_tool",
            vec![("id", connector.as_str()), ("tool", "add_note"), ("enabled", "false")],
        ),
        ("connections_refresh_connector", vec![("id", connector.as_str())]),
        // An id that does not parse names nothing either.
        ("connections_remove_connector", vec![("id", "not-an-id")]),
    ] {
        let (status, answer) = bob.server_fn(name, &args).await;
        assert_eq!((status, answer), (StatusCode::NOT_FOUND, not_found.clone()), "{name} {args:?}");
    }

    // Alice's are untouched, and hers to switch.
    let hers = connections(&alice).await;
    assert_eq!(hers["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(hers["connectors"][0]["enabled"], true);
    let (status, switched) = alice
        .server_fn(
            "connections_set_connector_tool",
            &[("id", &connector), ("tool", "add_note"), ("enabled", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{switched}");
    assert_eq!(
        switched["tools"],
        json!([
            { "name": "add_note", "description": "Adds a note.", "enabled": false },
            { "name": "list_notes", "description": "", "enabled": true }
        ])
    );
    assert_eq!(switched["has_token"], false);
    let (status, off) = alice
        .server_fn("connections_set_connector_enabled", &[("id", &connector), ("enabled", "false")])
        .await;
    assert_eq!((status, off["enabled"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(connections(&alice).await["connectors"], json!([off]));
    let (status, _) = alice.server_fn("connections_remove_connector", &[("id", &connector)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(connections(&alice).await["connectors"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn signed_out_every_connections_call_is_refused() {
    let app = spawn_app().await;
    let client = app.client();
    let signed_out = json!({ "kind": "signed_out" });
    for (name, args) in [
        ("connections", vec![]),
        ("connections_create_token", vec![("name", "x"), ("scope", "read"), ("lifetime_days", "30")]),
        ("connections_add_connector", vec![("url", "https://notes.example/mcp")]),
    ] {
        let (status, answer) = client.server_fn(name, &args).await;
        assert_eq!((status, answer), (StatusCode::UNAUTHORIZED, signed_out.clone()), "{name}");
    }
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM access_tokens").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(rows, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_token_request_is_refused_with_a_sentence() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let (status, answer) = client
        .server_fn(
            "connections_create_token",
            &[("name", "Laptop"), ("scope", "read"), ("lifetime_days", "12")],
        )
        .await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::BAD_REQUEST,
            json!({ "kind": "invalid", "message": "A token lasts 7, 30, 90, 365 days." })
        )
    );
    let (status, answer) = client
        .server_fn("connections_create_token", &[("name", "  "), ("scope", "read"), ("lifetime_days", "30")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["message"], "Give the token a name, such as the app it is for.");
    let (status, answer) = client
        .server_fn(
            "connections_create_token",
            &[("name", "Laptop"), ("scope", "admin"), ("lifetime_days", "30")],
        )
        .await;
    assert_eq!(
        (status, answer),
        (StatusCode::BAD_REQUEST, json!({ "kind": "invalid", "message": "The request could not be read." }))
    );
    assert_eq!(connections(&client).await["tokens"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn a_server_that_cannot_be_added_says_why_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    // Loopback, with private addresses not allowed (the default): refused before any request.
    let (status, answer) = client
        .server_fn("connections_add_connector", &[("url", "http://127.0.0.1:9/mcp"), ("token", "")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["kind"], "invalid");
    let sentence = answer["message"].as_str().unwrap();
    assert!(sentence.ends_with('.') && sentence.len() > 10, "{sentence}");
    assert_eq!(connections(&client).await["connectors"], json!([]));
    app.stop().await;
}
