//! The configuration as an operator meets it (docs/operations.md,
//! "Configuration reference"): a TOML file under the environment and the
//! flags, `CHORUS_*` variables that name no setting reported, and values
//! that do not parse refused at start, naming where they came from.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{PROMPT_SECRET, USER_SECRET, fresh_database, numeric_prompt};

/// `chorus serve` with these flags and exactly these `CHORUS_*` variables.
fn serve(args: &[&str], env: &[(&str, &str)], log: &str) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chorus"));
    cmd.arg("serve").args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CHORUS_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied())
        .env("RUST_LOG", log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chorus")
}

/// The base URL the server printed first.
fn base_of(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        base.starts_with("http://"),
        "unexpected first line {line:?}"
    );
    base
}

/// Waits for a server to exit; returns its exit code and what it logged.
fn exit_and_log(mut child: Child) -> (Option<i32>, String) {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    (child.wait().expect("wait").code(), stderr)
}

fn toml_file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("chorus.toml");
    std::fs::write(&path, text).expect("write the file");
    path.display().to_string()
}

#[tokio::test]
async fn a_configuration_file_is_read_under_the_environment_and_the_flags() {
    let (database, _db_dir) = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    // The file's listen address cannot be bound: the flag must win.
    let file = toml_file(
        &dir,
        &format!(
            "listen = \"256.0.0.1:1\"\ndatabase = \"{database}\"\n\n[auth]\n\
             user_jwt_secret = \"{USER_SECRET}\"\nprompt_jwt_secret = \"{PROMPT_SECRET}\"\n\
             admin_token = \"file-admin\"\n\n[postgres]\npool_size = 2\n"
        ),
    );
    let env = [("CHORUS_ADMIN_TOKEN", "env-admin")];
    let mut child = serve(
        &["--config", &file, "--listen", "127.0.0.1:0"],
        &env,
        "error",
    );
    let base = base_of(&mut child);
    let http = reqwest::Client::new();
    let create = |token: &'static str| {
        http.post(format!("{base}/api/1/interactive_prompts"))
            .bearer_auth(token)
            .json(&json!({"prompt": numeric_prompt(), "duration_seconds": 60}))
            .send()
    };
    let by_env = create("env-admin").await.expect("request");
    assert_eq!(
        by_env.status(),
        StatusCode::CREATED,
        "the environment beats the file"
    );
    let by_file = create("file-admin").await.expect("request");
    assert_eq!(by_file.status(), StatusCode::FORBIDDEN);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn unknown_chorus_variables_are_reported_at_start() {
    let (database, _db_dir) = fresh_database().await;
    let env = [
        ("CHORUS_USER_JWT_SECRET", USER_SECRET),
        ("CHORUS_PROMPT_JWT_SECRET", PROMPT_SECRET),
        ("CHORUS_ADMIN_TOKEN", "admin"),
        ("CHORUS_PG_POOL_SIZE", "2"),
        ("CHORUS_LISTNE", "127.0.0.1:9"),
    ];
    let mut child = serve(
        &["--listen", "127.0.0.1:0", "--database", &database],
        &env,
        "warn",
    );
    base_of(&mut child);
    let _ = child.kill();
    let (_, stderr) = exit_and_log(child);
    assert!(stderr.contains("CHORUS_LISTNE"), "{stderr}");
    assert!(
        !stderr.contains("CHORUS_PG_POOL_SIZE"),
        "a known variable: {stderr}"
    );
}

#[test]
fn values_that_do_not_parse_stop_the_server_naming_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = toml_file(&dir, "session_event_rate = \"fast\"\n");
    let (code, stderr) = exit_and_log(serve(&["--config", &file, "--dev"], &[], "error"));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("chorus.toml") && stderr.contains("session_event_rate"),
        "{stderr}"
    );

    let env = [("CHORUS_PG_POOL_SIZE", "0")];
    let (code, stderr) = exit_and_log(serve(&["--dev"], &env, "error"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("CHORUS_PG_POOL_SIZE"), "{stderr}");

    let missing = dir.path().join("missing.toml").display().to_string();
    let (code, stderr) = exit_and_log(serve(&["--config", &missing, "--dev"], &[], "error"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("missing.toml"), "{stderr}");
}
