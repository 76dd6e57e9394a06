//! Server functions for the conversation list and history. Thin: who is asking, then the backend.

use jarvis_types::chat::{ConversationSummary, ConversationView};
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "conversations")]
pub async fn list_conversations() -> Result<Vec<ConversationSummary>, ServerFnError> {
    let (user, chat) = ssr::context()?;
    jarvis_backend::chat::view::conversations(chat.pool(), user.user_id).await.map_err(ssr::internal)
}

/// A conversation's messages; `None` for an id that is not the user's.
#[server(prefix = "/api", endpoint = "conversation")]
pub async fn load_conversation(id: String) -> Result<Option<ConversationView>, ServerFnError> {
    let (user, chat) = ssr::context()?;
    let Ok(id) = uuid::Uuid::parse_str(&id) else { return Ok(None) };
    jarvis_backend::chat::view::conversation(chat.pool(), user.user_id, id).await.map_err(ssr::internal)
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
    if chat.delete_conversation(user.user_id, id).await.map_err(ssr::internal)? {
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

    pub fn internal(error: impl std::fmt::Display) -> ServerFnError {
        tracing::error!(%error, "app.conversation_query_failed");
        ServerFnError::new("Something went wrong on our side.")
    }
}
