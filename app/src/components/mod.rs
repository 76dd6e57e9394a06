//! Components shared by pages.

pub mod connection;
pub mod forms;
