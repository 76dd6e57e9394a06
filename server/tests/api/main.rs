//! Integration tests: the real server on port 0 against a fresh database of its own.

mod health;
mod helpers;
mod pages;
mod ws;
