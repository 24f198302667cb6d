//! Tokens (docs/api.md, "Auth"): user JWTs from the identity provider, prompt JWTs
//! minted at `start_session`, the admin token, and dev-mode user tokens.
//! Keys are built once, at start-up.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::user::{UserIdentity, display_name_from_claims};

/// Issuer of prompt tokens.
pub const PROMPT_ISSUER: &str = "chorus";
/// Audience of prompt tokens.
pub const PROMPT_AUDIENCE: &str = "chorus-interactive-prompt";
/// Lifetime of prompt tokens, in seconds.
pub const PROMPT_TOKEN_SECONDS: u64 = 1800;
/// Lifetime of dev-mode user tokens, in seconds.
pub const DEV_TOKEN_SECONDS: u64 = 86_400;

/// Why a request was not authorized (docs/api.md, "Auth").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// 401: no `Authorization` header.
    #[error("authorization header not set")]
    NotSet,
    /// 401: not `bearer <token>`.
    #[error("authorization header should be `bearer <token>`")]
    BadFormat,
    /// 403: bad, expired or mismatched token.
    #[error("token is invalid, expired or for another resource")]
    Invalid,
}

/// How user tokens are verified.
#[derive(Debug, Clone)]
pub enum UserKey {
    /// HS256 with a shared secret.
    Secret(String),
    /// RS256 or ES256 with a PEM public key.
    PublicKeyPem(Vec<u8>),
}

/// Settings the keys are built from.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// User token verification key.
    pub user_key: UserKey,
    /// Required `iss` of user tokens, if any.
    pub user_issuer: Option<String>,
    /// Required `aud` of user tokens, if any.
    pub user_audience: Option<String>,
    /// Secret for prompt tokens.
    pub prompt_secret: String,
    /// The admin bearer token.
    pub admin_token: String,
}

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

#[derive(Debug, Serialize, Deserialize)]
struct PromptClaims {
    sub: String,
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
}

/// Tokens remembered as verified, per kind. A client sends the same two
/// tokens with every event of a session, so each is checked (signature,
/// claims) once and then found here by its exact text; the expiry is still
/// checked on every use.
const VERIFIED_TOKENS: usize = 16_384;

/// A token that passed verification, with what it grants.
#[derive(Clone)]
struct Verified<T> {
    grants: T,
    /// `exp` plus the validation's leeway (Unix seconds).
    valid_until: u64,
}

impl<T: Clone> Verified<T> {
    fn get(&self) -> Option<T> {
        (unix_now() <= self.valid_until).then(|| self.grants.clone())
    }
}

/// Verifies and mints tokens.
pub struct Auth {
    user_decoding: DecodingKey,
    user_validation: Validation,
    dev_user_encoding: Option<EncodingKey>,
    prompt_encoding: EncodingKey,
    prompt_decoding: DecodingKey,
    prompt_validation: Validation,
    admin_token: String,
    verified_users: Cache<String, Verified<UserIdentity>>,
    verified_prompts: Cache<String, Verified<String>>,
}

/// Why the configured keys are unusable.
#[derive(Debug, thiserror::Error)]
#[error("bad user JWT public key: {0}")]
pub struct KeyError(String);

impl Auth {
    /// Builds the keys.
    pub fn new(s: AuthSettings) -> Result<Self, KeyError> {
        let (user_decoding, algorithm, dev_user_encoding) = match &s.user_key {
            UserKey::Secret(secret) => (
                DecodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
                Some(EncodingKey::from_secret(secret.as_bytes())),
            ),
            UserKey::PublicKeyPem(pem) => match DecodingKey::from_rsa_pem(pem) {
                Ok(k) => (k, Algorithm::RS256, None),
                Err(_) => (
                    DecodingKey::from_ec_pem(pem).map_err(|e| KeyError(e.to_string()))?,
                    Algorithm::ES256,
                    None,
                ),
            },
        };
        let mut user_validation = Validation::new(algorithm);
        user_validation.set_required_spec_claims(&["sub", "exp"]);
        user_validation.validate_aud = s.user_audience.is_some();
        if let Some(iss) = &s.user_issuer {
            user_validation.set_issuer(&[iss]);
            user_validation.required_spec_claims.insert("iss".into());
        }
        if let Some(aud) = &s.user_audience {
            user_validation.set_audience(&[aud]);
            user_validation.required_spec_claims.insert("aud".into());
        }
        let mut prompt_validation = Validation::new(Algorithm::HS256);
        prompt_validation.set_required_spec_claims(&["sub", "exp", "iss", "aud"]);
        prompt_validation.set_issuer(&[PROMPT_ISSUER]);
        prompt_validation.set_audience(&[PROMPT_AUDIENCE]);
        prompt_validation.leeway = 5;
        Ok(Auth {
            user_decoding,
            user_validation,
            dev_user_encoding,
            prompt_encoding: EncodingKey::from_secret(s.prompt_secret.as_bytes()),
            prompt_decoding: DecodingKey::from_secret(s.prompt_secret.as_bytes()),
            prompt_validation,
            admin_token: s.admin_token,
            verified_users: Cache::new(VERIFIED_TOKENS),
            verified_prompts: Cache::new(VERIFIED_TOKENS),
        })
    }

    /// Verifies a user token, returning who it is.
    pub fn verify_user(&self, token: &str) -> Result<UserIdentity, AuthError> {
        if let Some(user) = self.verified_users.get(token).and_then(|v| v.get()) {
            return Ok(user);
        }
        let data = decode::<UserClaims>(token, &self.user_decoding, &self.user_validation)
            .map_err(|_| AuthError::Invalid)?;
        let claims = data.claims;
        if claims.sub.is_empty() {
            return Err(AuthError::Invalid);
        }
        let user = UserIdentity {
            sub: claims.sub,
            display_name: display_name_from_claims(&claims.rest),
        };
        let valid_until = claims.exp.saturating_add(self.user_validation.leeway);
        self.verified_users.insert(
            token.to_owned(),
            Verified {
                grants: user.clone(),
                valid_until,
            },
        );
        Ok(user)
    }

    /// Mints a prompt token for `prompt_uid`.
    pub fn mint_prompt_token(&self, prompt_uid: &str) -> String {
        let iat = unix_now();
        let claims = PromptClaims {
            sub: prompt_uid.to_owned(),
            iss: PROMPT_ISSUER.into(),
            aud: PROMPT_AUDIENCE.into(),
            iat,
            exp: iat + PROMPT_TOKEN_SECONDS,
        };
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.prompt_encoding,
        )
        .expect("HS256 signing cannot fail")
    }

    /// Verifies a prompt token, returning the prompt uid it grants.
    pub fn verify_prompt(&self, token: &str) -> Result<String, AuthError> {
        if let Some(uid) = self.verified_prompts.get(token).and_then(|v| v.get()) {
            return Ok(uid);
        }
        let claims = decode::<PromptClaims>(token, &self.prompt_decoding, &self.prompt_validation)
            .map_err(|_| AuthError::Invalid)?
            .claims;
        let valid_until = claims.exp.saturating_add(self.prompt_validation.leeway);
        self.verified_prompts.insert(
            token.to_owned(),
            Verified {
                grants: claims.sub.clone(),
                valid_until,
            },
        );
        Ok(claims.sub)
    }

    /// Verifies a prompt token for exactly `prompt_uid`.
    pub fn verify_prompt_for(&self, token: &str, prompt_uid: &str) -> Result<(), AuthError> {
        if self.verify_prompt(token)? == prompt_uid {
            Ok(())
        } else {
            Err(AuthError::Invalid)
        }
    }

    /// Whether `token` is the admin token (compared in constant time).
    pub fn is_admin(&self, token: &str) -> bool {
        let (a, b) = (token.as_bytes(), self.admin_token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Mints a user token (dev mode, HS256 user keys only).
    pub fn mint_dev_user_token(&self, sub: &str, name: &str) -> Option<String> {
        let key = self.dev_user_encoding.as_ref()?;
        let iat = unix_now();
        let mut claims = serde_json::json!({"sub": sub, "iat": iat, "exp": iat + DEV_TOKEN_SECONDS, "name": name});
        if let Some(iss) = self
            .user_validation
            .iss
            .as_ref()
            .and_then(|s| s.iter().next())
        {
            claims["iss"] = iss.clone().into();
        }
        if let Some(aud) = self
            .user_validation
            .aud
            .as_ref()
            .and_then(|s| s.iter().next())
        {
            claims["aud"] = aud.clone().into();
        }
        encode(&Header::new(Algorithm::HS256), &claims, key).ok()
    }
}

/// Extracts the token from an `Authorization` header value (`bearer <token>`,
/// scheme case-insensitive).
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let header = header.ok_or(AuthError::NotSet)?;
    let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::BadFormat)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::BadFormat);
    }
    Ok(token)
}

fn unix_now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth::new(AuthSettings {
            user_key: UserKey::Secret("user-secret".into()),
            user_issuer: None,
            user_audience: None,
            prompt_secret: "prompt-secret".into(),
            admin_token: "admin".into(),
        })
        .unwrap()
    }

    #[test]
    fn bearer_headers_are_parsed_case_insensitively() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bEaReR abc")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(AuthError::NotSet));
        assert_eq!(bearer_token(Some("abc")), Err(AuthError::BadFormat));
        assert_eq!(bearer_token(Some("basic abc")), Err(AuthError::BadFormat));
    }

    #[test]
    fn prompt_tokens_grant_exactly_their_prompt() {
        let a = auth();
        let t = a.mint_prompt_token("ip_1");
        assert_eq!(a.verify_prompt(&t), Ok("ip_1".into()));
        assert_eq!(a.verify_prompt_for(&t, "ip_2"), Err(AuthError::Invalid));
        assert_eq!(a.verify_prompt("garbage"), Err(AuthError::Invalid));
        // A user token is not a prompt token.
        let u = a.mint_dev_user_token("u1", "Ann Lee").unwrap();
        assert_eq!(a.verify_prompt(&u), Err(AuthError::Invalid));
        let who = a.verify_user(&u).unwrap();
        assert_eq!(
            (who.sub.as_str(), who.display_name.as_deref()),
            ("u1", Some("Ann"))
        );
    }

    #[test]
    fn remembered_tokens_still_expire() {
        let mut a = auth();
        a.user_validation.leeway = 0;
        let exp = unix_now() + 1;
        let token = encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "u1", "iat": exp - 1, "exp": exp}),
            &EncodingKey::from_secret(b"user-secret"),
        )
        .unwrap();
        assert_eq!(a.verify_user(&token).unwrap().sub, "u1");
        assert_eq!(
            a.verify_user(&token).unwrap().sub,
            "u1",
            "served from the cache"
        );
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert_eq!(a.verify_user(&token), Err(AuthError::Invalid));
        // A token is remembered only by its exact text.
        let t = a.mint_prompt_token("ip_1");
        assert_eq!(a.verify_prompt(&t), Ok("ip_1".into()));
        let mut forged = t.clone();
        forged.push('x');
        assert_eq!(a.verify_prompt(&forged), Err(AuthError::Invalid));
    }

    #[test]
    fn admin_tokens_compare_exactly() {
        let a = auth();
        assert!(a.is_admin("admin"));
        assert!(!a.is_admin("admin2"));
        assert!(!a.is_admin(""));
    }
}
