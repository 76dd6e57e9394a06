//! Encryption at rest of connector tokens: AES-256-GCM with a random 96-bit nonce per value,
//! stored as nonce ‖ ciphertext (with its tag). The user's id is the associated data, so a
//! ciphertext copied into another user's row does not decrypt.

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore as _;
use uuid::Uuid;

const NONCE_LEN: usize = 12;

/// Encrypts and decrypts connector tokens with the deployment's key.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Arc<Aes256Gcm>,
}

impl TokenCipher {
    /// A cipher with this 256-bit key.
    pub fn new(key: [u8; 32]) -> Self {
        Self { cipher: Arc::new(Aes256Gcm::new(&key.into())) }
    }

    /// A cipher whose key is derived from a secret of at least 32 bytes (SHA-256 of a label and
    /// the secret), so that one configured secret can serve several purposes.
    pub fn derive(secret: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(b"jarvis connector tokens v1\0");
        hasher.update(secret);
        Self::new(hasher.finalize().into())
    }

    /// `plaintext` sealed for `user_id`.
    pub fn encrypt(&self, user_id: Uuid, plaintext: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload { msg: plaintext.as_bytes(), aad: user_id.as_bytes() },
            )
            .unwrap_or_default();
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        stored
    }

    /// What [`TokenCipher::encrypt`] sealed for `user_id`; `None` when it was sealed with another
    /// key or for another user, or was altered.
    pub fn decrypt(&self, user_id: Uuid, stored: &[u8]) -> Option<String> {
        if stored.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: user_id.as_bytes() })
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_only_for_its_user_and_key() {
        let cipher = TokenCipher::derive(b"0123456789abcdef0123456789abcdef");
        let user = Uuid::new_v4();
        let stored = cipher.encrypt(user, "secret-token");
        assert!(!stored.windows(12).any(|w| w == b"secret-token"), "the token is not stored in clear");
        assert_eq!(cipher.decrypt(user, &stored).as_deref(), Some("secret-token"));
        assert_eq!(cipher.decrypt(Uuid::new_v4(), &stored), None, "another user's row");
        let other = TokenCipher::derive(b"another secret of thirty-two bytes!!");
        assert_eq!(other.decrypt(user, &stored), None, "another key");
        let mut altered = stored.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(cipher.decrypt(user, &altered), None, "altered");
        assert_ne!(cipher.encrypt(user, "secret-token"), stored, "a fresh nonce each time");
    }
}
