//! The state the chat service shares with the runs it executes and the reaper: the database,
//! the models, the tools, attachments, voice, billing, the live runs and the journal.

use std::sync::Arc;

use sqlx::PgPool;

use super::journal::Journal;
use super::listener::RemoteWakes;
use super::live::LiveRuns;
use crate::agent::tools::ToolRegistry;
use crate::agent::turn::TurnLimits;
use crate::attachments::Attachments;
use crate::billing::Billing;
use crate::mcp::client::ConnectorTools;
use crate::models::ModelCatalog;
use crate::voice::Voice;

/// How runs are set up.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    pub limits: TurnLimits,
    /// History sent per call at most (lowered further for a model with a smaller window).
    pub context_budget_tokens: usize,
}

/// The services the chat is built on.
pub struct ChatServices {
    pub pool: PgPool,
    /// The models a run may use, and their providers.
    pub models: ModelCatalog,
    pub tools: ToolRegistry,
    /// The tools of each user's own MCP servers, added to `tools` for that user's runs.
    pub connector_tools: Option<ConnectorTools>,
    /// The files questions carry, resolved for the model before each run.
    pub attachments: Attachments,
    /// Speaks replies while they stream, for users who want that.
    pub voice: Option<Voice>,
    /// Plans, limits and metering.
    pub billing: Billing,
}

/// What the chat service and its runs share.
pub(super) struct Shared {
    pub(super) pool: PgPool,
    pub(super) models: ModelCatalog,
    pub(super) tools: ToolRegistry,
    pub(super) connector_tools: Option<ConnectorTools>,
    pub(super) attachments: Attachments,
    pub(super) settings: ChatSettings,
    /// Speaks replies while they stream, for users who want that.
    pub(super) voice: Option<Voice>,
    /// Plans, limits and metering.
    pub(super) billing: Billing,
    /// Runs executing on this instance (and those finished a moment ago).
    pub(super) live: Arc<LiveRuns>,
    /// The durable log's writer, which also holds this instance's id and lease.
    pub(super) journal: Journal,
    /// Followers here of runs executing elsewhere.
    pub(super) wakes: Arc<RemoteWakes>,
    /// Messages being admitted at once: a burst queues here rather than exhausting the
    /// connection pool (whose waits time out) for everything else.
    pub(super) admissions: tokio::sync::Semaphore,
}
