use std::io::Write;

use super::keys::{KEYS, unknown_variables};
use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn each_layer_overrides_the_one_below() {
    let f = file(
        "listen = \"0.0.0.0:1\"\ndatabase = \"sqlite://file.db\"\nmax_streams = 5\n\
         [postgres]\npool_size = 3\n",
    );
    let flags = Layer {
        listen: Some("127.0.0.1:3".into()),
        ..Layer::default()
    };
    let vars = env(&[
        ("CHORUS_LISTEN", "127.0.0.1:2"),
        ("CHORUS_DATABASE", "sqlite://env.db"),
        ("CHORUS_PG_POOL_SIZE", "6"),
    ]);
    let c = Config::load(Some(f.path()), vars, flags).unwrap();
    assert_eq!(c.listen, "127.0.0.1:3", "flags beat the environment");
    assert_eq!(
        c.database, "sqlite://env.db",
        "the environment beats the file"
    );
    assert_eq!(c.max_streams, 5, "the file beats the defaults");
    assert_eq!(c.storage.postgres.pool_size, 6);
    assert_eq!(c.session_event_rate, 20, "the default stays");
    assert_eq!(
        c.storage.sqlite.wal_restart_frames,
        crate::storage::sqlite::SqliteSettings::default().wal_restart_frames
    );
}

#[test]
fn no_layer_at_all_gives_the_defaults() {
    let c = Config::load(None, env(&[("PATH", "/bin")]), Layer::default()).unwrap();
    assert_eq!(c, Config::default());
}

#[test]
fn bad_values_name_their_variable_or_file() {
    let e = Config::load(
        None,
        env(&[("CHORUS_SESSION_EVENT_RATE", "fast")]),
        Layer::default(),
    );
    let message = e.unwrap_err().to_string();
    assert!(
        message.starts_with("CHORUS_SESSION_EVENT_RATE: "),
        "{message}"
    );
    let e = Config::load(None, env(&[("CHORUS_PG_POOL_SIZE", "0")]), Layer::default());
    assert!(e.unwrap_err().to_string().contains("at least 1"));
    let f = file("[sqlite]\nwal_frames = 0\n");
    let e = Config::load(Some(f.path()), env(&[]), Layer::default());
    assert!(e.unwrap_err().to_string().contains("at least 1"));
    let f = file("listen = \"x\"\nlistne = \"typo\"\n");
    let message = Config::load(Some(f.path()), env(&[]), Layer::default())
        .unwrap_err()
        .to_string();
    assert!(message.contains("listne"), "{message}");
    let missing = Config::load(
        Some(Path::new("/nonexistent.toml")),
        env(&[]),
        Layer::default(),
    );
    assert!(matches!(missing, Err(ConfigError::Unreadable { .. })));
}

#[test]
fn empty_variables_count_as_unset() {
    let c = Config::load(None, env(&[("CHORUS_LISTEN", "")]), Layer::default()).unwrap();
    assert_eq!(c.listen, Config::default().listen);
}

#[test]
fn unknown_chorus_variables_are_found() {
    let names = [
        "CHORUS_LISTEN",
        "CHORUS_LSITEN",
        "CHORUS_LOG_FORMAT",
        "HOME",
        "CHORUS_PG_POOL",
    ];
    assert_eq!(
        unknown_variables(names),
        vec!["CHORUS_LSITEN", "CHORUS_PG_POOL"]
    );
}

#[test]
fn every_key_is_read_from_its_variable_and_from_the_file() {
    for key in KEYS {
        let sample = match key.env {
            "CHORUS_DEV" => "true",
            "CHORUS_SESSION_EVENT_RATE"
            | "CHORUS_MAX_STREAMS"
            | "CHORUS_TIMELINE_CACHE_MIB"
            | "CHORUS_MAX_PENDING_STREAMS"
            | "CHORUS_PROMPT_TOKEN_SECONDS"
            | "CHORUS_MAX_STREAMS_PER_USER"
            | "CHORUS_STREAM_HANDSHAKE_TIMEOUT_MS"
            | "CHORUS_SQLITE_WAL_FRAMES"
            | "CHORUS_PG_POOL_SIZE"
            | "CHORUS_USER_JWKS_REFRESH_SECONDS"
            | "CHORUS_USER_JWKS_MIN_INTERVAL_SECONDS"
            | "CHORUS_USER_JWT_LEEWAY_SECONDS"
            | "CHORUS_SQLITE_MAX_PAGE_COUNT"
            | "CHORUS_PG_POOL_WAIT_MS"
            | "CHORUS_PG_CONNECT_TIMEOUT_MS"
            | "CHORUS_PG_STATEMENT_TIMEOUT_MS" => "7",
            "CHORUS_EMBED_ORIGINS" => "https://a.example",
            name if name.starts_with("CHORUS_HTTP_") => "7",
            "CHORUS_USER_EVENT_RATE" | "CHORUS_SESSION_START_RATE" | "CHORUS_READ_RATE" => "7",
            _ => "text",
        };
        let from_env = Layer::from_env(env(&[(key.env, sample)])).unwrap();
        assert_ne!(from_env, Layer::default(), "{}", key.env);
        let value = match sample {
            "text" => format!("{sample:?}"),
            "https://a.example" => format!("[{sample:?}]"),
            _ => sample.to_owned(),
        };
        let toml = match key.file.split_once('.') {
            Some((table, k)) => format!("[{table}]\n{k} = {value}\n"),
            None => format!("{} = {value}\n", key.file),
        };
        let from_file = Layer::from_file(file(&toml).path()).unwrap();
        assert_eq!(from_file, from_env, "{}", key.file);
    }
}

#[test]
fn secrets_never_show_in_debug_output() {
    let vars = env(&[
        ("CHORUS_USER_JWT_SECRET", "hunter2-user"),
        ("CHORUS_PROMPT_JWT_SECRET", "hunter2-prompt"),
        ("CHORUS_ADMIN_TOKEN", "hunter2-admin"),
    ]);
    let c = Config::load(None, vars, Layer::default()).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert_eq!(c.auth_settings().unwrap().admin_token, "hunter2-admin");
}

#[test]
fn dev_mode_generates_missing_secrets_and_production_refuses_them() {
    let dev = Config {
        dev: true,
        ..Config::default()
    };
    let settings = dev.auth_settings().unwrap();
    assert_eq!(settings.admin_token.len(), 43);
    let prod = Config::default().auth_settings();
    assert!(matches!(prod, Err(ConfigError::Missing(_))));
}

#[test]
fn user_tokens_are_verified_one_way_only() {
    let vars = |extra: &[(&str, &str)]| {
        let mut v = env(&[
            ("CHORUS_PROMPT_JWT_SECRET", "p"),
            ("CHORUS_ADMIN_TOKEN", "a"),
        ]);
        v.extend(env(extra));
        Config::load(None, v, Layer::default())
            .unwrap()
            .auth_settings()
    };
    let jwks = vars(&[("CHORUS_USER_JWKS_URL", "https://id.example.com/jwks.json")]).unwrap();
    let UserKey::Jwks(j) = jwks.user_key else {
        panic!("not a JWKS: {jwks:?}")
    };
    assert_eq!(
        (j.refresh, j.min_interval, jwks.user_leeway_seconds),
        (
            crate::auth::jwks::DEFAULT_REFRESH,
            crate::auth::jwks::DEFAULT_MIN_INTERVAL,
            60
        )
    );
    let tuned = vars(&[
        ("CHORUS_USER_JWKS_URL", "https://id.example.com/jwks.json"),
        ("CHORUS_USER_JWKS_REFRESH_SECONDS", "30"),
        ("CHORUS_USER_JWKS_MIN_INTERVAL_SECONDS", "5"),
        ("CHORUS_USER_JWT_LEEWAY_SECONDS", "0"),
    ])
    .unwrap();
    let UserKey::Jwks(j) = tuned.user_key else {
        panic!("not a JWKS")
    };
    assert_eq!((j.refresh.as_secs(), j.min_interval.as_secs()), (30, 5));
    assert_eq!(tuned.user_leeway_seconds, 0);
    let both = vars(&[
        ("CHORUS_USER_JWT_SECRET", "s"),
        ("CHORUS_USER_JWKS_URL", "https://id.example.com/jwks.json"),
    ]);
    assert!(matches!(both, Err(ConfigError::SeveralUserKeys)));
    let long = vars(&[
        ("CHORUS_USER_JWT_SECRET", "s"),
        ("CHORUS_USER_JWT_LEEWAY_SECONDS", "61"),
    ]);
    assert!(long.unwrap_err().to_string().contains("at most 60"));
    let zero = Config::load(
        None,
        env(&[("CHORUS_USER_JWKS_REFRESH_SECONDS", "0")]),
        Layer::default(),
    );
    assert!(zero.unwrap_err().to_string().contains("at least 1"));
}

#[test]
fn embed_origins_come_from_the_file_the_variable_or_the_flags_checked() {
    let f = file("embed_origins = [\"https://A.example/\", \"http://localhost:3000\"]\n");
    let c = Config::load(Some(f.path()), env(&[]), Layer::default()).unwrap();
    assert_eq!(
        c.embed_origins,
        ["https://a.example", "http://localhost:3000"]
    );
    let vars = env(&[(
        "CHORUS_EMBED_ORIGINS",
        "https://b.example:443, https://c.example",
    )]);
    let c = Config::load(Some(f.path()), vars, Layer::default()).unwrap();
    assert_eq!(
        c.embed_origins,
        ["https://b.example", "https://c.example"],
        "a layer's list replaces the file's"
    );
    let flags = Layer {
        embed_origins: Some(vec!["https://d.example".into()]),
        ..Layer::default()
    };
    let vars = env(&[("CHORUS_EMBED_ORIGINS", "https://b.example")]);
    let c = Config::load(None, vars, flags).unwrap();
    assert_eq!(c.embed_origins, ["https://d.example"]);
    let bad = file("embed_origins = [\"https://a.example/path\"]\n");
    let message = Config::load(Some(bad.path()), env(&[]), Layer::default())
        .unwrap_err()
        .to_string();
    assert!(message.contains("expected an origin"), "{message}");
    let vars = env(&[("CHORUS_EMBED_ORIGINS", "'self'")]);
    let message = Config::load(None, vars, Layer::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("CHORUS_EMBED_ORIGINS: expected an origin"),
        "{message}"
    );
}
