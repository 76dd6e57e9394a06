//! What can go wrong with an attachment, as a sentence for the user, and what kind of failure it
//! is. The codes let the HTTP edge answer 413 and 415 where HTTP names the case.

use crate::storage::StorageError;
use crate::{ErrorKind, Kinded};

#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// Not this user's, not there, or (for the ones a message may take) already sent.
    #[error("{0}")]
    NotFound(String),
    #[error("The file is empty.")]
    Empty,
    /// Larger than a limit (bytes, pixels or pages): the sentence names the limit.
    #[error("{0}")]
    TooLarge(String),
    /// Not an image, a PDF or a text file.
    #[error("{0}")]
    Unsupported(String),
    /// Of an accepted type but unreadable (a broken image, a PDF that does not parse).
    #[error("{0}")]
    Unreadable(String),
    /// The plan's storage would overflow.
    #[error("{0}")]
    StorageFull(String),
    /// A sent attachment belongs to its message: only unsent ones can be removed.
    #[error("This attachment was sent with a message and stays with it.")]
    AlreadySent,
    #[error("object storage failed")]
    Storage(#[from] StorageError),
    #[error("the attachments' database failed")]
    Database(#[from] sqlx::Error),
    /// The library refused or failed to take a copy.
    #[error(transparent)]
    Library(#[from] crate::library::files::FileError),
    #[error("checking the plan's storage failed")]
    Billing(#[from] crate::billing::BillingError),
    #[error("an image task failed")]
    Task(#[from] tokio::task::JoinError),
}

impl AttachmentError {
    pub(crate) fn not_found() -> Self {
        Self::NotFound("No attachment with that id.".into())
    }
}

impl Kinded for AttachmentError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Empty | Self::TooLarge(_) | Self::Unsupported(_) | Self::Unreadable(_) => {
                ErrorKind::Invalid
            }
            Self::StorageFull(_) => ErrorKind::Limit,
            Self::AlreadySent => ErrorKind::Conflict,
            Self::Storage(StorageError::Backend(_)) => ErrorKind::Unavailable,
            Self::Storage(_) | Self::Task(_) => ErrorKind::Internal,
            Self::Database(error) => crate::library::documents::database_kind(error),
            Self::Library(error) => error.kind(),
            Self::Billing(error) => error.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "too_large",
            Self::Unsupported(_) => "unsupported_type",
            Self::Unreadable(_) => "unreadable",
            Self::StorageFull(_) => "storage_full",
            Self::AlreadySent => "already_sent",
            other => other.kind().code(),
        }
    }
}
