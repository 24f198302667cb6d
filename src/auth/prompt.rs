//! Prompt tokens: minted by this server at `start_session`, HS256 with the
//! prompt secret, granting one prompt for [`PROMPT_TOKEN_SECONDS`].

use jsonwebtoken::{Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::{Auth, AuthError, HS256, Verified, unix_now};

/// Issuer of prompt tokens.
pub const PROMPT_ISSUER: &str = "chorus";
/// Audience of prompt tokens.
pub const PROMPT_AUDIENCE: &str = "chorus-interactive-prompt";
/// Lifetime of prompt tokens, in seconds.
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
    /// Mints a prompt token for `prompt_uid`.
    pub fn mint_prompt_token(&self, prompt_uid: &str) -> String {
        let iat = unix_now();
        let claims = PromptClaims {
            sub: prompt_uid.to_owned(),
            iss: PROMPT_ISSUER.into(),
            aud: PROMPT_AUDIENCE.into(),
            iat,
            exp: iat + PROMPT_TOKEN_SECONDS,
            jti: format!("{:032x}", rand::random::<u128>()),
        };
        encode(&Header::new(HS256), &claims, &self.prompt_encoding)
            .expect("HS256 signing cannot fail")
    }

    /// Verifies a prompt token, returning the prompt uid it grants.
    pub fn verify_prompt(&self, token: &str) -> Result<String, AuthError> {
        if let Some(uid) = self.verified_prompts.get(token).and_then(|v| v.get(0)) {
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
                generation: 0,
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
}
