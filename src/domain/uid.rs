//! Opaque identifiers: `<prefix>_<22 URL-safe base64 chars of 16 random bytes>`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Uid prefix of interactive prompts.
pub const PROMPT: &str = "ip";
/// Uid prefix of interactive prompt sessions.
pub const SESSION: &str = "ips";
/// Uid prefix of interactive prompt events.
pub const EVENT: &str = "ipe";

/// Generates a fresh random uid with the given prefix.
pub fn generate(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::random();
    let mut out = String::with_capacity(prefix.len() + 23);
    out.push_str(prefix);
    out.push('_');
    URL_SAFE_NO_PAD.encode_string(bytes, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_have_prefix_and_22_url_safe_chars() {
        let uid = generate(EVENT);
        let (prefix, rest) = uid.split_once('_').unwrap();
        assert_eq!(prefix, "ipe");
        assert_eq!(rest.len(), 22);
        assert!(
            rest.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(generate(EVENT), uid);
    }
}
