//! The remote MCP servers a user added: URL, encrypted token, tool list as last fetched, and
//! which tools are switched off. Only storage: reaching the servers is `mcp::client`'s.

use chrono::{DateTime, Utc};
use jarvis_types::connections::{ConnectorToolView, ConnectorView};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::cipher::TokenCipher;
use super::error::ConnectionError;
use crate::db;

/// Connectors a user may have.
pub const MAX_CONNECTORS: i64 = 10;

/// A tool as a connector's server describes it (`tools/list`), kept in `mcp_connectors.tools`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteTool {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The JSON schema of its arguments (`inputSchema`).
    pub input_schema: serde_json::Value,
}

/// What adding a connector stores.
#[derive(Debug)]
pub struct NewConnector {
    /// Already made short and plain (`^[a-z0-9][a-z0-9_]{0,19}$`); see [`connector_name`].
    pub name: String,
    pub url: String,
    pub token: Option<SecretString>,
    pub tools: Vec<RemoteTool>,
}

/// A connector as a run (or a refresh) needs it: with its token decrypted.
#[derive(Debug, Clone)]
pub struct ConnectorAccess {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub token: Option<SecretString>,
    /// Only the tools the user left on.
    pub tools: Vec<RemoteTool>,
}

/// The user's connectors.
#[derive(Clone)]
pub struct Connectors {
    pool: PgPool,
    cipher: TokenCipher,
}

#[derive(sqlx::FromRow)]
struct ConnectorRow {
    id: Uuid,
    name: String,
    url: String,
    token_ciphertext: Option<Vec<u8>>,
    enabled: bool,
    tools: serde_json::Value,
    disabled_tools: Vec<String>,
    tools_fetched_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, url, token_ciphertext, enabled, tools, disabled_tools, tools_fetched_at";

impl ConnectorRow {
    fn tools(&self) -> Result<Vec<RemoteTool>, ConnectionError> {
        Ok(serde_json::from_value(self.tools.clone())?)
    }

    fn view(self) -> Result<ConnectorView, ConnectionError> {
        let tools = self
            .tools()?
            .into_iter()
            .map(|tool| ConnectorToolView {
                enabled: !self.disabled_tools.contains(&tool.name),
                name: tool.name,
                description: tool.description,
            })
            .collect();
        Ok(ConnectorView {
            id: self.id.to_string(),
            name: self.name,
            url: self.url,
            has_token: self.token_ciphertext.is_some(),
            enabled: self.enabled,
            tools,
            tools_fetched_at: self.tools_fetched_at.to_rfc3339(),
        })
    }
}

/// A plain, short name for a connector from what its server calls itself (or its host): lower
/// case, letters, digits and `_`, at most 20 characters; `server` when nothing is left.
pub fn connector_name(raw: &str) -> String {
    let mut name = String::new();
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if c == '_' && (name.is_empty() || name.ends_with('_')) {
            continue;
        }
        name.push(c);
        if name.len() == 20 {
            break;
        }
    }
    let name = name.trim_end_matches('_').to_owned();
    if name.is_empty() { "server".to_owned() } else { name }
}

impl Connectors {
    pub fn new(pool: PgPool, cipher: TokenCipher) -> Self {
        Self { pool, cipher }
    }

    /// Stores a connector. Its name is `new.name`, or with `_2`, `_3`… when the user has one of
    /// that name already.
    #[tracing::instrument(name = "connectors.add", skip_all, fields(user.id = %user_id))]
    pub async fn add(&self, user_id: Uuid, new: NewConnector) -> Result<ConnectorView, ConnectionError> {
        use secrecy::ExposeSecret as _;
        let token = new.token.as_ref().map(|token| self.cipher.encrypt(user_id, token.expose_secret()));
        let tools = serde_json::to_value(&new.tools)?;
        let row = db::for_user(&self.pool, user_id, async |conn| {
            let names: Vec<String> = sqlx::query_scalar("SELECT name FROM mcp_connectors WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(&mut *conn)
                .await?;
            if names.len() as i64 >= MAX_CONNECTORS {
                return Err(ConnectionError::Limit(format!(
                    "You have {MAX_CONNECTORS} servers already; remove one first."
                )));
            }
            let name = (1..)
                .map(|n| if n == 1 { new.name.clone() } else { format!("{}_{n}", truncate(&new.name, 17)) })
                .find(|candidate| !names.contains(candidate))
                .unwrap_or_else(|| new.name.clone());
            Ok(sqlx::query_as::<_, ConnectorRow>(&format!(
                "INSERT INTO mcp_connectors (id, user_id, name, url, token_ciphertext, tools)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
            ))
            .bind(Uuid::new_v4())
            .bind(user_id)
            .bind(name)
            .bind(&new.url)
            .bind(token)
            .bind(tools)
            .fetch_one(&mut *conn)
            .await?)
        })
        .await?;
        row.view()
    }

    /// The user's connectors, oldest first.
    pub async fn list(&self, user_id: Uuid) -> Result<Vec<ConnectorView>, ConnectionError> {
        let rows = self.rows(user_id, None).await?;
        rows.into_iter().map(ConnectorRow::view).collect()
    }

    /// Removes one of the user's connectors (and its stored token).
    #[tracing::instrument(name = "connectors.remove", skip_all, fields(user.id = %user_id, connector.id = %id))]
    pub async fn remove(&self, user_id: Uuid, id: Uuid) -> Result<(), ConnectionError> {
        let removed = db::for_user(&self.pool, user_id, async |conn| {
            sqlx::query("DELETE FROM mcp_connectors WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(&mut *conn)
                .await
        })
        .await?;
        if removed.rows_affected() == 0 {
            return Err(ConnectionError::NotFound);
        }
        Ok(())
    }

    /// Switches a whole connector on or off for the user's runs.
    pub async fn set_enabled(
        &self,
        user_id: Uuid,
        id: Uuid,
        enabled: bool,
    ) -> Result<ConnectorView, ConnectionError> {
        self.update(user_id, id, "enabled = $3", enabled).await
    }

    /// Switches one of a connector's tools on or off (a name the server does not offer is refused).
    pub async fn set_tool_enabled(
        &self,
        user_id: Uuid,
        id: Uuid,
        tool: &str,
        enabled: bool,
    ) -> Result<ConnectorView, ConnectionError> {
        let row = self.rows(user_id, Some(id)).await?.pop().ok_or(ConnectionError::NotFound)?;
        if !row.tools()?.iter().any(|known| known.name == tool) {
            return Err(ConnectionError::Invalid(format!("This server offers no tool named `{tool}`.")));
        }
        let sql = if enabled {
            "disabled_tools = array_remove(disabled_tools, $3)"
        } else {
            "disabled_tools = array_append(array_remove(disabled_tools, $3), $3)"
        };
        self.update(user_id, id, sql, tool.to_owned()).await
    }

    /// Replaces a connector's tool list with what its server offers now.
    pub async fn replace_tools(
        &self,
        user_id: Uuid,
        id: Uuid,
        tools: &[RemoteTool],
    ) -> Result<ConnectorView, ConnectionError> {
        let tools = serde_json::to_value(tools)?;
        self.update(user_id, id, "tools = $3, tools_fetched_at = now()", tools).await
    }

    /// One connector with its token, whether or not it is enabled (to refresh its tools).
    pub async fn access(&self, user_id: Uuid, id: Uuid) -> Result<ConnectorAccess, ConnectionError> {
        let row = self.rows(user_id, Some(id)).await?.pop().ok_or(ConnectionError::NotFound)?;
        self.access_of(user_id, row)
    }

    /// The user's enabled connectors with their enabled tools, for a run. One whose token cannot
    /// be decrypted (the key changed) is left out, and logged.
    pub async fn for_run(&self, user_id: Uuid) -> Result<Vec<ConnectorAccess>, ConnectionError> {
        let rows = self.rows(user_id, None).await?;
        Ok(rows
            .into_iter()
            .filter(|row| row.enabled)
            .filter_map(|row| {
                let id = row.id;
                match self.access_of(user_id, row) {
                    Ok(access) => Some(access),
                    Err(error) => {
                        tracing::warn!(connector.id = %id, %error, "connectors.unusable");
                        None
                    }
                }
            })
            .collect())
    }

    fn access_of(&self, user_id: Uuid, row: ConnectorRow) -> Result<ConnectorAccess, ConnectionError> {
        let token = match &row.token_ciphertext {
            Some(stored) => Some(SecretString::from(
                self.cipher.decrypt(user_id, stored).ok_or(ConnectionError::Undecryptable)?,
            )),
            None => None,
        };
        let tools =
            row.tools()?.into_iter().filter(|tool| !row.disabled_tools.contains(&tool.name)).collect();
        Ok(ConnectorAccess { id: row.id, name: row.name, url: row.url, token, tools })
    }

    async fn rows(&self, user_id: Uuid, id: Option<Uuid>) -> Result<Vec<ConnectorRow>, ConnectionError> {
        Ok(db::for_user(&self.pool, user_id, async |conn| {
            sqlx::query_as::<_, ConnectorRow>(&format!(
                "SELECT {COLUMNS} FROM mcp_connectors
                  WHERE user_id = $1 AND ($2::uuid IS NULL OR id = $2)
                  ORDER BY created_at, id"
            ))
            .bind(user_id)
            .bind(id)
            .fetch_all(&mut *conn)
            .await
        })
        .await?)
    }

    async fn update<V>(
        &self,
        user_id: Uuid,
        id: Uuid,
        set: &str,
        value: V,
    ) -> Result<ConnectorView, ConnectionError>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
    {
        let row = db::for_user(&self.pool, user_id, async |conn| {
            sqlx::query_as::<_, ConnectorRow>(&format!(
                "UPDATE mcp_connectors SET {set} WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"
            ))
            .bind(id)
            .bind(user_id)
            .bind(value)
            .fetch_optional(&mut *conn)
            .await
        })
        .await?;
        row.ok_or(ConnectionError::NotFound)?.view()
    }
}

fn truncate(name: &str, max: usize) -> &str {
    name.get(..max).unwrap_or(name).trim_end_matches('_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_plain() {
        assert_eq!(connector_name("Weather Server"), "weather_server");
        assert_eq!(connector_name("  --Notes!! v2 "), "notes_v2");
        assert_eq!(connector_name("a.very.long.server.name.indeed"), "a_very_long_server_n");
        assert_eq!(connector_name("Ünïcode"), "n_code");
        assert_eq!(connector_name("!!!"), "server");
        for raw in ["x", "Weather Server", "a.very.long.server.name.indeed", "1abc"] {
            let name = connector_name(raw);
            assert!(
                name.len() <= 20
                    && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            );
            assert!(!name.starts_with('_'), "{name}");
        }
    }
}
