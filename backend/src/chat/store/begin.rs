//! Starting a run: the user's message (a new question, or a new version of one) with its
//! attachments, the run with its model and its admission against the plan, in one transaction.

use std::collections::HashMap;

use jarvis_types::chat::AttachmentView;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::messages::{
    BranchPoint, branch_point, complete_messages, insert_question, path_rows, set_head, shown_leaf,
};
use crate::agent::messages::{ContentBlock, Message, Role};
use crate::attachments::{AttachmentError, Attachments};
use crate::billing::usage::{self, Allowance};
use crate::chat::status::RunState;
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
    /// Whether the user has an MCP server switched on, whose tools the run then offers.
    pub has_connectors: bool,
    /// The conversation as the model sees it: the branch ending with the question answered.
    pub history: Vec<Message>,
    /// The question the run answers (new, or the one regenerated), its text and attachments.
    pub question_id: Uuid,
    pub question_text: String,
    pub attachments: Vec<AttachmentView>,
    /// The id the reply's first message will have.
    pub reply_id: Uuid,
}

/// What a run answers.
#[derive(Debug, Clone, Copy)]
pub enum Turn<'a> {
    /// A new question at the end of the branch shown, with the user's unsent attachments
    /// (`text` may be empty when there are some).
    Ask { text: &'a str, attachments: &'a [AttachmentView] },
    /// A new version of the question `of`: beside it (same parent), on a branch of its own. It
    /// keeps the attachments of `of`.
    Edit { of: Uuid, text: &'a str },
    /// A new reply beside the earlier ones: to the question `of`, or to the question the reply
    /// `of` answers.
    Regenerate { of: Uuid },
}

/// What `begin_run` is asked to store.
#[derive(Clone, Copy)]
pub struct BeginRun<'a> {
    pub user_id: Uuid,
    /// `None`: a new conversation.
    pub conversation_id: Option<Uuid>,
    pub turn: Turn<'a>,
    /// The id of the model answering, recorded with the run.
    pub model: &'a str,
    /// The user chose `model` with this message: the conversation remembers it.
    pub remember_model: bool,
    /// Why the model cannot take an attachment of the question (`None`: it can).
    pub refuse_attachment: &'a (dyn Fn(&AttachmentView) -> Option<String> + Sync),
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
    /// The message named cannot start a branch this way (a reply cannot be edited).
    #[error("{0}")]
    NotBranchable(&'static str),
    /// The client message id started this run already.
    #[error("the message started a run already")]
    Existing(Uuid),
    /// The question cannot be sent as it is (to this model): a sentence for the user.
    #[error("{0}")]
    Refused(String),
    /// An attachment was taken by another message meanwhile.
    #[error("an attachment was sent already")]
    AttachmentTaken,
    /// Its attachments could not be read.
    #[error(transparent)]
    Attachments(AttachmentError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<AttachmentError> for BeginError {
    fn from(error: AttachmentError) -> Self {
        match error {
            AttachmentError::Database(error) => Self::Database(error),
            other => Self::Attachments(other),
        }
    }
}

impl crate::Kinded for BeginError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::NotBranchable(_) | Self::Refused(_) | Self::AttachmentTaken => ErrorKind::Invalid,
            Self::Attachments(error) => error.kind(),
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
/// stored. A new question takes its attachments (`attachments.message_id`) in it too; the model
/// must be able to read every attachment the question carries. An edit or a regeneration moves
/// the conversation's head onto its new branch.
pub async fn begin_run(pool: &PgPool, begin: BeginRun<'_>) -> Result<NewRun, BeginError> {
    let BeginRun {
        user_id,
        conversation_id,
        turn,
        model,
        remember_model,
        refuse_attachment,
        client_message_id,
        allowance,
        owner,
    } = begin;
    if conversation_id.is_none() && !matches!(turn, Turn::Ask { .. }) {
        return Err(BeginError::NotFound);
    }
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
    let account: Option<(bool, String, bool)> = sqlx::query_as(
        "SELECT email_verified_at IS NOT NULL, display_name,
                EXISTS (SELECT 1 FROM mcp_connectors c WHERE c.user_id = users.id AND c.enabled)
           FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (verified, display_name, has_connectors) = account.ok_or(BeginError::NotFound)?;
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
            sqlx::query(
                "UPDATE conversations SET updated_at = now(), model = CASE WHEN $3 THEN $4 ELSE model END
                  WHERE id = $1 AND user_id = $2",
            )
            .bind(id)
            .bind(user_id)
            .bind(remember_model)
            .bind(model)
            .execute(&mut *tx)
            .await?;
            (id, title)
        }
        None => {
            let id = Uuid::new_v4();
            let Turn::Ask { text, attachments } = turn else { return Err(BeginError::NotFound) };
            // A question of attachments alone is named after its first one.
            let title = match attachments.first() {
                Some(first) if text.trim().is_empty() => title_from(&first.filename),
                _ => title_from(text),
            };
            sqlx::query("INSERT INTO conversations (id, user_id, title, model) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(user_id)
                .bind(&title)
                .bind(remember_model.then_some(model))
                .execute(&mut *tx)
                .await?;
            (id, title)
        }
    };
    // What the run answers, found (or refused) before anything is admitted or stored.
    let (question, attachments) = match turn {
        Turn::Ask { text, attachments } => {
            let parent = shown_leaf(&mut tx, user_id, conversation_id, true).await?;
            let blocks = attachments.iter().map(|view| ContentBlock::Attachment { id: view.id.clone() });
            let content = question_content(text, blocks.collect());
            (Question::New { id: Uuid::new_v4(), parent, text, content }, attachments.to_vec())
        }
        Turn::Edit { of, text } => {
            let edited =
                branch_point(&mut tx, user_id, conversation_id, of).await?.ok_or(BeginError::NotFound)?;
            if !edited.is_question() {
                return Err(BeginError::NotBranchable("Only your own messages can be edited."));
            }
            let attachments = attachments_of(&mut tx, user_id, conversation_id, &edited).await?;
            let kept =
                edited.content.0.iter().filter(|block| matches!(block, ContentBlock::Attachment { .. }));
            let content = question_content(text, kept.cloned().collect());
            if content.is_empty() {
                return Err(BeginError::Refused("Write a message first.".into()));
            }
            (Question::New { id: Uuid::new_v4(), parent: edited.parent_id, text, content }, attachments)
        }
        Turn::Regenerate { of } => {
            let question = answered_question(&mut tx, user_id, conversation_id, of).await?;
            let attachments = attachments_of(&mut tx, user_id, conversation_id, &question).await?;
            (Question::Again(question), attachments)
        }
    };
    if let Some(refusal) = attachments.iter().find_map(refuse_attachment) {
        return Err(BeginError::Refused(refusal));
    }
    let question_text = match &question {
        Question::New { text, .. } => (*text).to_owned(),
        Question::Again(question) => question.text(),
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
    let question_id = match &question {
        Question::New { id, parent, content, .. } => {
            insert_question(&mut tx, *id, user_id, conversation_id, content, *parent, run_id).await?;
            if let Turn::Ask { attachments, .. } = turn
                && !attachments.is_empty()
            {
                let ids: Vec<Uuid> = attachments.iter().filter_map(|view| view.id.parse().ok()).collect();
                // Another send took one meanwhile: nothing of this one is stored.
                Attachments::claim(&mut tx, *id, &ids).await.map_err(|error| match error {
                    sqlx::Error::RowNotFound => BeginError::AttachmentTaken,
                    other => BeginError::Database(other),
                })?;
            }
            *id
        }
        Question::Again(question) => {
            set_head(&mut tx, user_id, conversation_id, question.id).await?;
            question.id
        }
    };
    metrics::counter!("jarvis_runs_started_total").increment(1);
    let mut path = path_rows(&mut tx, user_id, conversation_id, question_id).await?;
    // The question is asked again, even when its earlier answer was refused.
    if let Some(question) = path.last_mut() {
        question.refused = false;
    }
    let history = complete_messages(path);
    tx.commit().await?;
    Ok(NewRun {
        run_id,
        conversation_id,
        title,
        tokens_left: admitted.tokens_left,
        display_name,
        has_connectors,
        history,
        question_id,
        question_text,
        attachments,
        reply_id: Uuid::new_v4(),
    })
}

/// A question's stored content: its text (left out when empty: the API refuses an empty text
/// block), then a reference to each attachment, in the order sent.
fn question_content(text: &str, attachments: Vec<ContentBlock>) -> Vec<ContentBlock> {
    let text = (!text.trim().is_empty()).then(|| ContentBlock::Text { text: text.to_owned() });
    text.into_iter().chain(attachments).collect()
}

/// The attachments a stored question refers to, in its order. An edited question refers to the
/// attachments of the version it was made from, so they are looked up among its versions.
async fn attachments_of(
    conn: &mut PgConnection,
    user_id: Uuid,
    conversation_id: Uuid,
    question: &BranchPoint,
) -> Result<Vec<AttachmentView>, BeginError> {
    let ids: Vec<&str> = question
        .content
        .0
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Attachment { id } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let versions: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM messages WHERE conversation_id = $1 AND user_id = $2 AND role = 'user'
            AND parent_id IS NOT DISTINCT FROM $3",
    )
    .bind(conversation_id)
    .bind(user_id)
    .bind(question.parent_id)
    .fetch_all(&mut *conn)
    .await?;
    let by_id: HashMap<String, AttachmentView> = Attachments::of_messages(conn, &versions)
        .await?
        .into_values()
        .flatten()
        .map(|view| (view.id.clone(), view))
        .collect();
    Ok(ids.into_iter().filter_map(|id| by_id.get(id).cloned()).collect())
}

/// The question a run answers.
enum Question<'a> {
    /// Stored with the run, under `parent` (`None`: a first question).
    New { id: Uuid, parent: Option<Uuid>, text: &'a str, content: Vec<ContentBlock> },
    /// Stored already: a regeneration answers it again.
    Again(BranchPoint),
}

/// The question a regeneration answers again: `of` itself, or the question the reply `of`
/// answers.
async fn answered_question(
    conn: &mut sqlx::PgConnection,
    user_id: Uuid,
    conversation_id: Uuid,
    of: Uuid,
) -> Result<BranchPoint, BeginError> {
    let named = branch_point(conn, user_id, conversation_id, of).await?.ok_or(BeginError::NotFound)?;
    if named.is_question() {
        return Ok(named);
    }
    let parent = match (named.role, named.parent_id) {
        (Role::Assistant, Some(parent)) => branch_point(conn, user_id, conversation_id, parent).await?,
        _ => None,
    };
    parent
        .filter(BranchPoint::is_question)
        .ok_or(BeginError::NotBranchable("Only a reply to your own message can be regenerated."))
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
