//! Starting a run: the user's message, the run and its admission against the plan, in one
//! transaction.

use sqlx::PgPool;
use uuid::Uuid;

use super::messages::{complete_messages, insert_message, message_rows};
use crate::agent::messages::Message;
use crate::billing::usage::{self, Allowance};
use crate::chat::status::{MessageStatus, RunState};
use crate::db::user_transaction;

/// What `begin_run` created.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub run_id: Uuid,
    pub conversation_id: Uuid,
    pub title: String,
    /// Tokens the user's plan has left this month (`None`: no limit).
    pub tokens_left: Option<u64>,
    /// The user's name, for the system prompt.
    pub display_name: String,
    /// The conversation as the model sees it, ending with the new message.
    pub history: Vec<Message>,
}

/// What `begin_run` is asked to store.
#[derive(Debug, Clone, Copy)]
pub struct BeginRun<'a> {
    pub user_id: Uuid,
    /// `None`: a new conversation.
    pub conversation_id: Option<Uuid>,
    pub text: &'a str,
    pub model: &'a str,
    /// Chosen by the client: a resend of a message that already started a run starts none.
    pub client_message_id: Option<&'a str>,
    pub allowance: &'a Allowance,
    /// The instance that will execute the run.
    pub owner: Uuid,
}

#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    #[error("no such conversation")]
    NotFound,
    #[error("the address is not confirmed")]
    EmailNotVerified,
    #[error("the plan's limits do not allow another message now")]
    Limit(crate::billing::usage::Refusal),
    #[error("a run is in progress")]
    RunInProgress,
    /// The client message id started this run already.
    #[error("the message started a run already")]
    Existing(Uuid),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl crate::Kinded for BeginError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::EmailNotVerified => ErrorKind::Forbidden,
            Self::Limit(_) => ErrorKind::Limit,
            Self::RunInProgress | Self::Existing(_) => ErrorKind::Conflict,
            Self::Database(_) => ErrorKind::Unavailable,
        }
    }
}

/// Stores the user's message (before the model is called) and a running run owned by this
/// instance, in one transaction that also checks the account, finds a resent message's run and
/// reads the history the model is sent; a new conversation is created when none is given. The
/// run is admitted against the user's allowance in the same transaction: refused, nothing is
/// stored.
pub async fn begin_run(pool: &PgPool, begin: BeginRun<'_>) -> Result<NewRun, BeginError> {
    let BeginRun { user_id, conversation_id, text, model, client_message_id, allowance, owner } = begin;
    let mut tx = user_transaction(pool, user_id).await?;
    if let Some(client_message_id) = client_message_id {
        let existing: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM runs WHERE user_id = $1 AND client_message_id = $2")
                .bind(user_id)
                .bind(client_message_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(run_id) = existing {
            return Err(BeginError::Existing(run_id));
        }
    }
    let account: Option<(bool, String)> =
        sqlx::query_as("SELECT email_verified_at IS NOT NULL, display_name FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let (verified, display_name) = account.ok_or(BeginError::NotFound)?;
    if !verified {
        return Err(BeginError::EmailNotVerified);
    }
    let (conversation_id, title) = match conversation_id {
        Some(id) => {
            let title: Option<String> = sqlx::query_scalar(
                "SELECT title FROM conversations WHERE id = $1 AND user_id = $2 FOR UPDATE",
            )
            .bind(id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let title = title.ok_or(BeginError::NotFound)?;
            let busy: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM runs WHERE conversation_id = $1 AND user_id = $2 AND status = 'running')",
            )
            .bind(id)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            if busy {
                return Err(BeginError::RunInProgress);
            }
            sqlx::query("UPDATE conversations SET updated_at = now() WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            (id, title)
        }
        None => {
            let id = Uuid::new_v4();
            let title = title_from(text);
            sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(user_id)
                .bind(&title)
                .execute(&mut *tx)
                .await?;
            (id, title)
        }
    };
    let run_id = Uuid::new_v4();
    let admitted = match usage::admit(&mut tx, user_id, run_id, model, allowance).await? {
        Ok(admitted) => admitted,
        Err(refusal) => return Err(BeginError::Limit(refusal)),
    };
    sqlx::query(
        "INSERT INTO runs (id, user_id, conversation_id, status, model, client_message_id, owner)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(run_id)
    .bind(user_id)
    .bind(conversation_id)
    .bind(RunState::Running)
    .bind(model)
    .bind(client_message_id)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    metrics::counter!("jarvis_runs_started_total").increment(1);
    insert_message(
        &mut tx,
        user_id,
        conversation_id,
        &Message::user_text(text),
        MessageStatus::Complete,
        Some(run_id),
    )
    .await?;
    let history = complete_messages(message_rows(&mut tx, user_id, conversation_id).await?);
    tx.commit().await?;
    Ok(NewRun { run_id, conversation_id, title, tokens_left: admitted.tokens_left, display_name, history })
}

fn title_from(text: &str) -> String {
    let line = text
        .lines()
        .map(crate::text::clean_name)
        .find(|line| !line.is_empty())
        .unwrap_or_else(|| "New conversation".to_owned());
    let mut title: String = line.chars().take(60).collect();
    if line.chars().count() > 60 {
        title.push('…');
    }
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_line_cut_at_sixty_characters() {
        assert_eq!(title_from("\n  Plan my week\nplease"), "Plan my week");
        let long = "x".repeat(80);
        assert_eq!(title_from(&long).chars().count(), 61);
        assert_eq!(title_from("   "), "New conversation");
        assert_eq!(title_from("\u{202E}\n\u{2067}invoice\u{202E}fdp.exe"), "invoicefdp.exe");
    }
}
