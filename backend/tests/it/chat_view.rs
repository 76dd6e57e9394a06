//! The conversation as a page loads it while a run is answering: the run's reply comes from its
//! events only (the page replays them from the first), so the messages the run stored so far are
//! not in the view as well — else a reload shows the reply's text twice.

use jarvis_backend::agent::messages::{ContentBlock, Message, Role};
use jarvis_backend::chat::{store, view};
use uuid::Uuid;

use super::support::test_db;

fn assistant(text: &str) -> Message {
    Message { role: Role::Assistant, content: vec![ContentBlock::Text { text: text.to_owned() }] }
}

#[tokio::test]
async fn a_running_runs_stored_reply_is_left_to_its_events_and_shown_once_it_ends() {
    let db = test_db().await;
    let run = db.run().await;
    let conversation_id: Uuid = sqlx::query_scalar("SELECT conversation_id FROM runs WHERE id = $1")
        .bind(run.run_id)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let store_message = async |message: &Message| {
        store::append_message(
            &db.app,
            Uuid::new_v4(),
            run.user_id,
            conversation_id,
            run.run_id,
            message,
            false,
        )
        .await
        .unwrap();
    };
    store_message(&Message::user_text("What is 'a?")).await;
    // A turn that called a tool, then the final answer: both stored while the run is still going.
    store_message(&assistant("Let me look. ")).await;
    store_message(&assistant("A lifetime.")).await;

    let shown = view::conversation(&db.app, run.user_id, conversation_id).await.unwrap().unwrap();
    assert_eq!(shown.running_run_id, Some(run.run_id.to_string()));
    let roles: Vec<&str> = shown.messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user"], "the running reply is not in the view: {:?}", shown.messages);
    assert_eq!(shown.messages[0].text, "What is 'a?");
    assert_eq!(shown.running_reply_versions, Vec::<String>::new(), "a first reply has no other versions");

    sqlx::query("UPDATE runs SET status = 'completed', finished_at = now() WHERE id = $1")
        .bind(run.run_id)
        .execute(&db.owner)
        .await
        .unwrap();
    let shown = view::conversation(&db.app, run.user_id, conversation_id).await.unwrap().unwrap();
    assert_eq!(shown.running_run_id, None);
    let replies: Vec<(&str, &str)> =
        shown.messages.iter().map(|m| (m.role.as_str(), m.text.as_str())).collect();
    assert_eq!(replies, [("user", "What is 'a?"), ("assistant", "Let me look. A lifetime.")]);
    db.drop().await;
}

#[tokio::test]
async fn a_running_regeneration_is_told_the_earlier_versions_of_its_reply() {
    let db = test_db().await;
    let first = db.run().await;
    let user_id = first.user_id;
    let conversation_id: Uuid = sqlx::query_scalar("SELECT conversation_id FROM runs WHERE id = $1")
        .bind(first.run_id)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let store_message = async |id: Uuid, run_id: Uuid, message: &Message| {
        store::append_message(&db.app, id, user_id, conversation_id, run_id, message, false).await.unwrap();
    };
    let (question, first_reply) = (Uuid::new_v4(), Uuid::new_v4());
    store_message(question, first.run_id, &Message::user_text("Name a colour.")).await;
    store_message(first_reply, first.run_id, &assistant("Blue.")).await;
    sqlx::query("UPDATE runs SET status = 'completed', finished_at = now() WHERE id = $1")
        .bind(first.run_id)
        .execute(&db.owner)
        .await
        .unwrap();

    // "Regenerate": a second run answers the same question; the branch shown ends on it.
    let second = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO runs (id, user_id, conversation_id, status, model) VALUES ($1, $2, $3, 'running', 'm')",
    )
    .bind(second)
    .bind(user_id)
    .bind(conversation_id)
    .execute(&db.owner)
    .await
    .unwrap();
    sqlx::query("UPDATE conversations SET head_message_id = $1 WHERE id = $2")
        .bind(question)
        .bind(conversation_id)
        .execute(&db.owner)
        .await
        .unwrap();

    let shown = view::conversation(&db.app, user_id, conversation_id).await.unwrap().unwrap();
    assert_eq!(shown.running_run_id, Some(second.to_string()));
    let texts: Vec<&str> = shown.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["Name a colour."]);
    assert_eq!(shown.running_reply_versions, [first_reply.to_string()]);

    // Once the run has stored its first turn (a tool call), the same: its own id is not named.
    store_message(Uuid::new_v4(), second, &assistant("Let me think. ")).await;
    let shown = view::conversation(&db.app, user_id, conversation_id).await.unwrap().unwrap();
    assert_eq!(shown.running_reply_versions, [first_reply.to_string()]);
    assert_eq!(shown.messages.len(), 1, "{:?}", shown.messages);

    // Read straight after that message was stored (as a view read between its two queries
    // would), the replies to the question still leave the running run's own out.
    assert_eq!(store::replies_to(&db.app, user_id, question, second).await.unwrap(), [first_reply]);

    // Another user reads none of them.
    let stranger = db.run().await;
    assert_eq!(
        store::replies_to(&db.app, stranger.user_id, question, second).await.unwrap(),
        Vec::<Uuid>::new()
    );
    assert!(view::conversation(&db.app, stranger.user_id, conversation_id).await.unwrap().is_none());
    db.drop().await;
}
