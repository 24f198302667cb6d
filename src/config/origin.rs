//! Web origins allowed to embed the participant page (`embed_origins`,
//! docs/operations.md and docs/integrate.md): each is checked and written
//! the way a browser writes `MessageEvent.origin`, so the page can compare
//! origins as text and the server can put them in a
//! `Content-Security-Policy` header as they are.

use serde::Deserialize;

/// Longest origin accepted (a DNS name is at most 253 characters).
const MAX_LEN: usize = 300;

/// `text` as a browser serializes an origin — `scheme://host[:port]`,
/// lower case, the scheme's default port left out — or why it is not an
/// `http(s)` origin. A trailing `/` is dropped; a path, query, fragment,
/// user name, wildcard or non-ASCII host (write it in punycode) is refused.
pub fn parse(text: &str) -> Result<String, String> {
    let refuse = |why: &str| {
        Err(format!(
            "expected an origin such as https://app.example.com (scheme, host and port only): \
             {why}, got {text:?}"
        ))
    };
    let trimmed = text.trim();
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.len() > MAX_LEN {
        return refuse("too long");
    }
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return refuse("no scheme");
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return refuse("the scheme must be http or https"),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (rest, None),
    };
    let host = host.to_ascii_lowercase();
    if !valid_host(&host) {
        return refuse("not a host name or IP address (no path, wildcard or user name)");
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => {
                (p.trim_start_matches('0') != default_port).then(|| n.to_string())
            }
            _ => return refuse("the port must be a number from 1 to 65535"),
        },
    };
    Ok(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// A DNS name (labels of letters, digits and `-`) or a bracketed IPv6
/// address; IPv4 addresses are DNS-shaped.
fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A list of origins in a variable: separated by commas or white space.
pub fn parse_list(text: &str) -> Result<Vec<String>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(parse)
        .collect()
}

/// The file's `embed_origins = ["https://…", …]`, each checked.
pub fn deserialize<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|text| parse(text))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_written_as_browsers_write_them() {
        for (given, origin) in [
            ("https://app.example.com", "https://app.example.com"),
            ("HTTPS://App.Example.COM/", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            ("http://localhost:80", "http://localhost"),
            ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
            ("https://x.example:8443", "https://x.example:8443"),
            ("http://[::1]:3000", "http://[::1]:3000"),
            (
                "  https://xn--bcher-kva.example ",
                "https://xn--bcher-kva.example",
            ),
        ] {
            assert_eq!(parse(given).as_deref(), Ok(origin), "{given}");
        }
    }

    #[test]
    fn anything_else_is_refused_saying_why() {
        for bad in [
            "",
            "app.example.com",
            "ftp://app.example.com",
            "javascript://x",
            "https://app.example.com/path",
            "https://app.example.com?x=1",
            "https://app.example.com#x",
            "https://user@app.example.com",
            "https://*.example.com",
            "https://app.example.com:0",
            "https://app.example.com:65536",
            "https://app.example.com:+80",
            "https://app.example.com:",
            "https://app..example.com",
            "https://-app.example.com",
            "https://bücher.example",
            "https://a.example.com 'unsafe-inline'",
            "https://a.example.com;script-src",
            "http://[::1",
            "'self'",
            "*",
            "null",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.starts_with("expected an origin"), "{bad:?}: {e}");
        }
        assert!(parse(&format!("https://{}.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn a_variable_lists_origins_separated_by_commas_or_spaces() {
        assert_eq!(
            parse_list("https://a.example, https://b.example:8443  http://localhost:3000,"),
            Ok(vec![
                "https://a.example".to_owned(),
                "https://b.example:8443".to_owned(),
                "http://localhost:3000".to_owned(),
            ])
        );
        assert_eq!(parse_list(" , "), Ok(vec![]));
        assert!(parse_list("https://a.example, https://b.example/x").is_err());
    }
}
