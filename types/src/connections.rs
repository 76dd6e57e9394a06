//! Settings → Connections: personal access tokens (for MCP clients reaching the workspace at
//! `/mcp`) and remote MCP servers whose tools join the agent's ("connectors").

use serde::{Deserialize, Serialize};

/// The path of Jarvis's MCP server (Streamable HTTP), relative to the public URL.
pub const MCP_PATH: &str = "/mcp";

/// The longest token name, in characters.
pub const TOKEN_NAME_MAX_CHARS: usize = 80;

/// The lifetimes a token may be given, in days (the form offers these).
pub const TOKEN_LIFETIMES_DAYS: [u32; 4] = [7, 30, 90, 365];

/// Personal access tokens start with this, so that a leaked one is recognisable (and scanners can
/// find it).
pub const TOKEN_PREFIX: &str = "jvs_";

/// What a personal access token may do at `/mcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// List, read and search documents.
    Read,
    /// Also save and update documents.
    Write,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            _ => None,
        }
    }

    /// In the user's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "Read only",
            Self::Write => "Read and write",
        }
    }
}

/// A token as listed (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenView {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    /// RFC 3339 timestamps.
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
}

/// A token just created: the only time its value is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: AccessTokenView,
    /// `jvs_…`; sent by MCP clients as `Authorization: Bearer …`.
    pub secret: String,
}

/// A tool a connector offers, as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorToolView {
    /// The server's own name for it.
    pub name: String,
    pub description: String,
    /// Whether the agent is offered it (on/off per tool).
    pub enabled: bool,
}

/// A remote MCP server the user added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorView {
    pub id: String,
    /// Short, plain: its tools reach the model as `name__tool`.
    pub name: String,
    pub url: String,
    /// Whether a token is stored for it (the token itself is never shown again).
    pub has_token: bool,
    pub enabled: bool,
    pub tools: Vec<ConnectorToolView>,
    /// RFC 3339: when its tool list was last fetched.
    pub tools_fetched_at: String,
}

/// Everything Settings → Connections shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionsView {
    pub tokens: Vec<AccessTokenView>,
    pub connectors: Vec<ConnectorView>,
    /// The full URL of `/mcp` on this deployment, for the connection instructions.
    pub mcp_url: String,
}

/// The separator between a connector's name and its tool's in the names the model sees.
pub const CONNECTOR_TOOL_SEPARATOR: &str = "__";

/// `connector__tool` → (`connector`, `tool`), for showing a connector's tool call in the user's
/// words; `None` for Jarvis's own tools.
pub fn split_connector_tool(name: &str) -> Option<(&str, &str)> {
    name.split_once(CONNECTOR_TOOL_SEPARATOR).filter(|(server, tool)| !server.is_empty() && !tool.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_their_names() {
        for scope in [TokenScope::Read, TokenScope::Write] {
            assert_eq!(TokenScope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(TokenScope::parse("admin"), None);
    }

    #[test]
    fn connector_tools_split_at_the_first_separator() {
        assert_eq!(split_connector_tool("notes__add_note"), Some(("notes", "add_note")));
        assert_eq!(split_connector_tool("notes__add__twice"), Some(("notes", "add__twice")));
        assert_eq!(split_connector_tool("save_document"), None);
        assert_eq!(split_connector_tool("__x"), None);
    }
}
