//! Account security through HTTP, against real Postgres and the mail peer: the limits on mails
//! anyone can cause (per address and per client, shared by two instances, always the same
//! answer), names that cannot display other than they read, client mistakes answered with 4xx,
//! changing the password, and sessions that end when idle.

use std::time::Duration;

use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply};
use jarvis_types::protocol::RunEvent;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::chat::{ask, open, send, until_finished};
use crate::helpers::{PASSWORD, link_in, location, spawn_app, spawn_app_with, unique_email};
use crate::instances::{Cluster, Endpoint, Instance};

const RESET_SUBJECT: &str = "Subject: Reset your Jarvis password";
const VERIFY_SUBJECT: &str = "Subject: Confirm your email address for Jarvis";
const NOTICE_SUBJECT: &str = "Subject: Someone tried to create a Jarvis account";
const CHANGED_SUBJECT: &str = "Subject: Your Jarvis password was changed";
const NEW_PASSWORD: &str = "a completely different passphrase";

/// Counts the mails that `count` finds once it reached `expected` and stayed there a moment (mail
/// goes out in the background: a mail too many would arrive late).
async fn settled(expected: usize, count: impl Fn() -> usize) -> usize {
    for _ in 0..100 {
        if count() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    count()
}

fn with_subject(mails: Vec<String>, subject: &str) -> usize {
    mails.iter().filter(|mail| mail.lines().any(|line| line.starts_with(subject))).count()
}

/// A form post from a page of `base`, as a client at `ip` (the server trusts `X-Forwarded-For`).
async fn post_as(http: &reqwest::Client, base: &str, ip: &str, path: &str, form: &[(&str, &str)]) -> String {
    let response = http
        .post(format!("{base}{path}"))
        .header("origin", base)
        .header("x-forwarded-for", ip)
        .form(form)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 303, "{path} answers with a redirect");
    location(&response)
}

fn fresh_http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client")
}

fn encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------
// Mail limits

#[tokio::test]
async fn reset_mails_are_limited_per_address_and_per_client_across_two_instances_with_one_answer() {
    let cluster = Cluster::new().await;
    let settings = [("JARVIS_TRUST_FORWARDED_FOR", "true"), ("JARVIS_MAIL_LIMIT_PER_CLIENT", "2")];
    let a = cluster.start("a", &settings).await;
    let b = cluster.start("b", &settings).await;
    let ann = cluster.sign_up(&a).await;
    let bob = cluster.sign_up(&b).await;
    let instances: [&Instance; 2] = [&a, &b];
    let http = fresh_http();
    let unknown = unique_email();

    // What anyone asking for an unknown address is told; every other answer must read the same.
    let answer_for = |email: &str, target: String| target.replace(&encoded(email), "ADDRESS");
    let expected = answer_for(
        &unknown,
        post_as(&http, &a.base_url(), "10.9.9.9", "/forgot-password", &[("email", &unknown)]).await,
    );
    assert!(expected.starts_with("/forgot-password?notice=reset_sent"), "{expected}");

    // Per address: five requests for Ann, from five clients, alternating instances: three mails.
    for attempt in 0..5 {
        let via = instances[attempt % 2];
        let ip = format!("10.0.1.{attempt}");
        let target = post_as(&http, &via.base_url(), &ip, "/forgot-password", &[("email", &ann.email)]).await;
        assert_eq!(answer_for(&ann.email, target), expected, "attempt {attempt} via {}", via.name);
    }
    let ann_resets = settled(3, || with_subject(cluster.read_mails_to(&ann.email), RESET_SUBJECT)).await;
    assert_eq!(ann_resets, 3, "at most three reset mails per address an hour, counted across instances");

    // Per client: one client gets two mails (one through each instance), then none, although
    // Bob's own budget is not spent: another client still gets him his third.
    for (via, ip) in [(&a, "10.0.2.1"), (&b, "10.0.2.1"), (&a, "10.0.2.1"), (&b, "10.0.2.2")] {
        let target = post_as(&http, &via.base_url(), ip, "/forgot-password", &[("email", &bob.email)]).await;
        assert_eq!(answer_for(&bob.email, target), expected);
    }
    let bob_resets = settled(3, || with_subject(cluster.read_mails_to(&bob.email), RESET_SUBJECT)).await;
    assert_eq!(bob_resets, 3, "two from the first client, none past its limit, one from another");

    // The table and the log name no address in clear.
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT key FROM mail_sends").fetch_all(&cluster.owner_pool).await.unwrap();
    let count = |prefix: &str| keys.iter().filter(|key| key.starts_with(prefix)).count();
    assert_eq!(
        (count("to:password_reset:"), count("from:"), count("to:verification:")),
        (6, 6, 2),
        "one row per reset mail for its address and one for its client, and the sign-ups' links: {keys:?}"
    );
    for email in [&ann.email, &bob.email] {
        let local = email.split('@').next().unwrap();
        assert!(keys.iter().all(|key| !key.contains(local)), "{keys:?}");
    }
    let skipped: Vec<String> = [&a, &b]
        .iter()
        .flat_map(|instance| instance.log().lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| line.contains("accounts.mail_skipped"))
        .collect();
    assert_eq!(skipped.len(), 3, "each skipped mail is logged once: {skipped:#?}");
    for line in &skipped {
        assert!(!line.contains(&ann.email) && !line.contains(&bob.email), "{line}");
        assert!(line.contains("user.id"), "{line}");
    }
    drop((a, b));
    cluster.finish().await;
}

#[tokio::test]
async fn a_taken_address_gets_at_most_three_notices_an_hour_and_every_registration_reads_the_same() {
    let app = spawn_app_with(&[("JARVIS_TRUST_FORWARDED_FOR", "true")]).await;
    let http = fresh_http();
    let taken = unique_email();
    app.register(&taken).await;

    // A new address is signed in (see the README's "No enumeration" for that trade-off); a
    // taken one always gets the answer every registration got before: the same each time.
    let fresh = unique_email();
    let fresh_target =
        post_as(&http, &app.address, "10.0.0.200", "/register", &[("email", &fresh), ("password", PASSWORD)])
            .await;
    assert_eq!(fresh_target, "/app");
    let expected = "/login?notice=check_inbox&email=ADDRESS";

    let taken_form = [("email", taken.as_str()), ("password", PASSWORD)];
    for attempt in 0..5 {
        let target =
            post_as(&http, &app.address, &format!("10.0.0.{attempt}"), "/register", &taken_form).await;
        assert_eq!(target.replace(&encoded(&taken), "ADDRESS"), expected, "attempt {attempt}");
    }
    let notices = settled(3, || with_subject(app.read_mails_to(&taken), NOTICE_SUBJECT)).await;
    assert_eq!(notices, 3);
    assert_eq!(with_subject(app.read_mails_to(&taken), VERIFY_SUBJECT), 1, "one link, at registration");
    app.stop().await;
}

#[tokio::test]
async fn one_client_causes_at_most_its_share_of_mails_whatever_the_addresses() {
    let app =
        spawn_app_with(&[("JARVIS_TRUST_FORWARDED_FOR", "true"), ("JARVIS_MAIL_LIMIT_PER_CLIENT", "3")])
            .await;
    let http = fresh_http();
    let addresses: Vec<String> = (0..4).map(|_| unique_email()).collect();
    for email in &addresses {
        app.register(email).await;
    }
    let mut answers = Vec::new();
    for email in &addresses {
        let target = post_as(&http, &app.address, "192.0.2.7", "/forgot-password", &[("email", email)]).await;
        answers.push(target.replace(&encoded(email), "ADDRESS"));
    }
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]), "{answers:?}");
    let total = || addresses.iter().map(|email| with_subject(app.read_mails_to(email), RESET_SUBJECT)).sum();
    assert_eq!(settled(3, total).await, 3, "the fourth address got nothing from this client");
    let last = &addresses[3];
    post_as(&http, &app.address, "192.0.2.8", "/forgot-password", &[("email", last)]).await;
    assert_eq!(settled(1, || with_subject(app.read_mails_to(last), RESET_SUBJECT)).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn verification_links_are_limited_per_address_counting_the_first_one() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    let client = app.client();
    app.log_in(&client, &email, PASSWORD).await;

    for attempt in 0..4 {
        // Past the one-a-minute rule, so only the hourly limit can hold a link back.
        sqlx::query("UPDATE email_tokens SET created_at = now() - interval '2 minutes'")
            .execute(&app.owner_pool)
            .await
            .unwrap();
        let response = client.post_form("/resend-verification", &[]).await;
        assert_eq!(location(&response), "/app?notice=verification_sent", "attempt {attempt}");
    }
    let links = settled(3, || with_subject(app.read_mails_to(&email), VERIFY_SUBJECT)).await;
    assert_eq!(links, 3, "the registration's link and two more; the other requests changed nothing");
    let issued: i64 = sqlx::query_scalar("SELECT count(*) FROM email_tokens WHERE purpose = 'verify_email'")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(issued, 3, "no link is made for a mail that is not sent");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Names

#[tokio::test]
async fn bidi_controls_are_stripped_from_display_names_uploads_documents_and_conversations() {
    let app = spawn_app().await;

    // A display name.
    let email = unique_email();
    let response = app
        .client()
        .post_form(
            "/register",
            &[("email", &email), ("password", PASSWORD), ("display_name", "\u{202E}Mallory\u{2066}\u{200F}")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE email = $1::citext")
        .bind(&email)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(name, "Mallory");

    let (client, owner) = app.signed_in_client().await;
    // An uploaded file of unknown type keeps its (harmless) extension, named as it reads.
    let binary = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff".to_vec();
    let report: Value = client
        .upload(&[("invoice\u{202E}fdp.exe", &binary), ("notes\u{2067}dm.txt\u{2069}.md", b"# Notes\n")])
        .await
        .json()
        .await
        .unwrap();
    let uploaded = report["uploaded"].as_array().expect("uploads");
    assert_eq!(uploaded.len(), 2, "{report}");
    let filename: String =
        sqlx::query_scalar("SELECT filename FROM files").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(filename, "invoicefdp.exe");
    let (title, document_file): (String, String) =
        sqlx::query_as("SELECT title, filename FROM documents").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!((title.as_str(), document_file.as_str()), ("notesdm.txt", "notesdm.txt.md"));

    // A document renamed by its owner.
    let id = uploaded.iter().find_map(|item| item["document"]["id"].as_str()).expect("a document").to_owned();
    let (status, renamed) =
        client.server_fn("rename_document", &[("id", &id), ("title", "Plan\u{202E}gpj.exe\u{202C}")]).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["title"], "Plangpj.exe");
    let (status, refused) =
        client.server_fn("rename_document", &[("id", &id), ("title", "\u{202E}\u{2066}")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a name of nothing but controls is empty: {refused}");

    // A conversation renamed by its owner.
    let conversation = Uuid::new_v4();
    sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, 'Milk')")
        .bind(conversation)
        .bind(app.user_id(&owner).await)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let id = conversation.to_string();
    let (status, _) = client
        .server_fn(
            "rename_conversation",
            &[("id", &id), ("title", "\u{2067}Groceries\u{2069}\u{200E}\u{061C}")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let title: String = sqlx::query_scalar("SELECT title FROM conversations WHERE id = $1")
        .bind(conversation)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(title, "Groceries");
    let (status, refused) =
        client.server_fn("rename_conversation", &[("id", &id), ("title", "\u{202D}")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused.to_string().contains("A title cannot be empty."), "{refused}");
    app.stop().await;
}

#[tokio::test]
async fn names_the_model_gives_lose_their_bidi_controls_too() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::tool_use(
        "toolu_save",
        "save_document",
        json!({"title": "invoice\u{202E}fdp.exe", "kind": "markdown", "content": "# Due"}),
    ));
    fake.reply(Reply::text("Saved."));
    let app =
        spawn_app_with(&[("ANTHROPIC_BASE_URL", &fake.base_url()), ("ANTHROPIC_API_KEY", "sk-ant-test")])
            .await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    send(&mut socket, &ask(None, "\u{202E}Save the invoice")).await;
    let events = until_finished(&mut socket).await;
    let saved = events.iter().find_map(|(_, _, event)| match event {
        RunEvent::DocumentSaved { document } => Some(document.title.clone()),
        _ => None,
    });
    assert_eq!(saved.as_deref(), Some("invoicefdp.exe"));
    let (title, filename): (String, String) =
        sqlx::query_as("SELECT title, filename FROM documents").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!((title.as_str(), filename.as_str()), ("invoicefdp.exe", "invoicefdp.exe.md"));
    let conversation: String =
        sqlx::query_scalar("SELECT title FROM conversations").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(conversation, "Save the invoice");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Client mistakes are 4xx

#[tokio::test]
async fn renaming_or_deleting_a_conversation_that_is_not_yours_is_404_and_changes_nothing() {
    let app = spawn_app().await;
    let (alice, alice_email) = app.signed_in_client().await;
    let (bob, _) = app.signed_in_client().await;
    let conversation = Uuid::new_v4();
    sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, 'Private')")
        .bind(conversation)
        .bind(app.user_id(&alice_email).await)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let id = conversation.to_string();
    let nobodys = Uuid::new_v4().to_string();

    for (name, args) in [
        ("rename_conversation", vec![("id", id.as_str()), ("title", "pwned")]),
        ("delete_conversation", vec![("id", id.as_str())]),
        ("rename_conversation", vec![("id", nobodys.as_str()), ("title", "x")]),
        ("delete_conversation", vec![("id", nobodys.as_str())]),
        ("rename_conversation", vec![("id", "not-a-uuid"), ("title", "x")]),
        ("delete_conversation", vec![("id", "not-a-uuid")]),
    ] {
        let (status, body) = bob.server_fn(name, &args).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name} {args:?}: {body}");
        assert!(body.to_string().contains("No such conversation."), "{body}");
    }
    // Arguments that do not parse are the client's mistake too.
    let (status, body) = bob.server_fn("rename_conversation", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let title: String = sqlx::query_scalar("SELECT title FROM conversations WHERE id = $1")
        .bind(conversation)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(title, "Private");
    let (status, _) = alice.server_fn("delete_conversation", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "its owner still can");
    app.stop().await;
}

#[tokio::test]
async fn a_server_function_body_over_the_limit_is_413_with_a_sentence() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let huge = "x".repeat(3 * 1024 * 1024);
    for who in [&app.client(), &client] {
        let response = who.post_form("/api/rename_conversation", &[("id", "x"), ("title", &huge)]).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.text().await.unwrap(), "This request is too large: at most 2 MiB.");
    }
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Change password

#[tokio::test]
async fn settings_offer_a_change_password_form_that_works_without_javascript() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let html = client.get("/settings").await.text().await.unwrap();
    assert!(html.contains(r#"action="/settings/change-password""#), "{html}");
    assert!(html.contains(r#"method="post""#));
    for label in ["Current password", "New password", "Change password"] {
        assert!(html.contains(label), "{label}");
    }
    assert!(html.contains(r#"name="current_password""#) && html.contains(r#"name="new_password""#));
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing_and_counts_as_a_failed_log_in() {
    let app = spawn_app().await;
    let (laptop, phone, email) = app.signed_in_on_two_devices().await;

    let response = laptop
        .post_form(
            "/settings/change-password",
            &[("current_password", "not my password at all"), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(location(&response), "/settings?error=wrong_current_password");
    let page = laptop.get("/settings?error=wrong_current_password").await.text().await.unwrap();
    assert!(page.contains("Your current password is not correct. Your password was not changed."), "{page}");
    let failures: Vec<i32> = sqlx::query_scalar("SELECT failures FROM login_throttle ORDER BY key")
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(failures, vec![1, 1], "one failure for the account and one for the client address");

    // A new password that breaks the rules of registration changes nothing either.
    for (new, code) in
        [("short", "password_too_short"), ("password123", "password_common"), (PASSWORD, "same_password")]
    {
        let response = laptop
            .post_form("/settings/change-password", &[("current_password", PASSWORD), ("new_password", new)])
            .await;
        assert_eq!(location(&response), format!("/settings?error={code}"));
    }
    assert_eq!(phone.get("/settings").await.status(), 200, "the other device is still signed in");
    app.log_in(&app.client(), &email, PASSWORD).await;
    app.stop().await;
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_and_keeps_this_one() {
    let app = spawn_app().await;
    let (laptop, phone, email) = app.signed_in_on_two_devices().await;
    let forgot = app.client().post_form("/forgot-password", &[("email", &email)]).await;
    assert_eq!(forgot.status(), 303);
    let mails = app.mails_to(&email, 2).await;
    let reset_link = link_in(mails.last().unwrap(), "/reset-password").expect("a reset link");

    let response = laptop
        .post_form(
            "/settings/change-password",
            &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(location(&response), "/settings?notice=password_changed");

    let page = laptop.get("/settings?notice=password_changed").await;
    assert_eq!(page.status(), 200, "this device stays signed in");
    assert!(
        page.text().await.unwrap().contains("Your password was changed. Every other device was logged out.")
    );
    let elsewhere = phone.get("/settings").await;
    assert_eq!(elsewhere.status(), 303, "the other device must log in again");
    assert!(location(&elsewhere).starts_with("/login"));
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE revoked_at IS NULL")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(live, 1);

    let old = app.client().post_form("/login", &[("email", &email), ("password", PASSWORD)]).await;
    assert!(location(&old).starts_with("/login?error=invalid_credentials"), "{}", location(&old));
    app.log_in(&app.client(), &email, NEW_PASSWORD).await;

    // A reset link mailed before the change cannot undo it.
    let token = reset_link.split("token=").nth(1).unwrap().to_owned();
    let reset = app
        .client()
        .post_form("/reset-password", &[("token", &token), ("password", "yet another long passphrase")])
        .await;
    assert_eq!(location(&reset), "/forgot-password?error=invalid_link");
    let notice = settled(1, || with_subject(app.read_mails_to(&email), CHANGED_SUBJECT)).await;
    assert_eq!(notice, 1, "the owner is told their password changed");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Idle sessions

#[tokio::test]
async fn a_session_idle_past_the_timeout_is_refused_at_refresh_and_revoked() {
    let app = spawn_app_with(&[("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES", "1")]).await;
    let (client, _) = app.signed_in_client().await;
    // This device's session (registering started another, ended since).
    let session = app.access_tokens().verify(&client.cookie("jarvis_access").unwrap()).unwrap().sid;

    // Used within the timeout: the refresh goes through and counts as activity.
    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '30 seconds'")
        .execute(&app.owner_pool)
        .await
        .unwrap();
    client.set_cookie("jarvis_access", "");
    assert_eq!(client.get("/settings").await.status(), 200);
    let recent: bool =
        sqlx::query_scalar("SELECT last_seen_at > now() - interval '5 seconds' FROM sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert!(recent, "a refresh is activity");

    // Idle for longer than the timeout: the next refresh is refused and the session ends.
    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '2 minutes'")
        .execute(&app.owner_pool)
        .await
        .unwrap();
    client.set_cookie("jarvis_access", "");
    let page = client.get("/settings").await;
    assert_eq!(page.status(), 303);
    assert!(location(&page).starts_with("/login"), "{}", location(&page));
    let revoked: bool = sqlx::query_scalar("SELECT revoked_at IS NOT NULL FROM sessions WHERE id = $1")
        .bind(session)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(revoked);
    app.stop().await;
}

#[tokio::test]
async fn a_settings_form_sent_after_its_session_ended_goes_to_log_in_not_to_an_error_page() {
    let app = spawn_app().await;
    let signed_out = app.client();
    for (path, form) in [
        (
            "/settings/change-password",
            vec![("current_password", PASSWORD), ("new_password", "a brand new passphrase")],
        ),
        ("/settings/delete-account", vec![("password", PASSWORD)]),
        ("/logout-everywhere", vec![]),
    ] {
        let response = signed_out.post_form(path, &form).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), "/login?notice=session_ended&next=%2Fsettings", "{path}");
    }
    let response = signed_out.post_form("/resend-verification", &[]).await;
    assert_eq!(location(&response), "/login?notice=session_ended&next=%2Fapp");
    // An API call is still answered as one: 401 with the error's JSON.
    let response = signed_out
        .http
        .post(format!("{}/api/uploads", app.address))
        .header("origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}
