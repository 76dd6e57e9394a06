//! Access tokens: short-lived HS256 JWTs naming the user (`sub`) and the session (`sid`) they
//! belong to, with `exp`, `iat`, a unique `jti` and our audience. Only HS256 is accepted, so a
//! token claiming `alg: none` or any other algorithm is refused before its claims are read.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `aud` every access token carries and every verification demands.
pub const AUDIENCE: &str = "jarvis";

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub sid: Uuid,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid access token: {0}")]
pub struct InvalidToken(String);

/// Issues and verifies access tokens with one secret.
#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens").field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

impl AccessTokens {
    pub fn new(secret: &SecretString, lifetime: Duration) -> Self {
        let key = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "aud"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            lifetime,
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    pub fn issue(&self, user_id: Uuid, session_id: Uuid) -> String {
        self.issue_at(user_id, session_id, Utc::now())
    }

    /// Issues a token as if it were `now` (tests use this to make expired tokens).
    pub fn issue_at(&self, user_id: Uuid, session_id: Uuid, now: DateTime<Utc>) -> String {
        let iat = now.timestamp();
        let claims = Claims {
            sub: user_id,
            sid: session_id,
            aud: AUDIENCE.to_owned(),
            iat,
            exp: iat + i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2),
            jti: Uuid::new_v4(),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims with our key (tests use this to forge wrong-audience tokens).
    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks signature, algorithm, audience and expiry; returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, InvalidToken> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| InvalidToken(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn tokens() -> AccessTokens {
        AccessTokens::new(
            &SecretString::from("a-test-secret-of-at-least-32-bytes!!"),
            Duration::from_secs(900),
        )
    }

    #[test]
    fn a_fresh_token_verifies_and_names_user_and_session() {
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let claims = tokens().verify(&tokens().issue(user, session)).unwrap();
        assert_eq!((claims.sub, claims.sid, claims.aud.as_str()), (user, session, AUDIENCE));
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn an_expired_token_is_refused() {
        let issued =
            tokens().issue_at(Uuid::new_v4(), Uuid::new_v4(), Utc::now() - chrono::Duration::minutes(16));
        assert!(tokens().verify(&issued).is_err());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = AccessTokens::new(
            &SecretString::from("another-secret-another-secret-!!"),
            Duration::from_secs(900),
        );
        assert!(tokens().verify(&other.issue(Uuid::new_v4(), Uuid::new_v4())).is_err());
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let token = tokens().issue(Uuid::new_v4(), Uuid::new_v4());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["sub"] = serde_json::json!(Uuid::new_v4());
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        assert!(tokens().verify(&parts.join(".")).is_err());
    }

    #[test]
    fn an_unsigned_alg_none_token_is_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let now = Utc::now().timestamp();
        let claims = serde_json::json!({
            "sub": Uuid::new_v4(), "sid": Uuid::new_v4(), "aud": AUDIENCE,
            "iat": now, "exp": now + 900, "jti": Uuid::new_v4(),
        });
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        for token in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
            assert!(tokens().verify(&token).is_err(), "{token}");
        }
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: Uuid::new_v4(),
            sid: Uuid::new_v4(),
            aud: "someone-else".into(),
            iat: now,
            exp: now + 900,
            jti: Uuid::new_v4(),
        };
        assert!(tokens().verify(&tokens().sign(&claims)).is_err());
    }
}
