//! Server functions for shared conversations: share one (a new read-only link), stop sharing it,
//! and read a link's snapshot — the one anyone may call, signed in or not. The snapshot's
//! messages are rendered here, on the server, with the app's safe Markdown renderer, so the
//! shared page shows them exactly as the chat does.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A shared conversation as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedConversation {
    pub title: String,
    /// When it was shared (RFC 3339).
    pub shared_at: String,
    pub messages: Vec<SharedMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedMessage {
    /// `user` or `assistant`.
    pub role: String,
    /// A question's text (shown as plain text).
    pub text: String,
    /// A reply's text as sanitised HTML (empty for a question).
    pub html: String,
    pub partial: bool,
    /// The tools the reply used, by name.
    pub tools: Vec<String>,
}

/// Shares one of the user's conversations as it is now; answers the new link's path
/// (`/share/<token>`), shown once.
#[server(prefix = "/api", endpoint = "share_conversation")]
pub async fn share_conversation(id: String) -> Result<String, AppError> {
    let (user, pool) = ssr::context()?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ssr::not_found())?;
    let token = jarvis_backend::shares::share(&pool, user.user_id, id).await?;
    Ok(format!("{}{}", jarvis_backend::shares::SHARE_PATH, token.expose()))
}

/// Revokes every link to one of the user's conversations.
#[server(prefix = "/api", endpoint = "stop_sharing")]
pub async fn stop_sharing(id: String) -> Result<(), AppError> {
    let (user, pool) = ssr::context()?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ssr::not_found())?;
    jarvis_backend::shares::stop_sharing(&pool, user.user_id, id).await?;
    Ok(())
}

/// The snapshot behind a live link, for anyone; `None` when the link is unknown or revoked.
#[server(prefix = "/api", endpoint = "read_shared")]
pub async fn read_shared(token: String) -> Result<Option<SharedConversation>, AppError> {
    let pool = crate::server_context::database()?;
    let Some(snapshot) = jarvis_backend::shares::shared(&pool, &token).await? else {
        return Ok(None);
    };
    Ok(Some(ssr::rendered(snapshot)))
}

#[cfg(feature = "ssr")]
mod ssr {
    use jarvis_backend::accounts::CurrentUser;
    use jarvis_backend::shares::Snapshot;

    use super::{SharedConversation, SharedMessage};
    use crate::error::AppError;
    use crate::server_context::{current_user, database};

    pub fn context() -> Result<(CurrentUser, sqlx::PgPool), AppError> {
        Ok((current_user()?, database()?))
    }

    pub fn not_found() -> AppError {
        AppError::NotFound("No such conversation.".to_owned())
    }

    /// The snapshot with its replies rendered as the chat renders them.
    pub fn rendered(snapshot: Snapshot) -> SharedConversation {
        SharedConversation {
            title: snapshot.title,
            shared_at: snapshot.shared_at,
            messages: snapshot
                .messages
                .into_iter()
                .map(|message| {
                    let is_user = message.role == "user";
                    SharedMessage {
                        html: if is_user { String::new() } else { crate::markdown::render(&message.text) },
                        text: if is_user { message.text } else { String::new() },
                        role: message.role,
                        partial: message.partial,
                        tools: message.tools,
                    }
                })
                .collect(),
        }
    }
}
