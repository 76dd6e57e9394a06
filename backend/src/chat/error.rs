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
    /// The user's plan does not allow another message now.
    #[error("{}", limit_message(.refusal, .plan_name))]
    LimitReached { refusal: Refusal, plan_name: String, can_upgrade: bool },
    #[error("internal error: {0}")]
    Internal(String),
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

impl From<sqlx::Error> for ChatError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(format!("database: {error}"))
    }
}
