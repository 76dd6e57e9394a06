//! The `Stripe-Signature` check, done by us on the raw body before anything parses it.
//!
//! Stripe signs `"{t}.{body}"` with HMAC-SHA256 keyed by the endpoint's secret and sends
//! `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` (several `v1` while a secret is being rolled, and
//! possibly other schemes such as `v0`, which are ignored). An event is accepted when any `v1`
//! matches any of our secrets (compared in constant time) and `t` is within the tolerance of now.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stripe's default tolerance: five minutes either way.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("no v1 signature matches")]
    Mismatch,
    #[error("the signature's timestamp is {age_secs} s away from now, beyond the tolerance")]
    Stale { age_secs: i64 },
}

impl crate::Kinded for SignatureError {
    fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::Invalid
    }
}

/// Checks `header` against `body` for any of `secrets` at time `now` (unix seconds).
pub fn verify(header: Option<&str>, body: &[u8], secrets: &[String], now: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for pair in header.split(',') {
        let Some((key, value)) = pair.trim().split_once('=') else { continue };
        match key {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    candidates.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut matched = false;
    for secret in secrets {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        for candidate in &candidates {
            // `verify_slice` compares in constant time; keep checking every candidate either way.
            matched |= mac.clone().verify_slice(candidate).is_ok();
        }
    }
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age_secs = now - timestamp;
    if age_secs.abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale { age_secs });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    const BODY: &str = r#"{"id":"evt_1","object":"event"}"#;
    const NOW: i64 = 1_790_000_000;

    fn secrets(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_valid_signature_is_accepted() {
        let header = format!("t={NOW},v1={}", sign("whsec_a", NOW, BODY));
        assert_eq!(verify(Some(&header), BODY.as_bytes(), &secrets(&["whsec_a"]), NOW + 10), Ok(()));
    }

    #[test]
    fn a_known_vector_matches() {
        // HMAC-SHA256 keyed "whsec_test" over "1700000000.{}", computed independently with
        // Python's hmac module.
        let header = "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91";
        assert_eq!(verify(Some(header), b"{}", &secrets(&["whsec_test"]), 1_700_000_000), Ok(()));
        assert_eq!(
            verify(Some(header), b"{ }", &secrets(&["whsec_test"]), 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_tampered_body_or_wrong_secret_is_refused() {
        let header = format!("t={NOW},v1={}", sign("whsec_a", NOW, BODY));
        let tampered = BODY.replace("evt_1", "evt_2");
        assert_eq!(
            verify(Some(&header), tampered.as_bytes(), &secrets(&["whsec_a"]), NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&header), BODY.as_bytes(), &secrets(&["whsec_b"]), NOW),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed too: moving it breaks the signature.
        let moved = header.replacen(&format!("t={NOW}"), &format!("t={}", NOW + 1), 1);
        assert_eq!(
            verify(Some(&moved), BODY.as_bytes(), &secrets(&["whsec_a"]), NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_stale_or_future_timestamp_is_refused_beyond_five_minutes() {
        let old = NOW - 301;
        let header = format!("t={old},v1={}", sign("whsec_a", old, BODY));
        assert_eq!(
            verify(Some(&header), BODY.as_bytes(), &secrets(&["whsec_a"]), NOW),
            Err(SignatureError::Stale { age_secs: 301 })
        );
        let edge = NOW - 300;
        let header = format!("t={edge},v1={}", sign("whsec_a", edge, BODY));
        assert_eq!(verify(Some(&header), BODY.as_bytes(), &secrets(&["whsec_a"]), NOW), Ok(()));
        let future = NOW + 301;
        let header = format!("t={future},v1={}", sign("whsec_a", future, BODY));
        assert!(matches!(
            verify(Some(&header), BODY.as_bytes(), &secrets(&["whsec_a"]), NOW),
            Err(SignatureError::Stale { .. })
        ));
    }

    #[test]
    fn any_of_several_v1_values_may_match_during_a_secret_rotation() {
        let old = sign("whsec_old", NOW, BODY);
        let new = sign("whsec_new", NOW, BODY);
        // Stripe sends one v1 per active secret; the matching one may come first or last.
        for header in [format!("t={NOW},v1={old},v1={new}"), format!("t={NOW},v1={new},v1={old}")] {
            assert_eq!(verify(Some(&header), BODY.as_bytes(), &secrets(&["whsec_new"]), NOW), Ok(()));
            assert_eq!(verify(Some(&header), BODY.as_bytes(), &secrets(&["whsec_old"]), NOW), Ok(()));
        }
        // Unknown schemes and a garbage v1 beside a good one are ignored.
        let header = format!("t={NOW},v0=abc,v1=zz-not-hex,v1={new}");
        assert_eq!(verify(Some(&header), BODY.as_bytes(), &secrets(&["whsec_new"]), NOW), Ok(()));
        // Our side may hold several secrets too.
        let header = format!("t={NOW},v1={new}");
        assert_eq!(verify(Some(&header), BODY.as_bytes(), &secrets(&["whsec_x", "whsec_new"]), NOW), Ok(()));
    }

    #[test]
    fn a_missing_or_malformed_header_is_refused() {
        assert_eq!(verify(None, BODY.as_bytes(), &secrets(&["s"]), NOW), Err(SignatureError::Missing));
        assert_eq!(
            verify(Some("v1=abcd"), BODY.as_bytes(), &secrets(&["s"]), NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some(&format!("t={NOW}")), BODY.as_bytes(), &secrets(&["s"]), NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("garbage"), BODY.as_bytes(), &secrets(&["s"]), NOW),
            Err(SignatureError::Malformed)
        );
    }
}
