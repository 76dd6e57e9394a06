//! The chat as the UI shows it: conversation summaries, and a conversation's stored messages
//! folded into replies (tool results shown on the tool calls that asked for them, consecutive
//! assistant messages of one run read as one reply, its text joined exactly as it streamed). Only
//! the branch the conversation shows is here; a message at a fork names its versions. A question
//! shows its attachments, a reply the model that wrote it. A reply still being written is not
//! here: the page shows it from the run's events.

use std::collections::HashMap;

use jarvis_types::chat::{
    AttachmentView, ChatMessageView, ConversationSummary, ConversationView, ToolCallView,
};
use sqlx::PgPool;
use uuid::Uuid;

use super::status::MessageStatus;
use super::store::{self, MessageRow};
use crate::agent::messages::{ContentBlock, ReplyText, Role};
use crate::attachments::Attachments;

pub async fn conversations(pool: &PgPool, user_id: Uuid) -> Result<Vec<ConversationSummary>, sqlx::Error> {
    Ok(store::list_conversations(pool, user_id)
        .await?
        .into_iter()
        .map(|row| ConversationSummary {
            id: row.id.to_string(),
            title: row.title,
            updated_at: row.updated_at.to_rfc3339(),
        })
        .collect())
}

/// A conversation of this user's, or `None`.
pub async fn conversation(
    pool: &PgPool,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<ConversationView>, sqlx::Error> {
    let Some(conversation) = store::conversation(pool, user_id, id).await? else {
        return Ok(None);
    };
    // The running run first: a run that ends between the two reads then has its messages stored
    // (they are written before the run is marked ended), and a run still running here is left
    // out of the messages below.
    let running = store::running_run(pool, user_id, id).await?;
    let rows = store::messages(pool, user_id, id).await?;
    let attachments = attachments_by_id(pool, user_id, &rows).await?;
    let models = store::run_models(pool, user_id, id).await?;
    let running_reply_versions = match running {
        Some(run_id) => earlier_versions_of_running_reply(pool, user_id, run_id, &rows).await?,
        None => Vec::new(),
    };

    // Tool results travel in user messages; they are shown on the assistant message that asked.
    let mut messages: Vec<ChatMessageView> = Vec::new();
    // The text of the reply being folded, joined as it was streamed.
    let mut reply_text = ReplyText::new();
    for row in rows {
        // A running run's reply is shown from its events (the page follows the run from its
        // first event), never also from the messages it has stored so far: both would show its
        // text twice.
        if running.is_some() && row.run_id == running && row.role == Role::Assistant {
            continue;
        }
        if is_tool_results(&row) {
            for block in &row.content.0 {
                if let ContentBlock::ToolResult { tool_use_id, content, is_error } = block {
                    for message in messages.iter_mut().rev() {
                        if let Some(tool) = message.tools.iter_mut().find(|tool| &tool.id == tool_use_id) {
                            tool.output = Some(content.clone());
                            tool.is_error = *is_error;
                            break;
                        }
                    }
                }
            }
            continue;
        }
        let tools: Vec<ToolCallView> = row
            .content
            .0
            .iter()
            .filter_map(|block| match block {
                ContentBlock::ToolUse { id, name, input } => Some(ToolCallView {
                    id: id.clone(),
                    name: name.clone(),
                    input: input.to_string(),
                    output: None,
                    is_error: false,
                }),
                _ => None,
            })
            .collect();
        // Consecutive assistant messages of one run read as one reply.
        if let Some(last) = messages.last_mut()
            && row.role == Role::Assistant
            && last.role == Role::Assistant.as_str()
            && last.run_id == row.run_id.map(|id| id.to_string())
        {
            row.content.0.iter().for_each(|block| reply_text.push_block(block));
            last.text = reply_text.as_str().to_owned();
            last.tools.extend(tools);
            last.partial |= row.status == MessageStatus::Partial;
            continue;
        }
        reply_text = ReplyText::new();
        let text = if row.role == Role::Assistant {
            row.content.0.iter().for_each(|block| reply_text.push_block(block));
            reply_text.as_str().to_owned()
        } else {
            row.content
                .0
                .iter()
                .filter_map(|block| match block {
                    ContentBlock::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect()
        };
        let attachments: Vec<AttachmentView> = row
            .content
            .0
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Attachment { id } => attachments.get(id).cloned(),
                _ => None,
            })
            .collect();
        let model = match row.role {
            Role::Assistant => row.run_id.and_then(|run_id| models.get(&run_id).cloned()),
            Role::User => None,
        };
        messages.push(ChatMessageView {
            attachments,
            model,
            id: row.id.to_string(),
            role: row.role.as_str().to_owned(),
            text,
            tools,
            partial: row.status == MessageStatus::Partial,
            run_id: row.run_id.map(|id| id.to_string()),
            clips: Vec::new(),
            refused: row.refused,
            versions: if row.versions.len() > 1 {
                row.versions.iter().map(Uuid::to_string).collect()
            } else {
                Vec::new()
            },
        });
    }
    // Each spoken reply's clips, on the reply of its run.
    let run_ids: Vec<Uuid> = messages
        .iter()
        .filter(|message| message.role == Role::Assistant.as_str())
        .filter_map(|message| message.run_id.as_deref().and_then(|id| Uuid::parse_str(id).ok()))
        .collect();
    for clip in crate::voice::clips::for_runs(pool, user_id, &run_ids).await? {
        let run_id = clip.run_id.to_string();
        if let Some(message) = messages
            .iter_mut()
            .rev()
            .find(|m| m.role == Role::Assistant.as_str() && m.run_id.as_deref() == Some(&run_id))
        {
            message.clips.push(clip.into());
        }
    }
    Ok(Some(ConversationView {
        id: conversation.id.to_string(),
        title: conversation.title,
        messages,
        running_run_id: running.map(|id| id.to_string()),
        running_reply_versions: running_reply_versions.iter().map(Uuid::to_string).collect(),
        model: conversation.model,
    }))
}

/// The versions a running regeneration's reply will have beside it (the earlier replies to its
/// question, oldest first), empty when it is the first reply. Its own stored first message (a
/// turn with tool calls) knows them; before that, they are the replies to the question the
/// branch ends on.
async fn earlier_versions_of_running_reply(
    pool: &PgPool,
    user_id: Uuid,
    run_id: Uuid,
    rows: &[MessageRow],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let first_stored = rows.iter().find(|row| row.run_id == Some(run_id) && row.role == Role::Assistant);
    let versions = match first_stored {
        Some(reply) => reply.versions.iter().copied().filter(|version| *version != reply.id).collect(),
        // A question this run asked (a new one, or an edit) has no earlier replies.
        None => match rows.last().filter(|row| row.is_question() && row.run_id != Some(run_id)) {
            Some(question) => store::replies_to(pool, user_id, question.id, run_id).await?,
            None => Vec::new(),
        },
    };
    Ok(versions)
}

/// The attachments the questions shown refer to, by attachment id. An edited question refers to
/// the attachments of the version it was made from, so every version's are looked up.
async fn attachments_by_id(
    pool: &PgPool,
    user_id: Uuid,
    rows: &[MessageRow],
) -> Result<HashMap<String, AttachmentView>, sqlx::Error> {
    let refers = |row: &&MessageRow| {
        row.role == Role::User
            && row.content.0.iter().any(|block| matches!(block, ContentBlock::Attachment { .. }))
    };
    let mut owners: Vec<Uuid> = Vec::new();
    for row in rows.iter().filter(refers) {
        owners.push(row.id);
        owners.extend(row.versions.iter().copied());
    }
    if owners.is_empty() {
        return Ok(HashMap::new());
    }
    owners.sort_unstable();
    owners.dedup();
    let by_message =
        crate::db::for_user(pool, user_id, async |conn| Attachments::of_messages(conn, &owners).await)
            .await?;
    Ok(by_message.into_values().flatten().map(|view| (view.id.clone(), view)).collect())
}

/// Whether a stored message carries tool results (a user message the model's tool calls made).
fn is_tool_results(row: &MessageRow) -> bool {
    !row.content.0.is_empty()
        && row.content.0.iter().all(|block| matches!(block, ContentBlock::ToolResult { .. }))
}
