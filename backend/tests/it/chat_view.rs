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
