//! The participant page of real deployments, `/p/{prompt_uid}`
//! (docs/web-client.md, "The participant page"): served without dev mode,
//! framed only by the origins `--embed-origin` / `CHORUS_EMBED_ORIGINS`
//! allow (`Content-Security-Policy: frame-ancestors`), which its script is
//! told too; a bad origin stops the server at start.

use std::io::Read;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_FRAME_OPTIONS,
};

use crate::support::*;

/// `GET path` without a token.
async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).send().await.expect("GET")
}

/// The directive `name` of a response's policy, e.g. `frame-ancestors …`.
fn directive(resp: &reqwest::Response, name: &str) -> String {
    let policy = resp.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    policy
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in {policy}"))
        .to_owned()
}

#[tokio::test]
async fn the_page_is_served_outside_dev_mode_framed_only_by_the_allowed_origins() {
    let app = spawn_app_with(&[
        "--embed-origin",
        "https://App.Example.com/",
        "--embed-origin",
        "http://localhost:3000",
    ])
    .await;
    let dev = get(&app, "/api/1/dev/prompts").await;
    assert_eq!(dev.status(), StatusCode::NOT_FOUND, "not in dev mode");
    let uid = app.create_prompt(numeric_prompt(), 30).await;
    let page = get(&app, &format!("/p/{uid}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    let allowed = "https://app.example.com http://localhost:3000";
    assert_eq!(
        directive(&page, "frame-ancestors"),
        format!("frame-ancestors {allowed}")
    );
    assert_eq!(directive(&page, "script-src"), "script-src 'self'");
    assert_eq!(directive(&page, "connect-src"), "connect-src 'self'");
    assert!(page.headers().get(X_FRAME_OPTIONS).is_none());
    let etag = page.headers()[ETAG].clone();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!(
            r#"<meta name="chorus-embed-origins" content="{allowed}">"#
        )),
        "{html}"
    );
    assert!(html.contains(r#"<script type="module" src="/assets/embed.js">"#));
    for path in ["/assets/embed.js", "/assets/take.js", "/client/index.js"] {
        assert_eq!(get(&app, path).await.status(), StatusCode::OK, "{path}");
    }
    // The same page for any prompt (whether it exists, start_session says),
    // and a 304 that keeps the policy.
    let again = app
        .http
        .get(app.url("/p/ip_AAAAAAAAAAAAAAAAAAAAAA"))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        directive(&again, "frame-ancestors"),
        format!("frame-ancestors {allowed}")
    );
}

#[tokio::test]
async fn without_embed_origins_no_site_may_frame_the_page() {
    let app = spawn_app().await;
    let uid = app.create_prompt(numeric_prompt(), 30).await;
    let page = get(&app, &format!("/p/{uid}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        directive(&page, "frame-ancestors"),
        "frame-ancestors 'none'"
    );
    assert_eq!(page.headers()[X_FRAME_OPTIONS], "DENY");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<meta name="chorus-embed-origins" content="">"#));
}

#[tokio::test]
async fn the_variable_lists_origins_separated_by_commas() {
    let (database, dir) = fresh_database().await;
    let origins = "https://a.example, https://b.example:8443";
    let app = spawn_with_env(&database, &[], dir, &[("CHORUS_EMBED_ORIGINS", origins)]);
    let page = get(&app, "/p/ip_x").await;
    assert_eq!(
        directive(&page, "frame-ancestors"),
        "frame-ancestors https://a.example https://b.example:8443"
    );
}

#[tokio::test]
async fn paths_that_are_no_prompt_uid_are_not_found() {
    let app = spawn_app().await;
    for path in [
        "/p/ip%20x",
        "/p/%3Cscript%3E",
        "/p/",
        "/p/a/b",
        &format!("/p/{}", "a".repeat(101)),
    ] {
        let resp = get(&app, path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["type"], "not_found", "{path}");
    }
}

/// Runs `chorus serve` with `args` and `env` until it exits; its code and stderr.
fn refused(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"])
        .args(args)
        .env("CHORUS_USER_JWT_SECRET", USER_SECRET)
        .env("CHORUS_PROMPT_JWT_SECRET", PROMPT_SECRET)
        .env("CHORUS_ADMIN_TOKEN", ADMIN_TOKEN)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chorus");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap().code(), stderr)
}

#[test]
fn a_bad_origin_stops_the_server_saying_which_and_why() {
    let (code, stderr) = refused(&["--embed-origin", "https://app.example.com/page"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--embed-origin"), "{stderr}");
    assert!(stderr.contains("expected an origin"), "{stderr}");
    let (code, stderr) = refused(&[], &[("CHORUS_EMBED_ORIGINS", "https://a.example, *")]);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("CHORUS_EMBED_ORIGINS: expected an origin"),
        "{stderr}"
    );
}
