//! One message as the chat shows it ([`UiMessage`]): a user's question or a reply being built
//! from its run's events, with its tool calls, error, usage, spoken clips and versions; a
//! question's attachments, and the model that wrote a reply.

use jarvis_types::chat::{AttachmentView, ChatMessageView, ToolCallView};
use jarvis_types::voice::Clip;

/// The marker of a reply cut short (stopped by the user, or ended before it was complete).
pub const STOPPED: &str = "Stopped.";

/// One message on screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UiMessage {
    /// Unique on the page: how the list tells messages apart while they change.
    pub key: u64,
    /// The stored message's id, for one loaded from the server (its element is `message-<id>`,
    /// which a search result scrolls to).
    pub id: Option<String>,
    pub role: String,
    pub text: String,
    pub tools: Vec<ToolCallView>,
    pub partial: bool,
    pub error: Option<String>,
    /// Whether sending the message again may help (the error offers "Retry").
    pub retryable: bool,
    /// The model call is being tried again (this attempt): the reply says so until text comes.
    pub retrying: Option<u32>,
    pub usage: Option<String>,
    pub run_id: Option<String>,
    /// Length of `text` at the last tool activity: a retried model call replaces text after it.
    pub checkpoint: usize,
    /// A tool call came after the last text: the next text starts a new paragraph, as a reload
    /// shows it.
    pub after_tool_call: bool,
    /// The reply's spoken clips, in `seq` order.
    pub clips: Vec<Clip>,
    /// The ids of the message's versions (edits of a question, regenerations of a reply) in the
    /// order they were made, this one among them; an empty id is this one before the server named
    /// it. Fewer than two: no versions to switch between.
    pub versions: Vec<String>,
    /// What a question carries besides its text, in the order sent.
    pub attachments: Vec<AttachmentView>,
    /// The id of the model that wrote a reply, when known.
    pub model: Option<String>,
}

impl UiMessage {
    /// A message loaded from the server.
    pub fn from_view(key: u64, view: ChatMessageView) -> Self {
        let checkpoint = view.text.len();
        // Shown again on reload: the refusal note the run ended with, or the "Stopped." a reply
        // cut short was marked with live.
        let is_reply = view.role == "assistant";
        let error = if is_reply && view.refused {
            Some(jarvis_types::protocol::REFUSAL_NOTE.to_owned())
        } else if is_reply && view.partial {
            Some(STOPPED.to_owned())
        } else {
            None
        };
        let retryable = error.is_some() && !view.refused;
        let mut clips = view.clips;
        clips.sort_by_key(|clip| clip.seq);
        Self {
            key,
            id: Some(view.id),
            role: view.role,
            text: view.text,
            tools: view.tools,
            partial: view.partial,
            error,
            retryable,
            run_id: view.run_id,
            checkpoint,
            clips,
            versions: view.versions,
            attachments: view.attachments,
            model: view.model,
            ..Self::default()
        }
    }

    /// A user's question: `run_id` is `None` while its run has not started.
    pub fn question(key: u64, text: String, run_id: Option<String>) -> Self {
        Self { key, role: "user".into(), text, run_id, ..Self::default() }
    }

    /// The empty reply of run `run_id`, filled by its events.
    pub fn reply(key: u64, run_id: &str) -> Self {
        Self { key, role: "assistant".into(), run_id: Some(run_id.to_owned()), ..Self::default() }
    }

    pub fn is_question(&self) -> bool {
        self.role == "user"
    }

    /// Which version this is and of how many (from 1), when there are several.
    pub fn version(&self) -> Option<(usize, usize)> {
        if self.versions.len() < 2 {
            return None;
        }
        let own = self.id.as_deref().unwrap_or_default();
        let index = self.versions.iter().position(|id| id == own)?;
        Some((index + 1, self.versions.len()))
    }

    /// The id of the version `step` places away (-1: the previous one), if there is one.
    pub fn neighbour_version(&self, step: isize) -> Option<&str> {
        let (number, _) = self.version()?;
        let index = (number - 1).checked_add_signed(step)?;
        self.versions.get(index).map(String::as_str).filter(|id| !id.is_empty())
    }

    /// Its versions with a new one last, not named yet (an edit or a regeneration of it).
    pub fn versions_with_a_new_one(&self) -> Vec<String> {
        let mut versions = match (&self.id, self.versions.is_empty()) {
            (_, false) => self.versions.clone(),
            (Some(id), true) => vec![id.clone()],
            (None, true) => return Vec::new(),
        };
        versions.push(String::new());
        versions
    }

    /// The server named this message: its id, also in its versions where it was still unnamed.
    pub fn named(&mut self, id: &str) {
        self.id = Some(id.to_owned());
        if let Some(unnamed) = self.versions.iter_mut().find(|version| version.is_empty()) {
            *unnamed = id.to_owned();
        }
    }

    /// A question sent from this page whose run has not started yet.
    pub fn is_unanswered_question(&self) -> bool {
        self.is_question() && self.run_id.is_none()
    }
}
