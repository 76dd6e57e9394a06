//! A user's display preferences kept on the server, so they follow the user to every device:
//! today the colour theme (System, Light or Dark). Read and written under row-level security,
//! like every other row of the user's.

use std::fmt;
use std::str::FromStr;

use sqlx::PgPool;
use uuid::Uuid;

use crate::db;

/// The colour theme a user chose. `System` follows the device's light or dark setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    /// The stored (and wire) name: `system`, `light` or `dark`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }
}

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Theme {
    type Err = PreferenceError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "system" => Ok(Self::System),
            "light" => Ok(Self::Light),
            "dark" => Ok(Self::Dark),
            _ => Err(PreferenceError::UnknownTheme),
        }
    }
}

/// Every way reading or saving a preference can fail.
#[derive(Debug, thiserror::Error)]
pub enum PreferenceError {
    #[error("Choose a theme: System, Light or Dark.")]
    UnknownTheme,
    #[error("Not found.")]
    NotFound,
    #[error("the preferences database failed")]
    Database(#[from] sqlx::Error),
}

impl crate::Kinded for PreferenceError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::UnknownTheme => ErrorKind::Invalid,
            Self::NotFound => ErrorKind::NotFound,
            Self::Database(_) => ErrorKind::Unavailable,
        }
    }
}

/// The theme `user_id` chose (`System` until they choose one).
#[tracing::instrument(name = "preferences.theme", skip(pool), fields(user.id = %user_id))]
pub async fn theme(pool: &PgPool, user_id: Uuid) -> Result<Theme, PreferenceError> {
    let stored: Option<String> = db::for_user(pool, user_id, async |conn| {
        sqlx::query_scalar("SELECT theme FROM users WHERE id = $1").bind(user_id).fetch_optional(conn).await
    })
    .await?;
    // The column's CHECK admits only the three names; anything else would be a bug, read as the
    // default rather than breaking every page.
    Ok(stored.ok_or(PreferenceError::NotFound)?.parse().unwrap_or_default())
}

/// Remembers `theme` as `user_id`'s choice.
#[tracing::instrument(name = "preferences.set_theme", skip(pool), fields(user.id = %user_id, theme = %theme))]
pub async fn set_theme(pool: &PgPool, user_id: Uuid, theme: Theme) -> Result<(), PreferenceError> {
    let updated = db::for_user(pool, user_id, async |conn| {
        sqlx::query("UPDATE users SET theme = $2, updated_at = now() WHERE id = $1")
            .bind(user_id)
            .bind(theme.as_str())
            .execute(conn)
            .await
    })
    .await?;
    if updated.rows_affected() == 0 {
        return Err(PreferenceError::NotFound);
    }
    tracing::info!("preferences.theme_saved");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_theme_parses_back_from_its_name() {
        for theme in [Theme::System, Theme::Light, Theme::Dark] {
            assert_eq!(theme.as_str().parse::<Theme>().unwrap(), theme);
        }
    }

    #[test]
    fn an_unknown_theme_name_is_refused_with_a_sentence() {
        let error = "Dark".parse::<Theme>().unwrap_err();
        assert!(matches!(error, PreferenceError::UnknownTheme));
        assert_eq!(error.to_string(), "Choose a theme: System, Light or Dark.");
    }
}
