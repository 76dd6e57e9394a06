//! The chat.
//!
//! - [`state`]: the open conversation as plain data and its pure reducer (run events in,
//!   deduplicated by sequence number so that a resumed run shows every word once; effects out),
//!   with [`ui_message`] for one message on screen;
//! - [`context`]: the reactive half that holds the state in a signal, performs the reducer's
//!   effects and connects the socket;
//! - the views: [`panels`] (the whole chat), [`first_run`] (the empty chat: what Jarvis does and
//!   three example prompts), [`conversation_list`] (grouped by [`date_groups`]),
//!   [`message_list`] ("Jarvis is thinking…" until the first word), [`message_view`] (Markdown
//!   rendered safely, "Jarvis mode" to hide tool calls, a stopped reply marked "Stopped."),
//!   [`tool_cards`] (tool calls in plain words) and [`composer`] (focused on load, growing with
//!   its text; Enter sends, Shift+Enter breaks the line, Esc or "Stop" stops). A voice reply carries its spoken clips, played by the voice player. [`share`]: the
//!   header's "Share" (a read-only link, in a dialog) and "Export" (Markdown).
//! - [`attachments`]: files sent with a message (the composer's "Attach", drop and paste, chips
//!   with upload progress, and a sent message's attachments); [`model_choice`] and
//!   [`model_picker`]: the header's "Model", which answers the next message.

pub mod attachments;
pub mod composer;
pub mod context;
pub mod conversation_list;
pub mod copy_reply;
pub mod date_groups;
pub mod edit_message;
pub mod first_run;
pub mod jarvis_mode;
pub mod message_list;
pub mod message_view;
pub mod model_choice;
pub mod model_picker;
pub mod panels;
pub mod share;
pub mod state;
pub mod tool_cards;
pub mod ui_message;
pub mod version_switcher;

// Rendering to HTML needs the server's renderer.
#[cfg(all(test, feature = "ssr"))]
mod render_tests;

pub use context::{ChatContext, Panel};
pub use panels::Chat;
pub use state::{ActiveRun, ChatState, Effect};
pub use ui_message::UiMessage;
