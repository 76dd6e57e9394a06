use jarvis_server::startup::Application;
use serde_json::Value;

use crate::helpers::{
    create_database, drop_database, owner_database_url, spawn_app, test_config, with_database,
};

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
    let pool =
        sqlx::PgPool::connect(&with_database(&owner_database_url(), &app.database_name)).await.unwrap();

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
    let (config, _) = test_config(
        "nowhere",
        &[
            ("DATABASE_URL", "postgres://jarvis@127.0.0.1:1/nowhere"),
            ("DATABASE_APP_URL", "postgres://jarvis_app@127.0.0.1:1/nowhere"),
        ],
    );

    let error = Application::build(config).await.err().expect("start-up must fail");

    assert_eq!(error.to_string(), "could not reach or migrate the database");
}

#[tokio::test]
async fn two_instances_starting_at_once_on_one_database_both_start() {
    let name = create_database().await;
    let (first, second) = tokio::join!(
        Application::build(test_config(&name, &[]).0),
        Application::build(test_config(&name, &[]).0),
    );
    let (first, second) = (first.expect("first instance"), second.expect("second instance"));
    assert_ne!(first.port(), second.port());
    drop(first);
    drop(second);
    drop_database(&name).await;
}

#[tokio::test]
async fn start_up_refuses_a_runtime_role_that_row_level_security_does_not_bind() {
    let name = create_database().await;
    // The schema owner is not bound by RLS: the application must not run as it.
    let owner_url = with_database(&owner_database_url(), &name);
    let (config, _) = test_config(&name, &[("DATABASE_APP_URL", owner_url.as_str())]);

    let error = Application::build(config).await.err().expect("start-up must fail");

    let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
    assert!(cause.contains("not bound by row-level security"), "{error}: {cause}");
    drop_database(&name).await;
}
