//! The backend's integration tests, in one test binary (one link, one run): each module tests one
//! part of the backend against real peers (Postgres under row-level security, the project's fakes
//! of the paid APIs, the local speech engines), sharing [`support`]'s throwaway database.

mod admin;
mod agent;
mod chat_view;
mod connections;
mod conversation_property;
mod documents;
mod files;
mod piper;
mod profile;
mod search;
mod shares;
mod speaking;
mod support;
mod voice;
mod web;
