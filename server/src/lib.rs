//! The HTTP face of Jarvis: configuration, telemetry, the axum router with the Leptos pages,
//! the session and same-origin layers (`auth`), the WebSocket endpoint, the health probes, the
//! one error of the HTTP API (`error`) and the Prometheus metrics (`metrics`). Business logic
//! lives in `jarvis_backend`.
// Leptos view types of the whole app nest deeply.
#![recursion_limit = "256"]

pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod metrics;
pub mod routes;
pub mod security;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod telemetry;
