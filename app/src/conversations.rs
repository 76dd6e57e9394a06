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
    // No control or bidirectional character is kept (a title must read as it displays).
    let title: String = jarvis_backend::text::clean_name(&title).chars().take(120).collect();
    if title.is_empty() {
        return Err(ssr::client_error(http::StatusCode::BAD_REQUEST, "A title cannot be empty."));
    }
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ssr::not_found())?;
    if jarvis_backend::chat::store::rename(chat.pool(), user.user_id, id, &title)
        .await
        .map_err(ssr::internal)?
    {
        Ok(())
    } else {
        Err(ssr::not_found())
    }
}

#[server(prefix = "/api", endpoint = "delete_conversation")]
pub async fn delete_conversation(id: String) -> Result<(), ServerFnError> {
    let (user, chat) = ssr::context()?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ssr::not_found())?;
    if chat.delete_conversation(user.user_id, id).await.map_err(ssr::internal)? {
        Ok(())
    } else {
        Err(ssr::not_found())
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

    /// A client's mistake: answered with `status` (a 4xx, which logs no error) and `message`.
    pub fn client_error(status: http::StatusCode, message: &str) -> ServerFnError {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(status);
        }
        ServerFnError::new(message)
    }

    /// An id that is not one of the user's conversations (or no id at all): 404, as documents.
    pub fn not_found() -> ServerFnError {
        client_error(http::StatusCode::NOT_FOUND, "No such conversation.")
    }

    pub fn internal(error: impl std::fmt::Display) -> ServerFnError {
        tracing::error!(%error, "app.conversation_query_failed");
        ServerFnError::new("Something went wrong on our side.")
    }
}
