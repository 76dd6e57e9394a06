//! Integration tests: the real server on port 0 against a fresh database of its own.

mod account_security;
mod accounts;
mod admin;
mod backup;
mod balancer;
mod billing;
mod chat;
mod faults;
mod health;
mod helpers;
mod instances;
mod isolation;
mod library;
mod metrics;
mod model_behaviour;
mod nul;
mod pages;
mod revocation;
mod security_headers;
mod shares;
mod topology;
mod traces;
mod voice;
mod ws;
