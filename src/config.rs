//! Resolving the command line into a checked configuration.

use crate::auth::{AuthSettings, UserKey};
use crate::cli::ServeArgs;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A secret is missing outside dev mode.
    #[error("{0} is not set (set it, or run with --dev to generate one)")]
    Missing(&'static str),
    /// Both a user secret and a public key were given.
    #[error("set either CHORUS_USER_JWT_SECRET or CHORUS_USER_JWT_PUBLIC_KEY, not both")]
    BothUserKeys,
    /// The public key file cannot be read.
    #[error("cannot read {path}: {error}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
}

/// Generated secrets are this many random bytes, base64url-encoded.
fn random_secret() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The auth settings for `args`; in dev mode missing secrets are generated.
pub fn auth_settings(args: &ServeArgs) -> Result<AuthSettings, ConfigError> {
    let or_generate = |v: &Option<String>, name: &'static str| match v {
        Some(v) if !v.is_empty() => Ok(v.clone()),
        _ if args.dev => Ok(random_secret()),
        _ => Err(ConfigError::Missing(name)),
    };
    let user_key =
        match (&args.user_jwt_secret, &args.user_jwt_public_key) {
            (Some(_), Some(_)) => return Err(ConfigError::BothUserKeys),
            (None, Some(path)) => UserKey::PublicKeyPem(std::fs::read(path).map_err(|error| {
                ConfigError::Unreadable {
                    path: path.display().to_string(),
                    error,
                }
            })?),
            (secret, None) => UserKey::Secret(or_generate(secret, "CHORUS_USER_JWT_SECRET")?),
        };
    Ok(AuthSettings {
        user_key,
        user_issuer: args.user_jwt_issuer.clone(),
        user_audience: args.user_jwt_audience.clone(),
        prompt_secret: or_generate(&args.prompt_jwt_secret, "CHORUS_PROMPT_JWT_SECRET")?,
        admin_token: or_generate(&args.admin_token, "CHORUS_ADMIN_TOKEN")?,
    })
}

/// A positive number from the environment variable `name`, else `default`
/// (for engine tuning knobs without a command-line flag).
pub fn positive_env<T: std::str::FromStr + PartialOrd + Default>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > T::default())
        .unwrap_or(default)
}
