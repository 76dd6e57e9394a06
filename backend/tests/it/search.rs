//! Search across conversations against a real Postgres, under the application role and
//! row-level security: isolation between users, ranking, snippets, and queries as people type them.

use jarvis_backend::chat::search::{self, Fragment, Hit, MAX_HITS, MAX_QUERY_CHARS, SearchError};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestDb, test_db};

async fn user(db: &TestDb) -> Uuid {
    let user_id = Uuid::new_v4();
    sqlx::query("INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'Test')")
        .bind(user_id)
        .bind(format!("{user_id}@example.com"))
        .execute(&db.owner)
        .await
        .unwrap();
    user_id
}

/// A conversation last changed `age_minutes` ago.
async fn conversation(db: &TestDb, user_id: Uuid, title: &str, age_minutes: i32) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO conversations (id, user_id, title, updated_at)
         VALUES ($1, $2, $3, now() - make_interval(mins => $4))",
    )
    .bind(id)
    .bind(user_id)
    .bind(title)
    .bind(age_minutes)
    .execute(&db.owner)
    .await
    .unwrap();
    id
}

async fn run(db: &TestDb, user_id: Uuid, conversation_id: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO runs (id, user_id, conversation_id, status, model) VALUES ($1, $2, $3, 'completed', 'm')")
        .bind(id)
        .bind(user_id)
        .bind(conversation_id)
        .execute(&db.owner)
        .await
        .unwrap();
    id
}

async fn message(
    db: &TestDb,
    user_id: Uuid,
    conversation_id: Uuid,
    role: &str,
    content: Value,
    run_id: Option<Uuid>,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO messages (id, user_id, conversation_id, role, content, run_id) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(conversation_id)
    .bind(role)
    .bind(content)
    .bind(run_id)
    .execute(&db.owner)
    .await
    .unwrap();
    id
}

fn text(text: &str) -> Value {
    json!([{"type": "text", "text": text}])
}

fn marked(fragments: &[Fragment]) -> Vec<&str> {
    fragments.iter().filter(|f| f.matched).map(|f| f.text.as_str()).collect()
}

fn joined(fragments: &[Fragment]) -> String {
    fragments.iter().map(|f| f.text.as_str()).collect()
}

async fn find(db: &TestDb, user_id: Uuid, query: &str) -> Vec<Hit> {
    search::search(&db.app, user_id, query).await.unwrap()
}

#[tokio::test]
async fn a_user_finds_only_their_own_conversations() {
    let db = test_db().await;
    let alice = user(&db).await;
    let bob = user(&db).await;
    let alices = conversation(&db, alice, "Zebra migration", 5).await;
    let alices_message = message(&db, alice, alices, "user", text("Where do giraffes sleep?"), None).await;
    let bobs = conversation(&db, bob, "Holiday", 5).await;
    message(&db, bob, bobs, "user", text("Pack the zebra towel"), None).await;

    let hits = find(&db, alice, "giraffe").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].conversation_id, alices);
    assert_eq!(hits[0].message_id, Some(alices_message));

    assert!(find(&db, bob, "giraffe").await.is_empty(), "Bob must not see Alice's messages");
    let bobs_hits = find(&db, bob, "zebra").await;
    assert_eq!(bobs_hits.iter().map(|h| h.conversation_id).collect::<Vec<_>>(), vec![bobs]);
    let alices_hits = find(&db, alice, "zebra").await;
    assert_eq!(alices_hits.iter().map(|h| h.conversation_id).collect::<Vec<_>>(), vec![alices]);
    db.drop().await;
}

#[tokio::test]
async fn a_title_match_ranks_above_a_message_match_and_then_the_newest_first() {
    let db = test_db().await;
    let user_id = user(&db).await;
    // Oldest, but the word is in its title.
    let titled = conversation(&db, user_id, "Sourdough starter", 60).await;
    message(&db, user_id, titled, "user", text("How often do I feed it?"), None).await;
    // Two with the word once in a message: the newer first.
    let older = conversation(&db, user_id, "Kitchen", 30).await;
    message(&db, user_id, older, "user", text("Is sourdough healthier than rye?"), None).await;
    let newer = conversation(&db, user_id, "Baking", 10).await;
    message(&db, user_id, newer, "user", text("Is sourdough healthier than spelt?"), None).await;
    // Unrelated.
    let other = conversation(&db, user_id, "Taxes", 1).await;
    message(&db, user_id, other, "user", text("When is the deadline?"), None).await;

    let hits = find(&db, user_id, "sourdough").await;
    assert_eq!(hits.iter().map(|h| h.conversation_id).collect::<Vec<_>>(), vec![titled, newer, older]);
    assert_eq!(marked(&hits[0].title), vec!["Sourdough"]);
    assert_eq!(hits[0].message_id, None, "only the title matched");
    assert!(hits[0].snippet.is_empty());
    assert_eq!(joined(&hits[1].title), "Baking");
    assert!(marked(&hits[1].title).is_empty());
    db.drop().await;
}

#[tokio::test]
async fn one_hit_per_conversation_at_its_best_message_with_the_words_marked() {
    let db = test_db().await;
    let user_id = user(&db).await;
    let id = conversation(&db, user_id, "Dogs", 5).await;
    message(&db, user_id, id, "user", text("My neighbour is running late."), None).await;
    let best =
        message(&db, user_id, id, "user", text("The runner runs and keeps running every morning."), None)
            .await;

    let hits = find(&db, user_id, "runs").await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].message_id, Some(best));
    // English stemming: every form of the word is found and marked.
    assert_eq!(marked(&hits[0].snippet), vec!["runs", "running"]);
    assert!(joined(&hits[0].snippet).contains("every morning"), "{:?}", hits[0].snippet);
    db.drop().await;
}

#[tokio::test]
async fn only_the_text_of_messages_is_searched_and_a_reply_opens_at_its_first_message() {
    let db = test_db().await;
    let user_id = user(&db).await;
    let id = conversation(&db, user_id, "Research", 5).await;
    message(&db, user_id, id, "user", text("Look it up"), None).await;
    let run_id = run(&db, user_id, id).await;
    let reply = message(
        &db,
        user_id,
        id,
        "assistant",
        json!([
            {"type": "thinking", "thinking": "ponder the marmalade", "signature": "s"},
            {"type": "tool_use", "id": "t1", "name": "save_document", "input": {"content": "marmalade recipe"}}
        ]),
        Some(run_id),
    )
    .await;
    message(
        &db,
        user_id,
        id,
        "user",
        json!([{"type": "tool_result", "tool_use_id": "t1", "content": "saved marmalade"}]),
        None,
    )
    .await;
    message(&db, user_id, id, "assistant", text("I saved the quince jelly."), Some(run_id)).await;

    assert!(find(&db, user_id, "marmalade").await.is_empty(), "tool calls and thinking are not text");
    let hits = find(&db, user_id, "quince").await;
    assert_eq!(hits.len(), 1);
    // The reply's messages read as one: it is shown at the first.
    assert_eq!(hits[0].message_id, Some(reply));
    assert_eq!(marked(&hits[0].snippet), vec!["quince"]);
    db.drop().await;
}

#[tokio::test]
async fn whatever_a_person_types_never_fails() {
    let db = test_db().await;
    let user_id = user(&db).await;
    let id = conversation(&db, user_id, "Symbols", 5).await;
    message(&db, user_id, id, "user", text("Compare apples and oranges, not pears."), None).await;

    for query in ["", "   ", "\n\t"] {
        assert!(find(&db, user_id, query).await.is_empty(), "{query:?}");
    }
    for query in [
        "\"",
        "\"apples",
        "&|!:*()",
        "apples & | ! : * ( )",
        "apples:*",
        "(apples",
        "!apples",
        "'",
        "\\",
        "-",
        "or",
        "the",
        "\0",
        "apples\0oranges",
        "a'b\"c",
        "<mark>",
        "%_",
        "\u{E000}apples\u{E001}",
    ] {
        search::search(&db.app, user_id, query).await.unwrap_or_else(|error| panic!("{query:?}: {error}"));
    }
    // websearch syntax works as people expect it to.
    assert_eq!(find(&db, user_id, "\"apples and oranges\"").await.len(), 1);
    assert!(find(&db, user_id, "\"oranges and apples\"").await.is_empty());
    assert_eq!(find(&db, user_id, "apples -kiwi").await.len(), 1);
    assert!(find(&db, user_id, "apples -pears").await.is_empty());
    assert_eq!(find(&db, user_id, "kiwi or pears").await.len(), 1);
    assert_eq!(find(&db, user_id, "apples\0oranges").await.len(), 1, "a NUL reads as a space");

    let long = "apples ".repeat(MAX_QUERY_CHARS);
    let refused = search::search(&db.app, user_id, &long).await.unwrap_err();
    assert!(matches!(refused, SearchError::QueryTooLong));
    assert_eq!(refused.to_string(), format!("Search for at most {MAX_QUERY_CHARS} characters."));
    db.drop().await;
}

#[tokio::test]
async fn stored_text_cannot_forge_a_mark_and_results_are_limited() {
    let db = test_db().await;
    let user_id = user(&db).await;
    let id = conversation(&db, user_id, "\u{E000}Forged\u{E001} <b>title</b>", 5).await;
    message(&db, user_id, id, "user", text("\u{E000}fake\u{E001} mark beside the real lemon"), None).await;
    let hits = find(&db, user_id, "lemon").await;
    assert_eq!(marked(&hits[0].snippet), vec!["lemon"]);
    assert!(marked(&hits[0].title).is_empty());
    assert_eq!(joined(&hits[0].title), "Forged <b>title</b>");

    for n in 0..(MAX_HITS + 5) {
        let id = conversation(&db, user_id, &format!("Lemon {n}"), 5).await;
        message(&db, user_id, id, "user", text("lemon"), None).await;
    }
    assert_eq!(find(&db, user_id, "lemon").await.len(), MAX_HITS as usize);
    db.drop().await;
}
