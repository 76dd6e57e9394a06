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
    /// What a question carries besides its text (images, PDFs, text files), in the order sent.
    #[serde(default)]
    pub attachments: Vec<AttachmentView>,
    /// The id of the model that wrote this reply (assistant messages; `None` when unknown).
    #[serde(default)]
    pub model: Option<String>,
}

/// What an attachment is to the model: an image block, a PDF document block, or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Image,
    Pdf,
    Text,
}

/// One attachment of the user's, as the composer and history show it. Its bytes are at
/// `/api/attachments/{id}` and, for images, a small preview at `/api/attachments/{id}/thumbnail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub id: String,
    /// The sanitised name it is offered under.
    pub filename: String,
    /// Sniffed from the content, never taken from the client.
    pub content_type: String,
    pub kind: AttachmentKind,
    /// The stored size (after a resize, for an image made smaller).
    pub size_bytes: u64,
    /// Images: the stored dimensions.
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    /// PDFs: the page count.
    #[serde(default)]
    pub pages: Option<u32>,
}

/// One model a user may choose, as `GET /api/models` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOption {
    /// The id `send` carries (from `JARVIS_MODELS_FILE`, or the configured model's name).
    pub id: String,
    pub display_name: String,
    /// Whether the model takes images and PDFs as attachments (text files every model takes).
    pub images: bool,
    pub pdf: bool,
}

/// `GET /api/models`: the models the user's plan allows, and the one used when none is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelChoices {
    pub models: Vec<ModelOption>,
    pub default: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    pub id: String,
    pub title: String,
    pub messages: Vec<ChatMessageView>,
    /// A run still answering in this conversation: resume it to follow.
    pub running_run_id: Option<String>,
    /// The earlier versions of the reply that run is writing (a regeneration), oldest first; it
    /// is numbered after them. Empty when it is the first reply to its question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running_reply_versions: Vec<String>,
    /// The model chosen for this conversation (the picker shows it); `None`: the default.
    #[serde(default)]
    pub model: Option<String>,
}
