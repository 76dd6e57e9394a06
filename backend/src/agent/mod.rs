//! The agent: a provider trait over streaming completions with tools, its two providers (the
//! Anthropic Messages API and OpenAI-compatible Chat Completions), the turn logic as a pure
//! state machine, the tools, and the driver that runs one turn against them.

pub mod anthropic;
pub mod driver;
pub mod history;
pub mod messages;
pub mod openai_chat;
pub mod provider;
pub mod retry;
pub mod sse;
pub mod stream;
pub mod tools;
pub mod turn;
pub mod valid_history;
