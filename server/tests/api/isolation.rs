//! Tenant isolation, second line: Postgres row-level security under the application role.

use jarvis_backend::db::user_transaction;
use uuid::Uuid;

use crate::helpers::spawn_app;

/// Two signed-in users, Alice and Bob: their ids.
async fn alice_and_bob(app: &crate::helpers::TestApp) -> (Uuid, Uuid) {
    let (_, alice_email) = app.signed_in_client().await;
    let (_, bob_email) = app.signed_in_client().await;
    (app.user_id(&alice_email).await, app.user_id(&bob_email).await)
}

#[tokio::test]
async fn a_query_that_forgets_its_where_user_id_still_sees_only_the_current_users_rows() {
    let app = spawn_app().await;
    let (alice, bob) = alice_and_bob(&app).await;

    let mut tx = user_transaction(&app.app_pool, alice).await.unwrap();
    // Deliberately unscoped queries: no WHERE user_id.
    let users: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM users").fetch_all(&mut *tx).await.unwrap();
    let session_owners: Vec<Uuid> =
        sqlx::query_scalar("SELECT user_id FROM sessions").fetch_all(&mut *tx).await.unwrap();
    let token_owners: Vec<Uuid> =
        sqlx::query_scalar("SELECT user_id FROM email_tokens").fetch_all(&mut *tx).await.unwrap();
    let updated = sqlx::query("UPDATE sessions SET user_agent = 'hijacked'").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(users, vec![alice]);
    assert!(
        !session_owners.is_empty() && session_owners.iter().all(|owner| *owner == alice),
        "{session_owners:?}"
    );
    assert!(!token_owners.is_empty() && token_owners.iter().all(|owner| *owner == alice));
    assert_eq!(updated.rows_affected(), u64::try_from(session_owners.len()).unwrap());
    let bobs_agents: Vec<String> = sqlx::query_scalar("SELECT user_agent FROM sessions WHERE user_id = $1")
        .bind(bob)
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
    assert!(bobs_agents.iter().all(|agent| agent != "hijacked"), "Bob's rows were not touched");
    app.stop().await;
}

#[tokio::test]
async fn without_a_user_the_application_role_sees_no_ones_rows() {
    let app = spawn_app().await;
    app.signed_in_client().await;

    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.app_pool).await.unwrap();
    let sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&app.app_pool).await.unwrap();

    assert_eq!((users, sessions), (0, 0));
    app.stop().await;
}

#[tokio::test]
async fn a_user_cannot_write_a_row_that_belongs_to_someone_else() {
    let app = spawn_app().await;
    let (alice, bob) = alice_and_bob(&app).await;

    let mut tx = user_transaction(&app.app_pool, alice).await.unwrap();
    let result = sqlx::query(
        "INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, now() + interval '1 day')",
    )
    .bind(Uuid::new_v4())
    .bind(bob)
    .execute(&mut *tx)
    .await;

    let error = result.expect_err("row-level security refuses the insert");
    assert!(error.to_string().contains("row-level security"), "{error}");
    tx.rollback().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn every_table_holding_user_data_has_row_level_security_and_the_app_role_cannot_bypass_it() {
    let app = spawn_app().await;

    let unprotected: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
          WHERE c.relkind = 'r'
            AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname IN ('user_id')
                        OR (c.relname = 'users'))
            AND (NOT c.relrowsecurity OR NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))",
    )
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    assert!(unprotected.is_empty(), "tables without RLS: {unprotected:?}");

    let (role, superuser, bypass, owns): (String, bool, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, r.rolsuper, r.rolbypassrls,
                EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user)
           FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(&app.app_pool)
    .await
    .unwrap();
    assert_eq!(role, "jarvis_app");
    assert!(!superuser && !bypass && !owns);
    app.stop().await;
}
