//! User tokens: JWTs from the identity provider, verified with the
//! configured key (a secret, a PEM key, or the JWKS key their `kid`
//! names), their `exp` and `nbf` checked with a leeway, `iss` and `aud` if
//! configured; and, in dev mode, user tokens minted by the server.

use std::sync::Arc;

use jsonwebtoken::{Header, Validation, decode, decode_header, encode};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::keys::VerifyingKey;
use super::{Auth, AuthError, AuthSettings, HS256, UserKeys, Verified, unix_now};
use crate::domain::user::{UserIdentity, display_name_from_claims, picture_from_claims};

/// Lifetime of dev-mode user tokens, in seconds.
pub const DEV_TOKEN_SECONDS: u64 = 86_400;
/// Default clock skew allowed on user tokens' `exp` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;
/// Largest leeway accepted: a longer one would let expired tokens in.
pub const MAX_LEEWAY_SECONDS: u64 = 60;

/// The claims Chorus reads from a user token; others are kept for names.
#[derive(Debug, Deserialize)]
struct UserClaims {
    sub: String,
    #[allow(dead_code)]
    iat: u64,
    #[allow(dead_code)]
    exp: u64,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// What a user token must be, apart from its algorithm (that of its key):
/// `sub`, `iat` (read as a claim) and `exp` present, `exp` and `nbf` within
/// the leeway, `iss` and `aud` as configured.
pub(super) fn validation(s: &AuthSettings) -> Validation {
    let mut v = Validation::new(HS256);
    v.set_required_spec_claims(&["sub", "exp"]);
    v.validate_nbf = true;
    v.leeway = s.user_leeway_seconds;
    v.validate_aud = s.user_audience.is_some();
    if let Some(iss) = &s.user_issuer {
        v.set_issuer(&[iss]);
        v.required_spec_claims.insert("iss".into());
    }
    if let Some(aud) = &s.user_audience {
        v.set_audience(&[aud]);
        v.required_spec_claims.insert("aud".into());
    }
    v
}

impl Auth {
    /// Verifies a user token, returning who it is. With a JWKS, a token
    /// naming an unknown `kid` may wait for one fetch of the JWKS.
    pub async fn verify_user(&self, token: &str) -> Result<UserIdentity, AuthError> {
        let generation = match &self.user_keys {
            UserKeys::Fixed(_) => 0,
            UserKeys::Jwks(jwks) => jwks.generation(),
        };
        if let Some(user) = self
            .verified_users
            .get(token)
            .and_then(|v| v.get(generation))
        {
            return Ok(user);
        }
        let key = self.user_key_for(token).await?;
        let mut validation = self.user_validation.clone();
        validation.algorithms = vec![key.algorithm];
        let claims = decode::<UserClaims>(token, &key.key, &validation)
            .map_err(|_| AuthError::Invalid)?
            .claims;
        if claims.sub.is_empty() {
            return Err(AuthError::Invalid);
        }
        let user = UserIdentity {
            sub: claims.sub,
            display_name: display_name_from_claims(&claims.rest),
            picture: picture_from_claims(&claims.rest),
        };
        let valid_until = claims.exp.saturating_add(validation.leeway);
        self.verified_users.insert(
            token.to_owned(),
            Verified {
                grants: user.clone(),
                valid_until,
                generation,
            },
        );
        Ok(user)
    }

    /// The key `token` is to be verified with: the fixed one, or the JWKS
    /// key its header's `kid` names.
    async fn user_key_for(&self, token: &str) -> Result<Arc<VerifyingKey>, AuthError> {
        match &self.user_keys {
            UserKeys::Fixed(key) => Ok(key.clone()),
            UserKeys::Jwks(jwks) => {
                let header = decode_header(token).map_err(|_| AuthError::Invalid)?;
                let kid = header.kid.ok_or(AuthError::Invalid)?;
                jwks.key(&kid).await.ok_or(AuthError::Invalid)
            }
        }
    }

    /// Mints a user token (dev mode, HS256 user keys only).
    pub fn mint_dev_user_token(&self, sub: &str, name: &str) -> Option<String> {
        let key = self.dev_user_encoding.as_ref()?;
        let iat = unix_now();
        let mut claims = serde_json::json!({"sub": sub, "iat": iat, "exp": iat + DEV_TOKEN_SECONDS, "name": name});
        let first = |set: &Option<std::collections::HashSet<String>>| {
            set.as_ref().and_then(|s| s.iter().next()).cloned()
        };
        if let Some(iss) = first(&self.user_validation.iss) {
            claims["iss"] = iss.into();
        }
        if let Some(aud) = first(&self.user_validation.aud) {
            claims["aud"] = aud.into();
        }
        encode(&Header::new(HS256), &claims, key).ok()
    }
}
