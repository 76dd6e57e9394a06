//! Components shared by pages.

pub mod connection;
