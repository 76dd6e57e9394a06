//! Outgoing e-mail: over SMTP (`lettre`) when configured, otherwise into a local outbox folder
//! and the server log, so that a developer can click the link in a verification mail.

use std::path::PathBuf;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum MailSettings {
    /// `smtp://user:pass@host:port` (add `?tls=required` for STARTTLS) or `smtps://…`.
    Smtp { url: SecretString },
    /// One `.eml` file per message in this folder, and the message in the log.
    Outbox { dir: PathBuf },
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the SMTP URL is invalid")]
    InvalidUrl(#[source] lettre::transport::smtp::Error),
    #[error("the sender address is invalid")]
    InvalidFrom(#[source] lettre::address::AddressError),
    #[error("the recipient address is invalid")]
    InvalidTo(#[source] lettre::address::AddressError),
    #[error("the message could not be built")]
    Build(#[from] lettre::error::Error),
    #[error("the SMTP server refused or failed")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("the outbox could not be written")]
    Outbox(#[from] std::io::Error),
}

impl crate::Kinded for MailError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::InvalidTo(_) => ErrorKind::Invalid,
            Self::Smtp(_) => ErrorKind::Unavailable,
            Self::InvalidUrl(_) | Self::InvalidFrom(_) | Self::Build(_) | Self::Outbox(_) => {
                ErrorKind::Internal
            }
        }
    }
}

/// A plain-text message to one recipient.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.transport {
            Transport::Smtp(_) => "smtp".to_owned(),
            Transport::Outbox(dir) => format!("outbox {}", dir.display()),
        };
        f.debug_struct("Mailer").field("transport", &kind).field("from", &self.from.to_string()).finish()
    }
}

impl Mailer {
    pub fn new(settings: &MailSettings, from: &str) -> Result<Self, MailError> {
        let from: Mailbox = from.parse().map_err(MailError::InvalidFrom)?;
        let transport = match settings {
            MailSettings::Smtp { url } => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(MailError::InvalidUrl)?
                    .build(),
            ),
            MailSettings::Outbox { dir } => Transport::Outbox(dir.clone()),
        };
        Ok(Self { transport, from })
    }

    #[tracing::instrument(name = "mail.send", skip_all, fields(mail.subject = %mail.subject))]
    pub async fn send(&self, mail: OutgoingMail) -> Result<(), MailError> {
        let to: Mailbox = mail.to.parse().map_err(MailError::InvalidTo)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
                tracing::info!("mail.sent");
            }
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
                    uuid::Uuid::new_v4().simple()
                );
                let path = dir.join(name);
                tokio::fs::write(&path, message.formatted()).await?;
                // Only the development outbox logs bodies: they hold single-use links.
                tracing::info!(mail.to = %mail.to, mail.path = %path.display(), mail.body = %mail.text, "mail.written_to_outbox");
            }
        }
        Ok(())
    }

    /// Sends in the background, so that a request answers equally fast whether or not it sends
    /// mail (no account enumeration by timing). Failures are logged.
    pub fn send_in_background(&self, mail: OutgoingMail) {
        let mailer = self.clone();
        tokio::spawn(async move {
            if let Err(error) = mailer.send(mail).await {
                tracing::error!(error = %error, cause = ?std::error::Error::source(&error), "mail.send_failed");
            }
        });
    }
}
