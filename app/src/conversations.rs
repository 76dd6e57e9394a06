//! Server functions for the conversation list and history. Thin: who is asking, then the backend.

use jarvis_types::chat::{ConversationSummary, ConversationView};
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "conversations")]
pub async fn list_conversations() -> Result<Vec<ConversationSummary>, ServerFnError> {
    let (user, chat) = ssr::context()?;
    let rows = jarvis_backend::chat::store::list_conversations(chat.pool(), user.user_id)
        .await
        .map_err(ssr::internal)?;
    Ok(rows
        .into_iter()
        .map(|row| ConversationSummary {
            id: row.id.to_string(),
            title: row.title,
            updated_at: row.updated_at.to_rfc3339(),
        })
        .collect())
}

/// A conversation's messages; `None` for an id that is not the user's.
#[server(prefix = "/api", endpoint = "conversation")]
pub async fn load_conversation(id: String) -> Result<Option<ConversationView>, ServerFnError> {
    use jarvis_backend::agent::messages::ContentBlock;
    use jarvis_backend::chat::store;
    use jarvis_types::chat::{ChatMessageView, ToolCallView};

    let (user, chat) = ssr::context()?;
    let Ok(id) = uuid::Uuid::parse_str(&id) else { return Ok(None) };
    let Some(conversation) =
        store::conversation(chat.pool(), user.user_id, id).await.map_err(ssr::internal)?
    else {
        return Ok(None);
    };
    let rows = store::messages(chat.pool(), user.user_id, id).await.map_err(ssr::internal)?;
    let running = store::running_run(chat.pool(), user.user_id, id).await.map_err(ssr::internal)?;

    // Tool results travel in user messages; they are shown on the assistant message that asked.
    let mut messages: Vec<ChatMessageView> = Vec::new();
    for row in rows {
        let is_tool_results =
            row.content.0.iter().all(|block| matches!(block, ContentBlock::ToolResult { .. }))
                && !row.content.0.is_empty();
        if is_tool_results {
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
        let text: String = row
            .content
            .0
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n\n");
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
        if let Some(last) = messages.last_mut() {
            if row.role == "assistant"
                && last.role == "assistant"
                && last.run_id == row.run_id.map(|id| id.to_string())
            {
                if !text.is_empty() {
                    if !last.text.is_empty() {
                        last.text.push_str("\n\n");
                    }
                    last.text.push_str(&text);
                }
                last.tools.extend(tools);
                last.partial |= row.status == "partial";
                continue;
            }
        }
        messages.push(ChatMessageView {
            id: row.id.to_string(),
            role: row.role,
            text,
            tools,
            partial: row.status == "partial",
            run_id: row.run_id.map(|id| id.to_string()),
        });
    }
    Ok(Some(ConversationView {
        id: conversation.id.to_string(),
        title: conversation.title,
        messages,
        running_run_id: running.map(|id| id.to_string()),
    }))
}

#[server(prefix = "/api", endpoint = "rename_conversation")]
pub async fn rename_conversation(id: String, title: String) -> Result<(), ServerFnError> {
    let (user, chat) = ssr::context()?;
    let title: String = title.trim().chars().filter(|c| !c.is_control()).take(120).collect();
    if title.is_empty() {
        return Err(ServerFnError::new("A title cannot be empty."));
    }
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ServerFnError::new("No such conversation."))?;
    if jarvis_backend::chat::store::rename(chat.pool(), user.user_id, id, &title)
        .await
        .map_err(ssr::internal)?
    {
        Ok(())
    } else {
        Err(ServerFnError::new("No such conversation."))
    }
}

#[server(prefix = "/api", endpoint = "delete_conversation")]
pub async fn delete_conversation(id: String) -> Result<(), ServerFnError> {
    let (user, chat) = ssr::context()?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ServerFnError::new("No such conversation."))?;
    if jarvis_backend::chat::store::delete(chat.pool(), user.user_id, id).await.map_err(ssr::internal)? {
        Ok(())
    } else {
        Err(ServerFnError::new("No such conversation."))
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use jarvis_backend::accounts::CurrentUser;
    use jarvis_backend::chat::Chat;
    use leptos::prelude::*;

    pub fn context() -> Result<(CurrentUser, Chat), ServerFnError> {
        let user = crate::account::ssr::current_user()?;
        let chat = use_context::<Chat>().ok_or_else(|| ServerFnError::new("chat service missing"))?;
        Ok((user, chat))
    }

    pub fn internal(error: sqlx::Error) -> ServerFnError {
        tracing::error!(%error, "app.conversation_query_failed");
        ServerFnError::new("Something went wrong on our side.")
    }
}
