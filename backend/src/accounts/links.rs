//! The flows that mail a link: registering (with its verification link, or a notice to the
//! owner of a taken address), verifying an address, and resetting a forgotten password.

use secrecy::SecretString;
use uuid::Uuid;

use super::email::EmailAddress;
use super::mail_limit::{self, Admission, MailKind};
use super::throttle::{self, ThrottleKey};
use super::tokens::{OpaqueToken, hash_token};
use super::{AccountError, Accounts, ClientInfo, SignedIn, password};
use crate::db::{act_for_user, user_transaction};
use crate::mail::OutgoingMail;

/// What an emailed link is for (`email_tokens.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
enum LinkPurpose {
    VerifyEmail,
    ResetPassword,
}

impl LinkPurpose {
    fn path(self) -> &'static str {
        match self {
            Self::VerifyEmail => "/verify-email",
            Self::ResetPassword => "/reset-password",
        }
    }
}

impl Accounts {
    /// Creates an unverified account, mails a verification link and signs the new user in on
    /// `client`'s device (a session exactly as log-in starts one). A taken address signs no one
    /// in (`None`); its owner is mailed a notice instead (within the mail limits: `client` is
    /// where the request came from). The caller answers a taken address exactly as it answered
    /// before sign-in at registration existed (see the README, "No enumeration").
    #[tracing::instrument(name = "accounts.register", skip_all)]
    pub async fn register(
        &self,
        email: &str,
        password: SecretString,
        display_name: &str,
        client: &ClientInfo,
    ) -> Result<Option<SignedIn>, AccountError> {
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
                return Ok(None);
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
            return Ok(None);
        }
        let link = self.issue_link(&mut tx, user_id, LinkPurpose::VerifyEmail).await?;
        tx.commit().await?;
        tracing::info!(user.id = %user_id, "accounts.registered");
        // A new account's first link counts against its address only: one per account, and a
        // second registration of the address gets the (limited) notice instead.
        if self.may_mail(MailKind::Verification, &email, None, Some(user_id)).await? {
            self.send_verification_mail(&email, &display_name, &link);
        }
        let signed_in = self.start_session(user_id, client).await?;
        tracing::info!(user.id = %user_id, session.id = %signed_in.user.session_id, "accounts.logged_in");
        Ok(Some(signed_in))
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
        let email = EmailAddress::parse(&email).map_err(AccountError::StoredEmail)?;
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
        let email = EmailAddress::parse(&email).map_err(AccountError::StoredEmail)?;
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

    /// Whether a reset link can still be used (not expired, not used), without using it: the
    /// reset page says so before anyone types a new password.
    pub async fn reset_link_is_live(&self, token: &str) -> Result<bool, AccountError> {
        let mut tx = self.pool().begin().await?;
        // Consumed in a transaction that is rolled back: the link stays as it was.
        let live = match consume_link(&mut tx, token, LinkPurpose::ResetPassword).await {
            Ok(_) => true,
            Err(AccountError::InvalidLink) => false,
            Err(other) => return Err(other),
        };
        tx.rollback().await?;
        Ok(live)
    }

    pub(super) fn link(&self, path: &str) -> String {
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
        .bind(purpose)
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
        .bind(purpose)
        .fetch_one(&mut **tx)
        .await?;
    user_id.ok_or(AccountError::InvalidLink)
}

fn clean_display_name(raw: &str, email: &EmailAddress) -> String {
    use crate::text::{character_count, first_characters};
    use jarvis_types::account::{DISPLAY_NAME_MAX_CHARS, DISPLAY_NAME_MAX_CODE_POINTS};
    let cleaned = crate::text::clean_name(raw);
    // Cut by whole characters as people count them, within the stored bound of code points too.
    let mut cut = first_characters(&cleaned, DISPLAY_NAME_MAX_CHARS);
    while cut.chars().count() > DISPLAY_NAME_MAX_CODE_POINTS {
        cut = first_characters(cut, character_count(cut) - 1);
    }
    let cut = cut.trim_end();
    if cut.is_empty() { email.local_part().to_owned() } else { cut.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_name_is_cut_by_whole_characters() {
        let email = EmailAddress::parse("ada@example.com").unwrap();
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}";
        // 81 family emoji: 80 kept, none cut in half.
        assert_eq!(clean_display_name(&family.repeat(81), &email), family.repeat(80));
        assert_eq!(clean_display_name(&format!("{} x", "a".repeat(79)), &email), "a".repeat(79));
        // Characters of many code points: the stored bound of code points cuts at a whole one.
        let piled = format!("a{}", "\u{301}".repeat(400));
        let cut = clean_display_name(&piled.repeat(3), &email);
        assert_eq!(cut, piled.repeat(2));
        assert_eq!(clean_display_name("  ", &email), "ada");
    }
}
