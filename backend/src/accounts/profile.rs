//! The display name a user chooses in Settings: shown in the app's header and told to the agent.
//!
//! What a person types is checked, not silently changed: a name longer than
//! [`DISPLAY_NAME_MAX_CHARS`] characters as people count them (a family emoji is one; see
//! [`text::character_count`]) or than [`DISPLAY_NAME_MAX_CODE_POINTS`] code points, or holding a control character (a tab, a line break, anything of
//! Unicode's Cc, or a line or paragraph separator) is refused with a sentence saying so.
//! Unicode's bidirectional controls are dropped, as from every stored name (see
//! [`crate::text`]), and spaces around the name are trimmed. An empty name means "no name of my
//! own": the account's address's local part is stored, as at registration. Postgres holds the
//! column to the same rules (see the display-name migration).

use sqlx::PgPool;
use uuid::Uuid;

use super::email::EmailAddress;
use crate::{db, text};

/// The longest display name, in characters as people count them, and in code points (the
/// migrations' CHECK holds the second).
pub use jarvis_types::account::{DISPLAY_NAME_MAX_CHARS, DISPLAY_NAME_MAX_CODE_POINTS};

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("Use at most {DISPLAY_NAME_MAX_CHARS} characters for your display name.")]
    NameTooLong,
    #[error("Your display name cannot contain control characters such as tabs or line breaks.")]
    NameHasControlCharacters,
    #[error("No such account.")]
    NotFound,
    #[error("the profile database failed")]
    Database(#[from] sqlx::Error),
}

impl crate::Kinded for ProfileError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::NameTooLong | Self::NameHasControlCharacters => ErrorKind::Invalid,
            Self::NotFound => ErrorKind::NotFound,
            Self::Database(_) => ErrorKind::Unavailable,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NameTooLong => "display_name_too_long",
            Self::NameHasControlCharacters => "display_name_control_characters",
            Self::NotFound => "not_found",
            Self::Database(_) => "unavailable",
        }
    }
}

/// A typed display name as it may be stored, or why it may not; empty when the user cleared it.
pub fn check_display_name(raw: &str) -> Result<String, ProfileError> {
    let name = text::strip_bidi_controls(raw);
    let name = name.trim();
    if name.chars().any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')) {
        return Err(ProfileError::NameHasControlCharacters);
    }
    if text::character_count(name) > DISPLAY_NAME_MAX_CHARS
        || name.chars().count() > DISPLAY_NAME_MAX_CODE_POINTS
    {
        return Err(ProfileError::NameTooLong);
    }
    Ok(name.to_owned())
}

/// Sets the user's display name from what they typed ([`check_display_name`]); an empty one
/// becomes their address's local part. Returns the name as stored.
#[tracing::instrument(name = "accounts.set_display_name", skip_all, fields(user.id = %user_id))]
pub async fn set_display_name(pool: &PgPool, user_id: Uuid, raw: &str) -> Result<String, ProfileError> {
    let name = check_display_name(raw)?;
    db::for_user(pool, user_id, async |conn| {
        let name = if name.is_empty() {
            let email: Option<String> = sqlx::query_scalar("SELECT email::text FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *conn)
                .await?;
            let email = email.ok_or(ProfileError::NotFound)?;
            let local =
                EmailAddress::parse(&email).map_or(email.clone(), |email| email.local_part().to_owned());
            // An address's local part is at most 64 characters and holds no control character.
            check_display_name(&local).unwrap_or_default()
        } else {
            name
        };
        let updated = sqlx::query("UPDATE users SET display_name = $2, updated_at = now() WHERE id = $1")
            .bind(user_id)
            .bind(&name)
            .execute(&mut *conn)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(ProfileError::NotFound);
        }
        tracing::info!("accounts.display_name_changed");
        Ok(name)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_and_loses_bidirectional_controls() {
        assert_eq!(check_display_name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert_eq!(check_display_name("\u{202E}Mallory\u{2066}").unwrap(), "Mallory");
        assert_eq!(check_display_name("   ").unwrap(), "");
        assert_eq!(check_display_name("Zoë 🦀 李").unwrap(), "Zoë 🦀 李");
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        for name in ["Ada\tLovelace", "Ada\nLovelace", "Ada\u{0}", "Ada\u{7f}", "Ada\u{85}x", "Ada\u{2028}x"]
        {
            assert!(
                matches!(check_display_name(name), Err(ProfileError::NameHasControlCharacters)),
                "{name:?} must be refused"
            );
        }
    }

    #[test]
    fn names_are_counted_in_characters_as_people_see_them() {
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}"; // 7 code points
        let combined = "e\u{301}"; // é as e + a combining acute accent
        for one in [family, combined, "\u{1F1EB}\u{1F1F7}"] {
            let name = one.repeat(DISPLAY_NAME_MAX_CHARS);
            assert_eq!(check_display_name(&name).unwrap(), name, "80 of {one:?} are 80 characters");
            assert!(matches!(check_display_name(&format!("{name}{one}")), Err(ProfileError::NameTooLong)));
        }
        // One character may not hold any number of code points (storage is bounded).
        let piled = format!("a{}", "\u{301}".repeat(DISPLAY_NAME_MAX_CODE_POINTS));
        assert!(matches!(check_display_name(&piled), Err(ProfileError::NameTooLong)));
    }

    #[test]
    fn names_are_counted_in_characters_not_bytes() {
        assert_eq!(check_display_name(&"é".repeat(DISPLAY_NAME_MAX_CHARS)).unwrap().chars().count(), 80);
        assert!(matches!(
            check_display_name(&"a".repeat(DISPLAY_NAME_MAX_CHARS + 1)),
            Err(ProfileError::NameTooLong)
        ));
    }
}
