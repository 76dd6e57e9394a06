//! E-mail addresses as accounts know them: trimmed, lower-cased, and shaped like an address.

use std::fmt;

/// A normalised e-mail address. The only way to get one is [`EmailAddress::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// Longest address SMTP can carry (RFC 5321 path limit less the angle brackets).
const MAX_LENGTH: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Enter a valid email address, like name@example.com.")]
pub struct InvalidEmail;

impl EmailAddress {
    /// Trims and lower-cases `raw` (addresses are case-insensitive in practice, and one person
    /// must not hold two accounts as `Ann@x.com` and `ann@x.com`), then checks its shape: one
    /// `@`, a local part, a dotted domain, no spaces or control characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() || normalised.len() > MAX_LENGTH {
            return Err(InvalidEmail);
        }
        let (local, domain) = normalised.split_once('@').ok_or(InvalidEmail)?;
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !normalised
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c));
        if well_formed { Ok(Self(normalised)) } else { Err(InvalidEmail) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`, used to refuse passwords that merely repeat it.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or(self.0.as_str(), |(local, _)| local)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(EmailAddress::parse("  Ann.Lee@Example.COM \n").unwrap().as_str(), "ann.lee@example.com");
    }

    #[test]
    fn plausible_addresses_are_accepted() {
        for raw in ["a@b.co", "first.last+tag@sub.example.org", "ünïcødé@exämple.de"] {
            assert!(EmailAddress::parse(raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        let too_long = format!("{}@example.com", "a".repeat(250));
        for raw in [
            "",
            "   ",
            "plainaddress",
            "@example.com",
            "ann@",
            "ann@example",
            "ann@@example.com",
            "ann@.example.com",
            "ann@example.com.",
            "ann@exa..mple.com",
            "an n@example.com",
            "ann@example.com\u{0}",
            "<ann@example.com>",
            too_long.as_str(),
        ] {
            assert_eq!(EmailAddress::parse(raw), Err(InvalidEmail), "{raw:?}");
        }
    }
}
