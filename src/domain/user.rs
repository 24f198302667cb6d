//! Users: who posts an event or starts a session, and the name shown for them.

use serde_json::Value;

/// The user posting an event or starting a session.
#[derive(Debug, Clone, PartialEq)]
pub struct UserIdentity {
    /// The token's `sub`.
    pub sub: String,
    /// Display name derived from the token's claims, if any.
    pub display_name: Option<String>,
    /// Picture URL from the token's `picture` claim, if it is a valid one.
    pub picture: Option<String>,
}

/// How a user is shown on the events that leave the server: the display
/// name of join/leave events and every event's `icon`, as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Shown<'a> {
    /// The stored display name (`Anonymous` when none).
    pub name: Option<&'a str>,
    /// The stored picture URL.
    pub picture: Option<&'a str>,
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

/// Longest picture URL kept, in characters (longer ones are ignored).
pub const MAX_PICTURE_CHARS: usize = 2048;

/// The user's picture from the token's OIDC `picture` claim (docs/rules.md,
/// "Sessions and users"): an `https:` URL with a host, at most
/// [`MAX_PICTURE_CHARS`] characters, without spaces or control characters.
/// Anything else (`http:`, `javascript:`, `data:`, too long, not a string)
/// is ignored: the user simply has no new picture.
pub fn picture_from_claims(claims: &serde_json::Map<String, Value>) -> Option<String> {
    let url = claims.get("picture")?.as_str()?;
    valid_picture(url).then(|| url.to_owned())
}

/// Whether `url` may be kept as a picture (see [`picture_from_claims`]).
pub fn valid_picture(url: &str) -> bool {
    let Some(scheme) = url.get(..8) else {
        return false;
    };
    let rest = &url[8..];
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    scheme.eq_ignore_ascii_case("https://")
        && url.chars().count() <= MAX_PICTURE_CHARS
        && !host.is_empty()
        && !host.starts_with('@')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
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

    #[test]
    fn only_https_pictures_of_bounded_length_are_kept() {
        let picture =
            |v: Value| picture_from_claims(&json!({ "picture": v }).as_object().unwrap().clone());
        let good = "https://cdn.example.com/a/b.png?s=64";
        assert_eq!(picture(json!(good)).as_deref(), Some(good));
        assert!(picture(json!("HTTPS://CDN.EXAMPLE.COM/x.png")).is_some());
        let longest = format!("https://e.com/{}", "a".repeat(MAX_PICTURE_CHARS - 14));
        assert_eq!(longest.chars().count(), MAX_PICTURE_CHARS);
        assert!(picture(json!(longest)).is_some());
        for bad in [
            json!("http://cdn.example.com/a.png"),
            json!("javascript:alert(1)"),
            json!("data:image/png;base64,AAAA"),
            json!(format!("https://e.com/{}", "a".repeat(MAX_PICTURE_CHARS))),
            json!("https://"),
            json!("https:///path"),
            json!("https://e.com/a b.png"),
            json!("https://e.com/\u{7}.png"),
            json!(" https://e.com/a.png"),
            json!("https:"),
            json!(""),
            json!(42),
            json!(null),
            json!({"url": good}),
        ] {
            assert_eq!(picture(bad.clone()), None, "{bad}");
        }
        assert_eq!(picture_from_claims(&serde_json::Map::new()), None);
    }
}
