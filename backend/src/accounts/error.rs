//! Every way an account operation can fail, with the code the pages turn into a sentence.

use std::time::Duration;

use super::email::InvalidEmail;
use super::password::{self, WeakPassword};

/// Every way an account operation can fail, as the user should hear it.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    InvalidEmail(#[from] InvalidEmail),
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    #[error("Email or password is incorrect.")]
    InvalidCredentials,
    /// The password was right, but an admin disabled the account.
    #[error(
        "This account has been disabled. Contact the people who run this Jarvis if you think this is a mistake."
    )]
    Disabled,
    #[error("Too many attempts. Try again in {} seconds.", retry_after.as_secs())]
    Locked { retry_after: Duration },
    #[error("This link is invalid, expired or was already used.")]
    InvalidLink,
    #[error("That password is not correct.")]
    WrongPassword,
    #[error("Your current password is not correct. Your password was not changed.")]
    WrongCurrentPassword,
    #[error("Choose a new password that differs from your current one.")]
    SamePassword,
    #[error("Not found.")]
    NotFound,
    #[error("the accounts database failed")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Hashing(#[from] password::HashingError),
    /// An address stored in the database does not parse as one.
    #[error("a stored email address is not valid")]
    StoredEmail(#[source] InvalidEmail),
}

impl crate::Kinded for AccountError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::InvalidEmail(_) | Self::WeakPassword(_) | Self::InvalidLink | Self::SamePassword => {
                ErrorKind::Invalid
            }
            Self::InvalidCredentials => ErrorKind::Unauthenticated,
            Self::WrongPassword | Self::WrongCurrentPassword | Self::Disabled => ErrorKind::Forbidden,
            Self::Locked { .. } => ErrorKind::Limit,
            Self::NotFound => ErrorKind::NotFound,
            Self::Database(_) => ErrorKind::Unavailable,
            Self::Hashing(_) | Self::StoredEmail(_) => ErrorKind::Internal,
        }
    }
}

impl AccountError {
    /// A stable code for URLs and the protocol.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEmail(_) => "invalid_email",
            Self::WeakPassword(WeakPassword::TooShort) => "password_too_short",
            Self::WeakPassword(WeakPassword::TooLong) => "password_too_long",
            Self::WeakPassword(WeakPassword::Common) => "password_common",
            Self::WeakPassword(WeakPassword::ContainsEmail) => "password_contains_email",
            Self::WeakPassword(WeakPassword::Repetitive) => "password_repetitive",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Disabled => "account_disabled",
            Self::Locked { .. } => "locked",
            Self::InvalidLink => "invalid_link",
            Self::WrongPassword => "wrong_password",
            Self::WrongCurrentPassword => "wrong_current_password",
            Self::SamePassword => "same_password",
            Self::NotFound => "not_found",
            Self::Database(_) | Self::Hashing(_) | Self::StoredEmail(_) => "internal",
        }
    }
}
