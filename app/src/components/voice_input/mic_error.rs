//! Why the microphone could not be used, from the name of the browser's `DOMException`, and the
//! sentence the user reads for each reason.

/// Why recording could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicError {
    /// The user (or the browser's policy) refused the microphone.
    Denied,
    /// There is no microphone.
    NotFound,
    /// The microphone exists but could not be started (another app holds it).
    Busy,
    /// The browser cannot record here (no `getUserMedia`/`MediaRecorder`, or an insecure page).
    Unsupported,
}

impl MicError {
    /// The reason for a `getUserMedia` rejection named `name` (the `DOMException`'s name).
    pub fn from_name(name: &str) -> Self {
        match name {
            "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => Self::Denied,
            "NotFoundError" | "OverconstrainedError" | "DevicesNotFoundError" => Self::NotFound,
            "TypeError" | "NotSupportedError" => Self::Unsupported,
            _ => Self::Busy,
        }
    }

    /// What the user reads.
    pub fn sentence(self) -> &'static str {
        match self {
            Self::Denied => {
                "Jarvis may not use your microphone. Allow it in your browser's site settings (the icon beside the address), then try again."
            }
            Self::NotFound => "No microphone was found. Connect one, then try again.",
            Self::Busy => {
                "The microphone could not be started; another app may be using it. Close that app, then try again."
            }
            Self::Unsupported => {
                "This browser cannot record audio here. Use a current browser on a secure (https) page."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_permission_and_a_missing_microphone_read_differently() {
        assert_eq!(MicError::from_name("NotAllowedError"), MicError::Denied);
        assert_eq!(MicError::from_name("NotFoundError"), MicError::NotFound);
        assert_eq!(MicError::from_name("NotReadableError"), MicError::Busy);
        assert_eq!(MicError::from_name("TypeError"), MicError::Unsupported);
        assert!(MicError::Denied.sentence().contains("may not use your microphone"));
        assert!(MicError::NotFound.sentence().starts_with("No microphone was found"));
        assert_ne!(MicError::Busy.sentence(), MicError::Unsupported.sentence());
    }
}
