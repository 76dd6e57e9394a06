//! Shared by the backend's integration tests: a fresh database per test, migrated as the schema
//! owner, with a pool for the application role (bound by row-level security) and one for the
//! owner (to arrange and check rows behind RLS's back).
#![allow(dead_code)]

use jarvis_backend::agent::tools::{ToolContext, ToolRegistry};
use jarvis_backend::db::{self, DatabaseSettings};
use jarvis_backend::documents;
use secrecy::SecretString;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

pub struct TestDb {
    pub name: String,
    pub owner: PgPool,
    pub app: PgPool,
}

fn url_with_db(base: &str, name: &str) -> String {
    let mut url = url::Url::parse(base).unwrap();
    url.set_path(name);
    url.to_string()
}

pub async fn test_db() -> TestDb {
    let owner_base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://jarvis:jarvis@127.0.0.1:5432/jarvis".into());
    let app_base = std::env::var("DATABASE_APP_URL")
        .unwrap_or_else(|_| "postgres://jarvis_app:jarvis_app@127.0.0.1:5432/jarvis".into());
    let name = format!("jarvis_test_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&owner_base).await.unwrap();
    admin.execute(format!(r#"CREATE DATABASE "{name}""#).as_str()).await.unwrap();
    let settings = DatabaseSettings {
        owner_url: SecretString::from(url_with_db(&owner_base, &name)),
        app_url: SecretString::from(url_with_db(&app_base, &name)),
        max_connections: 5,
        acquire_timeout: std::time::Duration::from_secs(3),
    };
    db::migrate(&settings).await.unwrap();
    TestDb {
        owner: PgPool::connect(&url_with_db(&owner_base, &name)).await.unwrap(),
        app: db::pool(&settings).unwrap(),
        name,
    }
}

impl TestDb {
    /// A user with a conversation and a run, as the agent would act for.
    pub async fn user(&self) -> ToolContext {
        let user_id = Uuid::new_v4();
        let run_id = Uuid::new_v4();
        let conversation_id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'Test')",
        )
        .bind(user_id)
        .bind(format!("{user_id}@example.com"))
        .execute(&self.owner)
        .await
        .unwrap();
        sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, 't')")
            .bind(conversation_id)
            .bind(user_id)
            .execute(&self.owner)
            .await
            .unwrap();
        sqlx::query("INSERT INTO runs (id, user_id, conversation_id, status, model) VALUES ($1, $2, $3, 'running', 'm')")
            .bind(run_id)
            .bind(user_id)
            .bind(conversation_id)
            .execute(&self.owner)
            .await
            .unwrap();
        ToolContext { user_id, run_id }
    }

    pub fn tools(&self) -> ToolRegistry {
        let mut registry = ToolRegistry::standard();
        documents::tools::register(&mut registry, self.app.clone(), None);
        registry
    }

    pub async fn drop(self) {
        self.owner.close().await;
        self.app.close().await;
        let owner_base = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://jarvis:jarvis@127.0.0.1:5432/jarvis".into());
        let mut admin = PgConnection::connect(&owner_base).await.unwrap();
        admin
            .execute(format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name).as_str())
            .await
            .unwrap();
    }
}
