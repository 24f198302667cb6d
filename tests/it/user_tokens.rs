//! User tokens as an operator configures them (docs/operations.md,
//! "Configuration reference"; docs/integrate.md, "Identity"): `nbf`
//! honoured within the configured leeway; keys Chorus cannot verify with,
//! a leeway over 60 s, or more than one way to verify refused at start-up
//! with a message that says why.

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::{PROMPT_SECRET, USER_SECRET, fresh_database, numeric_prompt, spawn_with_env};

/// `chorus serve` with exactly these `CHORUS_*` variables, expected to stop
/// at start: its exit code and what it printed.
fn refused_at_start(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chorus"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        "sqlite::memory:",
    ]);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CHORUS_") {
            cmd.env_remove(name);
        }
    }
    let mut child = cmd
        .env("CHORUS_PROMPT_JWT_SECRET", PROMPT_SECRET)
        .env("CHORUS_ADMIN_TOKEN", "admin")
        .envs(env.iter().copied())
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chorus");
    let mut out = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (child.wait().unwrap().code(), out)
}

#[test]
fn unusable_keys_and_settings_stop_the_server_at_start_with_a_reason() {
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/");
    let p384 = format!("{keys}ec384.pub.pem");
    let ed25519 = format!("{keys}ed25519.pub.pem");
    let short = format!("{keys}rsa1024.pub.pem");
    let private = format!("{keys}ec256.key");
    let cases: [(&[(&str, &str)], &str); 7] = [
        (
            &[("CHORUS_USER_JWT_PUBLIC_KEY", &p384)],
            "curve other than P-256",
        ),
        (&[("CHORUS_USER_JWT_PUBLIC_KEY", &ed25519)], "Ed25519"),
        (&[("CHORUS_USER_JWT_PUBLIC_KEY", &short)], "1024 bits"),
        (&[("CHORUS_USER_JWT_PUBLIC_KEY", &private)], "private key"),
        (
            &[
                ("CHORUS_USER_JWT_SECRET", USER_SECRET),
                ("CHORUS_USER_JWKS_URL", "https://id.example.com/jwks.json"),
            ],
            "exactly one of",
        ),
        (
            &[("CHORUS_USER_JWKS_URL", "ftp://id.example.com/jwks.json")],
            "not http(s)",
        ),
        (
            &[
                ("CHORUS_USER_JWT_SECRET", USER_SECRET),
                ("CHORUS_USER_JWT_LEEWAY_SECONDS", "61"),
            ],
            "at most 60",
        ),
    ];
    for (env, reason) in cases {
        let (code, out) = refused_at_start(env);
        assert_ne!(code, Some(0), "{reason}: {out}");
        assert!(out.contains(reason), "{reason}: {out}");
        assert!(!out.contains("listening"), "{reason}: started: {out}");
    }
}

#[tokio::test]
async fn not_before_is_honoured_within_the_configured_leeway() {
    let (database, dir) = fresh_database().await;
    let app = spawn_with_env(
        &database,
        &[],
        dir,
        &[("CHORUS_USER_JWT_LEEWAY_SECONDS", "5")],
    );
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    let now = jsonwebtoken::get_current_timestamp();
    let token = |nbf: u64, exp: u64| {
        let claims = json!({"sub": "ann", "iat": now, "nbf": nbf, "exp": exp});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(USER_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let cases = [
        (token(now - 10, now + 600), 201, "valid"),
        (
            token(now + 3, now + 600),
            201,
            "not yet valid, within the leeway",
        ),
        (token(now + 30, now + 600), 403, "not yet valid"),
        (token(now - 600, now - 3), 201, "expired, within the leeway"),
        (token(now - 600, now - 30), 403, "expired"),
    ];
    for (token, status, what) in cases {
        let (got, body) = app
            .send(
                app.http
                    .post(app.url("/api/1/interactive_prompts/start_session"))
                    .bearer_auth(&token)
                    .json(&json!({"interactive_prompt_uid": prompt})),
            )
            .await;
        assert_eq!(got.as_u16(), status, "{what}: {body}");
        if status == 403 {
            assert_eq!(body["type"], "invalid", "{what}");
        }
    }
}
