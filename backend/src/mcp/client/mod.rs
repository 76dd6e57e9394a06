//! The user's connectors as tools of a run: each enabled tool of each enabled connector, named
//! `connector__tool`, called over Streamable HTTP with timeouts, so that a slow or failing server
//! gives a tool error and never blocks the run. Adding a connector reaches its server once
//! (handshake, `tools/list`) and stores what it offers; a run uses that list as stored and
//! reaches a server only when the model calls one of its tools.

mod content;
mod naming;
mod session;
mod tool;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jarvis_types::connections::ConnectorView;
use secrecy::SecretString;
use url::Url;
use uuid::Uuid;

use self::session::Failure;
use self::tool::{ConnectorTool, ServerLink};
use crate::agent::messages::ToolSpec;
use crate::agent::tools::DynamicTool;
use crate::connections::connectors::{ConnectorAccess, NewConnector, RemoteTool, connector_name};
use crate::connections::{ConnectionError, Connectors};
use crate::web::OutboundPolicy;
use crate::{ErrorKind, Kinded};

pub use self::tool::{CALL_TIMEOUT, CONNECT_TIMEOUT};

/// How long adding or refreshing a connector may take in all: connecting and listing its tools.
pub const REACH_TIMEOUT: Duration = Duration::from_secs(15);

/// The most connector tools a run is offered: OpenAI's API takes at most 128 tools in all, and
/// every tool's description is paid for in every request.
pub const MAX_TOOLS_PER_RUN: usize = 100;

/// The longest connector URL accepted.
const MAX_URL_LEN: usize = 2_048;

/// The longest connector token accepted.
const MAX_TOKEN_LEN: usize = 4_096;

/// Adding or refreshing a connector failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error(transparent)]
    Stored(#[from] ConnectionError),
    /// The URL is not one Jarvis may reach (not http(s), a private address…): the sentence says why.
    #[error("{0}")]
    Refused(String),
    /// The server could not be reached or did not speak MCP: the sentence says what happened.
    #[error("{0}")]
    Unreachable(String),
}

impl Kinded for ConnectorError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Stored(error) => error.kind(),
            // Both are about the address the user typed, and said in words they can act on.
            Self::Refused(_) | Self::Unreachable(_) => ErrorKind::Invalid,
        }
    }
}

/// Turns a user's connectors into tools for a run, and adds or refreshes them.
#[derive(Clone)]
pub struct ConnectorTools {
    connectors: Connectors,
    policy: OutboundPolicy,
}

/// What a server said about itself when reached.
struct Reached {
    server_name: Option<String>,
    tools: Vec<RemoteTool>,
}

impl ConnectorTools {
    pub fn new(connectors: Connectors, policy: OutboundPolicy) -> Self {
        Self { connectors, policy }
    }

    /// The stored connectors (list, remove, switch on and off).
    pub fn connectors(&self) -> &Connectors {
        &self.connectors
    }

    /// The tools the user's enabled connectors offer, as last fetched (no request to any
    /// server). A failure to read them is logged and gives none: a run never fails for it.
    pub async fn for_run(&self, user_id: Uuid) -> Vec<Arc<dyn DynamicTool>> {
        let connectors = match self.connectors.for_run(user_id).await {
            Ok(connectors) => connectors,
            Err(error) => {
                tracing::error!(user.id = %user_id, %error, "connectors.unavailable_for_run");
                return Vec::new();
            }
        };
        let mut names = BTreeSet::new();
        let mut tools: Vec<Arc<dyn DynamicTool>> =
            connectors.into_iter().flat_map(|connector| self.tools_of(connector, &mut names)).collect();
        if tools.len() > MAX_TOOLS_PER_RUN {
            tracing::warn!(
                user.id = %user_id,
                offered = MAX_TOOLS_PER_RUN,
                left_out = tools.len() - MAX_TOOLS_PER_RUN,
                "connectors.too_many_tools: the first connectors' tools are offered"
            );
            tools.truncate(MAX_TOOLS_PER_RUN);
        }
        tools
    }

    /// One connector's enabled tools, sharing one link to its server; `taken` holds the names
    /// already offered, so that two server names made the same are not both offered.
    fn tools_of(
        &self,
        connector: ConnectorAccess,
        taken: &mut BTreeSet<String>,
    ) -> Vec<Arc<dyn DynamicTool>> {
        let Ok(url) = Url::parse(&connector.url) else {
            tracing::warn!(connector.id = %connector.id, "connectors.stored_url_invalid");
            return Vec::new();
        };
        let link = Arc::new(ServerLink::new(
            connector.id,
            connector.name.clone(),
            url,
            connector.token,
            self.policy,
        ));
        let mut tools: Vec<Arc<dyn DynamicTool>> = Vec::new();
        for remote in connector.tools {
            let name = naming::exposed_name(&connector.name, &remote.name);
            let Some(name) = name.filter(|name| taken.insert(name.clone())) else {
                tracing::warn!(
                    connector.id = %connector.id,
                    tool = %remote.name,
                    "connectors.tool_skipped: its name cannot be made a unique tool name"
                );
                continue;
            };
            let spec = ToolSpec {
                name,
                description: naming::description(&connector.name, &remote.description),
                input_schema: naming::object_schema(&remote.input_schema),
            };
            tools.push(Arc::new(ConnectorTool::new(spec, remote.name, Arc::clone(&link))));
        }
        tools
    }

    /// Reaches the MCP server at `url` (with `token` as a bearer token, if given), lists its
    /// tools, and stores it for the user, named after what the server calls itself. Nothing is
    /// stored when the server cannot be used.
    #[tracing::instrument(name = "connectors.add_server", skip_all, fields(user.id = %user_id))]
    pub async fn add(
        &self,
        user_id: Uuid,
        url: &str,
        token: Option<&str>,
    ) -> Result<ConnectorView, ConnectorError> {
        let url = parse_url(url)?;
        let token = parse_token(token)?;
        let reached = self.reach(&url, token.as_ref()).await?;
        let name =
            connector_name(reached.server_name.as_deref().or_else(|| url.host_str()).unwrap_or("server"));
        let new = NewConnector { name, url: url.to_string(), token, tools: reached.tools };
        Ok(self.connectors.add(user_id, new).await?)
    }

    /// Fetches one of the user's connectors' tool list again (its tools switched off stay off).
    #[tracing::instrument(name = "connectors.refresh", skip_all, fields(user.id = %user_id, connector.id = %id))]
    pub async fn refresh(&self, user_id: Uuid, id: Uuid) -> Result<ConnectorView, ConnectorError> {
        let access = self.connectors.access(user_id, id).await?;
        let url = Url::parse(&access.url).map_err(|_| {
            ConnectorError::Refused(format!("The stored address `{}` is not valid.", access.url))
        })?;
        let reached = self.reach(&url, access.token.as_ref()).await?;
        Ok(self.connectors.replace_tools(user_id, id, &reached.tools).await?)
    }

    /// Connects, lists every page of tools and closes, within [`REACH_TIMEOUT`].
    async fn reach(&self, url: &Url, token: Option<&SecretString>) -> Result<Reached, ConnectorError> {
        let reaching = async {
            let mut session = session::connect(self.policy, url, token).await?;
            let listed =
                session.peer().list_all_tools().await.map_err(|error| session::classify_call(&error));
            let server_name = session::server_name(&session);
            // Ends the session (a DELETE for servers that keep one) without waiting long for it.
            let _ = session.close_with_timeout(Duration::from_secs(2)).await;
            let tools = listed?
                .into_iter()
                .map(|tool| RemoteTool {
                    name: tool.name.to_string(),
                    description: tool.description.as_deref().unwrap_or_default().to_owned(),
                    input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
                })
                .collect();
            Ok::<_, Failure>(Reached { server_name, tools })
        };
        let failure = match tokio::time::timeout(REACH_TIMEOUT, reaching).await {
            Ok(Ok(reached)) => return Ok(reached),
            Ok(Err(failure)) => failure,
            Err(_) => Failure::TimedOut(REACH_TIMEOUT),
        };
        tracing::info!(host = url.host_str().unwrap_or_default(), failure = ?failure, "connectors.unreachable");
        Err(match failure {
            Failure::Refused(refused) => ConnectorError::Refused(refused.to_string()),
            other => ConnectorError::Unreachable(other.for_user(url)),
        })
    }
}

fn invalid(sentence: &str) -> ConnectorError {
    ConnectorError::Stored(ConnectionError::Invalid(sentence.to_owned()))
}

/// The server URL as typed, trimmed and parsed.
fn parse_url(raw: &str) -> Result<Url, ConnectorError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(invalid("Enter the server's URL."));
    }
    if raw.len() > MAX_URL_LEN {
        return Err(invalid("That URL is too long."));
    }
    Url::parse(raw).map_err(|_| invalid("That is not a URL; it looks like https://example.com/mcp."))
}

/// The optional token as typed: trimmed, a pasted `Bearer ` dropped, and refused if it could
/// not be sent in a header.
fn parse_token(raw: Option<&str>) -> Result<Option<SecretString>, ConnectorError> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    let token = match raw.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => raw[7..].trim_start(),
        _ => raw,
    };
    if token.is_empty() || token.len() > MAX_TOKEN_LEN || !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(invalid("That token cannot be right: a token is one word of letters, digits and signs."));
    }
    Ok(Some(SecretString::from(token.to_owned())))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    #[test]
    fn urls_are_trimmed_and_must_parse() {
        assert_eq!(
            parse_url("  https://mcp.example.com/mcp \n").unwrap().as_str(),
            "https://mcp.example.com/mcp"
        );
        for bad in ["", "   ", "mcp.example.com", &format!("https://example.com/{}", "a".repeat(MAX_URL_LEN))]
        {
            let error = parse_url(bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Invalid, "{bad}");
        }
    }

    #[test]
    fn tokens_are_trimmed_and_a_pasted_bearer_is_dropped() {
        let token = |raw| parse_token(Some(raw)).unwrap().map(|token| token.expose_secret().to_owned());
        assert_eq!(token(" abc123 "), Some("abc123".to_owned()));
        assert_eq!(token("Bearer abc123"), Some("abc123".to_owned()));
        assert_eq!(token("bearer  abc123"), Some("abc123".to_owned()));
        assert_eq!(token("  "), None);
        assert!(parse_token(None).unwrap().is_none());
        for bad in ["two words", "line\nbreak", "clé"] {
            assert!(parse_token(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
