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
pub mod jwt;
pub mod mail_limit;
pub mod open_sessions;
pub mod password;
pub mod revocations;
pub mod sessions;
pub mod throttle;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use url::Url;
use uuid::Uuid;

use self::email::{EmailAddress, InvalidEmail};
use self::jwt::AccessTokens;
use self::mail_limit::{Admission, MailKind, MailLimits};
use self::open_sessions::{OpenSessions, SessionHandle};
use self::password::WeakPassword;
use self::sessions::{IssuedRefresh, RefreshError, Refreshed, SessionPolicy, SessionSummary};
use self::throttle::ThrottleKey;
use self::tokens::{OpaqueToken, hash_token};
use crate::db::{act_for_user, user_transaction};
use crate::mail::{Mailer, OutgoingMail};

/// Who is asking, as proven by a valid access token of a live session. Handlers, the WebSocket
/// and server functions all get it from the one session layer; nothing else creates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

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

/// Every way an account operation can fail, as the user should hear it.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    InvalidEmail(#[from] InvalidEmail),
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    #[error("Email or password is incorrect.")]
    InvalidCredentials,
    #[error("Too many attempts. Try again in {} seconds.", retry_after.as_secs())]
    Locked { retry_after: Duration },
    #[error("This link is invalid, expired or was already used.")]
    InvalidLink,
    #[error("That password is not correct.")]
    WrongPassword,
    #[error("Your current password is not correct. Your password was not changed.")]
    WrongCurrentPassword,
    #[error("Choose a new password that differs from your current one.")]
    SamePassword,
    #[error("Not found.")]
    NotFound,
    /// Detail for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(format!("database: {error}"))
    }
}

impl From<password::HashingError> for AccountError {
    fn from(error: password::HashingError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl AccountError {
    /// A stable code for URLs and the protocol.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEmail(_) => "invalid_email",
            Self::WeakPassword(WeakPassword::TooShort) => "password_too_short",
            Self::WeakPassword(WeakPassword::TooLong) => "password_too_long",
            Self::WeakPassword(WeakPassword::Common) => "password_common",
            Self::WeakPassword(WeakPassword::ContainsEmail) => "password_contains_email",
            Self::WeakPassword(WeakPassword::Repetitive) => "password_repetitive",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Locked { .. } => "locked",
            Self::InvalidLink => "invalid_link",
            Self::WrongPassword => "wrong_password",
            Self::WrongCurrentPassword => "wrong_current_password",
            Self::SamePassword => "same_password",
            Self::NotFound => "not_found",
            Self::Internal(_) => "internal",
        }
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkPurpose {
    VerifyEmail,
    ResetPassword,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::VerifyEmail => "/verify-email",
            Self::ResetPassword => "/reset-password",
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

    /// Creates an unverified account and mails a verification link. A taken address gets the
    /// same answer; its owner is mailed a notice instead (within the mail limits: `client` is
    /// where the request came from).
    #[tracing::instrument(name = "accounts.register", skip_all)]
    pub async fn register(
        &self,
        email: &str,
        password: SecretString,
        display_name: &str,
        client: &ClientInfo,
    ) -> Result<(), AccountError> {
        let email = EmailAddress::parse(email)?;
        password::check_policy(&password, &email)?;
        let password_hash = password::hash(password).await?;
        let display_name = clean_display_name(display_name, &email);
        let user_id = Uuid::new_v4();

        let mut tx = user_transaction(self.pool(), user_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2::citext, $3, $4)
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(user_id)
        .bind(email.as_str())
        .bind(&password_hash)
        .bind(&display_name)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            tracing::info!("accounts.register_existing_address");
            if !self.may_mail(MailKind::RegistrationNotice, &email, Some(&client.ip), None).await? {
                return Ok(());
            }
            self.inner.mailer.send_in_background(OutgoingMail {
                to: email.to_string(),
                subject: "Someone tried to create a Jarvis account with your address".into(),
                text: format!(
                    "Someone, perhaps you, tried to create a Jarvis account with this address, which already has one.\n\n\
                     To log in: {}\nForgot your password? {}\n\nIf it was not you, you can ignore this message.\n",
                    self.link("/login"),
                    self.link("/forgot-password"),
                ),
            });
            return Ok(());
        }
        let link = self.issue_link(&mut tx, user_id, LinkPurpose::VerifyEmail).await?;
        tx.commit().await?;
        tracing::info!(user.id = %user_id, "accounts.registered");
        // A new account's first link counts against its address only: one per account, and a
        // second registration of the address gets the (limited) notice instead.
        if self.may_mail(MailKind::Verification, &email, None, Some(user_id)).await? {
            self.send_verification_mail(&email, &display_name, &link);
        }
        Ok(())
    }

    /// Whether a mail of `kind` to `email` is within the limits (and, if so, records it). A
    /// skipped mail is logged with the account's id or a hash of the address, never the address.
    async fn may_mail(
        &self,
        kind: MailKind,
        email: &EmailAddress,
        client_ip: Option<&str>,
        user_id: Option<Uuid>,
    ) -> Result<bool, AccountError> {
        let limits = &self.inner.settings.mail_limits;
        let admission = mail_limit::admit(self.pool(), limits, kind, email, client_ip).await?;
        let limit = match admission {
            Admission::Send => return Ok(true),
            Admission::AddressLimited => "address",
            Admission::ClientLimited => "client",
        };
        let to = mail_limit::address_hash(email);
        match user_id {
            Some(user_id) => {
                tracing::warn!(mail.kind = kind.as_str(), limit, user.id = %user_id, client.ip = client_ip, "accounts.mail_skipped");
            }
            None => {
                tracing::warn!(mail.kind = kind.as_str(), limit, mail.to_hash = %to, client.ip = client_ip, "accounts.mail_skipped");
            }
        }
        Ok(false)
    }

    fn send_verification_mail(&self, email: &EmailAddress, display_name: &str, link: &str) {
        self.inner.mailer.send_in_background(OutgoingMail {
            to: email.to_string(),
            subject: "Confirm your email address for Jarvis".into(),
            text: format!(
                "Welcome to Jarvis, {display_name}.\n\nConfirm your email address by opening this link within 24 hours:\n\n{link}\n\n\
                 If you did not create an account, ignore this message.\n"
            ),
        });
    }

    /// Mails a fresh verification link to an unverified user, at most once a minute and within
    /// the mail limits (`client` is where the request came from).
    #[tracing::instrument(name = "accounts.resend_verification", skip_all, fields(user.id = %user_id))]
    pub async fn resend_verification(&self, user_id: Uuid, client: &ClientInfo) -> Result<(), AccountError> {
        let mut tx = user_transaction(self.pool(), user_id).await?;
        let row: Option<(String, String, bool, bool)> = sqlx::query_as(
            "SELECT email::text, display_name, email_verified_at IS NOT NULL,
                    EXISTS (SELECT 1 FROM email_tokens WHERE user_id = $1 AND purpose = 'verify_email'
                                AND created_at > now() - interval '1 minute')
               FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (email, display_name, verified, recently_sent) = row.ok_or(AccountError::NotFound)?;
        if verified || recently_sent {
            return Ok(());
        }
        let email =
            EmailAddress::parse(&email).map_err(|_| AccountError::Internal("stored email invalid".into()))?;
        if !self.may_mail(MailKind::Verification, &email, Some(&client.ip), Some(user_id)).await? {
            return Ok(());
        }
        let link = self.issue_link(&mut tx, user_id, LinkPurpose::VerifyEmail).await?;
        tx.commit().await?;
        self.send_verification_mail(&email, &display_name, &link);
        Ok(())
    }

    /// Consumes a verification link and marks the address verified.
    #[tracing::instrument(name = "accounts.verify_email", skip_all)]
    pub async fn verify_email(&self, token: &str) -> Result<Uuid, AccountError> {
        let mut tx = self.pool().begin().await?;
        let user_id = consume_link(&mut tx, token, LinkPurpose::VerifyEmail).await?;
        act_for_user(&mut tx, user_id).await?;
        sqlx::query(
            "UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now() WHERE id = $1",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(user.id = %user_id, "accounts.email_verified");
        Ok(user_id)
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
        let refresh = sessions::start(
            self.pool(),
            &self.inner.settings.sessions,
            user_id,
            &client.user_agent,
            Some(&client.ip),
        )
        .await?;
        tracing::info!(user.id = %user_id, session.id = %refresh.session_id, "accounts.logged_in");
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
        let mut tx = user_transaction(self.pool(), user_id).await?;
        let profile = sqlx::query_as::<_, Profile>(
            "SELECT id, email::text AS email, display_name, email_verified_at, created_at FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
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
        let email =
            EmailAddress::parse(&email).map_err(|_| AccountError::Internal("stored email invalid".into()))?;
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

    /// Mails a reset link if the address has an account and the mail limits allow it (`client`
    /// is where the request came from); answers the same in every case.
    #[tracing::instrument(name = "accounts.request_password_reset", skip_all)]
    pub async fn request_password_reset(&self, email: &str, client: &ClientInfo) -> Result<(), AccountError> {
        let email = EmailAddress::parse(email)?;
        let account: Option<(Uuid, String)> =
            sqlx::query_as("SELECT user_id, password_hash FROM auth_account_by_email($1::citext)")
                .bind(email.as_str())
                .fetch_optional(self.pool())
                .await?;
        let Some((user_id, _)) = account else {
            tracing::info!("accounts.reset_requested_for_unknown_address");
            return Ok(());
        };
        if !self.may_mail(MailKind::PasswordReset, &email, Some(&client.ip), Some(user_id)).await? {
            return Ok(());
        }
        let mut tx = user_transaction(self.pool(), user_id).await?;
        let link = self.issue_link(&mut tx, user_id, LinkPurpose::ResetPassword).await?;
        tx.commit().await?;
        self.inner.mailer.send_in_background(OutgoingMail {
            to: email.to_string(),
            subject: "Reset your Jarvis password".into(),
            text: format!(
                "To choose a new password, open this link within an hour:\n\n{link}\n\n\
                 If you did not ask for this, ignore this message: your password stays as it is.\n"
            ),
        });
        Ok(())
    }

    /// Sets a new password from a reset link and logs every device out. A weak password leaves
    /// the link usable.
    #[tracing::instrument(name = "accounts.reset_password", skip_all)]
    pub async fn reset_password(&self, token: &str, new_password: SecretString) -> Result<(), AccountError> {
        let mut tx = self.pool().begin().await?;
        let user_id = consume_link(&mut tx, token, LinkPurpose::ResetPassword).await?;
        act_for_user(&mut tx, user_id).await?;
        let email: String = sqlx::query_scalar("SELECT email::text FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        let email =
            EmailAddress::parse(&email).map_err(|_| AccountError::Internal("stored email invalid".into()))?;
        // Rolling back (on return) puts the link back, so the user can try a better password.
        password::check_policy(&new_password, &email)?;
        let password_hash = password::hash(new_password).await?;
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
            .bind(user_id)
            .bind(&password_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE email_tokens SET used_at = now() WHERE user_id = $1 AND purpose = 'reset_password' AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        throttle::reset(self.pool(), &ThrottleKey::account(&email)).await?;
        tracing::info!(user.id = %user_id, "accounts.password_reset");
        Ok(())
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
        if let Some(key) = &account_key {
            if let Some(retry_after) = throttle::locked_for(self.pool(), std::slice::from_ref(key)).await? {
                return Err(AccountError::Locked { retry_after });
            }
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

    fn link(&self, path: &str) -> String {
        let mut url = self.inner.settings.public_url.clone();
        url.set_path(path);
        url.set_query(None);
        url.to_string()
    }

    async fn issue_link(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        user_id: Uuid,
        purpose: LinkPurpose,
    ) -> Result<String, AccountError> {
        let token = OpaqueToken::generate();
        let lifetime = match purpose {
            LinkPurpose::VerifyEmail => self.inner.settings.verify_link_lifetime,
            LinkPurpose::ResetPassword => self.inner.settings.reset_link_lifetime,
        };
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, user_id, purpose, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        )
        .bind(token.hash())
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(lifetime.as_secs_f64())
        .execute(&mut **tx)
        .await?;
        let mut url = self.inner.settings.public_url.clone();
        url.set_path(purpose.path());
        url.query_pairs_mut().clear().append_pair("token", token.expose());
        Ok(url.to_string())
    }
}

async fn consume_link(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    token: &str,
    purpose: LinkPurpose,
) -> Result<Uuid, AccountError> {
    let user_id: Option<Uuid> = sqlx::query_scalar("SELECT auth_consume_email_token($1, $2)")
        .bind(hash_token(token.trim()))
        .bind(purpose.as_str())
        .fetch_one(&mut **tx)
        .await?;
    user_id.ok_or(AccountError::InvalidLink)
}

fn clean_display_name(raw: &str, email: &EmailAddress) -> String {
    let cleaned: String = crate::text::clean_name(raw).chars().take(80).collect();
    if cleaned.is_empty() { email.local_part().to_owned() } else { cleaned }
}
