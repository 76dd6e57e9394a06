//! What Settings → Connections shows, and how it changes: the pure [`ConnectionsState::next`].
//! Server answers are events; a request's answer that no longer applies (a row removed meanwhile)
//! changes nothing; a switch flips at once and flips back when the server refuses it.

use std::collections::BTreeMap;

use jarvis_types::connections::{AccessTokenView, ConnectionsView, ConnectorView, CreatedToken};

/// A token just created: its secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownSecret {
    pub name: String,
    pub secret: String,
    /// "Copy" was pressed.
    pub copied: bool,
}

/// Everything the section shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionsState {
    /// Newest first, as the server lists them.
    pub tokens: Vec<AccessTokenView>,
    /// Oldest first, as the server lists them.
    pub connectors: Vec<ConnectorView>,
    pub mcp_url: String,
    pub new_secret: Option<ShownSecret>,
    /// A token is being created.
    pub creating: bool,
    /// Why the last token could not be created.
    pub token_error: Option<String>,
    /// A server is being added.
    pub adding: bool,
    /// Why the last server could not be added.
    pub server_error: Option<String>,
    /// Token or connector ids with a request under way (their buttons wait).
    pub busy: Vec<String>,
    /// Why the last request about a token or connector failed, by its id.
    pub row_errors: BTreeMap<String, String>,
}

/// A switch of a connector: the whole server, or one of its tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switch {
    Server,
    Tool(String),
}

/// What happens in the section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionsEvent {
    /// "Create token" was pressed.
    CreateToken,
    TokenCreated(CreatedToken),
    TokenFailed(String),
    /// "Copy" was pressed on the new token.
    SecretCopied,
    /// "Done" was pressed on the new token: it is gone for good.
    SecretDismissed,
    /// "Revoke" was pressed on this token.
    Revoke(String),
    Revoked(String),
    /// "Add server" was pressed.
    AddServer,
    ServerAdded(ConnectorView),
    ServerFailed(String),
    /// A switch was flipped to `on`; shown at once.
    Switched {
        id: String,
        switch: Switch,
        on: bool,
    },
    /// The server refused that switch: it flips back.
    SwitchFailed {
        id: String,
        switch: Switch,
        on: bool,
        message: String,
    },
    /// "Refresh tools" or "Remove" was pressed on this connector.
    Busy(String),
    /// A connector as the server has it now (after a switch or a refresh).
    ConnectorChanged(ConnectorView),
    Removed(String),
    /// A request about this token or connector failed.
    RowFailed {
        id: String,
        message: String,
    },
}

impl ConnectionsState {
    pub fn new(view: ConnectionsView) -> Self {
        Self {
            tokens: view.tokens,
            connectors: view.connectors,
            mcp_url: view.mcp_url,
            new_secret: None,
            creating: false,
            token_error: None,
            adding: false,
            server_error: None,
            busy: Vec::new(),
            row_errors: BTreeMap::new(),
        }
    }

    /// The section after `event`.
    pub fn next(mut self, event: ConnectionsEvent) -> Self {
        use ConnectionsEvent as E;
        match event {
            E::CreateToken => {
                self.creating = true;
                self.token_error = None;
            }
            E::TokenCreated(created) => {
                self.creating = false;
                self.new_secret = Some(ShownSecret {
                    name: created.token.name.clone(),
                    secret: created.secret,
                    copied: false,
                });
                self.tokens.retain(|token| token.id != created.token.id);
                self.tokens.insert(0, created.token);
            }
            E::TokenFailed(message) => {
                self.creating = false;
                self.token_error = Some(message);
            }
            E::SecretCopied => {
                if let Some(shown) = &mut self.new_secret {
                    shown.copied = true;
                }
            }
            E::SecretDismissed => self.new_secret = None,
            E::Revoke(id) | E::Busy(id) => {
                self.row_errors.remove(&id);
                if !self.busy.contains(&id) {
                    self.busy.push(id);
                }
            }
            E::Revoked(id) => {
                self.settle(&id);
                self.tokens.retain(|token| token.id != id);
            }
            E::AddServer => {
                self.adding = true;
                self.server_error = None;
            }
            E::ServerAdded(connector) => {
                self.adding = false;
                self.upsert(connector, true);
            }
            E::ServerFailed(message) => {
                self.adding = false;
                self.server_error = Some(message);
            }
            E::Switched { id, switch, on } => {
                self.row_errors.remove(&id);
                self.set_switch(&id, &switch, on);
            }
            E::SwitchFailed { id, switch, on, message } => {
                self.set_switch(&id, &switch, !on);
                if self.connectors.iter().any(|connector| connector.id == id) {
                    self.row_errors.insert(id, message);
                }
            }
            E::ConnectorChanged(connector) => {
                self.settle(&connector.id);
                self.upsert(connector, false);
            }
            E::Removed(id) => {
                self.settle(&id);
                self.connectors.retain(|connector| connector.id != id);
            }
            E::RowFailed { id, message } => {
                self.settle(&id);
                let known = self.tokens.iter().any(|token| token.id == id)
                    || self.connectors.iter().any(|connector| connector.id == id);
                if known {
                    self.row_errors.insert(id, message);
                }
            }
        }
        self
    }

    /// Whether a request about this token or connector is under way.
    pub fn is_busy(&self, id: &str) -> bool {
        self.busy.iter().any(|busy| busy == id)
    }

    pub fn connector(&self, id: &str) -> Option<&ConnectorView> {
        self.connectors.iter().find(|connector| connector.id == id)
    }

    fn settle(&mut self, id: &str) {
        self.busy.retain(|busy| busy != id);
    }

    /// Puts `connector` in place of the one with its id; a new one is appended when `add`, and
    /// otherwise (it was removed meanwhile) left out.
    fn upsert(&mut self, connector: ConnectorView, add: bool) {
        match self.connectors.iter_mut().find(|known| known.id == connector.id) {
            Some(known) => *known = connector,
            None if add => self.connectors.push(connector),
            None => {}
        }
    }

    fn set_switch(&mut self, id: &str, switch: &Switch, on: bool) {
        let Some(connector) = self.connectors.iter_mut().find(|connector| connector.id == id) else { return };
        match switch {
            Switch::Server => connector.enabled = on,
            Switch::Tool(name) => {
                if let Some(tool) = connector.tools.iter_mut().find(|tool| &tool.name == name) {
                    tool.enabled = on;
                }
            }
        }
    }
}

/// The day of an RFC 3339 timestamp (`2026-11-27`), as the lists show it (in UTC).
pub fn day(timestamp: &str) -> &str {
    timestamp.get(..10).unwrap_or(timestamp)
}

/// The command that adds Jarvis to Claude Code, for the how-to.
pub fn claude_code_command(mcp_url: &str, token: &str) -> String {
    format!("claude mcp add --transport http jarvis {mcp_url} --header \"Authorization: Bearer {token}\"")
}

#[cfg(test)]
mod tests {
    use jarvis_types::connections::{ConnectorToolView, TokenScope};

    use super::{ConnectionsEvent as E, ConnectionsState, ShownSecret, Switch, claude_code_command, day};
    use jarvis_types::connections::{AccessTokenView, ConnectionsView, ConnectorView, CreatedToken};

    fn token(id: &str, name: &str) -> AccessTokenView {
        AccessTokenView {
            id: id.into(),
            name: name.into(),
            scope: TokenScope::Read,
            created_at: "2026-11-27T10:00:00+00:00".into(),
            expires_at: "2026-12-27T10:00:00+00:00".into(),
            last_used_at: None,
        }
    }

    fn connector(id: &str, name: &str) -> ConnectorView {
        ConnectorView {
            id: id.into(),
            name: name.into(),
            url: format!("https://{name}.example/mcp"),
            has_token: false,
            enabled: true,
            tools: vec![
                ConnectorToolView {
                    name: "add_note".into(),
                    description: "Adds a note.".into(),
                    enabled: true,
                },
                ConnectorToolView { name: "list_notes".into(), description: String::new(), enabled: true },
            ],
            tools_fetched_at: "2026-11-27T10:00:00+00:00".into(),
        }
    }

    fn state() -> ConnectionsState {
        ConnectionsState::new(ConnectionsView {
            tokens: vec![token("t1", "Laptop")],
            connectors: vec![connector("c1", "notes")],
            mcp_url: "https://jarvis.example/mcp".into(),
        })
    }

    fn after(events: Vec<E>) -> ConnectionsState {
        events.into_iter().fold(state(), ConnectionsState::next)
    }

    #[test]
    fn a_created_token_is_listed_first_and_its_secret_shown_until_dismissed() {
        let created = CreatedToken { token: token("t2", "Claude Code"), secret: "jvs_secret".into() };
        let shown = after(vec![E::CreateToken, E::TokenCreated(created.clone())]);
        assert!(!shown.creating);
        assert_eq!(shown.tokens.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["t2", "t1"]);
        assert_eq!(
            shown.new_secret,
            Some(ShownSecret { name: "Claude Code".into(), secret: "jvs_secret".into(), copied: false })
        );
        let copied = shown.clone().next(E::SecretCopied);
        assert!(copied.new_secret.as_ref().is_some_and(|s| s.copied));
        let dismissed = copied.next(E::SecretDismissed);
        assert_eq!(dismissed.new_secret, None);
        assert_eq!(dismissed.tokens.len(), 2, "dismissing the secret keeps the token");
    }

    #[test]
    fn a_refused_token_shows_why_and_a_new_attempt_clears_it() {
        let failed = after(vec![E::CreateToken, E::TokenFailed("Give the token a name.".into())]);
        assert!(!failed.creating);
        assert_eq!(failed.token_error.as_deref(), Some("Give the token a name."));
        assert_eq!(failed.tokens.len(), 1);
        let again = failed.next(E::CreateToken);
        assert!(again.creating && again.token_error.is_none());
    }

    #[test]
    fn revoking_waits_for_the_server_then_drops_the_row() {
        let pending = after(vec![E::Revoke("t1".into())]);
        assert!(pending.is_busy("t1"));
        assert_eq!(pending.tokens.len(), 1, "still listed until the server answers");
        let revoked = pending.next(E::Revoked("t1".into()));
        assert!(revoked.tokens.is_empty() && !revoked.is_busy("t1"));
        let failed =
            after(vec![E::Revoke("t1".into()), E::RowFailed { id: "t1".into(), message: "No.".into() }]);
        assert_eq!(failed.tokens.len(), 1);
        assert_eq!(failed.row_errors.get("t1").map(String::as_str), Some("No."));
        assert!(!failed.is_busy("t1"));
    }

    #[test]
    fn an_added_server_is_appended_and_a_refusal_is_shown_under_the_form() {
        let added = after(vec![E::AddServer, E::ServerAdded(connector("c2", "weather"))]);
        assert!(!added.adding);
        assert_eq!(
            added.connectors.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["notes", "weather"]
        );
        let refused = after(vec![E::AddServer, E::ServerFailed("That address is private.".into())]);
        assert!(!refused.adding);
        assert_eq!(refused.server_error.as_deref(), Some("That address is private."));
        assert_eq!(refused.connectors.len(), 1);
        assert_eq!(refused.next(E::AddServer).server_error, None);
    }

    #[test]
    fn a_switch_flips_at_once_and_back_when_refused() {
        let tool = Switch::Tool("add_note".into());
        let off = after(vec![E::Switched { id: "c1".into(), switch: tool.clone(), on: false }]);
        assert!(!off.connectors[0].tools[0].enabled);
        assert!(off.connectors[0].tools[1].enabled, "only that tool");
        assert!(off.connectors[0].enabled, "not the server");
        let refused = off.next(E::SwitchFailed {
            id: "c1".into(),
            switch: tool,
            on: false,
            message: "This server offers no tool named `add_note`.".into(),
        });
        assert!(refused.connectors[0].tools[0].enabled, "flipped back");
        assert!(refused.row_errors.contains_key("c1"));
        let server_off = after(vec![E::Switched { id: "c1".into(), switch: Switch::Server, on: false }]);
        assert!(!server_off.connectors[0].enabled);
        assert!(
            server_off.connectors[0].tools.iter().all(|t| t.enabled),
            "its tools keep their own switches"
        );
    }

    #[test]
    fn the_servers_answer_replaces_the_connector_unless_it_was_removed() {
        let mut refreshed = connector("c1", "notes");
        refreshed.tools.truncate(1);
        let after_refresh = after(vec![E::Busy("c1".into()), E::ConnectorChanged(refreshed.clone())]);
        assert_eq!(after_refresh.connectors, vec![refreshed.clone()]);
        assert!(!after_refresh.is_busy("c1"));
        let removed =
            after(vec![E::Busy("c1".into()), E::Removed("c1".into()), E::ConnectorChanged(refreshed)]);
        assert!(removed.connectors.is_empty(), "a late answer does not bring a removed server back");
        let late_failure = removed.next(E::RowFailed { id: "c1".into(), message: "Gone.".into() });
        assert!(late_failure.row_errors.is_empty(), "nor an error for a row no longer shown");
    }

    #[test]
    fn days_and_the_claude_code_command_read_as_shown() {
        assert_eq!(day("2026-11-27T10:00:00+00:00"), "2026-11-27");
        assert_eq!(day("short"), "short");
        assert_eq!(
            claude_code_command("https://jarvis.example/mcp", "jvs_abc"),
            "claude mcp add --transport http jarvis https://jarvis.example/mcp --header \"Authorization: Bearer jvs_abc\""
        );
    }
}
