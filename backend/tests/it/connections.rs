//! Personal access tokens and connectors against Postgres: isolation under row-level security, revocation, expiry, encryption at rest.

use jarvis_backend::connections::connectors::{MAX_CONNECTORS, NewConnector, RemoteTool};
use jarvis_backend::connections::{ConnectionError, Connections, TokenCipher};
use jarvis_types::connections::{TOKEN_PREFIX, TokenScope};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use uuid::Uuid;

use crate::support::{TestDb, test_db};

fn cipher() -> TokenCipher {
    TokenCipher::derive(b"a test secret of at least thirty-two bytes")
}

fn connections(db: &TestDb) -> Connections {
    Connections::new(db.app.clone(), cipher())
}

fn tool(name: &str) -> RemoteTool {
    RemoteTool {
        name: name.into(),
        description: format!("Does {name}."),
        input_schema: json!({ "type": "object", "properties": { "text": { "type": "string" } } }),
    }
}

fn notes(token: Option<&str>) -> NewConnector {
    NewConnector {
        name: "notes".into(),
        url: "https://notes.example/mcp".into(),
        token: token.map(|token| SecretString::from(token.to_owned())),
        tools: vec![tool("add_note"), tool("list_notes")],
    }
}

#[tokio::test]
async fn a_token_is_listed_without_its_secret_verifies_as_its_owner_until_revoked() {
    let db = test_db().await;
    let store = connections(&db);
    let alice = db.user().await.user_id;

    let created = store.tokens.create(alice, "  Claude Code ", TokenScope::Write, 30).await.unwrap();
    assert!(created.secret.starts_with(TOKEN_PREFIX));
    assert_eq!(created.token.name, "Claude Code");
    assert_eq!(created.token.last_used_at, None);

    let listed = store.tokens.list(alice).await.unwrap();
    assert_eq!(listed, vec![created.token.clone()]);
    assert!(!format!("{listed:?}").contains(&created.secret), "the list never holds the secret");
    // Only the SHA-256 of the secret is stored.
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT token_hash FROM access_tokens").fetch_one(&db.owner).await.unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!stored.windows(8).any(|w| created.secret.as_bytes().windows(8).any(|s| s == w)));

    let owner = store.tokens.verify(&created.secret).await.unwrap().expect("a live token");
    assert_eq!((owner.user_id, owner.scope), (alice, TokenScope::Write));
    assert_eq!(owner.token_id.to_string(), created.token.id);
    let used = store.tokens.list(alice).await.unwrap();
    assert!(used[0].last_used_at.is_some(), "verifying stamps last_used_at");

    assert_eq!(store.tokens.verify(&format!("{}x", created.secret)).await.unwrap(), None);
    assert_eq!(store.tokens.verify("jvs_nope").await.unwrap(), None);

    let id = Uuid::parse_str(&created.token.id).unwrap();
    store.tokens.revoke(alice, id).await.unwrap();
    assert_eq!(store.tokens.verify(&created.secret).await.unwrap(), None, "refused at once");
    assert!(store.tokens.list(alice).await.unwrap().is_empty());
    assert!(matches!(store.tokens.revoke(alice, id).await, Err(ConnectionError::NotFound)));
    db.drop().await;
}

#[tokio::test]
async fn an_expired_token_is_neither_listed_nor_accepted() {
    let db = test_db().await;
    let store = connections(&db);
    let alice = db.user().await.user_id;
    let created = store.tokens.create(alice, "Old", TokenScope::Read, 7).await.unwrap();
    sqlx::query(
        "UPDATE access_tokens SET created_at = now() - interval '8 days', expires_at = now() - interval '1 day'",
    )
    .execute(&db.owner)
    .await
    .unwrap();
    assert_eq!(store.tokens.verify(&created.secret).await.unwrap(), None);
    assert!(store.tokens.list(alice).await.unwrap().is_empty());
    db.drop().await;
}

#[tokio::test]
async fn a_lifetime_not_offered_and_a_blank_name_are_refused_with_sentences() {
    let db = test_db().await;
    let store = connections(&db);
    let alice = db.user().await.user_id;
    match store.tokens.create(alice, "Laptop", TokenScope::Read, 12).await {
        Err(ConnectionError::Invalid(sentence)) => assert_eq!(sentence, "A token lasts 7, 30, 90, 365 days."),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(matches!(
        store.tokens.create(alice, "   ", TokenScope::Read, 30).await,
        Err(ConnectionError::Invalid(_))
    ));
    assert!(store.tokens.list(alice).await.unwrap().is_empty());
    db.drop().await;
}

#[tokio::test]
async fn nobody_lists_or_revokes_another_users_token() {
    let db = test_db().await;
    let store = connections(&db);
    let alice = db.user().await.user_id;
    let bob = db.user().await.user_id;
    let alices = store.tokens.create(alice, "Alice's", TokenScope::Read, 30).await.unwrap();

    assert!(store.tokens.list(bob).await.unwrap().is_empty());
    let id = Uuid::parse_str(&alices.token.id).unwrap();
    assert!(matches!(store.tokens.revoke(bob, id).await, Err(ConnectionError::NotFound)));
    assert_eq!(store.tokens.verify(&alices.secret).await.unwrap().map(|owner| owner.user_id), Some(alice));
    // Row-level security itself: as Bob, the table holds nothing at all.
    let seen: i64 = jarvis_backend::db::for_user(&db.app, bob, async |conn| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM access_tokens").fetch_one(&mut *conn).await
    })
    .await
    .unwrap();
    assert_eq!(seen, 0);
    db.drop().await;
}

#[tokio::test]
async fn a_disabled_accounts_token_is_refused() {
    let db = test_db().await;
    let store = connections(&db);
    let alice = db.user().await.user_id;
    let created = store.tokens.create(alice, "Laptop", TokenScope::Read, 30).await.unwrap();
    assert!(store.tokens.verify(&created.secret).await.unwrap().is_some());
    sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
        .bind(alice)
        .execute(&db.owner)
        .await
        .unwrap();
    assert_eq!(store.tokens.verify(&created.secret).await.unwrap(), None);
    db.drop().await;
}

#[tokio::test]
async fn connectors_are_added_listed_switched_and_removed_with_names_made_unique() {
    let db = test_db().await;
    let store = connections(&db);
    let alice = db.user().await.user_id;

    let first = store.connectors.add(alice, notes(None)).await.unwrap();
    let second = store.connectors.add(alice, notes(Some("t0ken"))).await.unwrap();
    assert_eq!((first.name.as_str(), second.name.as_str()), ("notes", "notes_2"));
    assert!(!first.has_token && second.has_token);
    assert!(first.enabled && first.tools.iter().all(|tool| tool.enabled));
    assert_eq!(first.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["add_note", "list_notes"]);
    let listed = store.connectors.list(alice).await.unwrap();
    assert_eq!(listed, vec![first.clone(), second.clone()]);

    let first_id = Uuid::parse_str(&first.id).unwrap();
    let second_id = Uuid::parse_str(&second.id).unwrap();
    let switched = store.connectors.set_tool_enabled(alice, first_id, "add_note", false).await.unwrap();
    assert_eq!(
        switched.tools.iter().map(|t| (t.name.as_str(), t.enabled)).collect::<Vec<_>>(),
        [("add_note", false), ("list_notes", true)]
    );
    match store.connectors.set_tool_enabled(alice, first_id, "drop_tables", false).await {
        Err(ConnectionError::Invalid(sentence)) => assert!(sentence.contains("drop_tables"), "{sentence}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let off = store.connectors.set_enabled(alice, second_id, false).await.unwrap();
    assert!(!off.enabled);

    // A run is offered the enabled connectors' enabled tools only.
    let for_run = store.connectors.for_run(alice).await.unwrap();
    assert_eq!(for_run.len(), 1);
    assert_eq!(for_run[0].name, "notes");
    assert_eq!(for_run[0].tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["list_notes"]);
    let again = store.connectors.set_tool_enabled(alice, first_id, "add_note", true).await.unwrap();
    assert!(again.tools.iter().all(|tool| tool.enabled));

    let replaced = store.connectors.replace_tools(alice, first_id, &[tool("search_notes")]).await.unwrap();
    assert_eq!(replaced.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["search_notes"]);

    store.connectors.remove(alice, first_id).await.unwrap();
    assert_eq!(store.connectors.list(alice).await.unwrap().len(), 1);
    assert!(matches!(store.connectors.remove(alice, first_id).await, Err(ConnectionError::NotFound)));
    // With `notes` gone, the name is free again.
    assert_eq!(store.connectors.add(alice, notes(None)).await.unwrap().name, "notes");
    db.drop().await;
}

#[tokio::test]
async fn a_connectors_token_is_stored_encrypted_and_decrypts_only_for_its_user() {
    let db = test_db().await;
    let store = connections(&db);
    let alice = db.user().await.user_id;
    let bob = db.user().await.user_id;
    let plain = "secret-bearer-token-for-notes";
    let added = store.connectors.add(alice, notes(Some(plain))).await.unwrap();
    let id = Uuid::parse_str(&added.id).unwrap();

    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_ciphertext FROM mcp_connectors WHERE id = $1")
        .bind(id)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert!(!stored.windows(plain.len()).any(|w| w == plain.as_bytes()), "no plain token in the column");
    assert_eq!(cipher().decrypt(alice, &stored).as_deref(), Some(plain));
    assert_eq!(cipher().decrypt(bob, &stored), None, "sealed for Alice");

    let access = store.connectors.access(alice, id).await.unwrap();
    assert_eq!(access.token.as_ref().map(|t| t.expose_secret().to_owned()).as_deref(), Some(plain));

    // Copied into Bob's row, the ciphertext does not open for him: his connector is left out of runs.
    let bobs = store.connectors.add(bob, notes(None)).await.unwrap();
    sqlx::query("UPDATE mcp_connectors SET token_ciphertext = $1 WHERE id = $2")
        .bind(&stored)
        .bind(Uuid::parse_str(&bobs.id).unwrap())
        .execute(&db.owner)
        .await
        .unwrap();
    assert!(matches!(
        store.connectors.access(bob, Uuid::parse_str(&bobs.id).unwrap()).await,
        Err(ConnectionError::Undecryptable)
    ));
    assert!(store.connectors.for_run(bob).await.unwrap().is_empty());
    db.drop().await;
}

#[tokio::test]
async fn another_users_connector_is_invisible_and_untouchable() {
    let db = test_db().await;
    let store = connections(&db);
    let alice = db.user().await.user_id;
    let bob = db.user().await.user_id;
    let alices = store.connectors.add(alice, notes(Some("alice-token"))).await.unwrap();
    let id = Uuid::parse_str(&alices.id).unwrap();

    assert!(store.connectors.list(bob).await.unwrap().is_empty());
    assert!(store.connectors.for_run(bob).await.unwrap().is_empty());
    assert!(matches!(store.connectors.access(bob, id).await, Err(ConnectionError::NotFound)));
    assert!(matches!(store.connectors.set_enabled(bob, id, false).await, Err(ConnectionError::NotFound)));
    assert!(matches!(
        store.connectors.set_tool_enabled(bob, id, "add_note", false).await,
        Err(ConnectionError::NotFound)
    ));
    assert!(matches!(store.connectors.replace_tools(bob, id, &[]).await, Err(ConnectionError::NotFound)));
    assert!(matches!(store.connectors.remove(bob, id).await, Err(ConnectionError::NotFound)));
    // Bob may use the same name: names are unique per user.
    assert_eq!(store.connectors.add(bob, notes(None)).await.unwrap().name, "notes");
    let seen: i64 = jarvis_backend::db::for_user(&db.app, bob, async |conn| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM mcp_connectors").fetch_one(&mut *conn).await
    })
    .await
    .unwrap();
    assert_eq!(seen, 1, "row-level security shows Bob his own row only");
    assert_eq!(store.connectors.list(alice).await.unwrap(), vec![alices]);
    db.drop().await;
}

#[tokio::test]
async fn a_user_has_at_most_ten_connectors() {
    let db = test_db().await;
    let store = connections(&db);
    let alice = db.user().await.user_id;
    for _ in 0..MAX_CONNECTORS {
        store.connectors.add(alice, notes(None)).await.unwrap();
    }
    let names: Vec<String> =
        store.connectors.list(alice).await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names.first().map(String::as_str), Some("notes"));
    assert_eq!(names.last().map(String::as_str), Some("notes_10"));
    match store.connectors.add(alice, notes(None)).await {
        Err(ConnectionError::Limit(sentence)) => assert!(sentence.contains("remove one"), "{sentence}"),
        other => panic!("expected Limit, got {other:?}"),
    }
    assert_eq!(store.connectors.list(alice).await.unwrap().len(), MAX_CONNECTORS as usize);
    db.drop().await;
}
