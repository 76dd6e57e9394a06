//! The open conversation as plain data, and the pure reducer that changes it: [`ChatState`]
//! takes what the server sends ([`ChatState::apply`]) and what the user does (send, stop, retry,
//! open, rename, delete, edit a question, regenerate a reply, switch versions) and answers the [`Effect`]s to perform (a message on the socket, the
//! address to show, a document saved, a clip to play). No signals, no browser, no timers here:
//! the component layer (`context`) holds the state in a signal, calls the reducer and performs
//! its effects, so every transition is tested natively.
//!
//! Run events are deduplicated by sequence number, so a run resumed after a reconnect shows every
//! word once. A send not yet acknowledged by its run's `Started` goes again after a reconnect
//! (the server knows it by its id), and the followed run is resumed after the last event seen.
//!
//! An edit or a regeneration shows its new branch at once (what followed the edited question or
//! the regenerated reply leaves the screen, the new version is numbered last); refused, the
//! screen is put back as it was. Switching versions asks the server for the other branch.
//!
//! The composer's attachments ([`AttachmentList`]) and the model picked for the conversation
//! ([`ModelChoice`]) live here too: a send carries the uploaded attachments and the model, and a
//! refused send gives its attachments back with its text.

use jarvis_types::chat::{AttachmentView, ConversationSummary, ConversationView, ToolCallView};
use jarvis_types::documents::DocumentRef;
use jarvis_types::protocol::{ClientMessage, RunEvent, RunStatus, ServerMessage, message_too_long};
use jarvis_types::voice::{Clip, ClipStatus};

use super::attachments::AttachmentList;
use super::model_choice::ModelChoice;
use super::ui_message::{STOPPED, UiMessage};
use crate::components::voice::upsert_clip;

#[cfg(test)]
mod other_tabs_tests;
#[cfg(test)]
mod sending_tests;
#[cfg(test)]
mod tests;

/// Why a message sent while a reply runs does not go (it stays in the composer); taken away when
/// the reply ends.
pub const STILL_REPLYING: &str =
    "Jarvis is still replying. Your message is kept: send it when the reply ends, or press Stop first.";

/// What a server call that could not reach the server tells the user.
static UNREACHABLE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::error::AppError::Unreachable.to_string());

/// Why an edited question left empty does not go.
pub const EMPTY_EDIT: &str = "Write the new version of your message, or press Cancel to keep it as it was.";

/// The run this page follows, and the last event of it applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveRun {
    pub run_id: String,
    pub last_seq: u64,
    /// This page sent what the run answers (not loaded or followed from another tab): its start
    /// and its end are told to the browser's other tabs.
    pub sent_here: bool,
}

/// What the reducer asks the component layer to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send this on the socket. Dropped while no socket is proven: what must go again is sent
    /// again at the next `Hello`.
    Send(ClientMessage),
    /// Show this conversation (or none) in the address, so a reload shows it again, in place of
    /// the address shown (no new history entry: the same chat, now named).
    ShowInAddress(Option<String>),
    /// Go to this conversation (or none) in the address, as a new history entry: the user moved
    /// to another conversation, and Back returns to the one before ([`ChatState::show`] and
    /// [`ChatState::show_empty`] show it again).
    GoToAddress(Option<String>),
    /// A run saved a document: the documents panel shows it.
    DocumentSaved(DocumentRef),
    /// This run was loaded, not streamed live from here: its reply never starts by itself.
    RuleOutAutoplay(String),
    /// A ready clip of this run arrived live: its reply may start playing.
    ClipReady(String),
    /// Show the branch through the version `message_id` of a message of the conversation: the
    /// server keeps the choice and answers the branch, which [`ChatState::show`] shows. `step` is
    /// the arrow that asked (-1 "Previous version", 1 "Next version"): the focus goes back to it.
    ShowVersion { conversation_id: String, message_id: String, step: isize },
    /// This conversation changed here (a run sent from here started or ended, it was deleted):
    /// the browser's other tabs are told, so that one showing it shows it as it is now.
    TellOtherTabs(String),
    /// Another tab changed something: load the list of conversations again ([`ChatState::listed`]).
    LoadList,
    /// Another tab changed the conversation shown here: load it again and show it
    /// ([`ChatState::show`]) if it is still shown and untouched by then.
    LoadConversation(String),
}

/// The question being edited in place, and its text so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editing {
    pub key: u64,
    pub draft: String,
}

/// The reply a run will write, before its first event: its id and versions, given to it when it
/// appears.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct NextReply {
    /// `None` until the run starts.
    run_id: Option<String>,
    id: Option<String>,
    versions: Vec<String>,
    /// The model writing it.
    model: Option<String>,
}

/// Everything the chat shows of the open conversation, and the list beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatState {
    pub conversation_id: Option<String>,
    pub conversations: Vec<ConversationSummary>,
    pub messages: Vec<UiMessage>,
    /// The run followed: while there is one, the composer offers Stop instead of Send.
    pub active: Option<ActiveRun>,
    pub notice: Option<String>,
    /// Beside a notice about a plan's limit: where to upgrade.
    pub upgrade_url: Option<String>,
    /// The text of a refused message, handed back to the composer so nothing written is lost.
    pub returned_text: Option<String>,
    /// The question open in its editor, if any.
    pub editing: Option<Editing>,
    /// What a screen reader is told of the reply that just ended (its text, or why it ended):
    /// the message list itself is not a live region, so that streaming words, players and
    /// buttons are not announced one by one.
    pub announcement: Option<String>,
    /// The composer's attachments, sent with the next message.
    pub attachments: AttachmentList,
    /// The models on offer and the one that answers the next message here.
    pub model: ModelChoice,
    next_key: u64,
    /// A send not yet acknowledged by its run's `Started`: sent again after a reconnect.
    pending_send: Option<ClientMessage>,
    /// The messages as they were before an edit or a regeneration not yet acknowledged: put back
    /// if the server refuses it.
    before_branch: Option<Vec<UiMessage>>,
    next_reply: Option<NextReply>,
}

impl ChatState {
    /// No conversation open yet; `conversations` is the list beside it.
    pub fn new(conversations: Vec<ConversationSummary>) -> Self {
        Self { conversations, ..Self::default() }
    }

    /// The message with this key.
    pub fn message(&self, key: u64) -> Option<&UiMessage> {
        self.messages.iter().find(|m| m.key == key)
    }

    fn key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    /// Shows a conversation loaded from the server, and follows its running reply if any.
    pub fn show(&mut self, view: ConversationView) -> Vec<Effect> {
        self.model.conversation(view.model);
        self.messages = view.messages.into_iter().map(|m| UiMessage::from_view(self.key(), m)).collect();
        self.conversation_id = Some(view.id);
        self.notice = None;
        self.editing = None;
        self.before_branch = None;
        self.next_reply = None;
        self.active = view.running_run_id.map(|run_id| ActiveRun { run_id, last_seq: 0, sent_here: false });
        // The running reply is rebuilt from its events, replayed from the first: any of it the
        // view holds would be shown twice. A regeneration's reply is numbered after the earlier
        // versions the view names (its own id comes with its first event).
        if let Some(active) = &self.active {
            self.messages.retain(|m| m.is_question() || m.run_id.as_deref() != Some(active.run_id.as_str()));
            if !view.running_reply_versions.is_empty() {
                let mut versions = view.running_reply_versions;
                versions.push(String::new());
                self.next_reply = Some(NextReply { versions, ..NextReply::default() });
            }
        }
        match &self.active {
            // Loaded, not sent from here: its clips replay, but nothing starts by itself.
            Some(active) => vec![
                Effect::RuleOutAutoplay(active.run_id.clone()),
                Effect::Send(ClientMessage::Resume { run_id: active.run_id.clone(), after_seq: 0 }),
            ],
            None => Vec::new(),
        }
    }

    /// The user picked a conversation of the list (or a search result in it): shown, and named in
    /// the address, as a new history entry unless it is the one open already.
    pub fn open(&mut self, view: ConversationView) -> Vec<Effect> {
        let id = Some(view.id.clone());
        let mut effects = vec![if self.conversation_id == id {
            Effect::ShowInAddress(id)
        } else {
            Effect::GoToAddress(id)
        }];
        effects.extend(self.show(view));
        effects
    }

    /// The user asked for a new conversation: an empty chat, whose next message starts one; a new
    /// history entry when a conversation was open.
    pub fn new_conversation(&mut self) -> Vec<Effect> {
        let left = self.conversation_id.is_some();
        self.show_empty();
        vec![if left { Effect::GoToAddress(None) } else { Effect::ShowInAddress(None) }]
    }

    /// An empty chat, as the address without a conversation shows it (Back to it, a deleted
    /// conversation); the next message starts a new conversation.
    pub fn show_empty(&mut self) {
        self.messages.clear();
        // A new conversation starts with the default model, unless one is picked before sending.
        self.model.conversation(None);
        self.conversation_id = None;
        self.active = None;
        self.notice = None;
        self.editing = None;
        self.before_branch = None;
        self.next_reply = None;
    }

    /// Something to tell the user above the composer (a failed rename, a missing conversation).
    pub fn tell(&mut self, notice: String) {
        self.notice = Some(notice);
    }

    /// A conversation was renamed on the server.
    pub fn renamed(&mut self, id: &str, title: &str) {
        if let Some(conversation) = self.conversations.iter_mut().find(|c| c.id == id) {
            conversation.title = title.trim().to_owned();
        }
    }

    /// A conversation was deleted on the server: it leaves the list, and the chat if open (and
    /// the address in place, so that Back does not lead to it).
    pub fn deleted(&mut self, id: &str) -> Vec<Effect> {
        self.conversations.retain(|c| c.id != id);
        let told = Effect::TellOtherTabs(id.to_owned());
        if self.conversation_id.as_deref() != Some(id) {
            return vec![told];
        }
        self.show_empty();
        vec![Effect::ShowInAddress(None), told]
    }

    /// Another tab of this browser changed the conversation `id`: the list is loaded again, and
    /// so is the conversation if it is the one shown here — unless this page is busy with it (a
    /// reply followed or being sent, a question being edited), which a reload would disturb; it
    /// then learns of the change by its own run's events, or at the next change.
    pub fn other_tab_changed(&self, id: &str) -> Vec<Effect> {
        let mut effects = vec![Effect::LoadList];
        if self.may_reload(id) {
            effects.push(Effect::LoadConversation(id.to_owned()));
        }
        effects
    }

    /// Whether the conversation `id` is the one shown and this page is not busy with it.
    fn may_reload(&self, id: &str) -> bool {
        let busy = self.active.is_some() || self.pending_send.is_some() || self.editing.is_some();
        self.conversation_id.as_deref() == Some(id) && !busy
    }

    /// The list of conversations, loaded again.
    pub fn listed(&mut self, conversations: Vec<ConversationSummary>) {
        self.conversations = conversations;
    }

    /// The conversation shown here, loaded again after another tab changed it: shown as it is
    /// now, if it is still the one shown and this page has not got busy with it meanwhile;
    /// `None`, it was deleted there.
    pub fn reloaded(&mut self, id: &str, view: Option<ConversationView>) -> Vec<Effect> {
        if !self.may_reload(id) {
            return Vec::new();
        }
        match view {
            Some(view) => self.show(view),
            None => {
                self.show_empty();
                self.notice = Some("This conversation was deleted in another tab.".to_owned());
                vec![Effect::ShowInAddress(None)]
            }
        }
    }

    /// Sends `text` as a new message with the composer's uploaded attachments (the text may be
    /// blank when there are some), unless there is nothing to send, a reply is still running, or
    /// an attachment holds it back (still uploading, refused, or unreadable by the chosen model:
    /// the notice says why). It shows at once and the chips leave the composer;
    /// `client_message_id` makes sending it twice start one run.
    pub fn send(&mut self, text: String, client_message_id: String) -> Vec<Effect> {
        if self.active.is_some() {
            // Said, not silently ignored; the composer keeps the text.
            if !text.trim().is_empty() || !self.attachments.is_empty() {
                self.notice = Some(STILL_REPLYING.to_owned());
            }
            return Vec::new();
        }
        if let Some(reason) = self.attachments.blocker(self.model.selected_option()) {
            self.notice = Some(reason);
            return Vec::new();
        }
        let attachments = self.attachments.views();
        let effects = self.send_message(text, attachments, client_message_id);
        if !effects.is_empty() {
            self.attachments.clear();
        }
        effects
    }

    /// Sends a new message with these (uploaded, unsent) attachments and the chosen model.
    fn send_message(
        &mut self,
        text: String,
        attachments: Vec<AttachmentView>,
        client_message_id: String,
    ) -> Vec<Effect> {
        let text = text.trim().to_owned();
        if (text.is_empty() && attachments.is_empty()) || self.active.is_some() {
            return Vec::new();
        }
        // Refused here as the server would refuse it, before it goes: a message too large for a
        // frame would close the socket, and be sent again at each reconnect.
        if let Some(refusal) = message_too_long(&text) {
            self.notice = Some(refusal);
            return Vec::new();
        }
        let key = self.key();
        let ids = attachments.iter().map(|attachment| attachment.id.clone()).collect();
        self.messages.push(UiMessage { attachments, ..UiMessage::question(key, text.clone(), None) });
        self.notice = None;
        let send = ClientMessage::Send {
            client_message_id,
            conversation_id: self.conversation_id.clone(),
            text,
            attachments: ids,
            model: self.model.for_send(),
        };
        self.pending_send = Some(send.clone());
        vec![Effect::Send(send)]
    }

    /// Opens the editor of the question `key` (one the server knows), unless a reply is running.
    pub fn start_edit(&mut self, key: u64) {
        if self.active.is_some() || self.pending_send.is_some() {
            return;
        }
        if let Some(message) = self.message(key).filter(|m| m.is_question() && m.id.is_some()) {
            self.editing = Some(Editing { key, draft: message.text.clone() });
        }
    }

    /// The editor's text changed.
    pub fn edit_draft(&mut self, draft: String) {
        if let Some(editing) = &mut self.editing {
            editing.draft = draft;
        }
    }

    /// Closes the editor; the question stays as it was.
    pub fn cancel_edit(&mut self) {
        self.editing = None;
    }

    /// Sends the editor's text as a new version of its question: what followed the question
    /// leaves the screen, the new question shows at once, numbered last of its versions.
    pub fn submit_edit(&mut self, client_message_id: String) -> Vec<Effect> {
        let Some(Editing { key, draft }) = self.editing.clone() else { return Vec::new() };
        let text = draft.trim().to_owned();
        if self.active.is_some() || self.pending_send.is_some() {
            return Vec::new();
        }
        if text.is_empty() {
            self.notice = Some(EMPTY_EDIT.to_owned());
            return Vec::new();
        }
        if let Some(refusal) = message_too_long(&text) {
            self.notice = Some(refusal);
            return Vec::new();
        }
        let (Some(conversation_id), Some(index)) =
            (self.conversation_id.clone(), self.messages.iter().position(|m| m.key == key))
        else {
            return Vec::new();
        };
        let Some(message_id) = self.messages[index].id.clone() else { return Vec::new() };
        let versions = self.messages[index].versions_with_a_new_one();
        self.before_branch = Some(self.messages.clone());
        self.messages.truncate(index);
        let key = self.key();
        self.messages.push(UiMessage { versions, ..UiMessage::question(key, text.clone(), None) });
        self.editing = None;
        self.notice = None;
        let edit = ClientMessage::Edit {
            client_message_id,
            conversation_id,
            message_id,
            text,
            model: self.model.for_send(),
        };
        self.pending_send = Some(edit.clone());
        vec![Effect::Send(edit)]
    }

    /// Asks for a new version of the reply `key`: it and what followed leave the screen; the new
    /// reply streams in its place, numbered last of its versions.
    pub fn regenerate(&mut self, key: u64, client_message_id: String) -> Vec<Effect> {
        if self.active.is_some() || self.pending_send.is_some() {
            return Vec::new();
        }
        let Some(conversation_id) = self.conversation_id.clone() else { return Vec::new() };
        let Some(index) = self.messages.iter().position(|m| m.key == key && !m.is_question()) else {
            return Vec::new();
        };
        // The question it answers: the nearest one above it.
        let Some(message_id) =
            self.messages[..index].iter().rev().find(|m| m.is_question()).and_then(|m| m.id.clone())
        else {
            return Vec::new();
        };
        self.next_reply = Some(NextReply {
            versions: self.messages[index].versions_with_a_new_one(),
            ..NextReply::default()
        });
        self.before_branch = Some(self.messages.clone());
        self.messages.truncate(index);
        self.editing = None;
        self.notice = None;
        let regenerate = ClientMessage::Regenerate {
            client_message_id,
            conversation_id,
            message_id,
            model: self.model.for_send(),
        };
        self.pending_send = Some(regenerate.clone());
        vec![Effect::Send(regenerate)]
    }

    /// Shows the version `step` away (-1: previous, 1: next) of the message `key`: asks the server
    /// for that branch. Not while a reply is running.
    pub fn switch_version(&mut self, key: u64, step: isize) -> Vec<Effect> {
        if self.active.is_some() || self.pending_send.is_some() {
            self.notice = Some("Wait until Jarvis has finished answering to switch versions.".into());
            return Vec::new();
        }
        let target = self.message(key).and_then(|m| m.neighbour_version(step)).map(str::to_owned);
        match (self.conversation_id.clone(), target) {
            (Some(conversation_id), Some(message_id)) => {
                self.editing = None;
                vec![Effect::ShowVersion { conversation_id, message_id, step }]
            }
            _ => Vec::new(),
        }
    }

    /// Stops the reply being followed.
    pub fn stop(&self) -> Vec<Effect> {
        match &self.active {
            Some(active) => vec![Effect::Send(ClientMessage::Cancel { run_id: active.run_id.clone() })],
            None => Vec::new(),
        }
    }

    /// Sends again the user's message that the reply `failed_key` answered (its text: its
    /// attachments were sent with it once and stay with it; the composer's chips stay put).
    pub fn retry(&mut self, failed_key: u64, client_message_id: String) -> Vec<Effect> {
        let Some(run_id) = self.message(failed_key).and_then(|m| m.run_id.clone()) else { return Vec::new() };
        let question = self
            .messages
            .iter()
            .rfind(|m| m.is_question() && m.run_id.as_deref() == Some(run_id.as_str()))
            .map(|m| m.text.clone());
        match question {
            Some(text) => self.send_message(text, Vec::new(), client_message_id),
            None => Vec::new(),
        }
    }

    /// A clip of the reply `key` was made again (by its "Retry"): ready, or failed anew.
    pub fn clip_retried(&mut self, key: u64, clip: Clip) {
        if let Some(message) = self.messages.iter_mut().find(|m| m.key == key) {
            upsert_clip(&mut message.clips, clip);
        }
    }

    /// The composer took the refused text back.
    pub fn take_returned_text(&mut self) -> Option<String> {
        self.returned_text.take()
    }

    /// Whether Jarvis is working on an answer that shows nothing yet: a message was sent (or a
    /// run is followed) and its reply has no text, no tool call and no retry notice so far.
    pub fn thinking(&self) -> bool {
        match &self.active {
            Some(active) => !self.messages.iter().any(|m| {
                m.role == "assistant"
                    && m.run_id.as_deref() == Some(active.run_id.as_str())
                    && (!m.text.is_empty()
                        || !m.tools.is_empty()
                        || m.retrying.is_some()
                        || m.error.is_some())
            }),
            None => self.pending_send.is_some(),
        }
    }

    /// Applies one message from the server.
    pub fn apply(&mut self, message: ServerMessage) -> Vec<Effect> {
        match message {
            ServerMessage::Hello { .. } => {
                // (Re)connected: a send that may not have arrived goes again (the server knows it
                // by its id), and the followed run is picked up where it was left. A notice that
                // the server could not be reached is no longer true.
                if self.notice.as_deref() == Some(UNREACHABLE.as_str()) {
                    self.notice = None;
                }
                let resend = self.pending_send.clone().map(Effect::Send);
                let resume = self.active.as_ref().map(|active| {
                    Effect::Send(ClientMessage::Resume {
                        run_id: active.run_id.clone(),
                        after_seq: active.last_seq,
                    })
                });
                resend.into_iter().chain(resume).collect()
            }
            ServerMessage::Pong { .. } => Vec::new(),
            ServerMessage::LimitReached { message, upgrade_url, .. } => {
                self.refused(message);
                self.upgrade_url = upgrade_url;
                Vec::new()
            }
            ServerMessage::Error { message, .. } => {
                match self.active {
                    // With no send pending, an error while a run is followed answers its Resume
                    // or Cancel (the run is unknown, or following it failed): no more events of
                    // it will come, so the page stops following rather than show Stop forever.
                    Some(_) if self.pending_send.is_none() => {
                        self.active = None;
                        self.notice = Some(message);
                    }
                    _ => self.refused(message),
                }
                Vec::new()
            }
            ServerMessage::Run { run_id, seq, event } => self.run_event(run_id, seq, event),
        }
    }

    /// The server refused what was sent: the optimistic message goes, the text stays in the box
    /// (an edit's in its editor); an edit or a regeneration puts the screen back as it was.
    fn refused(&mut self, message: String) {
        self.next_reply = None;
        let pending = self.pending_send.take();
        match self.before_branch.take() {
            Some(before) => self.messages = before,
            None => {
                if self.messages.last().is_some_and(UiMessage::is_unanswered_question)
                    && let Some(question) = self.messages.pop()
                {
                    // Its attachments go back to the composer, still unsent.
                    self.attachments.restore(question.attachments);
                }
            }
        }
        match pending {
            Some(ClientMessage::Send { text, .. }) => self.returned_text = Some(text),
            Some(ClientMessage::Edit { message_id, text, .. }) => {
                let edited = self.messages.iter().find(|m| m.id.as_deref() == Some(message_id.as_str()));
                self.editing = edited.map(|m| Editing { key: m.key, draft: text });
            }
            _ => {}
        }
        self.upgrade_url = None;
        self.notice = Some(message);
    }

    fn run_event(&mut self, run_id: String, seq: u64, event: RunEvent) -> Vec<Effect> {
        match &self.active {
            // Each follower sends a run's events in order from where it was asked to start, so
            // only the next one is taken: one already applied is a repeat, and one past the next
            // comes from a follower the page has since replaced (a conversation left while its
            // reply streamed and opened again is replayed from its first event; frames of the
            // earlier follower still on the way must not jump ahead of that replay).
            Some(active) if active.run_id == run_id && seq != active.last_seq + 1 => return Vec::new(),
            Some(active) if active.run_id != run_id => return Vec::new(),
            None if !matches!(event, RunEvent::Started { .. }) => return Vec::new(),
            _ => {}
        }
        match &mut self.active {
            Some(active) if active.run_id == run_id => active.last_seq = seq,
            _ => self.active = Some(ActiveRun { run_id: run_id.clone(), last_seq: seq, sent_here: false }),
        }
        match event {
            RunEvent::Started {
                conversation_id,
                title,
                user_text,
                client_message_id,
                user_message_id,
                reply_id,
                attachments,
                model,
            } => {
                let started = Started {
                    conversation_id,
                    title,
                    user_text,
                    client_message_id,
                    user_message_id,
                    attachments,
                    model: model.clone(),
                };
                let effects = self.started(run_id.clone(), started);
                self.expect_reply(run_id, reply_id, model);
                return effects;
            }
            RunEvent::TextDelta { text } => {
                let reply = self.reply(&run_id);
                push_text(reply, &text);
                reply.retrying = None;
            }
            RunEvent::Retrying { attempt, .. } => {
                let reply = self.reply(&run_id);
                let keep = reply.checkpoint.min(reply.text.len());
                reply.text.truncate(keep);
                // Back at the last tool activity: text after it starts a new paragraph again.
                reply.after_tool_call = !reply.tools.is_empty();
                reply.retrying = Some(attempt);
            }
            RunEvent::ToolCall { id, name, input } => {
                let reply = self.reply(&run_id);
                reply.retrying = None;
                reply.tools.push(ToolCallView { id, name, input, output: None, is_error: false });
                reply.checkpoint = reply.text.len();
                reply.after_tool_call = true;
            }
            RunEvent::ToolResult { id, output, is_error, .. } => {
                let reply = self.reply(&run_id);
                if let Some(tool) = reply.tools.iter_mut().find(|tool| tool.id == id) {
                    tool.output = Some(output);
                    tool.is_error = is_error;
                }
                reply.checkpoint = reply.text.len();
            }
            RunEvent::DocumentSaved { document } => return vec![Effect::DocumentSaved(document)],
            RunEvent::Clip { clip } => {
                let ready = clip.status == ClipStatus::Ready;
                upsert_clip(&mut self.reply(&run_id).clips, clip);
                if ready {
                    return vec![Effect::ClipReady(run_id)];
                }
            }
            RunEvent::Usage { input_tokens, output_tokens, cache_read_tokens, cache_write_tokens } => {
                self.reply(&run_id).usage = Some(format!(
                    "{input_tokens} tokens in, {output_tokens} out, {cache_read_tokens} from cache, {cache_write_tokens} cached"
                ));
            }
            RunEvent::Finished { status, error, .. } => {
                let reply = self.reply(&run_id);
                reply.partial = status != RunStatus::Completed;
                reply.retrying = None;
                (reply.error, reply.retryable) = match (status, error) {
                    (_, Some(error)) => (Some(error.message), error.retryable),
                    (RunStatus::Cancelled, None) => (Some(STOPPED.into()), true),
                    _ => (None, false),
                };
                // Said once to a screen reader, in place of every word as it streamed.
                self.announcement = Some(match (&reply.error, status) {
                    (Some(error), _) => format!("Jarvis's reply ended: {error}"),
                    (None, RunStatus::Completed) => format!("Jarvis replied: {}", reply.text),
                    (None, _) => "Jarvis's reply ended.".to_owned(),
                });
                let sent_here = self.active.take().is_some_and(|active| active.sent_here);
                if self.notice.as_deref() == Some(STILL_REPLYING) {
                    self.notice = None;
                }
                if sent_here && let Some(id) = &self.conversation_id {
                    return vec![Effect::TellOtherTabs(id.clone())];
                }
            }
        }
        Vec::new()
    }

    /// A run started: the send it answers is acknowledged, its conversation is the open one (and
    /// in the list), and its question is on screen once, with the id the server gave it.
    fn started(&mut self, run_id: String, started: Started) -> Vec<Effect> {
        self.announcement = None;
        let Started {
            conversation_id,
            title,
            user_text,
            client_message_id,
            user_message_id,
            attachments,
            model,
        } = started;
        let pending_id = match &self.pending_send {
            Some(
                ClientMessage::Send { client_message_id, .. }
                | ClientMessage::Edit { client_message_id, .. }
                | ClientMessage::Regenerate { client_message_id, .. },
            ) => Some(client_message_id),
            _ => None,
        };
        let ours = pending_id.is_some() && pending_id == client_message_id.as_ref();
        if ours {
            self.pending_send = None;
            self.before_branch = None;
            if let Some(active) = &mut self.active {
                active.sent_here = true;
            }
        } else if model.is_some() {
            // Sent from elsewhere (another tab, or before a reload): the model answering it is
            // the conversation's now.
            self.model.conversation(model);
        }
        let is_new = self.conversation_id.as_deref() != Some(conversation_id.as_str());
        self.conversation_id = Some(conversation_id.clone());
        if is_new && !self.conversations.iter().any(|c| c.id == conversation_id) {
            let summary =
                ConversationSummary { id: conversation_id.clone(), title, updated_at: String::new() };
            self.conversations.insert(0, summary);
        }
        // Claim the optimistic message, or show the question if this page did not send it (a
        // regenerated reply's question is on screen already).
        let known = self.messages.iter().any(|m| {
            m.is_question()
                && (m.run_id.as_deref() == Some(run_id.as_str())
                    || (m.id.is_some() && m.id == user_message_id))
        });
        if !known {
            let pending =
                self.messages.iter_mut().rev().find(|m| m.is_unanswered_question() && m.text == user_text);
            let question = match pending {
                Some(pending) => {
                    pending.run_id = Some(run_id);
                    pending
                }
                None => {
                    let key = self.key();
                    self.messages.push(UiMessage::question(key, user_text, Some(run_id)));
                    self.messages.last_mut().expect("just pushed")
                }
            };
            // The server's word on what the question carries (stored names, sizes).
            if !attachments.is_empty() {
                question.attachments = attachments;
            }
            if let Some(id) = &user_message_id {
                question.named(id);
            }
        }
        let mut effects = vec![Effect::ShowInAddress(Some(conversation_id.clone()))];
        if ours {
            effects.push(Effect::TellOtherTabs(conversation_id));
        }
        effects
    }

    /// The reply run `run_id` will write is to have `reply_id` (and, for a regeneration, the
    /// versions prepared for it).
    fn expect_reply(&mut self, run_id: String, reply_id: Option<String>, model: Option<String>) {
        let mut next = match self.next_reply.take() {
            Some(next) if next.run_id.is_none() => next,
            _ => NextReply::default(),
        };
        next.run_id = Some(run_id);
        next.id = reply_id;
        next.model = model;
        self.next_reply = Some(next);
    }

    /// The assistant message of a run, created on first need.
    fn reply(&mut self, run_id: &str) -> &mut UiMessage {
        let existing =
            self.messages.iter().rposition(|m| m.role == "assistant" && m.run_id.as_deref() == Some(run_id));
        let index = match existing {
            Some(index) => index,
            None => {
                let key = self.key();
                let mut reply = UiMessage::reply(key, run_id);
                if let Some(next) = self.next_reply.take_if(|next| next.run_id.as_deref() == Some(run_id)) {
                    reply.versions = next.versions;
                    reply.model = next.model;
                    if let Some(id) = next.id {
                        reply.named(&id);
                    }
                }
                self.messages.push(reply);
                self.messages.len() - 1
            }
        };
        &mut self.messages[index]
    }
}

/// What a run's `Started` event tells of its question.
struct Started {
    conversation_id: String,
    title: String,
    user_text: String,
    client_message_id: Option<String>,
    user_message_id: Option<String>,
    attachments: Vec<AttachmentView>,
    model: Option<String>,
}

/// Appends a piece of a reply's text: the first text after a tool call starts a new paragraph,
/// as the stored history joins it (unless the piece or the text already breaks the line there).
fn push_text(reply: &mut UiMessage, piece: &str) {
    if piece.is_empty() {
        return;
    }
    if std::mem::take(&mut reply.after_tool_call)
        && !reply.text.is_empty()
        && !reply.text.ends_with('\n')
        && !piece.starts_with('\n')
    {
        reply.text.push_str("\n\n");
    }
    reply.text.push_str(piece);
}
