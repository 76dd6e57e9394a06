//! Server functions for the conversation list and history. Thin: who is asking, then the backend;
//! every failure is an [`AppError`].

use jarvis_types::chat::{ConversationSummary, ConversationView};
use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/api", endpoint = "conversations")]
pub async fn list_conversations() -> Result<Vec<ConversationSummary>, AppError> {
    let (user, chat) = ssr::context()?;
    jarvis_backend::chat::view::conversations(chat.pool(), user.user_id).await.map_err(ssr::database)
}

/// A conversation's messages; `None` for an id that is not the user's.
#[server(prefix = "/api", endpoint = "conversation")]
pub async fn load_conversation(id: String) -> Result<Option<ConversationView>, AppError> {
    let (user, chat) = ssr::context()?;
    let Ok(id) = uuid::Uuid::parse_str(&id) else { return Ok(None) };
    jarvis_backend::chat::view::conversation(chat.pool(), user.user_id, id).await.map_err(ssr::database)
}

/// Shows the branch through the version `message_id` of a message of the conversation (kept, so a
/// reload shows it too) and answers the conversation as it now shows. Refused while a reply is
/// being written in it.
#[server(prefix = "/api", endpoint = "show_version")]
pub async fn show_version(conversation_id: String, message_id: String) -> Result<ConversationView, AppError> {
    let (user, chat) = ssr::context()?;
    let conversation_id = uuid::Uuid::parse_str(&conversation_id).map_err(|_| ssr::not_found())?;
    let message_id = uuid::Uuid::parse_str(&message_id).map_err(|_| ssr::not_found())?;
    chat.show_version(user.user_id, conversation_id, message_id).await?;
    jarvis_backend::chat::view::conversation(chat.pool(), user.user_id, conversation_id)
        .await
        .map_err(ssr::database)?
        .ok_or_else(ssr::not_found)
}

#[server(prefix = "/api", endpoint = "rename_conversation")]
pub async fn rename_conversation(id: String, title: String) -> Result<(), AppError> {
    let (user, chat) = ssr::context()?;
    // No control or bidirectional character is kept (a title must read as it displays).
    let title: String = jarvis_backend::text::clean_name(&title).chars().take(120).collect();
    if title.is_empty() {
        return Err(AppError::Invalid("A title cannot be empty.".to_owned()));
    }
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ssr::not_found())?;
    let renamed = jarvis_backend::chat::store::rename(chat.pool(), user.user_id, id, &title)
        .await
        .map_err(ssr::database)?;
    if renamed { Ok(()) } else { Err(ssr::not_found()) }
}

#[server(prefix = "/api", endpoint = "delete_conversation")]
pub async fn delete_conversation(id: String) -> Result<(), AppError> {
    let (user, chat) = ssr::context()?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ssr::not_found())?;
    if chat.delete_conversation(user.user_id, id).await? { Ok(()) } else { Err(ssr::not_found()) }
}

#[cfg(feature = "ssr")]
mod ssr {
    use jarvis_backend::accounts::CurrentUser;
    use jarvis_backend::chat::Chat;

    use crate::error::AppError;
    use crate::server_context::{current_user, service};

    pub fn context() -> Result<(CurrentUser, Chat), AppError> {
        Ok((current_user()?, service::<Chat>()?))
    }

    /// An id that is not one of the user's conversations (or no id at all): 404, as documents.
    pub fn not_found() -> AppError {
        AppError::NotFound("No such conversation.".to_owned())
    }

    /// A query the database failed: the backend's database error, with its kind and cause.
    pub fn database(error: sqlx::Error) -> AppError {
        jarvis_backend::Error::from(error).into()
    }
}
