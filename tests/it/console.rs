//! The admin console (docs/console.md) is served by a production server —
//! not in dev mode — with a strict Content Security Policy, and every file
//! it loads is served beside it.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};

use crate::support::*;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The directives of a policy, by name.
fn directive<'a>(policy: &'a str, name: &str) -> Vec<&'a str> {
    policy
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
        .unwrap_or_else(|| panic!("no {name} in {policy}"))
        .split_whitespace()
        .collect()
}

#[tokio::test]
async fn the_console_is_served_outside_dev_mode_with_a_strict_policy() {
    let app = spawn_app().await;
    // Not dev mode: the dev routes do not exist.
    let dev = app
        .http
        .get(app.url("/api/1/dev/prompts"))
        .send()
        .await
        .unwrap();
    assert_eq!(dev.status(), StatusCode::NOT_FOUND);

    let page = app.http.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    let policy = header(&headers, "content-security-policy");
    assert!(!policy.contains("unsafe"), "{policy}");
    assert!(!policy.contains('*'), "{policy}");
    assert_eq!(directive(policy, "default-src"), ["'none'"]);
    assert_eq!(directive(policy, "script-src"), ["'self'"]);
    assert_eq!(directive(policy, "style-src"), ["'self'"]);
    assert_eq!(directive(policy, "connect-src"), ["'self'", "blob:"]);
    assert_eq!(directive(policy, "frame-ancestors"), ["'none'"]);
    assert_eq!(directive(policy, "base-uri"), ["'none'"]);
    assert_eq!(directive(policy, "object-src"), ["'none'"]);

    let html = page.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(html.contains("id=\"signin-form\""), "the sign-in form");
    // Every file the page links, and every module its scripts import.
    let mut files: Vec<String> = html
        .split("\"/assets/")
        .skip(1)
        .map(|rest| format!("/assets/{}", rest.split('"').next().unwrap()))
        .collect();
    assert!(files.contains(&"/assets/admin.js".to_owned()), "{files:?}");
    let mut i = 0;
    while i < files.len() {
        let path = files[i].clone();
        i += 1;
        let resp = app.http.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let ty = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
        let text = resp.text().await.unwrap();
        if !ty.starts_with("text/javascript") {
            continue;
        }
        let dir = if path.starts_with("/client/") {
            "/client/"
        } else {
            "/assets/"
        };
        for rest in text.split(" from '").skip(1) {
            let target = rest.split('\'').next().unwrap();
            let full = match target.strip_prefix("./") {
                Some(name) => format!("{dir}{name}"),
                None => target.to_owned(),
            };
            if !files.contains(&full) {
                files.push(full);
            }
        }
    }
    for needed in [
        "/assets/admin-watch.js",
        "/assets/chart.js",
        "/client/admin.js",
    ] {
        assert!(
            files.iter().any(|f| f == needed),
            "{needed} not reached: {files:?}"
        );
    }

    // The admin API the console uses refuses a wrong token.
    let wrong = app
        .http
        .get(app.url("/api/1/interactive_prompts?limit=1"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
}
