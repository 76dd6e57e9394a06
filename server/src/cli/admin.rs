//! `jarvis-server admin …`: grants and revokes the admin role from the command line, connected
//! as the schema owner (`DATABASE_URL`), the only role that may change who is an admin. Each
//! change is recorded in the admin audit log with the command line as its actor.

use anyhow::Context;
use clap::Subcommand;
use jarvis_backend::admin::roles::{self, RoleChange};
use jarvis_backend::db::{self, DatabaseSettings};
use sqlx::postgres::PgPoolOptions;

use crate::config::Config;

#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Make the account with this email address an admin (it can then open /admin).
    Grant { email: String },
    /// Take the admin role from the account with this email address.
    Revoke { email: String },
}

/// Runs one admin command against the configured database and prints what it did. An unknown
/// address is an error (the process exits non-zero with a sentence).
pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    // As when serving: a missing .env is normal; a broken one shows in the configuration.
    let _ = dotenvy::dotenv();
    let config = Config::from_env()?;
    let sentence = execute(&config.database, &command).await?;
    println!("{sentence}");
    Ok(())
}

/// Applies the migrations this database lacks (the same ones serving applies), then runs the
/// command as the schema owner; returns the sentence to print.
pub async fn execute(database: &DatabaseSettings, command: &AdminCommand) -> anyhow::Result<String> {
    db::migrate(database).await.context("The database could not be migrated")?;
    let owner = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(database.acquire_timeout)
        .connect_with(database.owner_options()?)
        .await
        .context("The database (DATABASE_URL) could not be reached")?;
    let result = match command {
        AdminCommand::Grant { email } => roles::grant(&owner, email).await.map(|change| match change {
            RoleChange::Changed { .. } => format!("{} is now an admin.", email.trim()),
            RoleChange::Unchanged { .. } => {
                format!("{} already was an admin; nothing changed.", email.trim())
            }
        }),
        AdminCommand::Revoke { email } => roles::revoke(&owner, email).await.map(|change| match change {
            RoleChange::Changed { .. } => format!("{} is no longer an admin.", email.trim()),
            RoleChange::Unchanged { .. } => format!("{} was not an admin; nothing changed.", email.trim()),
        }),
    };
    owner.close().await;
    Ok(result?)
}
