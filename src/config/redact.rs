//! Secrets out of messages: a database or Redis URL may carry a password
//! (`postgres://user:PASSWORD@host/db`), and start-up errors name the URL
//! they failed on. Whatever is printed or logged goes through [`url`] (a
//! URL shown to a reader), [`scrub`] (any text that might quote it) or
//! [`error`] (an error about it).

/// What a password is replaced with.
const HIDDEN: &str = "***";

/// The password of `url` (`scheme://user:password@host…`), if it has one.
fn password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    // The authority ends at the first `/`, `?` or `#`; the user info, at
    // its last `@` (a password may contain `@` only percent-encoded, but
    // be generous with careless URLs).
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// `url` with its password, if any, replaced by `***`.
pub fn url(url: &str) -> String {
    scrub(url, url)
}

/// `text` with every occurrence of `url`'s password replaced by `***`.
pub fn scrub(text: &str, url: &str) -> String {
    match password(url) {
        Some(p) => text.replace(p, HIDDEN),
        None => text.to_owned(),
    }
}

/// `error` (which may quote `url`) as "`doing` `url`: why", with `url`'s
/// password hidden wherever it appears.
pub fn error(doing: &str, url: &str, error: impl Into<anyhow::Error>) -> anyhow::Error {
    let why = scrub(&format!("{:#}", error.into()), url);
    anyhow::anyhow!("{doing} {}: {why}", self::url(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_the_rest_kept() {
        assert_eq!(
            url("postgres://chorus:s3cret@db:5432/chorus?sslmode=require"),
            "postgres://chorus:***@db:5432/chorus?sslmode=require"
        );
        assert_eq!(url("redis://:pw@redis:6379/0"), "redis://:***@redis:6379/0");
        assert_eq!(url("redis://u:p@ss@h"), "redis://u:***@h");
        for plain in [
            "postgres://chorus@db/chorus",
            "sqlite://chorus.db",
            "sqlite::memory:",
            "redis://h:6379",
            "postgres://u:@h/d",
        ] {
            assert_eq!(url(plain), plain);
        }
        assert_eq!(
            scrub("connecting to h failed: pw rejected", "redis://:pw@h"),
            "connecting to h failed: *** rejected"
        );
    }
}
