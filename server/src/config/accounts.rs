//! The accounts section: sessions and tokens ([`AuthConfig`]) and outgoing mail ([`MailConfig`]).

use std::time::Duration;

use jarvis_backend::accounts::mail_limit::MailLimits;
use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;
use super::parse::{parse_or, positive_secs};

/// Sessions and tokens.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `JARVIS_JWT_SECRET`: signs access tokens; at least 32 bytes, the same on every instance.
    /// Unset: a random one per process, allowed only when the public URL is on localhost.
    pub jwt_secret: Option<SecretString>,
    /// `JARVIS_ACCESS_TOKEN_TTL_SECS`: access token lifetime (default 900, 15 minutes).
    pub access_token_ttl: Duration,
    /// `JARVIS_SESSION_TTL_DAYS`: absolute session (refresh token family) lifetime (default 30).
    pub session_ttl: Duration,
    /// `JARVIS_SESSION_IDLE_TIMEOUT_MINUTES`: a session not refreshed for longer ends at its next
    /// refresh (default 10080, 7 days; `0` turns it off).
    pub session_idle_timeout: Option<Duration>,
    /// `JARVIS_SESSION_CHECK_SECS`: how often each instance checks that the sessions of its open
    /// WebSockets are still live, besides being told at once when one ends (default 60).
    pub session_check_interval: Duration,
}

/// Outgoing mail.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `JARVIS_SMTP_URL`: `smtp://user:pass@host:587?tls=required`, `smtps://…:465`, or
    /// `smtp://127.0.0.1:1025` (no TLS). Unset: mail goes to the outbox folder and the log.
    pub smtp_url: Option<SecretString>,
    /// `JARVIS_MAIL_FROM`: the sender (default `Jarvis <jarvis@localhost>`).
    pub from: String,
    /// `JARVIS_OUTBOX_DIR`: where mail goes without SMTP (default `outbox`).
    pub outbox_dir: std::path::PathBuf,
    /// `JARVIS_MAIL_LIMIT_PER_ADDRESS` (default 3) and `JARVIS_MAIL_LIMIT_PER_CLIENT` (default
    /// 20): reset, verification and registration-notice mails per hour, of each kind to one
    /// address, and of all kinds caused by one client address.
    pub limits: MailLimits,
}

pub(super) fn auth(get: &impl Fn(&str) -> Option<String>) -> Result<AuthConfig, ConfigError> {
    let jwt_secret = get("JARVIS_JWT_SECRET").map(SecretString::from);
    if let Some(secret) = &jwt_secret
        && secret.expose_secret().len() < 32
    {
        return Err(ConfigError::Invalid {
            name: "JARVIS_JWT_SECRET",
            reason: "use at least 32 bytes".into(),
        });
    }
    let idle_minutes: u64 = parse_or(
        "JARVIS_SESSION_IDLE_TIMEOUT_MINUTES",
        get("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES"),
        7 * 24 * 60,
    )?;
    Ok(AuthConfig {
        session_idle_timeout: (idle_minutes > 0)
            .then(|| Duration::from_secs(idle_minutes.saturating_mul(60))),
        jwt_secret,
        access_token_ttl: Duration::from_secs(parse_or(
            "JARVIS_ACCESS_TOKEN_TTL_SECS",
            get("JARVIS_ACCESS_TOKEN_TTL_SECS"),
            900,
        )?),
        session_ttl: Duration::from_secs(
            parse_or::<u64>("JARVIS_SESSION_TTL_DAYS", get("JARVIS_SESSION_TTL_DAYS"), 30)? * 24 * 60 * 60,
        ),
        session_check_interval: positive_secs(
            "JARVIS_SESSION_CHECK_SECS",
            get("JARVIS_SESSION_CHECK_SECS"),
            60.0,
        )?,
    })
}

pub(super) fn mail(get: &impl Fn(&str) -> Option<String>) -> Result<MailConfig, ConfigError> {
    let defaults = MailLimits::default();
    Ok(MailConfig {
        smtp_url: get("JARVIS_SMTP_URL").map(SecretString::from),
        from: get("JARVIS_MAIL_FROM").unwrap_or_else(|| "Jarvis <jarvis@localhost>".to_owned()),
        outbox_dir: get("JARVIS_OUTBOX_DIR").unwrap_or_else(|| "outbox".to_owned()).into(),
        limits: MailLimits {
            per_address: parse_or(
                "JARVIS_MAIL_LIMIT_PER_ADDRESS",
                get("JARVIS_MAIL_LIMIT_PER_ADDRESS"),
                defaults.per_address,
            )?,
            per_client: parse_or(
                "JARVIS_MAIL_LIMIT_PER_CLIENT",
                get("JARVIS_MAIL_LIMIT_PER_CLIENT"),
                defaults.per_client,
            )?,
            ..defaults
        },
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jarvis_backend::accounts::mail_limit::MailLimits;

    use crate::config::tests::{APP_DB, DB, config_from};

    #[test]
    fn sessions_idle_out_after_a_week_unless_told_otherwise_and_mail_is_limited() {
        let config = config_from(&[DB, APP_DB]).unwrap();
        assert_eq!(config.auth.session_idle_timeout, Some(Duration::from_secs(7 * 24 * 3600)));
        assert_eq!(config.mail.limits, MailLimits::default());
        let config = config_from(&[DB, APP_DB, ("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES", "0")]).unwrap();
        assert_eq!(config.auth.session_idle_timeout, None);
        let config = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES", "30"),
            ("JARVIS_MAIL_LIMIT_PER_ADDRESS", "1"),
            ("JARVIS_MAIL_LIMIT_PER_CLIENT", "5"),
        ])
        .unwrap();
        assert_eq!(config.auth.session_idle_timeout, Some(Duration::from_secs(1800)));
        assert_eq!((config.mail.limits.per_address, config.mail.limits.per_client), (1, 5));
        let error = config_from(&[DB, APP_DB, ("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES", "soon")]).unwrap_err();
        assert!(error.to_string().starts_with("JARVIS_SESSION_IDLE_TIMEOUT_MINUTES is invalid"), "{error}");
    }
}
