use crate::helpers::spawn_app;

#[tokio::test]
async fn the_landing_page_is_complete_html_without_javascript() {
    let app = spawn_app().await;

    let response = app.get("/").await;

    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("Jarvis, the assistant that writes, remembers and speaks."), "{html}");
    assert!(html.contains("Pricing"));
    assert!(html.contains("$20"));
    assert!(html.contains(r#"href="/register""#));
    app.stop().await;
}

#[tokio::test]
async fn the_app_shell_is_served_with_its_hydration_script_to_a_signed_in_user() {
    let app = spawn_app().await;
    let (client, email) = app.signed_in_client().await;

    let response = client.get("/app").await;

    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Connecting…"), "{html}");
    assert!(html.contains("/pkg/jarvis.js"), "{html}");
    assert!(html.contains(&email), "the header names the account: {html}");
    assert!(html.contains("Log out"));
    app.stop().await;
}

#[tokio::test]
async fn the_app_and_settings_send_a_visitor_to_log_in_first() {
    let app = spawn_app().await;

    for (page, next) in [("/app", "%2Fapp"), ("/settings", "%2Fsettings")] {
        let response = app.client().get(page).await;
        assert_eq!(response.status(), 303, "{page}");
        assert_eq!(crate::helpers::location(&response), format!("/login?next={next}"));
    }
    app.stop().await;
}

#[tokio::test]
async fn the_account_pages_render_their_forms_without_javascript() {
    let app = spawn_app().await;

    for (page, button) in [
        ("/register", "Create account"),
        ("/login", "Log in"),
        ("/forgot-password", "Send reset link"),
        ("/reset-password?token=abc", "Set new password"),
    ] {
        let response = app.get(page).await;
        assert_eq!(response.status(), 200, "{page}");
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"method="post""#), "{page}: {html}");
        assert!(html.contains(button), "{page} has its {button} button");
    }
    let login = app.get("/login?error=locked&retry=90&email=a%40b.co").await.text().await.unwrap();
    assert!(login.contains("Too many attempts. Try again in 90 seconds."), "{login}");
    assert!(login.contains(r#"value="a@b.co""#), "the address is kept: {login}");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_path_is_a_404_page() {
    let app = spawn_app().await;

    let response = app.get("/no/such/page").await;

    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    app.stop().await;
}
