//! Settings → Connections: the server functions behind personal access tokens and MCP servers.
//! Thin: the user comes from the verified session, ids that do not parse are "not found", and
//! every backend error reaches the user as its sentence (through [`AppError`]).

use jarvis_types::connections::{ConnectionsView, ConnectorView, CreatedToken, TokenScope};
use leptos::prelude::*;

use crate::error::AppError;

/// The user's tokens and connectors, and the address MCP clients connect to.
#[server(prefix = "/api", endpoint = "connections")]
pub async fn get_connections() -> Result<ConnectionsView, AppError> {
    let (user, connections) = ssr::context()?;
    let tokens = connections.tokens.list(user.user_id).await?;
    let connectors = connections.connectors.list(user.user_id).await?;
    Ok(ConnectionsView { tokens, connectors, mcp_url: ssr::mcp_url()? })
}

/// A new personal access token; its secret is in the answer and nowhere else, ever.
#[server(prefix = "/api", endpoint = "connections_create_token")]
pub async fn create_token(
    name: String,
    scope: TokenScope,
    lifetime_days: u32,
) -> Result<CreatedToken, AppError> {
    let (user, connections) = ssr::context()?;
    Ok(connections.tokens.create(user.user_id, &name, scope, lifetime_days).await?)
}

/// Revokes one of the user's tokens: MCP clients using it are refused from the next request on.
#[server(prefix = "/api", endpoint = "connections_revoke_token")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    let (user, connections) = ssr::context()?;
    Ok(connections.tokens.revoke(user.user_id, ssr::parse_id(&id)?).await?)
}

/// Adds the MCP server at `url` (reaching it once to learn its name and tools); `token`, when
/// given, is sent to it as a bearer token and stored encrypted.
#[server(prefix = "/api", endpoint = "connections_add_connector")]
pub async fn add_connector(url: String, token: Option<String>) -> Result<ConnectorView, AppError> {
    let user = crate::server_context::current_user()?;
    let tools = crate::server_context::service::<jarvis_backend::mcp::client::ConnectorTools>()?;
    let token = token.as_deref().map(str::trim).filter(|token| !token.is_empty());
    Ok(tools.add(user.user_id, url.trim(), token).await?)
}

/// Removes one of the user's MCP servers (and its stored token).
#[server(prefix = "/api", endpoint = "connections_remove_connector")]
pub async fn remove_connector(id: String) -> Result<(), AppError> {
    let (user, connections) = ssr::context()?;
    Ok(connections.connectors.remove(user.user_id, ssr::parse_id(&id)?).await?)
}

/// Switches one of the user's MCP servers on or off for their runs.
#[server(prefix = "/api", endpoint = "connections_set_connector_enabled")]
pub async fn set_connector_enabled(id: String, enabled: bool) -> Result<ConnectorView, AppError> {
    let (user, connections) = ssr::context()?;
    Ok(connections.connectors.set_enabled(user.user_id, ssr::parse_id(&id)?, enabled).await?)
}

/// Switches one tool of one of the user's MCP servers on or off.
#[server(prefix = "/api", endpoint = "connections_set_connector_tool")]
pub async fn set_connector_tool(id: String, tool: String, enabled: bool) -> Result<ConnectorView, AppError> {
    let (user, connections) = ssr::context()?;
    Ok(connections.connectors.set_tool_enabled(user.user_id, ssr::parse_id(&id)?, &tool, enabled).await?)
}

/// Asks one of the user's MCP servers for its tools again.
#[server(prefix = "/api", endpoint = "connections_refresh_connector")]
pub async fn refresh_connector(id: String) -> Result<ConnectorView, AppError> {
    let user = crate::server_context::current_user()?;
    let tools = crate::server_context::service::<jarvis_backend::mcp::client::ConnectorTools>()?;
    Ok(tools.refresh(user.user_id, ssr::parse_id(&id)?).await?)
}

#[cfg(feature = "ssr")]
mod ssr {
    use jarvis_backend::accounts::{Accounts, CurrentUser};
    use jarvis_backend::connections::Connections;
    use jarvis_types::connections::MCP_PATH;

    use crate::error::AppError;
    use crate::server_context::{current_user, service};

    pub fn context() -> Result<(CurrentUser, Connections), AppError> {
        Ok((current_user()?, service::<Connections>()?))
    }

    /// A token's or a connector's id; one that does not parse names nothing of the user's.
    pub fn parse_id(raw: &str) -> Result<uuid::Uuid, AppError> {
        uuid::Uuid::parse_str(raw).map_err(|_| AppError::NotFound("No such connection.".to_owned()))
    }

    /// `/mcp` on this deployment's public address.
    pub fn mcp_url() -> Result<String, AppError> {
        let public_url = service::<Accounts>()?.settings().public_url.clone();
        Ok(join(public_url.as_str(), MCP_PATH))
    }

    /// `base` and `path` with exactly one `/` between them (a public URL may or may not end in
    /// one, and may have a path of its own when served under a prefix).
    pub fn join(base: &str, path: &str) -> String {
        format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_mcp_url_has_one_slash_before_its_path() {
            assert_eq!(join("https://jarvis.example/", "/mcp"), "https://jarvis.example/mcp");
            assert_eq!(join("https://jarvis.example", "/mcp"), "https://jarvis.example/mcp");
            assert_eq!(join("https://example.org/jarvis/", "/mcp"), "https://example.org/jarvis/mcp");
        }

        #[test]
        fn an_id_that_does_not_parse_is_not_found() {
            assert!(matches!(parse_id("nope"), Err(AppError::NotFound(_))));
            assert!(parse_id(&uuid::Uuid::new_v4().to_string()).is_ok());
        }
    }
}
