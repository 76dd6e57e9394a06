//! The colour theme, end to end: a signed-in user's choice is stored and rendered into the
//! server's `<html>` on every device (no flash of the wrong theme), a signed-out visitor's lives
//! in a cookie, System renders no attribute, and a bad value is refused with a sentence.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Client, TestApp, set_cookie_header, spawn_app};

/// The opening `<html …>` tag of a page.
async fn html_tag(client: &Client, path: &str) -> String {
    let response = client.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    let body = response.text().await.unwrap();
    let start = body.find("<html").expect("a page has an <html> tag");
    let end = start + body[start..].find('>').unwrap();
    body[start..=end].to_owned()
}

async fn stored_theme(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar("SELECT theme FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_chosen_theme_follows_the_user_to_another_device_and_is_in_the_first_html() {
    let app = spawn_app().await;
    let (laptop, phone, email) = app.signed_in_on_two_devices().await;
    assert!(!html_tag(&phone, "/app").await.contains("data-theme"), "System by default: no attribute");

    let (status, answer) = laptop.server_fn("save_theme", &[("theme", "dark")]).await;
    assert_eq!((status, answer), (StatusCode::OK, json!("dark")));
    assert_eq!(stored_theme(&app, &email).await, "dark");
    assert_eq!(laptop.cookie("jarvis_theme").as_deref(), Some("dark"));

    // The phone has no theme cookie: the server reads the stored choice before writing <html>.
    assert_eq!(phone.cookie("jarvis_theme"), None);
    assert!(html_tag(&phone, "/app").await.contains(r#"data-theme="dark""#));
    assert!(html_tag(&phone, "/settings").await.contains(r#"data-theme="dark""#));
    // …and brings the phone's cookie in line, for the pages it sees signed out.
    assert_eq!(phone.cookie("jarvis_theme").as_deref(), Some("dark"));
    assert_eq!(phone.post_form("/logout", &[]).await.status(), StatusCode::SEE_OTHER);
    assert!(html_tag(&phone, "/").await.contains(r#"data-theme="dark""#));
    assert!(html_tag(&phone, "/login").await.contains(r#"data-theme="dark""#));

    // Back to System: no attribute, so the device's setting rules.
    let (status, _) = laptop.server_fn("save_theme", &[("theme", "system")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html_tag(&laptop, "/app").await.contains("data-theme"));
    assert_eq!(stored_theme(&app, &email).await, "system");
    app.stop().await;
}

#[tokio::test]
async fn the_stored_choice_wins_over_a_stale_cookie_and_replaces_it() {
    let app = spawn_app().await;
    let (client, email) = app.signed_in_client().await;
    let (status, _) = client.server_fn("save_theme", &[("theme", "light")]).await;
    assert_eq!(status, StatusCode::OK);
    client.set_cookie("jarvis_theme", "dark");

    let response = client.get("/app").await;
    let cookie = set_cookie_header(&response, "jarvis_theme").expect("the cookie is corrected");
    assert!(cookie.starts_with("jarvis_theme=light;"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http://localhost may not use Secure: {cookie}");
    assert!(response.text().await.unwrap().contains(r#"data-theme="light""#));
    assert_eq!(stored_theme(&app, &email).await, "light");
    app.stop().await;
}

#[tokio::test]
async fn a_signed_out_visitors_theme_lives_in_a_cookie_only() {
    let app = spawn_app().await;
    let visitor = app.client();
    assert!(!html_tag(&visitor, "/").await.contains("data-theme"));

    let (status, answer) = visitor.server_fn("save_theme", &[("theme", "dark")]).await;
    assert_eq!((status, answer), (StatusCode::OK, json!("dark")));
    assert_eq!(visitor.cookie("jarvis_theme").as_deref(), Some("dark"));
    for page in ["/", "/login", "/register", "/pricing"] {
        assert!(html_tag(&visitor, page).await.contains(r#"data-theme="dark""#), "{page}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE theme <> 'system'")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_theme_is_refused_with_a_sentence_and_changes_nothing() {
    let app = spawn_app().await;
    let (client, email) = app.signed_in_client().await;
    let (status, answer) = client.server_fn("save_theme", &[("theme", "purple")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["message"], "Choose a theme: System, Light or Dark.");
    assert_eq!(stored_theme(&app, &email).await, "system");
    assert_eq!(client.cookie("jarvis_theme"), None);
    // A forged cookie names no theme: the page follows the system.
    client.set_cookie("jarvis_theme", "%22%3E%3Cscript%3E");
    client.post_form("/logout", &[]).await;
    assert!(!html_tag(&client, "/").await.contains("data-theme"));
    app.stop().await;
}

#[tokio::test]
async fn without_javascript_the_theme_form_saves_and_returns_to_the_page() {
    let app = spawn_app().await;
    let (client, email) = app.signed_in_client().await;
    let settings = format!("{}/settings", app.address);
    let response = client
        .http
        .post(format!("{}/api/save_theme", app.address))
        .header("origin", &app.address)
        .header("referer", &settings)
        .header("accept", "text/html,application/xhtml+xml")
        .form(&[("theme", "dark")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    // Back to the page (leptos may add an empty query).
    let back = crate::helpers::location(&response);
    assert_eq!(back.trim_end_matches('?'), settings);
    assert_eq!(stored_theme(&app, &email).await, "dark");
    assert!(html_tag(&client, "/settings").await.contains(r#"data-theme="dark""#));
    app.stop().await;
}
