//! What the chat UI shows of conversations and their messages.

use serde::{Deserialize, Serialize};

use crate::voice::Clip;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: String,
    pub title: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// One tool call of a reply, with its result once known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCallView {
    pub id: String,
    pub name: String,
    pub input: String,
    pub output: Option<String>,
    pub is_error: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessageView {
    pub id: String,
    /// `user` or `assistant`.
    pub role: String,
    pub text: String,
    pub tools: Vec<ToolCallView>,
    /// The reply was stopped or failed; `text` is what had arrived.
    pub partial: bool,
    pub run_id: Option<String>,
    /// The reply's spoken clips, in order (assistant replies with voice on).
    #[serde(default)]
    pub clips: Vec<Clip>,
    /// The model refused this exchange: it is shown, but no longer sent to the model.
    #[serde(default)]
    pub refused: bool,
    /// The message's versions (edits of a question, regenerations of a reply), in the order they
    /// were made, this one among them: a switcher shows "‹ 2 / 3 ›". Empty or one: no fork here.
    #[serde(default)]
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    pub id: String,
    pub title: String,
    pub messages: Vec<ChatMessageView>,
    /// A run still answering in this conversation: resume it to follow.
    pub running_run_id: Option<String>,
}
