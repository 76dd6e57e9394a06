//! What can go wrong with a document, as a sentence for the user or the model, and what kind of
//! failure it is.

use crate::{ErrorKind, Kinded};

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("No document with that id.")]
    NotFound,
    #[error(
        "The document changed since you read it: you read version {expected}, it is now at version {current}. Read it again and apply your change to the current text."
    )]
    VersionConflict { expected: i32, current: i32 },
    #[error("{0}")]
    Invalid(String),
    /// A new version does not fit in the storage the user's plan has left (every version is kept).
    #[error(
        "Your plan's storage is full: this version needs {needed} bytes and {left} are left. Delete documents or files, or upgrade your plan."
    )]
    StorageFull { needed: u64, left: u64 },
    /// The database failed: busy or away ([`ErrorKind::Unavailable`]) or refused the statement
    /// ([`ErrorKind::Internal`]).
    #[error("the document store's database failed")]
    Database(#[from] sqlx::Error),
}

impl Kinded for DocumentError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::VersionConflict { .. } => ErrorKind::Conflict,
            Self::Invalid(_) => ErrorKind::Invalid,
            Self::StorageFull { .. } => ErrorKind::Limit,
            Self::Database(error) => database_kind(error),
        }
    }
}

/// The kind of a failed statement: worth retrying later, or a bug.
pub(crate) fn database_kind(error: &sqlx::Error) -> ErrorKind {
    if crate::db::is_transient(error) { ErrorKind::Unavailable } else { ErrorKind::Internal }
}

/// Errors are equal when they say the same: a database failure by its message, for tests.
impl PartialEq for DocumentError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::NotFound, Self::NotFound) => true,
            (
                Self::VersionConflict { expected, current },
                Self::VersionConflict { expected: other_expected, current: other_current },
            ) => (expected, current) == (other_expected, other_current),
            (Self::Invalid(a), Self::Invalid(b)) => a == b,
            (
                Self::StorageFull { needed, left },
                Self::StorageFull { needed: other_needed, left: other_left },
            ) => (needed, left) == (other_needed, other_left),
            (Self::Database(a), Self::Database(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

impl Eq for DocumentError {}
