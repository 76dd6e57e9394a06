//! What can go wrong with an upload or a file, as a sentence for the user, and what kind of
//! failure it is.

use crate::library::documents::{self, DocumentError};
use crate::storage::StorageError;
use crate::{ErrorKind, Kinded};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("No file with that id.")]
    NotFound,
    #[error("The file is empty.")]
    Empty,
    #[error("The file is too large: uploads are limited to {}.", human_size(*limit))]
    TooLarge { limit: usize },
    /// The upload is text but cannot be a document (e.g. larger than a document may be).
    #[error("{0}")]
    Invalid(String),
    #[error("object storage failed")]
    Storage(#[from] StorageError),
    /// The database failed (see [`DocumentError::Database`]).
    #[error("the file store's database failed")]
    Internal(#[from] sqlx::Error),
    /// Storing an uploaded text as a document failed in a way an upload cannot (a conflict, no
    /// room left).
    #[error(transparent)]
    Document(DocumentError),
}

impl Kinded for FileError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::Empty | Self::TooLarge { .. } | Self::Invalid(_) => ErrorKind::Invalid,
            Self::Storage(StorageError::Backend(_)) => ErrorKind::Unavailable,
            Self::Storage(_) => ErrorKind::Internal,
            Self::Internal(error) => documents::database_kind(error),
            Self::Document(error) => error.kind(),
        }
    }
}

/// Errors are equal when they say the same: a database failure by its message, for tests.
impl PartialEq for FileError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::NotFound, Self::NotFound) | (Self::Empty, Self::Empty) => true,
            (Self::TooLarge { limit }, Self::TooLarge { limit: other }) => limit == other,
            (Self::Invalid(a), Self::Invalid(b)) => a == b,
            (Self::Storage(a), Self::Storage(b)) => a == b,
            (Self::Internal(a), Self::Internal(b)) => a.to_string() == b.to_string(),
            (Self::Document(a), Self::Document(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for FileError {}

impl From<DocumentError> for FileError {
    fn from(error: DocumentError) -> Self {
        match error {
            DocumentError::NotFound => Self::NotFound,
            DocumentError::Invalid(message) => Self::Invalid(message),
            DocumentError::Database(error) => Self::Internal(error),
            other @ (DocumentError::VersionConflict { .. } | DocumentError::StorageFull { .. }) => {
                Self::Document(other)
            }
        }
    }
}

/// A size as people read it: `10 MiB`, `64 KiB`, `1500 bytes`.
pub fn human_size(bytes: usize) -> String {
    match bytes {
        b if b >= 1024 * 1024 && b % (1024 * 1024) == 0 => format!("{} MiB", b / (1024 * 1024)),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_people_write_them() {
        assert_eq!(
            FileError::TooLarge { limit: 25 * 1024 * 1024 }.to_string(),
            "The file is too large: uploads are limited to 25 MiB."
        );
        assert_eq!(
            FileError::TooLarge { limit: 100 }.to_string(),
            "The file is too large: uploads are limited to 100 bytes."
        );
    }
}
