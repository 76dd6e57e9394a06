//! Types shared by the server and the browser. Both sides of every wire use these, so a change
//! here is a change to the protocol: serde only, no I/O, compiles for wasm32 and native.

pub mod account;
pub mod billing;
pub mod chat;
pub mod connections;
pub mod documents;
pub mod health;
pub mod protocol;
pub mod voice;
