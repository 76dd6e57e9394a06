//! Settings over HTTP: the display name (set, refused with a sentence when too long or holding
//! control characters, kept by Postgres to the same rules) and "Download my data" (a zip of the
//! session user's account, conversations, documents, files and usage — nobody else's — that
//! needs a session and is limited per hour).

use std::collections::BTreeMap;
use std::io::Read as _;

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Client, TestApp, spawn_app};
use crate::library::PNG;

const EXPORT: &str = "/api/account/export";

/// A conversation of `user` titled `title`: a question, and a reply written by a run that used
/// 11 input and 22 output tokens (metered too). Returns the conversation's and the run's ids.
async fn conversation(app: &TestApp, user: Uuid, title: &str, question: &str, answer: &str) -> (Uuid, Uuid) {
    let (id, run) = (Uuid::new_v4(), Uuid::new_v4());
    let pool = &app.owner_pool;
    sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(user)
        .bind(title)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO runs (id, user_id, conversation_id, status, model, input_tokens, output_tokens, finished_at)
         VALUES ($1, $2, $3, 'completed', 'test-model', 11, 22, now())",
    )
    .bind(run)
    .bind(user)
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO usage_records (run_id, user_id, model, input_tokens, output_tokens, cost_micros)
         VALUES ($1, $2, 'test-model', 11, 22, 1500)",
    )
    .bind(run)
    .bind(user)
    .execute(pool)
    .await
    .unwrap();
    for (role, text, run_id) in [("user", question, None), ("assistant", answer, Some(run))] {
        sqlx::query(
            "INSERT INTO messages (id, user_id, conversation_id, role, content, run_id) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::new_v4())
        .bind(user)
        .bind(id)
        .bind(role)
        .bind(json!([{ "type": "text", "text": text }]))
        .bind(run_id)
        .execute(pool)
        .await
        .unwrap();
    }
    (id, run)
}

/// Every entry of a zip, by name.
fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            (entry.name().to_owned(), content)
        })
        .collect()
}

fn text(entries: &BTreeMap<String, Vec<u8>>, name: &str) -> String {
    String::from_utf8(
        entries.get(name).unwrap_or_else(|| panic!("no {name} in {:?}", entries.keys())).clone(),
    )
    .unwrap()
}

async fn set_name(client: &Client, name: &str) -> (StatusCode, Value) {
    client.server_fn("account_display_name", &[("display_name", name)]).await
}

#[tokio::test]
async fn the_display_name_is_set_checked_and_shown_with_the_account() {
    let app = spawn_app().await;
    let (client, email) = app.signed_in_client().await;

    let (status, answer) = set_name(&client, "  Ada \u{202E}Lovelace ").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!("Saved. Jarvis will call you Ada Lovelace."));
    let (_, account) = client.server_fn("account", &[]).await;
    assert_eq!(account["display_name"], "Ada Lovelace");

    let too_long = "a".repeat(81);
    for (name, sentence) in [
        (too_long.as_str(), "Use at most 80 characters for your display name."),
        ("Ada\tLovelace", "Your display name cannot contain control characters such as tabs or line breaks."),
        ("Ada\nLovelace", "Your display name cannot contain control characters such as tabs or line breaks."),
    ] {
        let (status, answer) = set_name(&client, name).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}: {answer}");
        assert_eq!(answer["message"], sentence, "{name:?}");
    }
    // A refused name changes nothing; 80 characters (not bytes) are fine.
    let (_, account) = client.server_fn("account", &[]).await;
    assert_eq!(account["display_name"], "Ada Lovelace");
    let long = "é".repeat(80);
    assert_eq!(set_name(&client, &long).await.0, StatusCode::OK);
    let (_, account) = client.server_fn("account", &[]).await;
    assert_eq!(account["display_name"], long.as_str());
    // Characters as people count them: 80 family emoji (seven code points each) are 80, and one
    // more is refused with the same sentence.
    let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}";
    assert_eq!(set_name(&client, &family.repeat(80)).await.0, StatusCode::OK);
    let (_, account) = client.server_fn("account", &[]).await;
    assert_eq!(account["display_name"], family.repeat(80).as_str());
    let (status, answer) = set_name(&client, &family.repeat(81)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["message"], "Use at most 80 characters for your display name.");

    // Cleared: the address's local part, as at registration.
    let (status, answer) = set_name(&client, "   ").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let local = email.split('@').next().unwrap();
    assert_eq!(answer, json!(format!("Saved. Jarvis will call you {local}.")));

    // Signed out: nothing to name.
    let (status, _) = set_name(&app.client(), "Mallory").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Postgres keeps the column to one line and a bound on what it stores (1,000 code points:
    // the 80 characters are counted by the server, as people count them), whoever writes it.
    let user = app.user_id(&email).await;
    for bad in ["tab\there".to_owned(), "x".repeat(1001)] {
        let refused = sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
            .bind(user)
            .bind(&bad)
            .execute(&app.owner_pool)
            .await;
        assert!(refused.is_err(), "{bad:?} must violate a CHECK");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_export_holds_the_users_data_and_nobody_elses() {
    let app = spawn_app().await;
    let (alice, alice_email) = app.signed_in_client().await;
    let (bob, bob_email) = app.signed_in_client().await;
    let (alice_id, bob_id) = (app.user_id(&alice_email).await, app.user_id(&bob_email).await);
    assert_eq!(set_name(&alice, "Alice Liddell").await.0, StatusCode::OK);
    assert_eq!(set_name(&bob, "Bob BOB-SECRET-NAME").await.0, StatusCode::OK);
    let (conversation_id, run_id) =
        conversation(&app, alice_id, "Trip to Lisbon", "Plan a trip to Lisbon", "Day one is **Alfama**.")
            .await;
    conversation(&app, bob_id, "BOB-SECRET-TITLE", "BOB-SECRET-QUESTION", "BOB-SECRET-ANSWER").await;
    assert_eq!(
        alice.upload(&[("plan.md", b"# Alice's plan"), ("pixel.png", PNG)]).await.status(),
        StatusCode::OK
    );
    assert_eq!(bob.upload(&[("bob.md", b"BOB-SECRET-DOCUMENT")]).await.status(), StatusCode::OK);

    let response = alice.get(EXPORT).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    // The day the conversation began (UTC), as Postgres stamped it.
    let today: String = sqlx::query_scalar(
        "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM conversations WHERE id = $1",
    )
    .bind(conversation_id)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    let exported_on = disposition
        .strip_prefix("attachment; filename=\"jarvis-export-")
        .and_then(|rest| rest.split_once(".zip\""))
        .and_then(|(date, _)| chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
        .unwrap_or_else(|| panic!("{disposition}"));
    let began = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap();
    assert!((0..=1).contains(&(exported_on - began).num_days()), "{disposition}");
    let entries = unzip(&response.bytes().await.unwrap());
    let transcript = format!("conversations/{today}-conversation-trip-to-lisbon.md");
    let json_name = format!("conversations/{conversation_id}.json");
    let mut expected = vec![
        "account.json",
        transcript.as_str(),
        json_name.as_str(),
        "documents/plan.md",
        "files/pixel.png",
        "usage.csv",
    ];
    expected.sort_unstable();
    assert_eq!(entries.keys().map(String::as_str).collect::<Vec<_>>(), expected);

    let account: Value = serde_json::from_str(&text(&entries, "account.json")).unwrap();
    assert_eq!(account["email"], alice_email.as_str());
    assert_eq!(account["display_name"], "Alice Liddell");
    assert!(account["plan"]["id"].is_string() && account["plan"]["name"].is_string(), "{account}");
    assert!(account["created_at"].as_str().is_some_and(|at| at.len() >= 20), "{account}");

    let markdown = text(&entries, &transcript);
    assert!(markdown.starts_with("# Trip to Lisbon\n"), "{markdown}");
    assert!(
        markdown.contains("## You\n\nPlan a trip to Lisbon") && markdown.contains("Day one is **Alfama**.")
    );

    let conversation: Value = serde_json::from_str(&text(&entries, &json_name)).unwrap();
    assert_eq!(conversation["title"], "Trip to Lisbon");
    let messages = conversation["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0]["role"].as_str(), messages[1]["role"].as_str()),
        (Some("user"), Some("assistant"))
    );
    assert_eq!(messages[1]["content"][0]["text"], "Day one is **Alfama**.");
    assert_eq!(messages[1]["run_id"], run_id.to_string());
    assert!(
        messages
            .iter()
            .all(|message| message["created_at"].as_str().is_some_and(|at| at.starts_with(&today)))
    );
    let run = &conversation["runs"][0];
    assert_eq!(
        (run["id"].as_str(), run["usage"]["input_tokens"].as_i64(), run["usage"]["output_tokens"].as_i64()),
        (Some(run_id.to_string().as_str()), Some(11), Some(22))
    );

    assert_eq!(text(&entries, "documents/plan.md"), "# Alice's plan");
    assert_eq!(entries["files/pixel.png"], PNG);
    let usage = text(&entries, "usage.csv");
    let lines: Vec<&str> = usage.lines().collect();
    assert_eq!(lines.len(), 2, "{usage}");
    assert!(
        lines[1].starts_with(&format!("{run_id},{today}T"))
            && lines[1].ends_with(",test-model,11,22,0,0,0.001500"),
        "{usage}"
    );

    // Nothing of Bob's, anywhere in it.
    for (name, content) in &entries {
        let content = String::from_utf8_lossy(content);
        assert!(!content.contains("BOB-SECRET") && !content.contains(&bob_email), "{name} holds Bob's data");
        assert!(!name.contains("bob"), "{name}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_export_needs_a_session_and_is_limited_per_hour() {
    let app = spawn_app().await;
    let response = app.client().get(EXPORT).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Followed in a browser while signed out: a page that says so and leads to the log-in page.
    let page = app.client().navigate(EXPORT).await;
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    assert!(page.headers()["vary"].to_str().unwrap().contains("Accept"));
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<a href="/login">Log in</a>"#), "{html}");

    let (client, _) = app.signed_in_client().await;
    for attempt in 1..=5 {
        let response = client.get(EXPORT).await;
        assert_eq!(response.status(), StatusCode::OK, "export {attempt}");
        // A new account's archive: the account, no conversation, an empty usage table.
        let entries = unzip(&response.bytes().await.unwrap());
        assert_eq!(entries.keys().map(String::as_str).collect::<Vec<_>>(), vec!["account.json", "usage.csv"]);
    }
    let response = client.get(EXPORT).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "export_rate_limited");
    assert_eq!(body["message"], "You can download your data 5 times an hour. Try again in 60 minutes.");

    // The link followed in a browser (which asks for HTML): the same refusal as a page to read,
    // with the way back, not JSON.
    let page = client.navigate(EXPORT).await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(page.headers().contains_key("retry-after"));
    assert!(
        page.headers()["content-type"].to_str().unwrap().starts_with("text/html"),
        "{:?}",
        page.headers()
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("You can download your data 5 times an hour. Try again in 60 minutes."), "{html}");
    assert!(html.contains(r#"<a href="/settings">Back to Settings</a>"#), "{html}");
    assert!(!html.contains("export_rate_limited"), "{html}");

    // Another user has their own share.
    let (other, _) = app.signed_in_client().await;
    assert_eq!(other.get(EXPORT).await.status(), StatusCode::OK);
    app.stop().await;
}
