//! The document store and the agent's document tools against a real Postgres, under the
//! application role and row-level security.

use jarvis_backend::agent::tools::{ToolContext, ToolRegistry};
use jarvis_backend::library::documents::{self, Author, DocumentError, Edit, Kind, NewDocument, Sort};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::test_db;

async fn call(tools: &ToolRegistry, context: ToolContext, name: &str, input: Value) -> Result<Value, String> {
    tools
        .call(context, name, input)
        .await
        .map(|out| serde_json::from_str(&out.content).unwrap())
        .map_err(|error| error.0)
}

#[tokio::test]
async fn the_agent_saves_reads_and_updates_a_document_as_new_versions() {
    let db = test_db().await;
    let agent = db.user().await;
    let tools = db.tools();

    let saved = call(
        &tools,
        agent,
        "save_document",
        json!({"title": "Plan", "kind": "markdown", "content": "# Plan\n\n- one"}),
    )
    .await
    .unwrap();
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["filename"], "Plan.md");
    let id = saved["id"].as_str().unwrap().to_owned();

    let read = call(&tools, agent, "read_document", json!({"id": id})).await.unwrap();
    assert_eq!(read["content"], "# Plan\n\n- one");
    let updated = call(
        &tools,
        agent,
        "update_document",
        json!({"id": id, "version": 1, "find": "- one", "replace": "- one\n- two"}),
    )
    .await
    .unwrap();
    assert_eq!(updated["version"], 2);
    let replaced =
        call(&tools, agent, "update_document", json!({"id": id, "version": 2, "content": "all new"}))
            .await
            .unwrap();
    assert_eq!(replaced["version"], 3);

    let versions = documents::versions(&db.app, agent.user_id, Uuid::parse_str(&id).unwrap()).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![3, 2, 1]);
    assert!(versions.iter().all(|v| v.author == "agent" && v.run_id == agent.run_id));
    let v2 =
        documents::version_content(&db.app, agent.user_id, Uuid::parse_str(&id).unwrap(), 2).await.unwrap();
    assert_eq!(v2, "# Plan\n\n- one\n- two");
    db.drop().await;
}

#[tokio::test]
async fn an_update_based_on_an_old_version_is_refused_and_the_users_edit_survives() {
    let db = test_db().await;
    let agent = db.user().await;
    let tools = db.tools();
    let saved =
        call(&tools, agent, "save_document", json!({"title": "Notes", "kind": "text", "content": "draft"}))
            .await
            .unwrap();
    let id = Uuid::parse_str(saved["id"].as_str().unwrap()).unwrap();

    // The user edits the document in the meantime.
    documents::update(
        &db.app,
        agent.user_id,
        id,
        1,
        Edit::Replace("the user's words".into()),
        Author::User,
        None,
    )
    .await
    .unwrap();

    let refused =
        call(&tools, agent, "update_document", json!({"id": id, "version": 1, "content": "agent overwrite"}))
            .await
            .unwrap_err();
    assert!(refused.contains("you read version 1, it is now at version 2"), "{refused}");
    assert!(refused.contains("Read it again"), "{refused}");
    let current = documents::read(&db.app, agent.user_id, id).await.unwrap();
    assert_eq!((current.content.as_str(), current.version), ("the user's words", 2));

    // After reading again, the agent's change applies on top.
    let updated = call(
        &tools,
        agent,
        "update_document",
        json!({"id": id, "version": 2, "find": "words", "replace": "words, improved"}),
    )
    .await
    .unwrap();
    assert_eq!(updated["version"], 3);
    db.drop().await;
}

#[tokio::test]
async fn listing_pages_and_filters_and_search_ranks_with_snippets() {
    let db = test_db().await;
    let agent = db.user().await;
    let tools = db.tools();
    for n in 0..25 {
        call(&tools, agent, "save_document", json!({"title": format!("Note {n:02}"), "kind": "text", "content": format!("filler text number {n}")})).await.unwrap();
    }
    call(&tools, agent, "save_document", json!({"title": "Espresso guide", "kind": "markdown", "content": "How to pull an espresso shot: grind fine."})).await.unwrap();
    call(
        &tools,
        agent,
        "save_document",
        json!({"title": "Groceries", "kind": "markdown", "content": "milk, bread, espresso beans"}),
    )
    .await
    .unwrap();
    call(
        &tools,
        agent,
        "save_document",
        json!({"title": "main", "kind": "code", "language": "rust", "content": "fn main() {}"}),
    )
    .await
    .unwrap();

    let first = call(&tools, agent, "list_documents", json!({"limit": 10})).await.unwrap();
    assert_eq!(first["documents"].as_array().unwrap().len(), 10);
    assert_eq!(first["total"], 28);
    assert_eq!(first["next_offset"], 10);
    let last = call(&tools, agent, "list_documents", json!({"limit": 10, "offset": 20})).await.unwrap();
    assert_eq!(last["documents"].as_array().unwrap().len(), 8);
    assert!(last["next_offset"].is_null());
    let code = call(&tools, agent, "list_documents", json!({"kind": "code"})).await.unwrap();
    assert_eq!(code["total"], 1);
    assert_eq!(code["documents"][0]["language"], "rust");
    let by_title = call(&tools, agent, "list_documents", json!({"sort": "title", "limit": 1})).await.unwrap();
    assert_eq!(by_title["documents"][0]["title"], "Espresso guide");

    let found = call(&tools, agent, "search_documents", json!({"query": "espresso"})).await.unwrap();
    let results = found["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["title"], "Espresso guide", "a title match ranks first");
    assert!(results[0]["snippet"].as_str().unwrap().contains("«espresso»"), "{}", results[0]["snippet"]);
    db.drop().await;
}

#[tokio::test]
async fn bad_arguments_unknown_ids_and_limits_are_clear_errors_that_change_nothing() {
    let db = test_db().await;
    let agent = db.user().await;
    let tools = db.tools();

    let cases = [
        ("save_document", json!({"title": "x", "kind": "spreadsheet", "content": ""}), "not a kind"),
        ("save_document", json!({"title": "x", "kind": "code", "content": "x"}), "need a `language`"),
        ("save_document", json!({"title": "  ", "kind": "text", "content": "x"}), "needs a title"),
        (
            "save_document",
            json!({"title": "x", "kind": "text", "content": "x".repeat(1024 * 1024 + 1)}),
            "limited to 1024 KiB",
        ),
        (
            "save_document",
            json!({"title": "x", "kind": "text", "content": "x", "user_id": "someone"}),
            "unknown field `user_id`",
        ),
        ("read_document", json!({"id": "not-an-id"}), "not a document id"),
        ("read_document", json!({"id": Uuid::new_v4()}), "No document with that id."),
        ("update_document", json!({"id": Uuid::new_v4(), "version": 1}), "either `content`"),
        ("list_documents", json!({"limit": 500}), "between 1 and 100"),
        ("search_documents", json!({"query": "  "}), "at least one word"),
    ];
    for (tool, input, expected) in cases {
        let error = call(&tools, agent, tool, input.clone()).await.unwrap_err();
        assert!(error.contains(expected), "{tool} {input}: {error}");
    }
    let (documents, total) =
        documents::list(&db.app, agent.user_id, None, Sort::default(), 10, 0).await.unwrap();
    assert_eq!((documents.len(), total), (0, 0));

    let saved =
        call(&tools, agent, "save_document", json!({"title": "Repeat", "kind": "text", "content": "a a"}))
            .await
            .unwrap();
    let ambiguous = call(
        &tools,
        agent,
        "update_document",
        json!({"id": saved["id"], "version": 1, "find": "a", "replace": "b"}),
    )
    .await
    .unwrap_err();
    assert!(ambiguous.contains("occurs 2 times"), "{ambiguous}");
    db.drop().await;
}

#[tokio::test]
async fn another_user_gets_not_found_for_every_operation_never_the_content() {
    let db = test_db().await;
    let alice = db.user().await;
    let mallory = db.user().await;
    let tools = db.tools();
    let saved = call(
        &tools,
        alice,
        "save_document",
        json!({"title": "Diary", "kind": "text", "content": "secret thoughts"}),
    )
    .await
    .unwrap();
    let id = Uuid::parse_str(saved["id"].as_str().unwrap()).unwrap();

    assert_eq!(
        call(&tools, mallory, "read_document", json!({"id": id})).await.unwrap_err(),
        "No document with that id."
    );
    assert_eq!(
        call(&tools, mallory, "update_document", json!({"id": id, "version": 1, "content": "defaced"}))
            .await
            .unwrap_err(),
        "No document with that id."
    );
    let found = call(&tools, mallory, "search_documents", json!({"query": "secret"})).await.unwrap();
    assert_eq!(found["results"], json!([]));
    let listed = call(&tools, mallory, "list_documents", json!({})).await.unwrap();
    assert_eq!(listed["total"], 0);
    assert_eq!(documents::versions(&db.app, mallory.user_id, id).await, Err(DocumentError::NotFound));
    assert_eq!(
        documents::version_content(&db.app, mallory.user_id, id, 1).await,
        Err(DocumentError::NotFound)
    );
    assert_eq!(
        documents::rename(&db.app, mallory.user_id, id, "mine").await.err(),
        Some(DocumentError::NotFound)
    );
    assert_eq!(documents::delete(&db.app, mallory.user_id, id).await, Err(DocumentError::NotFound));
    assert_eq!(documents::read(&db.app, alice.user_id, id).await.unwrap().content, "secret thoughts");
    db.drop().await;
}

#[tokio::test]
async fn restoring_an_old_version_adds_a_new_one_and_rename_keeps_a_safe_filename() {
    let db = test_db().await;
    let user = db.user().await;
    let doc = documents::create(
        &db.app,
        user.user_id,
        NewDocument { title: "v".into(), kind: Kind::Markdown, language: None, content: "first".into() },
        Author::User,
    )
    .await
    .unwrap();
    documents::update(&db.app, user.user_id, doc.id, 1, Edit::Replace("second".into()), Author::User, None)
        .await
        .unwrap();

    let restored = documents::restore(&db.app, user.user_id, doc.id, 1, 2, None).await.unwrap();
    assert_eq!((restored.content.as_str(), restored.version), ("first", 3));

    let renamed = documents::rename(&db.app, user.user_id, doc.id, "../../etc/passwd").await.unwrap();
    assert!(!renamed.filename.contains('/') && !renamed.filename.contains(".."), "{}", renamed.filename);
    assert!(renamed.filename.ends_with(".md"));
    db.drop().await;
}

#[tokio::test]
async fn saving_and_updating_tell_the_user_which_document_changed() {
    let db = test_db().await;
    let agent = db.user().await;
    let tools = db.tools();
    let saved = tools
        .call(agent, "save_document", json!({"title": "Poem", "kind": "text", "content": "roses"}))
        .await
        .unwrap();
    let reference = saved.saved.expect("a saved document reference");
    assert!(reference.created);
    assert_eq!((reference.title.as_str(), reference.kind.as_str(), reference.version), ("Poem", "text", 1));
    let updated = tools
        .call(agent, "update_document", json!({"id": reference.id, "version": 1, "content": "violets"}))
        .await
        .unwrap();
    let changed = updated.saved.expect("an updated document reference");
    assert!(!changed.created);
    assert_eq!((changed.id, changed.version), (reference.id.clone(), 2));
    // Reading changes nothing, so it tells nothing.
    let read = tools.call(agent, "read_document", json!({"id": reference.id})).await.unwrap();
    assert!(read.saved.is_none());
    // A refused update tells nothing either.
    let refused =
        tools.call(agent, "update_document", json!({"id": reference.id, "version": 1, "content": "x"})).await;
    assert!(refused.is_err());
    db.drop().await;
}
