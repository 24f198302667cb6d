//! Prompt tokens: minted by this server at `start_session`, HS256 with the
//! prompt secret, granting one prompt for [`PROMPT_TOKEN_SECONDS`] (or as
//! configured, [`super::AuthSettings::prompt_token_seconds`]). A token
//! minted for a user names them (`usr`), so that the stream can count each
//! user's streams; tokens of the admin route name no user.

use jsonwebtoken::{Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::{Auth, AuthError, HS256, Verified, unix_now};

/// Issuer of prompt tokens.
pub const PROMPT_ISSUER: &str = "chorus";
/// Audience of prompt tokens.
pub const PROMPT_AUDIENCE: &str = "chorus-interactive-prompt";
/// Lifetime of prompt tokens by default, in seconds.
pub const PROMPT_TOKEN_SECONDS: u64 = 1800;

#[derive(Debug, Serialize, Deserialize)]
struct PromptClaims {
    sub: String,
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
    /// A random id: tokens minted in the same second for the same prompt
    /// differ, so that each is rate-limited on its own.
    #[serde(default)]
    jti: String,
    /// The user the token was minted for (`sub` of their user token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usr: Option<String>,
}

/// What a verified prompt token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptGrant {
    /// The prompt it grants.
    pub prompt_uid: String,
    /// The user it was minted for, if any.
    pub user: Option<String>,
    /// Unix second after which it is no longer valid (`exp` plus the leeway).
    pub valid_until: u64,
}

/// What a prompt token must be: ours, for prompts, not expired (5 s leeway:
/// this server's own clock signed it).
pub(super) fn validation() -> Validation {
    let mut v = Validation::new(HS256);
    v.set_required_spec_claims(&["sub", "exp", "iss", "aud"]);
    v.set_issuer(&[PROMPT_ISSUER]);
    v.set_audience(&[PROMPT_AUDIENCE]);
    v.leeway = 5;
    v
}

impl Auth {
    /// How long the prompt tokens minted last, in seconds.
    pub fn prompt_token_seconds(&self) -> u64 {
        self.prompt_token_seconds
    }

    /// Mints a prompt token for `prompt_uid`, naming no user (the admin
    /// route's).
    pub fn mint_prompt_token(&self, prompt_uid: &str) -> String {
        self.mint(prompt_uid, None)
    }

    /// Mints a prompt token for `prompt_uid` held by the user `user_sub`.
    pub fn mint_prompt_token_for(&self, prompt_uid: &str, user_sub: &str) -> String {
        self.mint(prompt_uid, Some(user_sub))
    }

    fn mint(&self, prompt_uid: &str, user: Option<&str>) -> String {
        let iat = unix_now();
        let claims = PromptClaims {
            sub: prompt_uid.to_owned(),
            iss: PROMPT_ISSUER.into(),
            aud: PROMPT_AUDIENCE.into(),
            iat,
            exp: iat + self.prompt_token_seconds,
            usr: user.map(str::to_owned),
            jti: format!("{:032x}", rand::random::<u128>()),
        };
        let token = encode(&Header::new(HS256), &claims, &self.prompt_encoding)
            .expect("HS256 signing cannot fail");
        // Known valid: its first use (the session's first event) need not
        // check the signature just made (one HMAC-SHA256 check per session).
        self.remember_verified(token.clone(), claims);
        token
    }

    /// Remembers `token` as verified, with what its `claims` grant, and
    /// returns the grant.
    fn remember_verified(&self, token: String, claims: PromptClaims) -> PromptGrant {
        let valid_until = claims.exp.saturating_add(self.prompt_validation.leeway);
        let grant = PromptGrant {
            prompt_uid: claims.sub,
            user: claims.usr,
            valid_until,
        };
        self.verified_prompts.insert(
            token,
            Verified {
                grants: grant.clone(),
                valid_until,
                generation: 0,
            },
        );
        grant
    }

    /// Verifies a prompt token, returning the prompt uid it grants.
    pub fn verify_prompt(&self, token: &str) -> Result<String, AuthError> {
        self.verify_prompt_grant(token).map(|g| g.prompt_uid)
    }

    /// Verifies a prompt token, returning all it grants.
    pub fn verify_prompt_grant(&self, token: &str) -> Result<PromptGrant, AuthError> {
        if let Some(grant) = self.verified_prompts.get(token).and_then(|v| v.get(0)) {
            return Ok(grant);
        }
        let claims = decode::<PromptClaims>(token, &self.prompt_decoding, &self.prompt_validation)
            .map_err(|_| AuthError::Invalid)?
            .claims;
        Ok(self.remember_verified(token.to_owned(), claims))
    }

    /// Verifies a prompt token for exactly `prompt_uid`.
    pub fn verify_prompt_for(&self, token: &str, prompt_uid: &str) -> Result<(), AuthError> {
        self.verify_prompt_grant_for(token, prompt_uid).map(drop)
    }

    /// Verifies a prompt token for exactly `prompt_uid`, returning all it grants.
    pub fn verify_prompt_grant_for(
        &self,
        token: &str,
        prompt_uid: &str,
    ) -> Result<PromptGrant, AuthError> {
        let grant = self.verify_prompt_grant(token)?;
        if grant.prompt_uid == prompt_uid {
            Ok(grant)
        } else {
            Err(AuthError::Invalid)
        }
    }
}
