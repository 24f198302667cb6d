//! Users: who posts an event or starts a session, and the name shown for them.

use serde_json::Value;

/// The user posting an event or starting a session.
#[derive(Debug, Clone, PartialEq)]
pub struct UserIdentity {
    /// The token's `sub`.
    pub sub: String,
    /// Display name derived from the token's claims, if any.
    pub display_name: Option<String>,
}

/// Longest display name kept, in characters (longer names are cut).
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// Display name for a user from token claims (docs/api.md, "Auth"): the first present of
/// `given_name`, first word of `name`, `preferred_username`, `nickname`.
pub fn display_name_from_claims(claims: &serde_json::Map<String, Value>) -> Option<String> {
    let get = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    get("given_name")
        .or_else(|| get("name").and_then(|n| n.split_whitespace().next()))
        .or_else(|| get("preferred_username"))
        .or_else(|| get("nickname"))
        .map(|n| n.chars().take(MAX_DISPLAY_NAME_CHARS).collect())
}

/// The name shown when a user has none.
pub const ANONYMOUS: &str = "Anonymous";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn display_names_follow_the_claim_order() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            display_name_from_claims(&claims(json!({"name": "Ada Lovelace", "nickname": "x"})))
                .unwrap(),
            "Ada"
        );
        assert_eq!(
            display_name_from_claims(&claims(json!({"given_name": "Bo", "name": "Ada L"})))
                .unwrap(),
            "Bo"
        );
        assert_eq!(
            display_name_from_claims(&claims(json!({"nickname": "nick"}))).unwrap(),
            "nick"
        );
        assert_eq!(display_name_from_claims(&claims(json!({}))), None);
        let long =
            display_name_from_claims(&claims(json!({"given_name": "x".repeat(500)}))).unwrap();
        assert_eq!(long.chars().count(), MAX_DISPLAY_NAME_CHARS);
    }
}
