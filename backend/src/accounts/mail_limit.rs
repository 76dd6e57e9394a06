//! Limits on the mails that anyone can make Jarvis send: password-reset links, verification
//! links and the notice that someone tried to register a taken address. Without them, anonymous
//! requests could bomb an inbox (nine mails to one address within seconds) or use Jarvis to send
//! mail to any address.
//!
//! Each mail counts against two keys: its recipient and its kind (at most
//! [`MailLimits::per_address`] of each kind per address within [`MailLimits::window`]), and the
//! client address whose request caused it (at most [`MailLimits::per_client`] of any kind). The
//! sends are recorded in Postgres (`mail_sends`, one row per key and mail, a sliding window), so
//! every instance shares them; an advisory lock per key serialises the check and the record, so
//! two instances never both send the last allowed mail. A mail over a limit is not sent and not
//! recorded; the requester gets the same answer either way, and the log names the recipient only
//! by a hash (or the account's id).
//!
//! Like the log-in throttle (`throttle`), the table holds no address in clear: recipients are
//! SHA-256 digests.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::email::EmailAddress;

/// What a limited mail is about. Each kind has its own per-address budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// A link to confirm the address (at registration or asked for again).
    Verification,
    /// A link to choose a new password.
    PasswordReset,
    /// "Someone tried to create an account with your address."
    RegistrationNotice,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verification => "verification",
            Self::PasswordReset => "password_reset",
            Self::RegistrationNotice => "registration_notice",
        }
    }
}

/// How many limited mails may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailLimits {
    /// Mails of one kind to one address within the window.
    pub per_address: u32,
    /// Mails of any kind caused by requests from one client address within the window.
    pub per_client: u32,
    /// The sliding window both limits count in.
    pub window: Duration,
}

impl Default for MailLimits {
    /// 3 of each kind per address and 20 per client address, per hour.
    fn default() -> Self {
        Self { per_address: 3, per_client: 20, window: Duration::from_secs(60 * 60) }
    }
}

/// Whether a mail may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Recorded: send it.
    Send,
    /// The recipient had its share of this kind: do not send.
    AddressLimited,
    /// The client address had its share: do not send.
    ClientLimited,
}

/// A short, stable name for an address in logs: the first 16 hex digits of its SHA-256.
pub fn address_hash(email: &EmailAddress) -> String {
    digest_hex(email.as_str())[..16].to_owned()
}

fn digest_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn address_key(kind: MailKind, to: &EmailAddress) -> String {
    format!("to:{}:{}", kind.as_str(), digest_hex(to.as_str()))
}

fn client_key(ip: &str) -> String {
    format!("from:{ip}")
}

/// Checks the limits for a mail of `kind` to `to`, caused by a request from `client_ip` (`None`:
/// only the recipient's limit applies), and records it when both allow it.
#[tracing::instrument(name = "mail_limit.admit", skip_all, fields(mail.kind = kind.as_str()))]
pub async fn admit(
    pool: &PgPool,
    limits: &MailLimits,
    kind: MailKind,
    to: &EmailAddress,
    client_ip: Option<&str>,
) -> Result<Admission, sqlx::Error> {
    let address = address_key(kind, to);
    let client = client_ip.map(client_key);
    let mut keys: Vec<&str> = std::iter::once(address.as_str()).chain(client.as_deref()).collect();
    // Locks in one order everywhere, so that two requests cannot wait for each other.
    keys.sort_unstable();
    let window = limits.window.as_secs_f64();

    let mut tx = pool.begin().await?;
    for key in &keys {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('jarvis.mail.' || $1, 0))")
            .bind(key)
            .execute(&mut *tx)
            .await?;
    }
    // Forget sends that left the window (anyone's, a batch at a time, never waiting on a row).
    sqlx::query(
        "DELETE FROM mail_sends WHERE ctid IN (
             SELECT ctid FROM mail_sends WHERE sent_at <= now() - make_interval(secs => $1)
              LIMIT 1000 FOR UPDATE SKIP LOCKED)",
    )
    .bind(window)
    .execute(&mut *tx)
    .await?;
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT key, count(*) FROM mail_sends
          WHERE key = ANY($1) AND sent_at > now() - make_interval(secs => $2)
          GROUP BY key",
    )
    .bind(&keys)
    .bind(window)
    .fetch_all(&mut *tx)
    .await?;
    let sent = |key: &str| counts.iter().find(|(k, _)| k == key).map_or(0, |(_, count)| *count);

    let admission = if sent(&address) >= i64::from(limits.per_address) {
        Admission::AddressLimited
    } else if client.as_deref().is_some_and(|key| sent(key) >= i64::from(limits.per_client)) {
        Admission::ClientLimited
    } else {
        sqlx::query("INSERT INTO mail_sends (key) SELECT unnest($1::text[])")
            .bind(&keys)
            .execute(&mut *tx)
            .await?;
        Admission::Send
    };
    tx.commit().await?;
    Ok(admission)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_log_names_hold_no_address_in_clear() {
        let email = EmailAddress::parse("ann@example.com").unwrap();
        let key = address_key(MailKind::PasswordReset, &email);
        assert!(!key.contains("ann") && key.starts_with("to:password_reset:"), "{key}");
        assert_ne!(key, address_key(MailKind::Verification, &email), "each kind has its own budget");
        let hash = address_hash(&email);
        assert_eq!(hash.len(), 16);
        assert!(!hash.contains("ann"));
    }

    #[test]
    fn the_default_is_three_per_address_and_kind_and_twenty_per_client_an_hour() {
        let limits = MailLimits::default();
        assert_eq!((limits.per_address, limits.per_client), (3, 20));
        assert_eq!(limits.window, Duration::from_secs(3600));
    }
}
