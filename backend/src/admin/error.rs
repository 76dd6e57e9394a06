//! Every way an admin operation can fail. A caller who is not an admin is told "not found", like
//! any other missing thing: the admin pages do not reveal that they exist.

/// Every way an admin operation can fail, as the admin (or anyone else) should hear it.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The caller is not an admin (or their account is disabled): the database refused (42501).
    #[error("Not found.")]
    NotAdmin,
    #[error("No account has that id.")]
    UnknownUser,
    #[error("No account uses the address {0}.")]
    UnknownEmail(String),
    #[error("No Stripe event {0} is set aside.")]
    UnknownEvent(String),
    #[error("You cannot disable your own account.")]
    CannotDisableSelf,
    #[error("the admin database query failed")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for AdminError {
    /// The admin functions' refusals arrive as database errors with their own codes.
    fn from(error: sqlx::Error) -> Self {
        match error.as_database_error().and_then(|database| database.code()).as_deref() {
            Some("42501") => Self::NotAdmin,
            Some("22023") => Self::CannotDisableSelf,
            _ => Self::Database(error),
        }
    }
}

impl crate::Kinded for AdminError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::NotAdmin | Self::UnknownUser | Self::UnknownEmail(_) | Self::UnknownEvent(_) => {
                ErrorKind::NotFound
            }
            Self::CannotDisableSelf => ErrorKind::Invalid,
            Self::Database(_) => ErrorKind::Unavailable,
        }
    }
}
