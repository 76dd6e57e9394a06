//! Shared conversations against Postgres under the application role: a link reads its snapshot
//! with no user at all, and only through `share_snapshot`; stopping sharing ends it; nobody
//! shares or revokes another user's conversation; the table itself shows a reader nothing.

use jarvis_backend::accounts::tokens::hash_token;
use jarvis_backend::shares::{self, ShareError};
use serde_json::json;
use uuid::Uuid;

use crate::support::test_db;

async fn add_message(db: &crate::support::TestDb, user: Uuid, conversation: Uuid, role: &str, text: &str) {
    sqlx::query(
        "INSERT INTO messages (id, user_id, conversation_id, role, content) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(user)
    .bind(conversation)
    .bind(role)
    .bind(json!([{ "type": "text", "text": text }]))
    .execute(&db.owner)
    .await
    .unwrap();
}

async fn conversation_of(db: &crate::support::TestDb, user: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT id FROM conversations WHERE user_id = $1")
        .bind(user)
        .fetch_one(&db.owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_link_reads_the_snapshot_taken_when_shared_until_sharing_stops() {
    let db = test_db().await;
    let alice = db.user().await.user_id;
    let chat = conversation_of(&db, alice).await;
    add_message(&db, alice, chat, "user", "first question").await;
    add_message(&db, alice, chat, "assistant", "first answer").await;

    let token = shares::share(&db.app, alice, chat).await.unwrap();
    add_message(&db, alice, chat, "user", "a later question").await;

    let snapshot = shares::shared(&db.app, token.expose()).await.unwrap().expect("a live link");
    let texts: Vec<_> = snapshot.messages.iter().map(|m| (m.role.as_str(), m.text.as_str())).collect();
    assert_eq!(texts, [("user", "first question"), ("assistant", "first answer")]);
    assert_eq!(snapshot.title, "t");

    // The stored row holds the token's hash, never the token.
    let (hash, stored): (Vec<u8>, String) =
        sqlx::query_as("SELECT token_hash, snapshot::text FROM conversation_shares")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(hash, hash_token(token.expose()));
    assert!(!stored.contains(token.expose()) && !stored.contains(&alice.to_string()), "{stored}");

    assert_eq!(shares::stop_sharing(&db.app, alice, chat).await.unwrap(), 1);
    assert_eq!(shares::shared(&db.app, token.expose()).await.unwrap(), None);
    assert_eq!(shares::stop_sharing(&db.app, alice, chat).await.unwrap(), 0, "nothing left to revoke");

    // Deleting the conversation takes its links with it.
    let again = shares::share(&db.app, alice, chat).await.unwrap();
    assert!(shares::shared(&db.app, again.expose()).await.unwrap().is_some());
    assert!(jarvis_backend::chat::store::delete(&db.app, alice, chat).await.unwrap());
    assert_eq!(shares::shared(&db.app, again.expose()).await.unwrap(), None);
    db.drop().await;
}

#[tokio::test]
async fn nobody_shares_or_revokes_another_users_conversation() {
    let db = test_db().await;
    let alice = db.user().await.user_id;
    let bob = db.user().await.user_id;
    let chat = conversation_of(&db, alice).await;
    let token = shares::share(&db.app, alice, chat).await.unwrap();

    assert!(matches!(shares::share(&db.app, bob, chat).await, Err(ShareError::NotFound)));
    assert!(matches!(shares::stop_sharing(&db.app, bob, chat).await, Err(ShareError::NotFound)));
    assert!(matches!(shares::share(&db.app, alice, Uuid::new_v4()).await, Err(ShareError::NotFound)));
    assert!(shares::shared(&db.app, token.expose()).await.unwrap().is_some(), "Bob revoked nothing");

    // Under the application role, the table shows no row to a reader with no user, nor to Bob.
    let anonymous: i64 =
        sqlx::query_scalar("SELECT count(*) FROM conversation_shares").fetch_one(&db.app).await.unwrap();
    assert_eq!(anonymous, 0);
    let seen_by_bob = jarvis_backend::db::for_user(&db.app, bob, async |conn| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM conversation_shares").fetch_one(&mut *conn).await
    })
    .await
    .unwrap();
    assert_eq!(seen_by_bob, 0);
    db.drop().await;
}

#[tokio::test]
async fn tokens_that_are_not_ours_read_nothing() {
    let db = test_db().await;
    for token in ["", "x", "../../etc", &"A".repeat(43), &"é".repeat(43)] {
        assert_eq!(shares::shared(&db.app, token).await.unwrap(), None, "{token}");
    }
    db.drop().await;
}
