//! The chat's reactive half: [`ChatContext`] holds the [`ChatState`] in a signal beside the
//! page's own bits (the connection badge, Jarvis mode, the panel a phone shows), runs the reducer
//! for whatever happens, and performs the [`Effect`]s it answers: a message on the socket, the
//! address bar, the documents panel, the voice playback. In the browser it also opens the socket
//! and routes its messages to the reducer.

use jarvis_types::chat::ConversationView;
use jarvis_types::protocol::ClientMessage;
use leptos::prelude::*;

use super::state::{ChatState, Effect};
use super::ui_message::UiMessage;
use crate::components::connection::ConnectionState;
use crate::components::voice::VoiceState;
use crate::library::LibraryState;

/// Which panel a narrow screen shows (wide screens show all three side by side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Conversations,
    Chat,
    Documents,
}

/// The chat of the page, provided as context. `Copy`: signals only.
#[derive(Clone, Copy)]
pub struct ChatContext {
    pub state: RwSignal<ChatState>,
    pub connection: RwSignal<ConnectionState>,
    pub jarvis_mode: RwSignal<bool>,
    /// Which panel a phone shows.
    pub panel: RwSignal<Panel>,
    /// The documents panel, told when a run saves a document.
    pub library: LibraryState,
    /// The voice settings and playback, told when a clip of a live run is ready.
    pub voice: VoiceState,
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

impl ChatContext {
    /// The chat with `state`, showing `open` (the conversation named in the address) if any.
    pub fn new(
        state: ChatState,
        open: Option<ConversationView>,
        library: LibraryState,
        voice: VoiceState,
    ) -> Self {
        let chat = Self {
            state: RwSignal::new(state),
            connection: RwSignal::new(ConnectionState::Connecting),
            jarvis_mode: RwSignal::new(false),
            panel: RwSignal::new(Panel::Chat),
            library,
            voice,
            outbox: new_outbox(),
        };
        if let Some(view) = open {
            chat.run(|state| state.show(view));
        }
        chat
    }

    /// Runs one step of the reducer, then performs the effects it answered.
    /// Runs a step of the reducer and performs its effects; answers whether there were any (the
    /// step did something).
    pub fn run(self, step: impl FnOnce(&mut ChatState) -> Vec<Effect>) -> bool {
        let effects = self.state.try_update(step).unwrap_or_default();
        let acted = !effects.is_empty();
        for effect in effects {
            self.perform(effect);
        }
        acted
    }

    fn perform(self, effect: Effect) {
        match effect {
            Effect::Send(message) => self.dispatch(message),
            Effect::ShowInAddress(id) => crate::browser::replace_address(&address(id.as_deref())),
            Effect::GoToAddress(id) => crate::browser::push_address(&address(id.as_deref())),
            Effect::DocumentSaved(document) => self.library.saved(document),
            Effect::RuleOutAutoplay(run_id) => self.voice.rule_out_autoplay(&run_id),
            Effect::ClipReady(run_id) => self.voice.clip_ready(&run_id),
            Effect::ShowVersion { conversation_id, message_id, step } => {
                self.show_version(conversation_id, message_id, step)
            }
            Effect::TellOtherTabs(id) => crate::other_tabs::tell(&id),
            Effect::LoadList => self.load_list(),
            Effect::LoadConversation(id) => self.load_again(id),
        }
    }

    /// Loads the list of conversations again (another tab changed it).
    fn load_list(self) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Ok(list) = crate::conversations::list_conversations().await {
                self.state.update(|state| state.listed(list));
            }
        });
    }

    /// Loads the conversation shown again (another tab changed it) and shows it as it is now.
    fn load_again(self, id: String) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Ok(view) = crate::conversations::load_conversation(id.clone()).await {
                self.run(|state| state.reloaded(&id, view));
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    }

    /// Another tab of this browser changed a conversation: this page follows (the list, and the
    /// conversation if it is the one shown here).
    pub fn follow_other_tabs(self) {
        leptos::prelude::Effect::new(move |_| {
            crate::other_tabs::listen(move |id| {
                self.run(|state| state.other_tab_changed(&id));
            });
        });
    }

    /// Asks the server to show the branch through `message_id`, then shows what it answers. The
    /// focus goes to the version switcher of the version now shown (the one clicked went away with
    /// the branch it belonged to): its same arrow, or the other one at either end.
    fn show_version(self, conversation_id: String, message_id: String, step: isize) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::conversations::show_version(conversation_id.clone(), message_id.clone()).await {
                Ok(view) => {
                    self.run(|state| state.show(view));
                    // The server keeps the version chosen: a tab showing it shows it too.
                    crate::other_tabs::tell(&conversation_id);
                    let shown = self.state.with_untracked(|state| {
                        state.messages.iter().find(|m| m.id.as_deref() == Some(message_id.as_str())).cloned()
                    });
                    if let Some(target) = shown.and_then(|shown| version_button_after_switch(&shown, step)) {
                        request_animation_frame(move || crate::browser::focus(&target));
                    }
                }
                Err(error) => self.tell(error.to_string()),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (conversation_id, message_id, step);
    }

    fn dispatch(self, message: ClientMessage) {
        #[cfg(feature = "hydrate")]
        self.outbox.with_value(|outbox| {
            if let Some(outbox) = outbox {
                let _ = outbox.unbounded_send(message);
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = message;
    }

    /// Sends `text` with the composer's attachments.
    pub fn send(self, text: String) {
        self.submit(text);
    }

    /// Sends `text` with the composer's attachments. Answers whether it went (not while a reply
    /// runs, an attachment uploads or cannot go, or there is nothing to send).
    pub fn submit(self, text: String) -> bool {
        let id = crate::browser::random_id();
        let effects = self.state.try_update(|state| state.send(text, id)).unwrap_or_default();
        let sent = !effects.is_empty();
        for effect in effects {
            self.perform(effect);
        }
        sent
    }

    pub fn stop(self) {
        self.voice.stop(self.state.with_untracked(|state| state.active.as_ref().map(|a| a.run_id.clone())));
        self.run(|state| state.stop());
    }

    /// Sends again the question that the reply `key` answered.
    pub fn retry(self, key: u64) {
        let id = crate::browser::random_id();
        self.run(|state| state.retry(key, id));
    }

    /// Opens the editor of the question `key`.
    pub fn start_edit(self, key: u64) {
        self.state.update(|state| state.start_edit(key));
    }

    /// The editor's text changed.
    pub fn edit_draft(self, draft: String) {
        self.state.update(|state| state.edit_draft(draft));
    }

    /// Closes the editor without sending; the focus goes back to the question's Edit.
    pub fn cancel_edit(self) {
        let key = self.state.with_untracked(|state| state.editing.as_ref().map(|editing| editing.key));
        self.state.update(|state| state.cancel_edit());
        if let Some(key) = key {
            // Once Edit is back in the page.
            request_animation_frame(move || crate::browser::focus(&edit_button_id(key)));
        }
    }

    /// Sends the editor's text as a new version of its question. Once sent the editor is gone,
    /// and the focus goes to the message box, as after Send.
    pub fn submit_edit(self) {
        let id = crate::browser::random_id();
        if self.run(|state| state.submit_edit(id)) {
            focus_composer();
        }
    }

    /// Asks for a new version of the reply `key`. Its Regenerate goes away with the reply it
    /// replaces, so the focus goes to the message box, as after Send.
    pub fn regenerate(self, key: u64) {
        let id = crate::browser::random_id();
        if self.run(|state| state.regenerate(key, id)) {
            focus_composer();
        }
    }

    /// Shows the version `step` away (-1: previous, 1: next) of the message `key`.
    pub fn switch_version(self, key: u64, step: isize) {
        self.run(|state| state.switch_version(key, step));
    }

    /// Tells the user something above the composer.
    pub fn tell(self, notice: String) {
        self.state.update(|state| state.tell(notice));
    }

    /// Whether a reply is being followed (the composer shows Stop).
    pub fn running(self) -> bool {
        self.state.with(|state| state.active.is_some())
    }

    /// The message `key`, followed as it changes (its last value once it is gone, while its view
    /// is being removed).
    pub fn message(self, key: u64) -> Memo<UiMessage> {
        let state = self.state;
        Memo::new(move |previous: Option<&UiMessage>| {
            state.with(|state| state.message(key).cloned()).or_else(|| previous.cloned()).unwrap_or_default()
        })
    }

    /// Back and Forward between conversations: when the address changes to another entry of the
    /// history (`popstate`), the conversation it names is loaded and shown (or the empty chat,
    /// for `/app`), without a new entry. Only the browser listens.
    pub fn follow_history(self) {
        leptos::prelude::Effect::new(move |_| {
            let listener = window_event_listener(leptos::ev::popstate, move |_| self.show_address());
            on_cleanup(move || listener.remove());
        });
    }

    /// Shows what the address names now, unless it is shown already.
    fn show_address(self) {
        let wanted = crate::browser::address_param("c");
        if self.state.with_untracked(|state| state.conversation_id == wanted) {
            return;
        }
        self.panel.set(Panel::Chat);
        let Some(id) = wanted else {
            self.state.update(ChatState::show_empty);
            return;
        };
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::conversations::load_conversation(id.clone()).await {
                // Unless the user moved on while it loaded.
                Ok(Some(view)) if crate::browser::address_param("c").as_deref() == Some(id.as_str()) => {
                    self.run(|state| state.show(view));
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.state.update(ChatState::show_empty);
                    crate::browser::replace_address(&address(None));
                    self.tell("That conversation no longer exists.".into());
                }
                Err(error) => self.tell(error.to_string()),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    }

    /// Opens the socket (in the browser) and routes its messages to the reducer.
    pub fn connect(self) {
        #[cfg(feature = "hydrate")]
        {
            use std::rc::Rc;
            use std::sync::Arc;
            use std::sync::atomic::{AtomicBool, Ordering};

            use crate::components::connection::client::{OnMessage, keep_connected};

            let (sender, receiver) = futures::channel::mpsc::unbounded();
            self.outbox.set_value(Some(sender));
            let stopped = Arc::new(AtomicBool::new(false));
            let task_stopped = Arc::clone(&stopped);
            let receiver = std::cell::RefCell::new(Some(receiver));
            leptos::prelude::Effect::new(move |_| {
                if let Some(receiver) = receiver.borrow_mut().take() {
                    let on_message: OnMessage = Rc::new(move |message| {
                        let hello = matches!(message, jarvis_types::protocol::ServerMessage::Hello { .. });
                        self.run(|state| state.apply(message));
                        // Back online: a conversation the address names that could not be
                        // loaded meanwhile (Back or Forward while offline) is loaded now.
                        if hello {
                            self.show_address();
                        }
                    });
                    leptos::task::spawn_local(keep_connected(
                        self.connection,
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

/// The app's address for a conversation, or for none.
fn address(conversation_id: Option<&str>) -> String {
    match conversation_id {
        Some(id) => format!("/app?c={id}"),
        None => "/app".to_owned(),
    }
}

/// The element id of the Edit button of the question `key`.
pub fn edit_button_id(key: u64) -> String {
    format!("edit-{key}")
}

/// Focuses the message box once the page has changed.
fn focus_composer() {
    request_animation_frame(|| crate::browser::focus(super::composer::COMPOSER_ID));
}

/// The element id of the "Previous version" (`step` -1) or "Next version" (1) of the message `key`.
pub fn version_button_id(key: u64, step: isize) -> String {
    format!("version-{}-{key}", if step < 0 { "previous" } else { "next" })
}

/// Where the focus goes once `message`, just reached by the arrow `step`, is shown: that arrow
/// again, unless it is disabled now (the first or the last version: a disabled button takes no
/// focus), then the other one.
pub fn version_button_after_switch(message: &UiMessage, step: isize) -> Option<String> {
    let (number, count) = message.version()?;
    let at_the_end = if step < 0 { number == 1 } else { number == count };
    Some(version_button_id(message.key, if at_the_end { -step } else { step }))
}

#[cfg(test)]
mod tests {
    use super::{UiMessage, version_button_after_switch};

    fn version(number: usize, count: usize) -> UiMessage {
        let versions: Vec<String> = (1..=count).map(|n| format!("m{n}")).collect();
        UiMessage { key: 7, id: Some(versions[number - 1].clone()), versions, ..UiMessage::default() }
    }

    #[test]
    fn after_a_switch_the_focus_stays_on_the_arrow_used_unless_it_is_disabled_now() {
        assert_eq!(version_button_after_switch(&version(2, 3), 1).as_deref(), Some("version-next-7"));
        assert_eq!(version_button_after_switch(&version(2, 3), -1).as_deref(), Some("version-previous-7"));
        // At either end the arrow used is disabled: the other one.
        assert_eq!(version_button_after_switch(&version(3, 3), 1).as_deref(), Some("version-previous-7"));
        assert_eq!(version_button_after_switch(&version(1, 3), -1).as_deref(), Some("version-next-7"));
        // A message without versions has no switcher.
        assert_eq!(version_button_after_switch(&version(1, 1), 1), None);
    }
}
