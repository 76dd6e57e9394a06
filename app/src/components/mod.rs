//! Components shared by pages.

pub mod chat;
pub mod connection;
pub mod connections;
pub mod forms;
pub mod lazy_view;
pub mod search;
pub mod theme_control;
pub mod voice;
pub mod voice_input;
