//! The one error of the app's server functions: [`AppError`]. Its `Display` is always a sentence
//! a user may read, on both sides of the wire; what failed on our side is logged once on the
//! server (with its cause chain) and told in general terms.
//!
//! On the server, every backend error converts into it by its kind (`?` on any
//! [`jarvis_backend::Kinded`] error), and the HTTP status of a failed server function's answer is
//! set here, from the error's kind, in one place ([`AppError::status`]).

use std::fmt;

use leptos::server_fn::{
    Bytes, Decodes, Encodes,
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// What went wrong with a server function, as the user is told it.
///
/// The variants with a `String` carry a sentence written for the user (the backend's `Display` for
/// those kinds is one); the others have a fixed sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum AppError {
    /// Nobody is signed in (or the session ended): sign in again.
    SignedOut,
    /// The thing asked for does not exist for this user (or is not theirs).
    NotFound(String),
    /// The request clashes with the current state (for example a newer version of a document).
    Conflict(String),
    /// The request itself is wrong (a bad name, arguments that do not parse).
    Invalid(String),
    /// A plan, quota or rate limit refuses it now.
    Limit(String),
    /// Signed in, but not allowed.
    Forbidden(String),
    /// Something we depend on failed or is busy; trying again later may work.
    Unavailable,
    /// A bug or an unexpected state on our side (logged on the server).
    Internal,
    /// The server could not be reached, or its answer could not be read (told by the browser).
    Unreachable,
}

impl AppError {
    /// The HTTP status a server function answers with this error: the one mapping from kind to
    /// status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid(_) => 400,
            Self::SignedOut => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::Limit(_) => 429,
            Self::Internal | Self::Unreachable => 500,
            Self::Unavailable => 503,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SignedOut => f.write_str("You are signed out. Sign in again to continue."),
            Self::NotFound(message)
            | Self::Conflict(message)
            | Self::Invalid(message)
            | Self::Limit(message)
            | Self::Forbidden(message) => f.write_str(message),
            Self::Unavailable => f.write_str(
                "This is unavailable right now; nothing was changed. Please try again in a moment.",
            ),
            Self::Internal => f.write_str("Something went wrong on our side; nothing was changed."),
            Self::Unreachable => {
                f.write_str("The server could not be reached. Check your connection and try again.")
            }
        }
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// The failures of the server-function machinery itself. Their text ("error running server
    /// function: …") is never shown: on the server, unreadable arguments are the client's mistake
    /// and anything else ours; in the browser, the server was not reached or not understood.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                Self::Invalid("The request could not be read.".to_owned())
            }
            ServerFnErrorErr::Deserialization(_) if cfg!(feature = "ssr") => {
                Self::Invalid("The request could not be read.".to_owned())
            }
            ServerFnErrorErr::Request(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => Self::Unreachable,
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "app.server_fn_failed");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                Self::Internal
            }
        }
    }

    /// Writes the error as the body of a failed server function's answer, and sets that answer's
    /// status from the error's kind: the only place a server function's status is set. (A server
    /// function called while a page renders writes no answer of its own, so it never marks the
    /// page failed; a plain form post, answered with a redirect, keeps its redirect.)
    fn ser(&self) -> Bytes {
        #[cfg(feature = "ssr")]
        ssr::set_status(self.status());
        <JsonEncoding as Encodes<Self>>::encode(self)
            .unwrap_or_else(|_| Bytes::from_static(br#"{"kind":"internal"}"#))
    }

    fn de(data: Bytes) -> Self {
        <JsonEncoding as Decodes<Self>>::decode(data).unwrap_or(Self::Unreachable)
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    //! The server half: backend errors into [`AppError`], and the answer's status.

    use std::error::Error;

    use jarvis_backend::{ErrorKind, Kinded};
    use leptos::prelude::use_context;

    use super::AppError;

    impl<E: Kinded + Error> From<E> for AppError {
        /// The backend error's sentence for a user's mistake; for a failure on our side, one log
        /// line with the whole cause chain, and a general sentence.
        fn from(error: E) -> Self {
            let message = error.to_string();
            match error.kind() {
                ErrorKind::NotFound => Self::NotFound(message),
                ErrorKind::Conflict => Self::Conflict(message),
                ErrorKind::Invalid => Self::Invalid(message),
                ErrorKind::Limit => Self::Limit(message),
                ErrorKind::Unauthenticated => Self::SignedOut,
                ErrorKind::Forbidden => Self::Forbidden(message),
                ErrorKind::Unavailable => {
                    tracing::error!(error = %cause_chain(&error), "app.server_fn_unavailable");
                    Self::Unavailable
                }
                ErrorKind::Internal => {
                    tracing::error!(error = %cause_chain(&error), "app.server_fn_failed");
                    Self::Internal
                }
            }
        }
    }

    /// The error and each of its sources, outermost first: `a: b: c`.
    pub(super) fn cause_chain(error: &dyn Error) -> String {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        chain
    }

    /// Sets the status of the server function's answer, unless the request is a plain form post
    /// from a page (it is answered with a redirect back to that page, which must stay one).
    pub(super) fn set_status(status: u16) {
        let accepts_html = use_context::<http::request::Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|accept| accept.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"))
        });
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else { return };
        if let (false, Ok(status)) = (accepts_html, http::StatusCode::from_u16(status)) {
            response.set_status(status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_answers_its_own_status() {
        let cases = [
            (AppError::Invalid("x".into()), 400),
            (AppError::SignedOut, 401),
            (AppError::Forbidden("x".into()), 403),
            (AppError::NotFound("x".into()), 404),
            (AppError::Conflict("x".into()), 409),
            (AppError::Limit("x".into()), 429),
            (AppError::Internal, 500),
            (AppError::Unavailable, 503),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error:?}");
        }
    }

    #[test]
    fn signed_out_is_a_variant_with_a_sentence() {
        let error = AppError::SignedOut;
        assert_eq!(error.to_string(), "You are signed out. Sign in again to continue.");
        let wire = String::from_utf8(error.ser().to_vec()).expect("JSON is UTF-8");
        assert_eq!(wire, r#"{"kind":"signed_out"}"#);
        assert_eq!(AppError::de(Bytes::from(wire)), AppError::SignedOut);
    }

    #[test]
    fn errors_cross_the_wire_unchanged() {
        let error = AppError::Conflict("This document changed since you opened it.".into());
        assert_eq!(AppError::de(error.ser()), error);
        assert_eq!(AppError::de(Bytes::from_static(b"<html>bad gateway</html>")), AppError::Unreachable);
    }

    #[test]
    fn the_server_fn_wrapper_text_never_reaches_a_user() {
        let all = [
            ServerFnErrorErr::Registration("lock".into()),
            ServerFnErrorErr::UnsupportedRequestMethod("PATCH".into()),
            ServerFnErrorErr::Request("offline".into()),
            ServerFnErrorErr::ServerError("boom".into()),
            ServerFnErrorErr::MiddlewareError("boom".into()),
            ServerFnErrorErr::Deserialization("eof".into()),
            ServerFnErrorErr::Serialization("eof".into()),
            ServerFnErrorErr::Args("missing field `id`".into()),
            ServerFnErrorErr::MissingArg("id".into()),
            ServerFnErrorErr::Response("boom".into()),
        ];
        for wrapped in all {
            let shown = AppError::from_server_fn_error(wrapped.clone()).to_string();
            for leak in ["error running", "server function", "boom", "eof", "missing", "offline", "lock"] {
                assert!(!shown.contains(leak), "{wrapped:?} shows {shown:?}");
            }
            assert!(shown.ends_with('.'), "{shown:?} is a sentence");
        }
        assert_eq!(
            AppError::from_server_fn_error(ServerFnErrorErr::Args("x".into())).status(),
            400,
            "arguments that do not parse are the client's mistake"
        );
    }

    #[cfg(feature = "ssr")]
    mod backend {
        use jarvis_backend::{ErrorKind, Kinded};

        use super::super::AppError;

        #[derive(Debug)]
        struct Failure(ErrorKind, &'static str, Option<std::io::Error>);

        impl std::fmt::Display for Failure {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.1)
            }
        }

        impl std::error::Error for Failure {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.2.as_ref().map(|e| e as _)
            }
        }

        impl Kinded for Failure {
            fn kind(&self) -> ErrorKind {
                self.0
            }
        }

        #[test]
        fn a_backend_error_converts_by_its_kind() {
            let from = |kind, text| AppError::from(Failure(kind, text, None));
            assert_eq!(
                from(ErrorKind::NotFound, "No document with that id."),
                AppError::NotFound("No document with that id.".into())
            );
            assert_eq!(from(ErrorKind::Conflict, "Taken.").status(), 409);
            assert_eq!(from(ErrorKind::Invalid, "Too long.").to_string(), "Too long.");
            assert_eq!(from(ErrorKind::Unauthenticated, "unauthenticated"), AppError::SignedOut);
            assert_eq!(from(ErrorKind::Forbidden, "Verify first.").status(), 403);
            assert_eq!(from(ErrorKind::Limit, "Quota.").status(), 429);
        }

        #[test]
        fn internal_detail_is_logged_not_shown() {
            let cause = std::io::Error::other("connection refused to 10.0.0.7");
            let error = Failure(ErrorKind::Internal, "query failed: secret detail", Some(cause));
            assert_eq!(
                super::super::ssr::cause_chain(&error),
                "query failed: secret detail: connection refused to 10.0.0.7"
            );
            let shown = AppError::from(error).to_string();
            assert_eq!(shown, "Something went wrong on our side; nothing was changed.");
            let unavailable = AppError::from(Failure(ErrorKind::Unavailable, "pool timed out", None));
            assert_eq!(unavailable.status(), 503);
            assert!(!unavailable.to_string().contains("pool"));
        }
    }
}
