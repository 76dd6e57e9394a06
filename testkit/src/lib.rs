//! Test support: local fakes of the paid APIs, started on port 0, speaking the providers' wire
//! protocols exactly (status codes, headers, SSE framing, error bodies). Plain tokio and
//! hand-written HTTP/1.1, so that a test controls every byte and every chunk boundary.

pub mod fake_anthropic;
pub mod fake_openai_speech;
mod http;
