//! The server function that searches the user's conversations, and what it answers: each hit's
//! title and snippet as [`Highlighted`] pieces, so the browser marks the matched words as
//! elements and never reads stored text as markup.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A piece of a title or snippet; `mark` pieces are words the query found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Highlighted {
    pub text: String,
    pub mark: bool,
}

/// A conversation that matches, at the message to open it at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    pub conversation_id: String,
    pub title: Vec<Highlighted>,
    /// The message the best match is in; `None` when only the title matches.
    pub message_id: Option<String>,
    pub snippet: Vec<Highlighted>,
}

/// The user's conversations matching `query`, best first (at most 20). A blank query finds
/// nothing; a very long one is refused with a sentence.
#[server(prefix = "/api", endpoint = "search_conversations")]
pub async fn search_conversations(query: String) -> Result<Vec<SearchResult>, AppError> {
    use jarvis_backend::chat::search::{Fragment, search};

    use crate::server_context::{current_user, database};

    let user = current_user()?;
    if query.trim().is_empty() {
        return Ok(Vec::new());
    }
    let pool = database()?;
    let pieces = |fragments: Vec<Fragment>| {
        fragments.into_iter().map(|f| Highlighted { text: f.text, mark: f.matched }).collect()
    };
    Ok(search(&pool, user.user_id, &query)
        .await?
        .into_iter()
        .map(|hit| SearchResult {
            conversation_id: hit.conversation_id.to_string(),
            title: pieces(hit.title),
            message_id: hit.message_id.map(|id| id.to_string()),
            snippet: pieces(hit.snippet),
        })
        .collect())
}
