//! The backend's error policy: every error type of a module says what kind of failure it is
//! ([`ErrorKind`], through [`Kinded`]) and keeps its cause (`#[source]`), so each edge (the HTTP
//! API, the server functions, the WebSocket) maps a kind to one answer and logs an internal error
//! once, with its cause chain.
//!
//! The rule for `Display`: for every kind but [`ErrorKind::Internal`] and
//! [`ErrorKind::Unavailable`], it is a sentence written for the user and safe to show. For those
//! two it may hold internal detail: the edge logs it and shows its own sentence.
//!
//! [`Error`] is the error of the database layer itself (connecting, migrating, checking the role).

/// What kind of failure an error is; each edge maps it to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The thing asked for does not exist for this user (or is not theirs: the two are not told
    /// apart).
    NotFound,
    /// The request is valid but clashes with the current state (a newer version, a run in
    /// progress, a name taken).
    Conflict,
    /// The request itself is wrong (a bad name, a body too large, an unknown setting).
    Invalid,
    /// A plan, quota or rate limit refuses it now.
    Limit,
    /// The caller is not signed in, or its credentials are wrong.
    Unauthenticated,
    /// Signed in, but not allowed (for example, the address is not verified yet).
    Forbidden,
    /// Something we depend on (the database, a provider, storage) failed or is busy; trying again
    /// later may work.
    Unavailable,
    /// A bug or an unexpected state: logged with its cause, shown as a generic sentence.
    Internal,
}

/// An error that says what kind of failure it is.
pub trait Kinded {
    fn kind(&self) -> ErrorKind;

    /// A stable snake_case code for the wire (the HTTP API's `error` field). By default the
    /// kind's ([`ErrorKind::code`]); an error whose cases a client tells apart names its own.
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

impl ErrorKind {
    /// The kind as a stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Invalid => "invalid",
            Self::Limit => "limit",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the application's database role `{role}` is not bound by row-level security (it is a superuser, has BYPASSRLS or owns the tables); connect DATABASE_APP_URL as the jarvis_app role"
    )]
    RoleBypassesRowSecurity { role: String },
    #[error("database did not answer within {0:?}")]
    DatabaseTimeout(std::time::Duration),
}

impl Kinded for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Database(_) | Self::DatabaseTimeout(_) => ErrorKind::Unavailable,
            Self::Migration(_) | Self::RoleBypassesRowSecurity { .. } => ErrorKind::Internal,
        }
    }
}

/// An error with its causes, `outer: cause: root`, for a log line or a stored note where only
/// text fits.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
