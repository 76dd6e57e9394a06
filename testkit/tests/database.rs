//! Throwaway databases: created under the tests' prefix, migrated, reachable as the owner and as
//! the application role, and gone once dropped.

use jarvis_testkit::database::{self, TEST_PREFIX, TestDatabase};

#[tokio::test]
async fn a_test_database_is_created_migrated_reachable_and_dropped() {
    let test_database = TestDatabase::create().await;
    let name = test_database.name().to_owned();
    assert!(name.starts_with(TEST_PREFIX), "{name}");
    test_database.migrate().await.expect("the migrations run");
    let owner = test_database.owner_pool().await.expect("the owner connects");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&owner)
        .await
        .expect("the schema is there");
    assert_eq!(users, 0);
    let app = test_database.app_pool().await.expect("the application role connects");
    let role: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&app).await.expect("a role");
    let app_role = url::Url::parse(&database::app_url()).expect("a URL").username().to_owned();
    assert_eq!(role, app_role);
    // Dropped even while both pools still hold connections.
    test_database.drop().await.expect("the database is dropped");
    let admin = sqlx::PgPool::connect(&database::owner_url()).await.expect("connect");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&admin)
        .await
        .expect("a count");
    assert_eq!(left, 0);
}
