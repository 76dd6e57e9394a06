use jarvis_server::startup::Application;
use serde_json::Value;

use crate::helpers::{create_database, drop_database, spawn_app, test_config};

#[tokio::test]
async fn healthz_answers_200_with_json_while_the_process_lives() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    app.stop().await;
}

#[tokio::test]
async fn readyz_answers_200_when_postgres_answers() {
    let app = spawn_app().await;

    let response = app.get("/readyz").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ok", "database": "ok" }));
    app.stop().await;
}

#[tokio::test]
async fn readyz_answers_503_once_the_database_is_gone_while_healthz_stays_200() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    drop_database(&app.database_name).await;

    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "status": "unavailable", "database": "unavailable" }));
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn migrations_run_at_start_up() {
    let app = spawn_app().await;
    let url = crate::helpers::admin_database_url();
    let mut url = url::Url::parse(&url).unwrap();
    url.set_path(&app.database_name);
    let pool = sqlx::PgPool::connect(url.as_str()).await.unwrap();

    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    let migration_files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|ext| ext == "sql"))
        .count();
    assert_eq!(applied, i64::try_from(migration_files).unwrap());
    pool.close().await;
    app.stop().await;
}

#[tokio::test]
async fn start_up_fails_with_a_clear_error_when_the_database_is_unreachable() {
    // Port 1 on loopback refuses connections.
    let config = test_config("postgres://jarvis@127.0.0.1:1/nowhere");

    let error = Application::build(config).await.err().expect("start-up must fail");

    assert_eq!(error.to_string(), "could not reach or migrate the database");
}

#[tokio::test]
async fn a_second_instance_on_the_same_database_starts_and_serves() {
    let (name, url) = create_database().await;
    let first = Application::build(test_config(&url)).await.expect("first instance");
    let second = Application::build(test_config(&url)).await.expect("second instance");
    assert_ne!(first.port(), second.port());
    drop(first);
    drop(second);
    drop_database(&name).await;
}
