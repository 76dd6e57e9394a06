//! A connector's tool as one of a run's tools. The run's tools of one connector share a link to
//! its server: connected on the first call (never before the model asks for one), reused by the
//! next calls of the run, connected again after it broke, and closed when the run's tools are
//! dropped. Every call is bounded in time, and whatever the server does ends as a result or a
//! tool error: the run goes on. Dropping a call (the user pressed Stop) abandons it; the SDK
//! tells the server the request is cancelled.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::model::CallToolRequestParams;
use secrecy::SecretString;
use serde_json::Value;
use url::Url;
use uuid::Uuid;

use super::content;
use super::session::{self, Failure, Session};
use crate::agent::messages::ToolSpec;
use crate::agent::tools::{DynamicTool, ToolContext, ToolError, ToolOutput};
use crate::web::outbound::OutboundPolicy;

/// How long connecting to a server (TCP, TLS and the MCP handshake) may take in a run.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one call may take in all, connecting included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A run's way to one connector's server, shared by that connector's tools.
pub struct ServerLink {
    pub connector_id: Uuid,
    /// The connector's name, as the model and the user know it.
    pub name: String,
    url: Url,
    token: Option<SecretString>,
    policy: OutboundPolicy,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
}

impl ServerLink {
    pub fn new(
        connector_id: Uuid,
        name: String,
        url: Url,
        token: Option<SecretString>,
        policy: OutboundPolicy,
    ) -> Self {
        Self { connector_id, name, url, token, policy, session: tokio::sync::Mutex::new(None) }
    }

    /// The run's session with the server, connecting if there is none (or it closed). Calls
    /// arriving meanwhile wait for this connection rather than open their own.
    async fn session(&self) -> Result<Arc<Session>, Failure> {
        let mut slot = self.session.lock().await;
        if let Some(session) = slot.as_ref().filter(|session| !session.is_closed()) {
            return Ok(Arc::clone(session));
        }
        let connecting = session::connect(self.policy, &self.url, self.token.as_ref());
        let session = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(connected) => Arc::new(connected?),
            Err(_) => return Err(Failure::TimedOut(CONNECT_TIMEOUT)),
        };
        *slot = Some(Arc::clone(&session));
        Ok(session)
    }

    /// Forgets `broken` (if it is still the current session) so that the next call reconnects.
    async fn forget(&self, broken: &Arc<Session>) {
        let mut slot = self.session.lock().await;
        if slot.as_ref().is_some_and(|current| Arc::ptr_eq(current, broken)) {
            *slot = None;
        }
    }

    /// Calls `tool` with `arguments`: its result, its own error (`isError`) as a tool error in
    /// the server's words, or what went wrong in reaching it (logged).
    async fn call(
        &self,
        context: ToolContext,
        tool: &str,
        arguments: serde_json::Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        let called = async {
            let session = self.session().await?;
            let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
            match session.call_tool(params).await {
                Ok(result) => Ok(content::render(&result)),
                Err(error) => {
                    let failure = session::classify_call(&error);
                    if failure.breaks_session() {
                        self.forget(&session).await;
                    }
                    Err(failure)
                }
            }
        };
        let failure = match tokio::time::timeout(CALL_TIMEOUT, called).await {
            Ok(Ok((text, false))) => return Ok(text.into()),
            Ok(Ok((text, true))) => return Err(ToolError(text)),
            Ok(Err(failure)) => failure,
            Err(_) => Failure::TimedOut(CALL_TIMEOUT),
        };
        // Never the URL or the token: the connector's id and name say which it was.
        tracing::warn!(
            user.id = %context.user_id,
            connector.id = %self.connector_id,
            connector.name = %self.name,
            tool,
            failure = ?failure,
            "connectors.call_failed"
        );
        Err(ToolError(failure.for_model(&self.name)))
    }
}

/// One tool of a connector, as the model is offered it.
pub struct ConnectorTool {
    spec: ToolSpec,
    /// The server's own name for the tool (the model's may have been made fit for the APIs).
    remote_name: String,
    link: Arc<ServerLink>,
}

impl ConnectorTool {
    pub fn new(spec: ToolSpec, remote_name: String, link: Arc<ServerLink>) -> Self {
        Self { spec, remote_name, link }
    }
}

impl DynamicTool for ConnectorTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    fn call_json(&self, context: ToolContext, input: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let arguments = match input {
                Value::Object(arguments) => arguments,
                Value::Null => serde_json::Map::new(),
                _ => return Err(ToolError("Invalid arguments: expected a JSON object.".to_owned())),
            };
            self.link.call(context, &self.remote_name, arguments).await
        })
    }
}
