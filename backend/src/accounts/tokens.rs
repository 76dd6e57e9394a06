//! Opaque tokens (refresh tokens, e-mail links): 256 random bits, handed out base64url-encoded,
//! stored only as their SHA-256 so that a leaked table grants nothing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// A freshly generated token. Its `Debug` hides the value.
pub struct OpaqueToken(String);

impl OpaqueToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value to give the user (cookie, link). Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> Vec<u8> {
        hash_token(&self.0)
    }
}

impl std::fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueToken([REDACTED])")
    }
}

/// The stored form of a token the user presents.
pub fn hash_token(presented: &str) -> Vec<u8> {
    Sha256::digest(presented.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_differ_every_time() {
        let a = OpaqueToken::generate();
        let b = OpaqueToken::generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn the_stored_hash_is_sha256_of_the_presented_value() {
        let token = OpaqueToken::generate();
        assert_eq!(token.hash(), hash_token(token.expose()));
        assert_eq!(token.hash().len(), 32);
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
