//! Search across the user's conversations: the box at the top of the conversation list, which
//! Ctrl/Cmd+K focuses from anywhere in the app.
//!
//! - [`state`]: the box, its results and the keyboard as plain data with a pure reducer;
//! - [`search_box`]: the view, which performs the reducer's effects (asks the server, opens a
//!   result) and marks the matched words as elements, never reading stored text as markup;
//!   [`reveal_message`] brings the message a result names into view.

pub mod search_box;
pub mod state;

pub use search_box::{SearchBox, reveal_message};
pub use state::SearchState;
