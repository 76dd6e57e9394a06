//! Shared by the backend's integration tests: a fresh database per test (testkit's
//! [`TestDatabase`]), migrated as the schema owner, with a pool for the application role (bound by
//! row-level security) and one for the owner (to arrange and check rows behind RLS's back); and
//! the agent's provider pointed at the fake Anthropic server.

use std::time::Duration;

use jarvis_backend::agent::anthropic::{AnthropicProvider, AnthropicSettings};
use jarvis_backend::agent::tools::{ToolContext, ToolRegistry};
use jarvis_backend::db::{self, DatabaseSettings};
use jarvis_backend::library::documents;
use jarvis_testkit::database::TestDatabase;
use jarvis_testkit::fake_anthropic::FakeAnthropic;
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

/// A provider talking to the fake Anthropic server, giving up on a silent stream after `timeout`.
pub fn anthropic_provider(fake: &FakeAnthropic, timeout: Duration) -> AnthropicProvider {
    AnthropicProvider::new(AnthropicSettings {
        base_url: fake.base_url().parse().unwrap(),
        api_key: Some(SecretString::from("sk-ant-test")),
        version: "2023-06-01".into(),
        model: "claude-test".into(),
        max_tokens: 1024,
        max_output_tokens: 8192,
        first_byte_timeout: timeout,
        stall_timeout: timeout,
    })
}

pub struct TestDb {
    pub owner: PgPool,
    pub app: PgPool,
    database: TestDatabase,
}

/// A fresh `jarvis_test_…` database ([`TestDatabase`]), migrated, with the application role's
/// pool as the backend makes it.
pub async fn test_db() -> TestDb {
    let database = TestDatabase::create().await;
    database.migrate().await.unwrap();
    let settings = DatabaseSettings {
        owner_url: SecretString::from(database.owner_url()),
        app_url: SecretString::from(database.app_url()),
        max_connections: 5,
        acquire_timeout: Duration::from_secs(3),
    };
    TestDb { owner: database.owner_pool().await.unwrap(), app: db::pool(&settings).unwrap(), database }
}

/// A user and a run of theirs, in the test database.
#[derive(Debug, Clone, Copy)]
pub struct TestRun {
    pub user_id: Uuid,
    pub run_id: Uuid,
}

impl TestRun {
    /// The agent's tools acting in this run.
    pub fn context(self) -> ToolContext {
        ToolContext::for_run(self.user_id, self.run_id)
    }
}

impl TestDb {
    /// A user with a conversation and a run, as the agent would act for.
    pub async fn user(&self) -> ToolContext {
        self.run().await.context()
    }

    /// A user with a conversation and a run: their ids.
    pub async fn run(&self) -> TestRun {
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
        TestRun { user_id, run_id }
    }

    pub fn tools(&self) -> ToolRegistry {
        let mut registry = ToolRegistry::standard();
        documents::tools::register(&mut registry, self.app.clone(), None);
        registry
    }

    pub async fn drop(self) {
        self.owner.close().await;
        self.app.close().await;
        self.database.drop().await.unwrap();
    }
}
