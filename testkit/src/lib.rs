//! Test support: local fakes of the paid APIs, started on port 0, speaking the providers' wire
//! protocols exactly (status codes, headers, SSE framing, error bodies, signed webhooks), served
//! by axum with chunk-by-chunk streaming so that a test controls every chunk boundary and pause;
//! a stand-in for an OpenTelemetry collector; and throwaway databases for the tests and benchmarks.

// `serde_json::json!` recurses once per field: Stripe's objects have many.
#![recursion_limit = "256"]

pub mod database;
pub mod fake_anthropic;
pub mod fake_openai_chat;
pub mod fake_openai_speech;
pub mod fake_openai_transcription;
pub mod fake_otlp;
pub mod fake_search;
pub mod fake_stripe;
pub mod http;
pub mod tcp_proxy;
