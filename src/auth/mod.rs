//! Tokens (docs/api.md, "Auth"; docs/integrate.md, "Identity"): user JWTs
//! from the identity provider (`user`: a shared secret, a PEM key, or the
//! provider's JWKS, `jwks`), prompt JWTs minted at `start_session`
//! (`prompt`), the admin token, and dev-mode user tokens. Keys are checked
//! once, at start-up (`keys`); a JWKS is then kept fresh in the background.

pub mod jwks;
pub mod keys;
mod prompt;
mod user;

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use quick_cache::sync::Cache;

pub use jwks::JwksSettings;
pub use prompt::{PROMPT_AUDIENCE, PROMPT_ISSUER, PROMPT_TOKEN_SECONDS, PromptGrant};
pub use user::{DEFAULT_LEEWAY_SECONDS, DEV_TOKEN_SECONDS, MAX_LEEWAY_SECONDS};

use crate::domain::user::UserIdentity;
use jwks::Jwks;
use keys::VerifyingKey;

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

/// How user tokens are verified: exactly one of the three.
#[derive(Debug, Clone)]
pub enum UserKey {
    /// HS256 with a shared secret.
    Secret(String),
    /// RS256 or ES256 with a PEM public key.
    PublicKeyPem(Vec<u8>),
    /// RS256 or ES256 with the identity provider's JWKS, keys chosen by `kid`.
    Jwks(JwksSettings),
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
    /// Clock skew allowed on user tokens' `exp` and `nbf`, in seconds (at
    /// most [`MAX_LEEWAY_SECONDS`]).
    pub user_leeway_seconds: u64,
    /// Secret for prompt tokens.
    pub prompt_secret: String,
    /// Lifetime of the prompt tokens minted, in seconds (default
    /// [`PROMPT_TOKEN_SECONDS`]).
    pub prompt_token_seconds: u64,
    /// The admin bearer token.
    pub admin_token: String,
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
    /// The user keys' generation it was verified with: once the keys
    /// change (a JWKS rotation), it is verified again.
    generation: u64,
}

impl<T: Clone> Verified<T> {
    fn get(&self, generation: u64) -> Option<T> {
        (self.generation == generation && unix_now() <= self.valid_until)
            .then(|| self.grants.clone())
    }
}

/// Where user-token keys come from.
enum UserKeys {
    /// One key, for the process's life (a secret or a PEM key).
    Fixed(Arc<VerifyingKey>),
    /// The identity provider's JWKS.
    Jwks(Arc<Jwks>),
}

/// Verifies and mints tokens.
pub struct Auth {
    user_keys: UserKeys,
    user_validation: Validation,
    dev_user_encoding: Option<EncodingKey>,
    prompt_encoding: EncodingKey,
    prompt_decoding: DecodingKey,
    prompt_validation: Validation,
    prompt_token_seconds: u64,
    admin_token: String,
    verified_users: Cache<String, Verified<UserIdentity>>,
    verified_prompts: Cache<String, Verified<PromptGrant>>,
}

/// Why the configured keys are unusable.
#[derive(Debug, thiserror::Error)]
#[error("bad user token key: {0}")]
pub struct KeyError(String);

impl Auth {
    /// Builds the keys; a key Chorus cannot verify with is refused here.
    /// A JWKS holds no keys until [`Auth::start`].
    pub fn new(s: AuthSettings) -> Result<Self, KeyError> {
        let (user_keys, dev_user_encoding) = match &s.user_key {
            UserKey::Secret(secret) => (
                UserKeys::Fixed(Arc::new(VerifyingKey::secret(secret.as_bytes()))),
                Some(EncodingKey::from_secret(secret.as_bytes())),
            ),
            UserKey::PublicKeyPem(pem) => (
                UserKeys::Fixed(Arc::new(VerifyingKey::from_pem(pem).map_err(KeyError)?)),
                None,
            ),
            UserKey::Jwks(settings) => (
                UserKeys::Jwks(Arc::new(Jwks::new(settings.clone()).map_err(KeyError)?)),
                None,
            ),
        };
        if s.user_leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(KeyError(format!(
                "the leeway is at most {MAX_LEEWAY_SECONDS} s"
            )));
        }
        Ok(Auth {
            user_keys,
            user_validation: user::validation(&s),
            dev_user_encoding,
            prompt_encoding: EncodingKey::from_secret(s.prompt_secret.as_bytes()),
            prompt_decoding: DecodingKey::from_secret(s.prompt_secret.as_bytes()),
            prompt_validation: prompt::validation(),
            prompt_token_seconds: s.prompt_token_seconds,
            admin_token: s.admin_token,
            verified_users: Cache::new(VERIFIED_TOKENS),
            verified_prompts: Cache::new(VERIFIED_TOKENS),
        })
    }

    /// Loads what must be fetched (a JWKS) and keeps it fresh in the
    /// background; nothing for fixed keys.
    pub async fn start(&self) {
        if let UserKeys::Jwks(jwks) = &self.user_keys {
            jwks.start().await;
        }
    }

    /// Whether `token` is the admin token (compared in constant time).
    pub fn is_admin(&self, token: &str) -> bool {
        let (a, b) = (token.as_bytes(), self.admin_token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

/// The only algorithm prompt tokens and dev user tokens are signed with.
const HS256: Algorithm = Algorithm::HS256;

fn unix_now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[cfg(test)]
mod tests;
