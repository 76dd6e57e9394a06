//! The chat: the state of the open conversation (fed by the socket's run events, deduplicated by
//! sequence number so that a resumed run shows every word once), the conversation list, the
//! message view (Markdown rendered safely, tool calls as cards, "Jarvis mode" to hide them) and
//! the composer (Enter sends, Shift+Enter breaks the line, Esc or "Stop" stops). A voice reply
//! carries its spoken clips, played by [`VoicePlayer`]; a reply streamed live starts playing by
//! itself once, as the user's voice settings say.

use std::collections::HashSet;

use jarvis_types::chat::{ChatMessageView, ConversationSummary, ConversationView, ToolCallView};
use jarvis_types::documents::Library;
use jarvis_types::protocol::{ClientMessage, RunEvent, RunStatus, ServerMessage};
use jarvis_types::voice::{Clip, ClipStatus, VoiceOptions};
use leptos::prelude::*;

use crate::components::connection::{ConnectionState, ConnectionStatus};
use crate::components::library::{LibraryPanel, LibraryState};
use crate::components::voice::{VoicePlayer, VoiceSettingsButton, VoiceSettingsPanel, upsert_clip};
use crate::conversations::{delete_conversation, rename_conversation};
use crate::markdown;

/// One message on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiMessage {
    pub key: u64,
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
    /// The reply's spoken clips, in `seq` order.
    pub clips: Vec<Clip>,
}

impl UiMessage {
    fn from_view(key: u64, view: ChatMessageView) -> Self {
        let checkpoint = view.text.len();
        // Shown again on reload: the refusal note the run ended with.
        let error = (view.refused && view.role == "assistant")
            .then(|| jarvis_types::protocol::REFUSAL_NOTE.to_owned());
        let mut clips = view.clips;
        clips.sort_by_key(|clip| clip.seq);
        Self {
            key,
            role: view.role,
            text: view.text,
            tools: view.tools,
            partial: view.partial,
            error,
            retryable: false,
            retrying: None,
            usage: None,
            run_id: view.run_id,
            checkpoint,
            clips,
        }
    }
}

/// The run this page follows, and the last event of it applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveRun {
    pub run_id: String,
    pub last_seq: u64,
}

/// Everything the chat shows. `Copy`: signals only.
#[derive(Clone, Copy)]
pub struct ChatState {
    pub connection: RwSignal<ConnectionState>,
    pub conversation_id: RwSignal<Option<String>>,
    pub conversations: RwSignal<Vec<ConversationSummary>>,
    pub messages: RwSignal<Vec<RwSignal<UiMessage>>>,
    pub active: RwSignal<Option<ActiveRun>>,
    pub notice: RwSignal<Option<String>>,
    /// Beside a notice about a plan's limit: where to upgrade.
    pub upgrade_url: RwSignal<Option<String>>,
    /// The text of a refused message, handed back to the composer so nothing written is lost.
    pub returned_text: RwSignal<Option<String>>,
    pub jarvis_mode: RwSignal<bool>,
    /// The documents panel, told when a run saves a document.
    pub library: LibraryState,
    /// Which panel a phone shows.
    pub panel: RwSignal<Panel>,
    /// The deployment's voice engine and the user's voice settings (`None` until loaded).
    pub voice: RwSignal<Option<VoiceOptions>>,
    /// A live run whose reply should start playing now: its player takes the request.
    pub autoplay_request: RwSignal<Option<String>>,
    /// The player (by message key) that plays; the others pause.
    pub now_playing: RwSignal<Option<u64>>,
    /// The playback rate every player uses.
    pub playback_rate: RwSignal<f64>,
    /// Runs whose autoplay was decided (made, refused by the settings, or ruled out because the
    /// run was loaded rather than streamed live): each run autoplays once at most.
    autoplay_decided: StoredValue<HashSet<String>>,
    next_key: StoredValue<u64>,
    /// A send not yet acknowledged by its run's `Started`: sent again after a reconnect.
    pending_send: StoredValue<Option<ClientMessage>>,
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    outbox: Outbox,
}

/// The socket's outbox. Only the browser has one; the server must not hold thread-local values
/// in a request's reactive owner (it may be dropped on another thread).
#[cfg(feature = "hydrate")]
type Outbox = StoredValue<Option<futures::channel::mpsc::UnboundedSender<ClientMessage>>, LocalStorage>;
#[cfg(not(feature = "hydrate"))]
type Outbox = StoredValue<()>;

#[cfg(feature = "hydrate")]
fn new_outbox() -> Outbox {
    StoredValue::new_local(None)
}

#[cfg(not(feature = "hydrate"))]
fn new_outbox() -> Outbox {
    StoredValue::new(())
}

impl ChatState {
    pub fn new(
        conversations: Vec<ConversationSummary>,
        open: Option<ConversationView>,
        library: LibraryState,
        voice: Option<VoiceOptions>,
    ) -> Self {
        let state = Self {
            library,
            voice: RwSignal::new(voice),
            autoplay_request: RwSignal::new(None),
            now_playing: RwSignal::new(None),
            playback_rate: RwSignal::new(1.0),
            autoplay_decided: StoredValue::new(HashSet::new()),
            panel: RwSignal::new(Panel::Chat),
            connection: RwSignal::new(ConnectionState::Connecting),
            conversation_id: RwSignal::new(None),
            conversations: RwSignal::new(conversations),
            messages: RwSignal::new(Vec::new()),
            active: RwSignal::new(None),
            notice: RwSignal::new(None),
            upgrade_url: RwSignal::new(None),
            returned_text: RwSignal::new(None),
            jarvis_mode: RwSignal::new(false),
            next_key: StoredValue::new(0),
            pending_send: StoredValue::new(None),
            outbox: new_outbox(),
        };
        if let Some(view) = open {
            state.show(view);
        }
        state
    }

    fn key(&self) -> u64 {
        self.next_key.update_value(|key| *key += 1);
        self.next_key.get_value()
    }

    /// Shows a conversation loaded from the server, and follows its running reply if any.
    pub fn show(&self, view: ConversationView) {
        let messages =
            view.messages.into_iter().map(|m| RwSignal::new(UiMessage::from_view(self.key(), m))).collect();
        self.messages.set(messages);
        self.conversation_id.set(Some(view.id));
        self.notice.set(None);
        let active = view.running_run_id.map(|run_id| ActiveRun { run_id, last_seq: 0 });
        self.active.set(active.clone());
        if let Some(active) = active {
            // Loaded, not sent from here: its clips replay, but nothing starts by itself.
            self.autoplay_decided.update_value(|decided| {
                decided.insert(active.run_id.clone());
            });
            self.dispatch(ClientMessage::Resume { run_id: active.run_id, after_seq: 0 });
        }
    }

    pub fn new_conversation(&self) {
        self.messages.set(Vec::new());
        self.conversation_id.set(None);
        self.active.set(None);
        self.notice.set(None);
        set_url_conversation(None);
    }

    fn dispatch(&self, message: ClientMessage) {
        #[cfg(feature = "hydrate")]
        self.outbox.with_value(|outbox| {
            if let Some(outbox) = outbox {
                let _ = outbox.unbounded_send(message.clone());
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = message;
    }

    pub fn send(&self, text: String) {
        let text = text.trim().to_owned();
        if text.is_empty() || self.active.get_untracked().is_some() {
            return;
        }
        let message = UiMessage {
            key: self.key(),
            role: "user".into(),
            text: text.clone(),
            tools: Vec::new(),
            partial: false,
            error: None,
            retryable: false,
            retrying: None,
            usage: None,
            run_id: None,
            checkpoint: 0,
            clips: Vec::new(),
        };
        self.messages.update(|messages| messages.push(RwSignal::new(message)));
        self.notice.set(None);
        let send = ClientMessage::Send {
            client_message_id: client_message_id(),
            conversation_id: self.conversation_id.get_untracked(),
            text,
        };
        self.pending_send.set_value(Some(send.clone()));
        self.dispatch(send);
    }

    pub fn stop(&self) {
        if let Some(active) = self.active.get_untracked() {
            self.dispatch(ClientMessage::Cancel { run_id: active.run_id });
        }
    }

    /// Sends again the user's message that `failed` (an assistant reply) answered.
    pub fn retry(&self, failed: &UiMessage) {
        let messages = self.messages.get_untracked();
        let question = messages
            .iter()
            .map(|m| m.get_untracked())
            .filter(|m| m.role == "user" && m.run_id.is_some() && m.run_id == failed.run_id)
            .last();
        if let Some(question) = question {
            self.send(question.text);
        }
    }

    /// Applies one message from the server.
    pub fn handle(&self, message: ServerMessage) {
        match message {
            ServerMessage::Hello { .. } => {
                // (Re)connected: a send that may not have arrived goes again (the server knows it
                // by its id), and the followed run is picked up where it was left.
                if let Some(send) = self.pending_send.get_value() {
                    self.dispatch(send);
                }
                if let Some(active) = self.active.get_untracked() {
                    self.dispatch(ClientMessage::Resume {
                        run_id: active.run_id,
                        after_seq: active.last_seq,
                    });
                }
            }
            ServerMessage::Pong { .. } => {}
            ServerMessage::LimitReached { message, upgrade_url, .. } => {
                self.refused(message);
                self.upgrade_url.set(upgrade_url);
            }
            ServerMessage::Error { message, .. } => match self.active.get_untracked() {
                // With no send pending, an error while a run is followed answers its Resume or
                // Cancel (the run is unknown, or following it failed): no more events of it will
                // come, so the page stops following rather than show Stop forever.
                Some(_) if self.pending_send.get_value().is_none() => {
                    self.active.set(None);
                    self.notice.set(Some(message));
                }
                _ => self.refused(message),
            },
            ServerMessage::Run { run_id, seq, event } => self.apply(run_id, seq, event),
        }
    }

    /// The server refused what was sent: the optimistic message goes, the text stays in the box.
    fn refused(&self, message: String) {
        if let Some(ClientMessage::Send { text, .. }) = self.pending_send.get_value() {
            self.returned_text.set(Some(text));
        }
        self.pending_send.set_value(None);
        self.upgrade_url.set(None);
        // A refused send: take back the optimistic message, keep the text visible.
        self.messages.update(|messages| {
            if messages.last().is_some_and(|m| m.with_untracked(|m| m.role == "user" && m.run_id.is_none())) {
                messages.pop();
            }
        });
        self.notice.set(Some(message));
    }

    fn apply(&self, run_id: String, seq: u64, event: RunEvent) {
        let active = self.active.get_untracked();
        match &active {
            Some(active) if active.run_id == run_id && seq <= active.last_seq => return,
            Some(active) if active.run_id != run_id => return,
            None if !matches!(event, RunEvent::Started { .. }) => return,
            _ => {}
        }
        self.active.set(Some(ActiveRun { run_id: run_id.clone(), last_seq: seq }));
        match event {
            RunEvent::Started { conversation_id, title, user_text, client_message_id } => {
                let acknowledged = matches!(
                    (self.pending_send.get_value(), &client_message_id),
                    (Some(ClientMessage::Send { client_message_id: pending, .. }), Some(id)) if &pending == id
                );
                if acknowledged {
                    self.pending_send.set_value(None);
                }
                let is_new =
                    self.conversation_id.get_untracked().as_deref() != Some(conversation_id.as_str());
                self.conversation_id.set(Some(conversation_id.clone()));
                set_url_conversation(Some(&conversation_id));
                if is_new && !self.conversations.get_untracked().iter().any(|c| c.id == conversation_id) {
                    self.conversations.update(|list| {
                        list.insert(
                            0,
                            ConversationSummary {
                                id: conversation_id.clone(),
                                title,
                                updated_at: String::new(),
                            },
                        )
                    });
                }
                // Claim the optimistic message, or show the question if this page did not send it.
                let messages = self.messages.get_untracked();
                let known = messages.iter().any(|m| {
                    m.with_untracked(|m| m.role == "user" && m.run_id.as_deref() == Some(run_id.as_str()))
                });
                if !known {
                    let pending = messages.iter().rev().find(|m| {
                        m.with_untracked(|m| m.role == "user" && m.run_id.is_none() && m.text == user_text)
                    });
                    match pending {
                        Some(pending) => pending.update(|m| m.run_id = Some(run_id.clone())),
                        None => {
                            let message = UiMessage {
                                key: self.key(),
                                role: "user".into(),
                                text: user_text,
                                tools: Vec::new(),
                                partial: false,
                                error: None,
                                retryable: false,
                                retrying: None,
                                usage: None,
                                run_id: Some(run_id.clone()),
                                checkpoint: 0,
                                clips: Vec::new(),
                            };
                            self.messages.update(|list| list.push(RwSignal::new(message)));
                        }
                    }
                }
            }
            RunEvent::TextDelta { text } => self.reply(&run_id).update(|m| {
                m.text.push_str(&text);
                m.retrying = None;
            }),
            RunEvent::Retrying { attempt, .. } => self.reply(&run_id).update(|m| {
                let keep = m.checkpoint.min(m.text.len());
                m.text.truncate(keep);
                m.retrying = Some(attempt);
            }),
            RunEvent::ToolCall { id, name, input } => self.reply(&run_id).update(|m| {
                m.retrying = None;
                m.tools.push(ToolCallView { id, name, input, output: None, is_error: false });
                m.checkpoint = m.text.len();
            }),
            RunEvent::ToolResult { id, output, is_error, .. } => self.reply(&run_id).update(|m| {
                if let Some(tool) = m.tools.iter_mut().find(|tool| tool.id == id) {
                    tool.output = Some(output);
                    tool.is_error = is_error;
                }
                m.checkpoint = m.text.len();
            }),
            RunEvent::DocumentSaved { document } => self.library.saved(document),
            RunEvent::Clip { clip } => {
                let ready = clip.status == ClipStatus::Ready;
                self.reply(&run_id).update(|m| upsert_clip(&mut m.clips, clip));
                if ready {
                    self.autoplay(&run_id);
                }
            }
            RunEvent::Usage { input_tokens, output_tokens, cache_read_tokens, cache_write_tokens } => {
                let summary = format!(
                    "{input_tokens} tokens in, {output_tokens} out, {cache_read_tokens} from cache, {cache_write_tokens} cached"
                );
                self.reply(&run_id).update(|m| m.usage = Some(summary));
            }
            RunEvent::Finished { status, error, .. } => {
                let reply = self.reply(&run_id);
                reply.update(|m| {
                    m.partial = status != RunStatus::Completed;
                    m.retrying = None;
                    (m.error, m.retryable) = match (status, error) {
                        (_, Some(error)) => (Some(error.message), error.retryable),
                        (RunStatus::Cancelled, None) => (Some("Stopped.".into()), true),
                        _ => (None, false),
                    };
                });
                self.active.set(None);
            }
        }
    }

    /// The first ready clip of a run streamed live: its reply starts playing, once, if the user
    /// wants replies spoken and started by themselves.
    fn autoplay(&self, run_id: &str) {
        let first = self.autoplay_decided.try_update_value(|decided| decided.insert(run_id.to_owned()));
        if first != Some(true) {
            return;
        }
        let wanted = self.voice.with_untracked(|voice| {
            voice.as_ref().is_some_and(|voice| voice.settings.enabled && voice.settings.autoplay)
        });
        if wanted {
            self.autoplay_request.set(Some(run_id.to_owned()));
        }
    }

    /// The assistant message of a run, created on first need.
    fn reply(&self, run_id: &str) -> RwSignal<UiMessage> {
        let existing = self
            .messages
            .get_untracked()
            .into_iter()
            .rev()
            .find(|m| m.with_untracked(|m| m.role == "assistant" && m.run_id.as_deref() == Some(run_id)));
        existing.unwrap_or_else(|| {
            let message = RwSignal::new(UiMessage {
                key: self.key(),
                role: "assistant".into(),
                text: String::new(),
                tools: Vec::new(),
                partial: false,
                error: None,
                retryable: false,
                retrying: None,
                usage: None,
                run_id: Some(run_id.to_owned()),
                checkpoint: 0,
                clips: Vec::new(),
            });
            self.messages.update(|list| list.push(message));
            message
        })
    }

    /// Opens the socket (in the browser) and routes its messages here.
    pub fn connect(&self) {
        #[cfg(feature = "hydrate")]
        {
            use std::rc::Rc;
            use std::sync::Arc;
            use std::sync::atomic::{AtomicBool, Ordering};

            let (sender, receiver) = futures::channel::mpsc::unbounded();
            self.outbox.set_value(Some(sender));
            let stopped = Arc::new(AtomicBool::new(false));
            let state = *self;
            let task_stopped = Arc::clone(&stopped);
            let receiver = std::cell::RefCell::new(Some(receiver));
            Effect::new(move |_| {
                if let Some(receiver) = receiver.borrow_mut().take() {
                    let on_message: crate::components::connection::client::OnMessage =
                        Rc::new(move |message| state.handle(message));
                    leptos::task::spawn_local(crate::components::connection::client::keep_connected(
                        state.connection,
                        Arc::clone(&task_stopped),
                        receiver,
                        on_message,
                    ));
                }
            });
            on_cleanup(move || stopped.store(true, Ordering::Relaxed));
        }
    }
}

/// A random id for a message, so that sending it twice starts one run.
fn client_message_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        let part = || format!("{:08x}", (js_sys::Math::random() * f64::from(u32::MAX)) as u32);
        format!("{}{}{}{}", part(), part(), part(), part())
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// Keeps the open conversation in the address, so a reload shows it again.
fn set_url_conversation(id: Option<&str>) {
    #[cfg(feature = "hydrate")]
    {
        let url = match id {
            Some(id) => format!("/app?c={id}"),
            None => "/app".to_owned(),
        };
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&leptos::wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Which panel a narrow screen shows (wide screens show all three side by side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Conversations,
    Chat,
    Documents,
}

/// The whole chat: list, messages, composer, and the documents panel beside them. `open` is the
/// conversation named in the address.
#[component]
pub fn Chat(
    conversations: Vec<ConversationSummary>,
    open: Option<ConversationView>,
    library: Library,
    voice: Option<VoiceOptions>,
) -> impl IntoView {
    let library = LibraryState::new(library);
    provide_context(library);
    let state = ChatState::new(conversations, open, library, voice);
    provide_context(state);
    state.connect();
    let panel = state.panel;
    let voice_settings_open = RwSignal::new(false);
    let shown = move |which: Panel| if panel.get() == which { "flex" } else { "hidden" };
    let tab = move |which: Panel, label: &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                aria-selected=move || (panel.get() == which).to_string()
                class=move || format!(
                    "flex-1 py-2 text-sm {}",
                    if panel.get() == which { "border-b-2 border-indigo-600 font-semibold text-indigo-700" } else { "text-slate-600" },
                )
                on:click=move |_| panel.set(which)
            >
                {label}
            </button>
        }
    };

    view! {
        <div class="flex min-h-0 flex-1 flex-col">
            <nav class="flex border-b border-slate-200 bg-white lg:hidden" role="tablist" aria-label="Panels">
                {tab(Panel::Conversations, "Conversations")}
                {tab(Panel::Chat, "Chat")}
                {tab(Panel::Documents, "Documents")}
            </nav>
            <div class="flex min-h-0 flex-1">
                <aside
                    class=move || format!("{} w-full shrink-0 flex-col border-r border-slate-200 bg-white lg:flex lg:w-60", shown(Panel::Conversations))
                    aria-label="Conversations"
                >
                    <ConversationList on_pick=move || panel.set(Panel::Chat) />
                </aside>
                <section
                    class=move || format!("{} min-w-0 flex-1 flex-col lg:flex", shown(Panel::Chat))
                    aria-label="Chat"
                >
                    <div class="flex items-center justify-between gap-2 border-b border-slate-200 bg-white px-3 py-2">
                        <ConnectionStatus state=state.connection />
                        <div class="flex items-center gap-3">
                            <VoiceSettingsButton open=voice_settings_open />
                            <label class="flex items-center gap-2 text-sm text-slate-700">
                                <input type="checkbox" prop:checked=move || state.jarvis_mode.get() on:change=move |ev| state.jarvis_mode.set(event_target_checked(&ev)) />
                                "Jarvis mode"
                            </label>
                        </div>
                    </div>
                    <Show when=move || voice_settings_open.get()>
                        <VoiceSettingsPanel open=voice_settings_open />
                    </Show>
                    <MessageList />
                    <Composer />
                </section>
                <aside
                    class=move || format!(
                        "{} w-full shrink-0 flex-col border-l border-slate-200 bg-white lg:flex {}",
                        shown(Panel::Documents),
                        if library.opened.get().is_some() { "lg:w-[32rem] xl:w-[40rem]" } else { "lg:w-80" },
                    )
                    aria-label="Documents"
                >
                    <LibraryPanel />
                </aside>
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn ConversationList(on_pick: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let open = move |id: String| {
        on_pick();
        leptos::task::spawn_local(async move {
            match crate::conversations::load_conversation(id).await {
                Ok(Some(view)) => {
                    set_url_conversation(Some(&view.id));
                    state.show(view);
                }
                Ok(None) => state.notice.set(Some("That conversation no longer exists.".into())),
                Err(error) => state.notice.set(Some(error.to_string())),
            }
        });
    };
    view! {
        <div class="p-3">
            <button
                type="button"
                class="w-full rounded-lg bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
                on:click=move |_| { on_pick(); state.new_conversation(); }
            >
                "New conversation"
            </button>
        </div>
        <ul class="min-h-0 flex-1 overflow-y-auto px-2 pb-3" role="list">
            <For each=move || state.conversations.get() key=|c| (c.id.clone(), c.title.clone()) let(conversation)>
                {
                    let id = conversation.id.clone();
                    let current = {
                        let id = id.clone();
                        move || state.conversation_id.get().as_deref() == Some(id.as_str())
                    };
                    let rename = {
                        let id = id.clone();
                        let title = conversation.title.clone();
                        move |_| {
                            let Some(new_title) = prompt("Rename conversation", &title) else { return };
                            let id = id.clone();
                            leptos::task::spawn_local(async move {
                                match rename_conversation(id.clone(), new_title.clone()).await {
                                    Ok(()) => state.conversations.update(|list| {
                                        if let Some(c) = list.iter_mut().find(|c| c.id == id) { c.title = new_title.trim().to_owned(); }
                                    }),
                                    Err(error) => state.notice.set(Some(error.to_string())),
                                }
                            });
                        }
                    };
                    let delete = {
                        let id = id.clone();
                        move |_| {
                            if !confirm("Delete this conversation? This cannot be undone.") { return; }
                            let id = id.clone();
                            leptos::task::spawn_local(async move {
                                match delete_conversation(id.clone()).await {
                                    Ok(()) => {
                                        state.conversations.update(|list| list.retain(|c| c.id != id));
                                        if state.conversation_id.get_untracked().as_deref() == Some(id.as_str()) {
                                            state.new_conversation();
                                        }
                                    }
                                    Err(error) => state.notice.set(Some(error.to_string())),
                                }
                            });
                        }
                    };
                    let title = conversation.title.clone();
                    view! {
                        <li class=move || format!("group flex items-center gap-1 rounded-md {}", if current() { "bg-indigo-50" } else { "hover:bg-slate-100" })>
                            <button type="button" class="min-w-0 flex-1 truncate px-2 py-1.5 text-left text-sm" on:click={ let id = id.clone(); move |_| open(id.clone()) }>
                                {conversation.title.clone()}
                            </button>
                            <button type="button" class="px-1 text-xs text-slate-500 hover:text-slate-900" aria-label=format!("Rename {title}") on:click=rename>"✎"</button>
                            <button type="button" class="px-1 text-xs text-slate-500 hover:text-rose-700" aria-label=format!("Delete {title}") on:click=delete>"✕"</button>
                        </li>
                    }
                }
            </For>
        </ul>
    }
    .into_any()
}

pub(crate) fn prompt(message: &str, default: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        window()
            .prompt_with_message_and_default(message, default)
            .ok()
            .flatten()
            .filter(|s| !s.trim().is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (message, default);
        None
    }
}

pub(crate) fn confirm(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        window().confirm_with_message(message).unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        false
    }
}

#[component]
fn MessageList() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let container = NodeRef::<leptos::html::Div>::new();
    // Follow new text while the reader is at the bottom; stop when they scroll up.
    let stick = RwSignal::new(true);
    Effect::new(move |_| {
        state.messages.with(|list| list.iter().for_each(|m| m.track()));
        if stick.get_untracked() {
            if let Some(element) = container.get() {
                element.set_scroll_top(element.scroll_height());
            }
        }
    });
    view! {
        <div
            node_ref=container
            class="min-h-0 flex-1 space-y-4 overflow-y-auto px-4 py-4"
            aria-live="polite"
            data-testid="messages"
            on:scroll=move |_| {
                if let Some(element) = container.get() {
                    let distance = element.scroll_height() - element.scroll_top() - element.client_height();
                    stick.set(distance < 48);
                }
            }
        >
            <Show when=move || state.messages.with(Vec::is_empty)>
                <p class="mt-16 text-center text-slate-500">"Ask Jarvis anything."</p>
            </Show>
            <For each=move || state.messages.get() key=|m| m.with_untracked(|m| m.key) let(message)>
                <MessageView message />
            </For>
        </div>
    }
    .into_any()
}

#[component]
fn MessageView(message: RwSignal<UiMessage>) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let is_user = message.with_untracked(|m| m.role == "user");
    let frame = if is_user {
        "ml-auto max-w-[85%] rounded-2xl bg-indigo-600 px-4 py-2 text-white whitespace-pre-wrap"
    } else {
        "max-w-[95%] rounded-2xl bg-white px-4 py-3 ring-1 ring-slate-200"
    };
    let html = move || markdown::render(&message.with(|m| m.text.clone()));
    let text = move || message.with(|m| m.text.clone());
    view! {
        <article
            class=frame
            data-role=move || message.with(|m| m.role.clone())
            title=move || message.with(|m| m.usage.clone().unwrap_or_default())
        >
            {if is_user {
                view! { <p>{text}</p> }.into_any()
            } else {
                view! {
                    <Show when=move || !state.jarvis_mode.get()>
                        <ToolCards message />
                    </Show>
                    <DocumentCards message />
                    <div class="markdown space-y-2 break-words" inner_html=html on:click=copy_code></div>
                    <Show when=move || message.with(|m| !m.clips.is_empty())>
                        <VoicePlayer message />
                    </Show>
                    {move || message.with(|m| m.retrying).map(|attempt| view! {
                        <p role="status" class="mt-2 text-sm text-slate-500">
                            {format!("The model service did not answer; Jarvis is trying again (attempt {})…", attempt + 1)}
                        </p>
                    })}
                    {move || message.with(|m| m.error.clone()).map(|error| view! {
                        <div role="alert" class="mt-2 flex items-center gap-3 text-sm text-rose-700">
                            <span>{error}</span>
                            <Show when=move || message.with(|m| m.retryable)>
                                <button
                                    type="button"
                                    class="rounded px-2 py-0.5 ring-1 ring-rose-300 hover:bg-rose-50"
                                    on:click=move |_| state.retry(&message.get_untracked())
                                >
                                    "Retry"
                                </button>
                            </Show>
                        </div>
                    })}
                }.into_any()
            }}
        </article>
    }
    .into_any()
}

/// A click on a code block's "Copy" button copies the block's text.
fn copy_code(event: leptos::ev::MouseEvent) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let Some(button) = event.target().and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        if !button.has_attribute("data-copy-code") {
            return;
        }
        let code = button
            .parent_element()
            .and_then(|block| block.query_selector("pre").ok().flatten())
            .and_then(|pre| pre.dyn_into::<web_sys::HtmlElement>().ok())
            .map(|pre| pre.inner_text());
        if let Some(code) = code {
            let _ = window().navigator().clipboard().write_text(&code);
            button.set_text_content(Some("Copied"));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = event;
}

#[component]
fn ToolCards(message: RwSignal<UiMessage>) -> impl IntoView {
    view! {
        <For each=move || message.with(|m| m.tools.clone()) key=|tool| (tool.id.clone(), tool.output.is_some()) let(tool)>
            <details class="mb-2 rounded-md bg-slate-50 px-3 py-1.5 text-xs ring-1 ring-slate-200" data-testid="tool-card">
                <summary class="cursor-pointer text-slate-600">
                    {format!("🔧 {}", tool.name)}
                    {match &tool.output {
                        None => " · running…".to_owned(),
                        Some(_) if tool.is_error => " · failed".to_owned(),
                        Some(_) => " · done".to_owned(),
                    }}
                </summary>
                <pre class="mt-1 overflow-x-auto whitespace-pre-wrap text-slate-700">{tool.input.clone()}</pre>
                {tool.output.clone().map(|output| view! { <pre class="mt-1 overflow-x-auto whitespace-pre-wrap text-slate-900">{output}</pre> })}
            </details>
        </For>
    }
    .into_any()
}

/// A document that a tool call of this reply saved, from the call's result.
fn saved_document(tool: &ToolCallView) -> Option<(String, String, i64, bool)> {
    if tool.is_error || !matches!(tool.name.as_str(), "save_document" | "update_document") {
        return None;
    }
    let output: serde_json::Value = serde_json::from_str(tool.output.as_deref()?).ok()?;
    Some((
        output.get("id")?.as_str()?.to_owned(),
        output.get("title")?.as_str()?.to_owned(),
        output.get("version")?.as_i64()?,
        tool.name == "save_document",
    ))
}

/// Cards linking to the documents a reply saved or changed.
#[component]
fn DocumentCards(message: RwSignal<UiMessage>) -> impl IntoView {
    let state = expect_context::<ChatState>();
    let cards = move || message.with(|m| m.tools.iter().filter_map(saved_document).collect::<Vec<_>>());
    view! {
        <For each=cards key=|card| (card.0.clone(), card.2) let((id, title, version, created))>
            <button
                type="button"
                class="mb-2 flex w-full items-center gap-3 rounded-lg bg-indigo-50 px-3 py-2 text-left text-sm ring-1 ring-indigo-200 hover:bg-indigo-100"
                data-testid="document-card"
                on:click=move |_| {
                    state.library.open_document(id.clone());
                    state.panel.set(Panel::Documents);
                }
            >
                <span aria-hidden="true">"📄"</span>
                <span class="min-w-0 flex-1">
                    <span class="block truncate font-medium text-indigo-900">{title}</span>
                    <span class="block text-xs text-indigo-700">
                        {if created { format!("Saved · version {version}") } else { format!("Updated · version {version}") }}
                    </span>
                </span>
                <span class="text-xs font-semibold text-indigo-700">"Open"</span>
            </button>
        </For>
    }
    .into_any()
}

#[component]
fn Composer() -> impl IntoView {
    let state = expect_context::<ChatState>();
    let draft = RwSignal::new(String::new());
    let running = move || state.active.get().is_some();
    // A refused message comes back into the box (unless something new was typed meanwhile).
    Effect::new(move |_| {
        if let Some(text) = state.returned_text.get() {
            if draft.get_untracked().trim().is_empty() {
                draft.set(text);
            }
            state.returned_text.set(None);
        }
    });
    let submit = move || {
        let text = draft.get_untracked();
        if !text.trim().is_empty() && !running() {
            state.send(text);
            draft.set(String::new());
        }
    };
    view! {
        <div class="border-t border-slate-200 bg-white p-3">
            {move || state.notice.get().map(|notice| view! {
                <p role="alert" class="mb-2 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-amber-200">
                    {notice}
                    {move || state.upgrade_url.get().map(|href| view! {
                        " " <a href=href class="font-semibold underline" data-testid="upgrade-link">"See plans and upgrade"</a>
                    })}
                </p>
            })}
            <form
                class="flex items-end gap-2"
                on:submit=move |ev| {
                    ev.prevent_default();
                    submit();
                }
            >
                <label for="composer" class="sr-only">"Message"</label>
                <textarea
                    id="composer"
                    name="message"
                    rows="2"
                    placeholder="Message Jarvis…"
                    class="min-h-[2.75rem] flex-1 resize-y rounded-lg border border-slate-300 px-3 py-2 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                            ev.prevent_default();
                            submit();
                        } else if ev.key() == "Escape" {
                            state.stop();
                        }
                    }
                ></textarea>
                <Show
                    when=running
                    fallback=|| view! {
                        <button type="submit" class="rounded-lg bg-indigo-600 px-4 py-2 font-semibold text-white hover:bg-indigo-500">"Send"</button>
                    }
                >
                    <button type="button" class="rounded-lg bg-slate-800 px-4 py-2 font-semibold text-white hover:bg-slate-700" on:click=move |_| state.stop()>
                        "Stop"
                    </button>
                </Show>
            </form>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use jarvis_types::documents::Library;
    use jarvis_types::protocol::{ErrorCode, RunError};

    use super::*;

    // Each test runs inside an `Owner`: with `ssr`, signals live in the owner's arena.

    /// A page that loaded a conversation whose run `r1` is still answering, and follows it.
    fn following_a_run() -> ChatState {
        let open = ConversationView {
            id: "c1".into(),
            title: "Hello".into(),
            messages: vec![ChatMessageView {
                id: "m1".into(),
                role: "user".into(),
                text: "Hi".into(),
                tools: Vec::new(),
                partial: false,
                run_id: Some("r1".into()),
                clips: Vec::new(),
                refused: false,
            }],
            running_run_id: Some("r1".into()),
        };
        let state = ChatState::new(Vec::new(), Some(open), LibraryState::new(Library::default()), None);
        assert!(state.active.get_untracked().is_some(), "the page shows Stop");
        state
    }

    #[test]
    fn a_run_the_server_no_longer_knows_stops_being_followed() {
        Owner::new().with(|| {
            let state = following_a_run();
            state.handle(ServerMessage::Error {
                code: ErrorCode::NotFound,
                message: "No such conversation or run.".into(),
                retryable: false,
            });
            assert_eq!(state.active.get_untracked(), None, "Send comes back instead of Stop");
            assert_eq!(state.notice.get_untracked().as_deref(), Some("No such conversation or run."));
            assert_eq!(state.messages.get_untracked().len(), 1, "the question stays on screen");
        });
    }

    #[test]
    fn a_run_ended_by_the_server_as_interrupted_shows_its_error_and_send_again() {
        Owner::new().with(|| {
            let state = following_a_run();
            state.handle(ServerMessage::Run {
                run_id: "r1".into(),
                seq: 4,
                event: RunEvent::Finished {
                    status: RunStatus::Failed,
                    stop_reason: "interrupted".into(),
                    error: Some(RunError {
                        code: "interrupted".into(),
                        message: "The reply was interrupted. Send it again.".into(),
                        retryable: true,
                    }),
                },
            });
            assert_eq!(state.active.get_untracked(), None);
            let reply = state.messages.get_untracked().last().map(|m| m.get_untracked());
            let reply = reply.expect("the reply is shown");
            assert!(reply.partial);
            assert_eq!(reply.error.as_deref(), Some("The reply was interrupted. Send it again."));
            assert!(reply.retryable, "Retry is offered");
        });
    }

    fn run_event(state: &ChatState, seq: u64, event: RunEvent) {
        state.handle(ServerMessage::Run { run_id: "r1".into(), seq, event });
    }

    fn last_reply(state: &ChatState) -> UiMessage {
        state.messages.get_untracked().last().map(|m| m.get_untracked()).expect("a reply")
    }

    #[test]
    fn a_retried_call_says_so_until_text_comes_and_drops_the_void_text() {
        Owner::new().with(|| {
            let state = following_a_run();
            run_event(&state, 1, RunEvent::TextDelta { text: "Half an ans".into() });
            run_event(&state, 2, RunEvent::Retrying { attempt: 1, wait_ms: 500 });
            let reply = last_reply(&state);
            assert_eq!(reply.retrying, Some(1));
            assert_eq!(reply.text, "", "the failed attempt's text is void");
            run_event(&state, 3, RunEvent::TextDelta { text: "A whole answer.".into() });
            let reply = last_reply(&state);
            assert_eq!(reply.retrying, None);
            assert_eq!(reply.text, "A whole answer.");
        });
    }

    #[test]
    fn an_error_that_retrying_cannot_fix_offers_no_retry() {
        Owner::new().with(|| {
            let state = following_a_run();
            run_event(
                &state,
                1,
                RunEvent::Finished {
                    status: RunStatus::Failed,
                    stop_reason: "failed".into(),
                    error: Some(RunError {
                        code: "model_request_refused".into(),
                        message: "The model service could not accept this conversation.".into(),
                        retryable: false,
                    }),
                },
            );
            let reply = last_reply(&state);
            assert!(reply.error.is_some());
            assert!(!reply.retryable);
        });
    }

    #[test]
    fn a_refused_send_gives_its_text_back_without_touching_a_followed_run() {
        Owner::new().with(|| {
            let state = ChatState::new(Vec::new(), None, LibraryState::new(Library::default()), None);
            state.send("Hello there".into());
            state.handle(ServerMessage::Error {
                code: ErrorCode::RunInProgress,
                message: "This conversation already has a reply in progress.".into(),
                retryable: true,
            });
            assert_eq!(state.returned_text.get_untracked().as_deref(), Some("Hello there"));
            assert!(state.messages.get_untracked().is_empty(), "the optimistic message is taken back");
            assert_eq!(state.active.get_untracked(), None);
        });
    }
}
