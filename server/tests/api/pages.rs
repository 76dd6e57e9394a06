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
async fn the_app_shell_is_served_with_its_hydration_script() {
    let app = spawn_app().await;

    let html = app.get("/app").await.text().await.unwrap();

    assert!(html.contains("Connecting…"), "{html}");
    assert!(html.contains("/pkg/jarvis.js"), "{html}");
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
