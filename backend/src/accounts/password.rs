//! Passwords: the policy a new password must meet, and argon2id hashing with OWASP's
//! parameters (19 MiB memory, 2 iterations, 1 lane). Hashing runs on the blocking pool, at most
//! as many hashes at once as there are cores.

use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use super::email::EmailAddress;

pub const MIN_LENGTH: usize = 10;
/// Long enough for any passphrase, short enough that hashing cannot be used to burn CPU.
pub const MAX_LENGTH: usize = 256;

/// The most common passwords of at least [`MIN_LENGTH`] characters, from the 30,000 most common
/// passwords in the frequency lists of zxcvbn (MIT licence), lower-cased.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("Use at least {MIN_LENGTH} characters.")]
    TooShort,
    #[error("Use at most {MAX_LENGTH} characters.")]
    TooLong,
    #[error("That password is one of the most common; choose one that is harder to guess.")]
    Common,
    #[error("Your password must not contain your email address.")]
    ContainsEmail,
    #[error("Use more than one distinct character.")]
    Repetitive,
}

/// Checks a new password against the policy. Length counts characters, not bytes.
pub fn check_policy(password: &SecretString, email: &EmailAddress) -> Result<(), WeakPassword> {
    let password = password.expose_secret();
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(WeakPassword::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(WeakPassword::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.lines().any(|common| common == lower) {
        return Err(WeakPassword::Common);
    }
    let local = email.local_part();
    if local.len() >= 4 && lower.contains(local) {
        return Err(WeakPassword::ContainsEmail);
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(WeakPassword::Repetitive);
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
    let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("password hashing failed: the hashing slots are closed")]
    Slot(#[from] tokio::sync::AcquireError),
    #[error("password hashing failed: the hashing task did not finish")]
    Task(#[from] tokio::task::JoinError),
    #[error("password hashing failed")]
    Hash(#[from] argon2::password_hash::Error),
}

/// Hashes running at once: one per core. Each holds 19 MiB while it runs, and a hash beyond the
/// cores would only wait for a CPU while holding its memory. Unbounded, a burst of log-ins started
/// a blocking thread per request, all hashing at once (50 log-ins took an instance from 55 MB to
/// 0.9 GB). Waiting for a slot holds no thread. That the 19 MiB goes back to the system when a
/// hash ends is the global allocator's part (`server/src/main.rs`).
static HASHING_SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    Arc::new(Semaphore::new(std::thread::available_parallelism().map_or(1, NonZeroUsize::get)))
});

/// Runs `work` on the blocking pool once a hashing slot is free. The blocking task holds the slot
/// until it ends, so a request that stops waiting for it lets no extra hash start.
async fn in_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashingError> {
    let slot = Arc::clone(&HASHING_SLOTS).acquire_owned().await?;
    tokio::task::spawn_blocking(move || {
        let result = work();
        drop(slot);
        result
    })
    .await
    .map_err(HashingError::from)
}

/// Hashes a password into a PHC string (algorithm, parameters and salt included).
pub async fn hash(password: SecretString) -> Result<String, HashingError> {
    in_hashing_slot(move || {
        let mut salt_bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt_bytes);
        let salt = SaltString::encode_b64(&salt_bytes)?;
        argon2()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(HashingError::from)
    })
    .await?
}

/// Whether `password` matches `phc`. A malformed stored hash counts as a mismatch (and is logged).
pub async fn verify(password: SecretString, phc: String) -> bool {
    in_hashing_slot(move || match PasswordHash::new(&phc) {
        Ok(parsed) => argon2().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok(),
        Err(error) => {
            tracing::error!(%error, "accounts.stored_hash_malformed");
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when no account matches an e-mail address, so
/// that "no such account" takes as long as "wrong password".
pub async fn decoy_hash() -> String {
    let random = super::tokens::OpaqueToken::generate();
    hash(SecretString::from(random.expose().to_owned())).await.expect("hashing a random password succeeds")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<(), WeakPassword> {
        check_policy(&SecretString::from(password), &EmailAddress::parse("margaret@example.com").unwrap())
    }

    #[test]
    fn a_long_unusual_password_is_accepted() {
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check("ünïcødé-pässwörd"), Ok(()));
    }

    #[test]
    fn short_long_common_repetitive_and_email_passwords_are_refused() {
        assert_eq!(check("short"), Err(WeakPassword::TooShort));
        assert_eq!(check("ääääääääü"), Err(WeakPassword::TooShort), "nine characters, though 18 bytes");
        assert_eq!(check(&"x".repeat(MAX_LENGTH + 1)), Err(WeakPassword::TooLong));
        assert_eq!(check("Password123"), Err(WeakPassword::Common));
        assert_eq!(check("qwertyuiop"), Err(WeakPassword::Common));
        assert_eq!(check("Margaret-rules-2026"), Err(WeakPassword::ContainsEmail));
        assert_eq!(check("zzzzzzzzzzzzzz"), Err(WeakPassword::Repetitive));
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_with_owasp_parameters_and_verifies_only_its_password() {
        let phc = hash(SecretString::from("correct horse battery staple")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(SecretString::from("correct horse battery staple"), phc.clone()).await);
        assert!(!verify(SecretString::from("correct horse battery stapler"), phc).await);
    }

    #[tokio::test]
    async fn a_hash_stored_by_earlier_versions_still_verifies() {
        // argon2id, OWASP parameters, salt "jarvis-fixed-salt", made before hashing was bounded.
        let stored = "$argon2id$v=19$m=19456,t=2,p=1$amFydmlzLWZpeGVkLXNhbHQ$CUQbcCy2LhAw4QnmMsFPQug+q/JQJW0gGk1CwjiT93I";
        assert!(verify(SecretString::from("correct horse battery staple"), stored.into()).await);
        assert!(!verify(SecretString::from("correct horse battery stapler"), stored.into()).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..cores * 4)
            .map(|_| {
                let (running, most) = (Arc::clone(&running), Arc::clone(&most));
                tokio::spawn(in_hashing_slot(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for job in jobs {
            job.await.expect("the job ran").expect("the job had a slot");
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=cores).contains(&most), "{most} at once on {cores} cores");
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_never_verifies() {
        assert!(!verify(SecretString::from("anything"), "not a phc string".into()).await);
    }
}
