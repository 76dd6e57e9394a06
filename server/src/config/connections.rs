//! The connections section: the key connector tokens are encrypted with.

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;

/// Settings → Connections.
#[derive(Debug, Clone, Default)]
pub struct ConnectionsConfig {
    /// `JARVIS_ENCRYPTION_KEY`: encrypts the tokens of users' MCP connectors at rest; at least 32
    /// bytes, the same on every instance. Unset: derived from `JARVIS_JWT_SECRET` (so rotating
    /// that secret makes stored connector tokens unreadable; their users add them again).
    pub encryption_key: Option<SecretString>,
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<ConnectionsConfig, ConfigError> {
    let encryption_key = get("JARVIS_ENCRYPTION_KEY").map(SecretString::from);
    if let Some(key) = &encryption_key
        && key.expose_secret().len() < 32
    {
        return Err(ConfigError::Invalid {
            name: "JARVIS_ENCRYPTION_KEY",
            reason: "use at least 32 bytes".into(),
        });
    }
    Ok(ConnectionsConfig { encryption_key })
}
