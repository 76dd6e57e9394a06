//! The command line of `jarvis-server`: with no arguments (or `serve`) it serves Jarvis; the
//! other subcommands are operator tasks run against the same configuration (environment and
//! `.env`) and exit: `admin` grants and revokes the admin role, `objects` copies the object store
//! to and from a folder (used by `scripts/backup` and `scripts/restore`).

pub mod admin;
pub mod objects;

use clap::{Parser, Subcommand};

/// `jarvis-server [COMMAND]`.
#[derive(Debug, Parser)]
#[command(name = "jarvis-server", version, about = "Jarvis, the AI assistant in the browser")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve Jarvis (the default).
    Serve,
    /// Grant or revoke the admin role.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Copy every stored object to or from a folder (backups).
    #[command(subcommand)]
    Objects(objects::ObjectsCommand),
}
