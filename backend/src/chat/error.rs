//! What can go wrong when a user talks to the chat, worded for the user.

use crate::billing::usage::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("Confirm your email address first: we sent you a link.")]
    EmailNotVerified,
    #[error("{0}")]
    InvalidMessage(String),
    #[error("No such conversation or run.")]
    NotFound,
    #[error("Jarvis is still answering in this conversation. Stop it or wait for it to finish.")]
    RunInProgress,
    /// An attachment named by a message is not the user's, is gone, or was sent already.
    #[error("An attachment of this message is gone or was sent already. Attach the file again.")]
    AttachmentGone,
    /// The attachments could not be read or resolved.
    #[error(transparent)]
    Attachments(#[from] crate::attachments::AttachmentError),
    /// The user's plan does not allow another message now.
    #[error("{}", limit_message(.refusal, .plan_name))]
    LimitReached { refusal: Refusal, plan_name: String, can_upgrade: bool },
    #[error("the chat database failed")]
    Database(#[from] sqlx::Error),
    /// The user's plan could not be read.
    #[error(transparent)]
    Billing(#[from] crate::billing::BillingError),
    /// The conversation's spoken clips could not be listed.
    #[error(transparent)]
    Voice(#[from] crate::voice::ClipError),
}

impl crate::Kinded for ChatError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::EmailNotVerified => ErrorKind::Forbidden,
            Self::InvalidMessage(_) => ErrorKind::Invalid,
            Self::NotFound => ErrorKind::NotFound,
            Self::RunInProgress => ErrorKind::Conflict,
            Self::AttachmentGone => ErrorKind::Invalid,
            Self::Attachments(error) => error.kind(),
            Self::LimitReached { .. } => ErrorKind::Limit,
            Self::Database(_) => ErrorKind::Unavailable,
            Self::Billing(error) => error.kind(),
            Self::Voice(error) => error.kind(),
        }
    }
}

/// What a user reads when a limit refuses their message.
fn limit_message(refusal: &Refusal, plan: &str) -> String {
    use jarvis_types::protocol::Limit;
    let allowed = refusal.allowed;
    match refusal.limit {
        Limit::MessagesPerDay => format!(
            "You have sent all {allowed} messages your {plan} plan allows today. Upgrade for more, or write again after midnight UTC."
        ),
        Limit::TokensPerMonth => format!(
            "You have used the {allowed} tokens your {plan} plan allows this month. Upgrade for more, or write again next month."
        ),
        Limit::MessagesPerHour => match refusal.retry_after_secs() {
            Some(secs) => format!(
                "You have sent {allowed} messages in the last hour, the most your {plan} plan allows. Try again in {}.",
                minutes(secs)
            ),
            None => format!("Your {plan} plan allows no messages."),
        },
    }
}

fn minutes(secs: u64) -> String {
    let minutes = secs.div_ceil(60);
    if minutes <= 1 { "a minute".to_owned() } else { format!("{minutes} minutes") }
}
