//! What every handler can reach: the database, the services, the configuration and the stop
//! signal.

use std::sync::Arc;

use axum::extract::FromRef;
use jarvis_backend::{
    accounts::Accounts, attachments::Attachments, billing::Billing, chat::Chat, connections::Connections,
    mcp::client::ConnectorTools, storage::BlobStore, transcription::Transcription, voice::Voice,
};
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::Config;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The resolved public URL (configured, or `http://localhost:<bound port>`).
    pub public_url: Url,
    /// Whether cookies carry `Secure`: always, except on plain http://localhost.
    pub secure_cookies: bool,
    pub pool: PgPool,
    pub accounts: Accounts,
    pub chat: Chat,
    /// Uploaded files and other binary objects.
    pub store: BlobStore,
    /// Attachments of questions: uploads, downloads, what the model is given.
    pub attachments: Attachments,
    /// Spoken replies: the engine, the users' settings, the clips.
    pub voice: Voice,
    /// Speech input: the engine behind the limits and the plan.
    pub transcription: Transcription,
    /// Plans, limits, metering and Stripe.
    pub billing: Billing,
    /// Personal access tokens and the users' MCP connectors.
    pub connections: Connections,
    /// The connectors' tools, for listing and trying them from Settings.
    pub connector_tools: ConnectorTools,
    pub leptos_options: LeptosOptions,
    /// Cancelled when the process starts to stop; long-lived connections close on it.
    pub shutdown: CancellationToken,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
