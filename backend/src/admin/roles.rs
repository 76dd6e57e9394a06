//! Granting and revoking the admin role: the operator's commands (`jarvis-server admin grant
//! <email>`), connected as the schema owner, the only role that may change `admins`. Each change
//! is recorded in the audit log with the command line as its actor.

use sqlx::PgPool;
use uuid::Uuid;

use super::AdminError;

/// Who the audit log names for what the command line does.
pub const COMMAND_LINE: &str = "command line";

/// What a grant or a revoke did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    /// The role was granted (or revoked) now.
    Changed { user_id: Uuid },
    /// The account already was (or already was not) an admin: nothing changed.
    Unchanged { user_id: Uuid },
}

/// Makes the account with this address an admin. `owner` must be connected as the schema owner.
pub async fn grant(owner: &PgPool, email: &str) -> Result<RoleChange, AdminError> {
    change(owner, email, true).await
}

/// Takes the admin role from the account with this address.
pub async fn revoke(owner: &PgPool, email: &str) -> Result<RoleChange, AdminError> {
    change(owner, email, false).await
}

async fn change(owner: &PgPool, email: &str, admin: bool) -> Result<RoleChange, AdminError> {
    let email = email.trim();
    let mut tx = owner.begin().await?;
    let found: Option<(Uuid, String)> =
        sqlx::query_as("SELECT id, email::text FROM users WHERE email = $1::citext")
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
    let (user_id, address) = found.ok_or_else(|| AdminError::UnknownEmail(email.to_owned()))?;
    let statement = if admin {
        "INSERT INTO admins (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING"
    } else {
        "DELETE FROM admins WHERE user_id = $1"
    };
    let changed = sqlx::query(statement).bind(user_id).execute(&mut *tx).await?.rows_affected() == 1;
    if !changed {
        tx.rollback().await?;
        return Ok(RoleChange::Unchanged { user_id });
    }
    let action = if admin { "admin.grant" } else { "admin.revoke" };
    sqlx::query(
        "INSERT INTO admin_audit (actor_id, actor, action, target, details)
         VALUES (NULL, $1, $2, $3, jsonb_build_object('user_id', $4::uuid))",
    )
    .bind(COMMAND_LINE)
    .bind(action)
    .bind(&address)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(actor = COMMAND_LINE, action, subject = address, user.id = %user_id, "admin.action");
    Ok(RoleChange::Changed { user_id })
}
