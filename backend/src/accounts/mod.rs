//! Accounts: registration, e-mail verification, log-in with throttling, sessions with rotating
//! refresh tokens, password reset and account deletion, and closing the open connections of a
//! session when it ends (anywhere). Every query on a user's data runs in a
//! [`user_transaction`](crate::db::user_transaction); the few look-ups that must happen before a
//! user is known go through narrow SECURITY DEFINER functions (see the accounts migration).
//!
//! Answers never reveal whether an address has an account: registering a taken address, asking
//! to reset an unknown one and logging in with either give the same answer in comparable time.
//! The mails such requests cause are limited per address and per client (`mail_limit`); a mail
//! over a limit is skipped, with the same answer again.

pub mod email;
mod error;
pub mod jwt;
mod links;
pub mod mail_limit;
pub mod open_sessions;
pub mod password;
pub mod preferences;
pub mod profile;
pub mod revocations;
pub mod sessions;
pub mod throttle;
pub mod tokens;
mod user;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use url::Url;
use uuid::Uuid;

use self::email::EmailAddress;
pub use self::error::AccountError;
use self::jwt::AccessTokens;
use self::mail_limit::MailLimits;
use self::open_sessions::{OpenSessions, SessionHandle};
use self::sessions::{IssuedRefresh, RefreshError, Refreshed, SessionPolicy, SessionSummary};
use self::throttle::ThrottleKey;
pub use self::user::CurrentUser;
use crate::db::{self, user_transaction};
use crate::mail::{Mailer, OutgoingMail};

/// A user's own view of their account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Profile {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Profile {
    pub fn email_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

/// Where a request comes from, for sessions and throttling.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

/// Credentials after a successful log-in or refresh.
#[derive(Debug)]
pub struct SignedIn {
    pub user: CurrentUser,
    pub access_token: String,
    /// A new refresh token, or `None` when a concurrent request already rotated it.
    pub refresh: Option<IssuedRefresh>,
}

/// Lifetimes and addresses the accounts need.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// Links in mails point here.
    pub public_url: Url,
    pub verify_link_lifetime: Duration,
    pub reset_link_lifetime: Duration,
    pub sessions: SessionPolicy,
    /// How many reset, verification and registration-notice mails may go out.
    pub mail_limits: MailLimits,
}

impl AccountSettings {
    pub fn new(public_url: Url) -> Self {
        Self {
            public_url,
            verify_link_lifetime: Duration::from_secs(24 * 60 * 60),
            reset_link_lifetime: Duration::from_secs(60 * 60),
            sessions: SessionPolicy::default(),
            mail_limits: MailLimits::default(),
        }
    }
}

/// The accounts service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Accounts {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    mailer: Mailer,
    tokens: AccessTokens,
    settings: AccountSettings,
    decoy_hash: String,
    /// The sessions that open WebSockets here act for, ended when their session ends.
    open_sessions: Arc<OpenSessions>,
}

impl Accounts {
    pub async fn new(pool: PgPool, mailer: Mailer, tokens: AccessTokens, settings: AccountSettings) -> Self {
        let decoy_hash = password::decoy_hash().await;
        let open_sessions = Arc::default();
        Self { inner: Arc::new(Inner { pool, mailer, tokens, settings, decoy_hash, open_sessions }) }
    }

    /// Registers a long-lived connection (a WebSocket) acting for `user`'s session; the handle
    /// says when that session ends (see [`revocations`]).
    pub fn hold_session(&self, user: CurrentUser) -> SessionHandle {
        self.inner.open_sessions.register(user)
    }

    /// Starts ending held sessions when they end anywhere: listens for ended sessions and
    /// checks the held ones every `check_every` (and whenever the listener reconnects).
    pub fn watch_revocations(
        &self,
        check_every: Duration,
        stop: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        revocations::spawn(self.pool().clone(), Arc::clone(&self.inner.open_sessions), check_every, stop)
    }

    /// Whether the session is still live (not revoked, not expired): what a connection whose
    /// access token has expired asks, since only a live session could refresh it.
    pub async fn session_is_live(&self, user: CurrentUser) -> Result<bool, sqlx::Error> {
        sessions::is_active(self.pool(), user.user_id, user.session_id).await
    }

    pub fn access_tokens(&self) -> &AccessTokens {
        &self.inner.tokens
    }

    pub fn settings(&self) -> &AccountSettings {
        &self.inner.settings
    }

    fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Checks the password and starts a session. Throttled per account and per client address.
    #[tracing::instrument(name = "accounts.login", skip_all, fields(client.ip = %client.ip))]
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        client: &ClientInfo,
    ) -> Result<SignedIn, AccountError> {
        let address_key = ThrottleKey::address(&client.ip);
        let Ok(email) = EmailAddress::parse(email) else {
            throttle::record_failure(self.pool(), std::slice::from_ref(&address_key)).await?;
            return Err(AccountError::InvalidCredentials);
        };
        let account_key = ThrottleKey::account(&email);
        let keys = [account_key.clone(), address_key];
        if let Some(retry_after) = throttle::locked_for(self.pool(), &keys).await? {
            return Err(AccountError::Locked { retry_after });
        }

        let account: Option<(Uuid, String)> =
            sqlx::query_as("SELECT user_id, password_hash FROM auth_account_by_email($1::citext)")
                .bind(email.as_str())
                .fetch_optional(self.pool())
                .await?;
        // Verify against a decoy when there is no account, so both cases take the same time.
        let (user_id, phc) = match account {
            Some((user_id, phc)) => (Some(user_id), phc),
            None => (None, self.inner.decoy_hash.clone()),
        };
        let matches = password::verify(password, phc).await;
        let Some(user_id) = user_id.filter(|_| matches) else {
            throttle::record_failure(self.pool(), &keys).await?;
            tracing::info!("accounts.login_failed");
            return Err(AccountError::InvalidCredentials);
        };

        throttle::reset(self.pool(), &account_key).await?;
        // Told only to someone who knows the password; the account's sessions ended when it was
        // disabled, and a trigger refuses new ones (see the admin migration).
        if is_disabled(self.pool(), user_id).await? {
            tracing::info!(user.id = %user_id, "accounts.login_refused_disabled");
            return Err(AccountError::Disabled);
        }
        let signed_in = self.start_session(user_id, client).await?;
        tracing::info!(user.id = %user_id, session.id = %signed_in.user.session_id, "accounts.logged_in");
        Ok(signed_in)
    }

    /// Starts a session for `user_id` on `client`'s device: what log-in does once the password
    /// is checked, and registration once the account exists.
    async fn start_session(&self, user_id: Uuid, client: &ClientInfo) -> Result<SignedIn, AccountError> {
        let refresh = sessions::start(
            self.pool(),
            &self.inner.settings.sessions,
            user_id,
            &client.user_agent,
            Some(&client.ip),
        )
        .await?;
        Ok(self.signed_in(CurrentUser { user_id, session_id: refresh.session_id }, Some(refresh)))
    }

    fn signed_in(&self, user: CurrentUser, refresh: Option<IssuedRefresh>) -> SignedIn {
        SignedIn { access_token: self.inner.tokens.issue(user.user_id, user.session_id), user, refresh }
    }

    /// Trades a refresh token for a new access token (and, normally, a new refresh token).
    pub async fn refresh(&self, refresh_token: &str) -> Result<SignedIn, RefreshError> {
        match sessions::refresh(self.pool(), &self.inner.settings.sessions, refresh_token).await? {
            Refreshed::Rotated(issued) => {
                let user = CurrentUser { user_id: issued.user_id, session_id: issued.session_id };
                Ok(self.signed_in(user, Some(issued)))
            }
            Refreshed::RaceWithinGrace { user_id, session_id } => {
                Ok(self.signed_in(CurrentUser { user_id, session_id }, None))
            }
        }
    }

    /// Who an access token belongs to, if it is valid and its session is still live.
    pub async fn authenticate(&self, access_token: &str) -> Result<Option<CurrentUser>, sqlx::Error> {
        let Ok(claims) = self.inner.tokens.verify(access_token) else { return Ok(None) };
        let live = sessions::is_active(self.pool(), claims.sub, claims.sid).await?;
        Ok(live.then_some(CurrentUser { user_id: claims.sub, session_id: claims.sid }))
    }

    pub async fn profile(&self, user_id: Uuid) -> Result<Profile, AccountError> {
        let profile = db::for_user(self.pool(), user_id, async |conn| {
            sqlx::query_as::<_, Profile>(
                "SELECT id, email::text AS email, display_name, email_verified_at, created_at FROM users WHERE id = $1",
            )
            .bind(user_id)
            .fetch_optional(conn)
            .await
        })
        .await?;
        profile.ok_or(AccountError::NotFound)
    }

    pub async fn sessions(&self, user_id: Uuid) -> Result<Vec<SessionSummary>, AccountError> {
        Ok(sessions::list(self.pool(), user_id).await?)
    }

    /// Ends one session of this user; another user's session id is "not found".
    pub async fn revoke_session(&self, user_id: Uuid, session_id: Uuid) -> Result<(), AccountError> {
        if sessions::revoke(self.pool(), user_id, session_id).await? {
            Ok(())
        } else {
            Err(AccountError::NotFound)
        }
    }

    pub async fn revoke_all_sessions(&self, user_id: Uuid) -> Result<u64, AccountError> {
        Ok(sessions::revoke_all(self.pool(), user_id).await?)
    }

    /// Changes the password of a signed-in user who gives the current one, with the rules of
    /// registration, then ends every other session of theirs (this one stays signed in) and
    /// mails them a notice. A wrong current password changes nothing and counts as a failed
    /// log-in, per account and per client address. Returns how many sessions ended.
    #[tracing::instrument(name = "accounts.change_password", skip_all, fields(user.id = %user.user_id))]
    pub async fn change_password(
        &self,
        user: CurrentUser,
        current_password: SecretString,
        new_password: SecretString,
        client: &ClientInfo,
    ) -> Result<u64, AccountError> {
        let mut tx = user_transaction(self.pool(), user.user_id).await?;
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT email::text, password_hash FROM users WHERE id = $1")
                .bind(user.user_id)
                .fetch_optional(&mut *tx)
                .await?;
        let (email, phc) = row.ok_or(AccountError::NotFound)?;
        let email = EmailAddress::parse(&email).map_err(AccountError::StoredEmail)?;
        let account_key = ThrottleKey::account(&email);
        let keys = [account_key.clone(), ThrottleKey::address(&client.ip)];
        if let Some(retry_after) = throttle::locked_for(self.pool(), &keys).await? {
            return Err(AccountError::Locked { retry_after });
        }
        if !password::verify(current_password.clone(), phc).await {
            throttle::record_failure(self.pool(), &keys).await?;
            tracing::info!("accounts.change_password_refused");
            return Err(AccountError::WrongCurrentPassword);
        }
        if current_password.expose_secret() == new_password.expose_secret() {
            return Err(AccountError::SamePassword);
        }
        password::check_policy(&new_password, &email)?;
        let password_hash = password::hash(new_password).await?;
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
            .bind(user.user_id)
            .bind(&password_hash)
            .execute(&mut *tx)
            .await?;
        // A reset link mailed before the change must not undo it.
        sqlx::query(
            "UPDATE email_tokens SET used_at = now()
              WHERE user_id = $1 AND purpose = 'reset_password' AND used_at IS NULL",
        )
        .bind(user.user_id)
        .execute(&mut *tx)
        .await?;
        // Every other device must log in again with the new password, in the same transaction:
        // the change and the sessions' end go together (and the sessions table's trigger closes
        // their open connections once it commits).
        let ended = sessions::revoke_others_in(&mut tx, user.user_id, user.session_id).await?;
        tx.commit().await?;
        throttle::reset(self.pool(), &account_key).await?;
        tracing::info!(sessions_ended = ended, "accounts.password_changed");
        self.inner.mailer.send_in_background(OutgoingMail {
            to: email.to_string(),
            subject: "Your Jarvis password was changed".into(),
            text: format!(
                "The password of your Jarvis account was just changed, and every other device was logged out.\n\n\
                 If it was not you, reset your password now: {}\n",
                self.link("/forgot-password"),
            ),
        });
        Ok(ended)
    }

    /// Deletes the account and everything of the user's, after checking the password again.
    #[tracing::instrument(name = "accounts.delete", skip_all, fields(user.id = %user_id))]
    pub async fn delete_account(&self, user_id: Uuid, password: SecretString) -> Result<(), AccountError> {
        let mut tx = user_transaction(self.pool(), user_id).await?;
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT email::text, password_hash FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        let (email, phc) = row.ok_or(AccountError::NotFound)?;
        let account_key = EmailAddress::parse(&email).map(|email| ThrottleKey::account(&email)).ok();
        if let Some(key) = &account_key
            && let Some(retry_after) = throttle::locked_for(self.pool(), std::slice::from_ref(key)).await?
        {
            return Err(AccountError::Locked { retry_after });
        }
        if !password::verify(password, phc).await {
            if let Some(key) = account_key {
                throttle::record_failure(self.pool(), &[key]).await?;
            }
            return Err(AccountError::WrongPassword);
        }
        // Sessions, tokens and every other row of the user's go with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        tracing::info!("accounts.deleted");
        Ok(())
    }
}

/// Whether an admin disabled the account.
async fn is_disabled(pool: &PgPool, user_id: Uuid) -> Result<bool, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND disabled_at IS NOT NULL)")
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await
    })
    .await
}
