//! What can go wrong with a user's connections, in sentences the user can act on.

use crate::{ErrorKind, Kinded};

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// Another user's, or none at all: the two are not told apart.
    #[error("No such connection.")]
    NotFound,
    /// The request is wrong: a name, a lifetime, a URL, a token; the sentence says what.
    #[error("{0}")]
    Invalid(String),
    /// A name already taken, a limit of how many a user may have, and the like.
    #[error("{0}")]
    Conflict(String),
    /// The user has as many as a user may have.
    #[error("{0}")]
    Limit(String),
    /// A stored connector token that this deployment's key cannot decrypt (the key changed).
    #[error("the connector's stored token cannot be decrypted with this deployment's key")]
    Undecryptable,
    #[error("the connections database failed")]
    Database(#[from] sqlx::Error),
    #[error("a stored tool list could not be read")]
    Corrupt(#[from] serde_json::Error),
}

impl Kinded for ConnectionError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::Invalid(_) => ErrorKind::Invalid,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Limit(_) => ErrorKind::Limit,
            Self::Database(_) => ErrorKind::Unavailable,
            Self::Undecryptable | Self::Corrupt(_) => ErrorKind::Internal,
        }
    }
}
