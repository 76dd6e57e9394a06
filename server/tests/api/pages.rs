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

    for (page, next) in [
        ("/app", "%2Fapp"),
        ("/settings", "%2Fsettings"),
        // A link to one conversation comes back to it after the log-in.
        ("/app?c=0b5e6a52-3c1e-4f7e-9a77-2f1d2c3b4a59", "%2Fapp%3Fc%3D0b5e6a52-3c1e-4f7e-9a77-2f1d2c3b4a59"),
    ] {
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

#[tokio::test]
async fn private_pages_are_never_stored_so_back_after_log_out_cannot_show_them() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;

    for page in ["/app", "/settings", "/billing", "/admin"] {
        let response = client.get(page).await;
        assert!(response.status() == 200 || response.status() == 404, "{page}: {}", response.status());
        assert_eq!(response.headers()["cache-control"], "no-store", "{page}");
    }
    // Public pages still render for anyone, as before.
    for page in ["/", "/pricing", "/login", "/register"] {
        let response = app.get(page).await;
        assert_eq!(response.status(), 200, "{page}");
        assert!(response.headers().contains_key("cache-control"), "{page}");
    }
    // After log-out, the page Back would show is asked for again and sends the visitor to log in.
    let logged_out = client.post_form("/logout", &[]).await;
    assert_eq!(crate::helpers::location(&logged_out), "/login?notice=logged_out");
    let back = client.get("/app").await;
    assert_eq!(back.status(), 303);
    assert_eq!(back.headers()["cache-control"], "no-store");
    app.stop().await;
}

#[tokio::test]
async fn every_page_starts_with_a_skip_link_to_its_main_landmark() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;

    for (page, html) in [
        ("/", app.get("/").await.text().await.unwrap()),
        ("/login", app.get("/login").await.text().await.unwrap()),
        ("/pricing", app.get("/pricing").await.text().await.unwrap()),
        ("/nowhere", app.get("/nowhere").await.text().await.unwrap()),
        ("/app", client.get("/app").await.text().await.unwrap()),
        ("/settings", client.get("/settings").await.text().await.unwrap()),
    ] {
        let body = &html[html.find("<body").unwrap_or_else(|| panic!("{page}: {html}"))..];
        let first_link = body.find("<a ").unwrap_or_else(|| panic!("{page}: {body}"));
        let skip = body.find(r##"<a href="#main""##).unwrap_or_else(|| panic!("{page}: {body}"));
        assert_eq!(first_link, skip, "{page}: the skip link comes first: {body}");
        assert!(body[skip..].starts_with(r##"<a href="#main" class="sr-only focus:not-sr-only"##), "{page}");
        assert!(body.contains("Skip to content"), "{page}");
        assert!(body.contains(r#"<main id="main""#), "{page}: a main landmark with the id: {body}");
        assert!(!body[..skip].contains("<button") && !body[..skip].contains("<input"), "{page}");
    }
    app.stop().await;
}

#[tokio::test]
async fn without_javascript_the_app_says_so_and_a_message_never_stays_in_the_address() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;

    let html = client.get("/app").await.text().await.unwrap();
    assert!(html.contains("<noscript>"), "{html}");
    assert!(html.contains("The chat needs JavaScript"), "{html}");

    // As a browser sends it: a navigation that accepts HTML.
    let sent = client
        .http
        .get(format!("{}/app?message=my+secret+plans", app.address))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_redirection(), "{}", sent.status());
    let target = crate::helpers::location(&sent);
    assert_eq!(target, "/app?notice=needs_javascript");
    let page = client.get(&target).await.text().await.unwrap();
    assert!(page.contains("The chat needs JavaScript: turn it on"), "{page}");
    assert!(!page.contains("my secret plans"), "{page}");
    app.stop().await;
}
