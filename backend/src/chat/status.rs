//! The closed sets a run and a message are stored with (`runs.status`, `runs.outcome`,
//! `messages.status`), as Rust enums that sqlx reads and writes as the text the columns hold.

use jarvis_types::protocol::RunStatus;

/// Where a run is: answering, or ended one of three ways (`runs.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RunState {
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl RunState {
    /// How an ended run ended; `None` while it runs.
    pub fn ended(self) -> Option<RunStatus> {
        match self {
            Self::Running => None,
            Self::Completed => Some(RunStatus::Completed),
            Self::Cancelled => Some(RunStatus::Cancelled),
            Self::Failed => Some(RunStatus::Failed),
        }
    }
}

impl From<RunStatus> for RunState {
    fn from(status: RunStatus) -> Self {
        match status {
            RunStatus::Completed => Self::Completed,
            RunStatus::Cancelled => Self::Cancelled,
            RunStatus::Failed => Self::Failed,
        }
    }
}

/// Why a run ended (`runs.outcome`), told to clients as the `Finished` event's `stop_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RunOutcome {
    Completed,
    Cancelled,
    /// The instance stopped (a deploy, a crash) while the run answered.
    Interrupted,
    /// The database was away too long to save the reply.
    Unavailable,
    MaxTokens,
    Refusal,
    ToolInputTooLong,
    ContextWindowExceeded,
    TurnLimit,
    TokenBudget,
    Failed,
    /// What servers before the run engine stored for a run whose instance was gone.
    Orphaned,
}

impl RunOutcome {
    const ALL: [Self; 12] = [
        Self::Completed,
        Self::Cancelled,
        Self::Interrupted,
        Self::Unavailable,
        Self::MaxTokens,
        Self::Refusal,
        Self::ToolInputTooLong,
        Self::ContextWindowExceeded,
        Self::TurnLimit,
        Self::TokenBudget,
        Self::Failed,
        Self::Orphaned,
    ];

    /// The text stored and sent as `stop_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::Unavailable => "unavailable",
            Self::MaxTokens => "max_tokens",
            Self::Refusal => "refusal",
            Self::ToolInputTooLong => "tool_input_too_long",
            Self::ContextWindowExceeded => "context_window_exceeded",
            Self::TurnLimit => "turn_limit",
            Self::TokenBudget => "token_budget",
            Self::Failed => "failed",
            Self::Orphaned => "orphaned",
        }
    }

    /// The outcome a `stop_reason` names, if it names one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|outcome| outcome.as_str() == text)
    }
}

/// Whether a stored message is all the model wrote, or what a run that ended early had written
/// (`messages.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum MessageStatus {
    Complete,
    Partial,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_parses_back_from_its_text() {
        for outcome in RunOutcome::ALL {
            assert_eq!(RunOutcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(RunOutcome::parse("end_turn"), None);
    }
}
