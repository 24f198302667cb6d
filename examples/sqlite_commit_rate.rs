//! What SQLite alone costs per event of Chorus's shape: one thread inserts
//! events into the real schema (src/storage/schema.rs) in group commits, with the WAL
//! fsynced after each commit, once per set of event indexes — none, the
//! `uid` unique index, the seed's two indexes, and the per-prompt
//! `(interactive_prompt_id, prompt_time, uid)` — on an empty database or
//! one already holding `--history` events; then the whole schema once more
//! with the older, fully random uids instead of time-ordered ones
//! (docs/api.md, "Uids"), to show what a random `uid` index costs, and once
//! with the global `(prompt_time, uid)` index the per-prompt one replaced,
//! and once with a per-prompt index covering the range reads' other columns
//! (measured and not kept: BENCHMARKS.md, "The events table at scale").
//! No HTTP, no rules, no aggregates: the floor under the server's writer.
//!
//! Last, the schema **as the server writes it**: the same group commits
//! holding, beside the events, what the writer thread writes with them —
//! a session insert for every 7 events (each participant's session is
//! join, rating, like, rating, like, rating, leave, checked by the domain's
//! rules), and each group's aggregate upserts (Fenwick rows, counts,
//! totals, presence), through the server's own statements and
//! [`PendingAggregates`]: SQLite's share of the writer thread.
//!
//! ```sh
//! cargo run --release --example sqlite_commit_rate -- [--events N] [--batch B] [--history H] [--only V]
//! ```
//!
//! `--only V` runs one row (0 = rowid only, in the printed order), e.g.
//! under callgrind: `valgrind --tool=callgrind
//! target/release/examples/sqlite_commit_rate --events 12000 --batch 32 --only 7`
//! (the same with `--events 4000`: the difference is the events' cost).
//!
//! Prints events/s, CPU µs per event (the whole process: inserts, commits,
//! SQLite's own checkpoints, fsyncs) and bytes written per event.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use chorus::domain::clock::now;
use chorus::domain::event::EventKind;
use chorus::domain::prompt::{Prompt, PromptRecord};
use chorus::domain::session::{Session, SessionOwner};
use chorus::domain::{presence, rules, uid};
use chorus::storage::aggregates::PendingAggregates;
use chorus::storage::dialect::Dialect;
use chorus::storage::schema::migrations;
use chorus::storage::sqlite::flush::{FenwickRowIds, flush as write_aggregates};
use chorus::storage::sqlite::{CACHE_PRAGMAS, INSERT_EVENT, INSERT_SESSION, PRAGMAS};
use rand::Rng;
use rusqlite::{Connection, params};

/// Sessions the measured events are spread over (the ingest scenario's
/// users); the history has as many sessions of its own.
const SESSIONS: i64 = 8192;
/// The prompt's length; history is spread evenly over it.
const DURATION: f64 = 600.0;

/// Which of the events table's indexes exist, and which uids it gets.
#[derive(Clone, Copy)]
enum Variant {
    None,
    Uid,
    Seed,
    /// The schema: the seed's indexes and the per-prompt one.
    Schema,
    /// The schema with the older, fully random uids.
    SchemaRandom,
    /// The schema plus the global `(prompt_time, uid)` index it replaced.
    SchemaGlobal,
    /// The schema with the per-prompt index covering the range reads (its
    /// key, then the session id, `evtype`, `data`, `created_at`).
    SchemaCovering,
    /// The schema with sessions and aggregates, as the server writes it.
    Server,
}

const PER_PROMPT: &str = "DROP INDEX interactive_prompt_events_ip_id_prompt_time_uid_idx;";
const SEED: &str = "DROP INDEX interactive_prompt_events_ips_id_prompt_time_idx;
     DROP INDEX interactive_prompt_events_created_at_session_idx;";
const UID: &str = "DROP INDEX interactive_prompt_events_uid_idx;";

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::None => "no index (rowid only)",
            Variant::Uid => "+ uid UNIQUE",
            Variant::Seed => "+ the seed's two indexes",
            Variant::Schema => "+ per-prompt: the schema",
            Variant::SchemaRandom => "the schema, random uids",
            Variant::SchemaGlobal => "the schema + (prompt_time, uid)",
            Variant::SchemaCovering => "the schema, per-prompt covering",
            Variant::Server => "the schema as the server writes it",
        }
    }

    /// Statements that take the full schema to these indexes.
    fn reduce(self) -> String {
        match self {
            Variant::Schema | Variant::SchemaRandom | Variant::Server => String::new(),
            Variant::SchemaGlobal => "CREATE INDEX interactive_prompt_events_prompt_time_uid_idx
                ON interactive_prompt_events(prompt_time, uid);"
                .into(),
            Variant::SchemaCovering => [
                PER_PROMPT,
                "CREATE INDEX interactive_prompt_events_ip_id_prompt_time_uid_covering_idx
                ON interactive_prompt_events(interactive_prompt_id, prompt_time, uid,
                    interactive_prompt_session_id, evtype, data, created_at);",
            ]
            .concat(),
            Variant::Seed => PER_PROMPT.into(),
            Variant::Uid => [PER_PROMPT, SEED].concat(),
            Variant::None => [PER_PROMPT, SEED, UID].concat(),
        }
    }
}

struct Args {
    events: u64,
    batch: u64,
    history: u64,
    /// Only the variant of this number (0 = rowid only, in the printed order).
    only: Option<u64>,
}

fn parse_args() -> Args {
    let mut args = Args {
        events: 200_000,
        batch: 64,
        history: 0,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: Option<u64> = it.next().and_then(|v| v.parse().ok());
        if flag == "--only" {
            args.only = Some(value.unwrap_or_else(|| usage(&flag)));
            continue;
        }
        let (slot, least) = match flag.as_str() {
            "--events" => (&mut args.events, 1),
            "--batch" => (&mut args.batch, 1),
            "--history" => (&mut args.history, 0),
            _ => usage(&flag),
        };
        *slot = value
            .filter(|v| *v >= least)
            .unwrap_or_else(|| usage(&flag));
    }
    args
}

fn usage(flag: &str) -> ! {
    eprintln!(
        "bad or unknown argument {flag}; usage: [--events N] [--batch B] [--history H] [--only V]"
    );
    std::process::exit(2);
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args();
    println!(
        "{} events in commits of {}, {} sessions, {} events stored before",
        args.events, args.batch, SESSIONS, args.history
    );
    println!(
        "{:<34} {:>10} {:>12} {:>14}",
        "events table", "events/s", "CPU µs/event", "bytes/event"
    );
    let dir = tempfile::tempdir()?;
    let variants = [
        Variant::None,
        Variant::Uid,
        Variant::Seed,
        Variant::Schema,
        Variant::SchemaRandom,
        Variant::SchemaGlobal,
        Variant::SchemaCovering,
        Variant::Server,
    ];
    for (n, variant) in variants.into_iter().enumerate() {
        if args.only.is_some_and(|only| only != n as u64) {
            continue;
        }
        let path = dir.path().join(format!("rate-{n}.db"));
        let conn = open(&path, variant)?;
        let wal = std::fs::OpenOptions::new()
            .write(true)
            .open(path.with_extension("db-wal"))?;
        let uid: fn() -> String = match variant {
            Variant::SchemaRandom => || uid::generate(uid::EVENT),
            _ => uid::event,
        };
        let history = Insert {
            sessions_from: 1,
            count: args.history,
            batch: 1000,
            uid,
            wal: None,
        };
        history.run(&conn, |i| DURATION * i as f64 / args.history as f64)?;
        let (cpu0, written0, started) = (cpu_seconds()?, bytes_written()?, Instant::now());
        let measured = Insert {
            sessions_from: SESSIONS + 1,
            count: args.events,
            batch: args.batch,
            uid,
            wal: Some(&wal),
        };
        // Prompt time advances through 20 s like a premiere's; each event
        // lands up to 2 s after the clock, as participants answer.
        let clock = |i| 60.0 + 20.0 * i as f64 / args.events as f64;
        match variant {
            Variant::Server => Crowd::new(SESSIONS + 1).run(&conn, &measured, clock)?,
            _ => measured.run(&conn, clock)?,
        }
        let (wall, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds()? - cpu0);
        let written = bytes_written()? - written0;
        let per = |x: f64| x / args.events as f64;
        println!(
            "{:<34} {:>10.0} {:>12.1} {:>14.0}",
            variant.label(),
            args.events as f64 / wall,
            per(cpu) * 1e6,
            per(written as f64)
        );
    }
    Ok(())
}

/// A fresh database with the schema reduced to `variant`'s indexes, one prompt and
/// its sessions, with the server's pragmas (checkpoints left to SQLite).
fn open(path: &Path, variant: Variant) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(PRAGMAS)?;
    conn.execute_batch(CACHE_PRAGMAS)?;
    // The server checkpoints on a thread of its own; here SQLite does, at
    // its default length.
    conn.execute_batch("PRAGMA wal_autocheckpoint = 1000;")?;
    for (_, sql) in migrations(Dialect::Sqlite) {
        conn.execute_batch(&sql)?;
    }
    conn.execute_batch(&variant.reduce())?;
    conn.execute(
        "INSERT INTO interactive_prompts(uid, prompt, duration_seconds, created_at) VALUES (?1, '{}', ?2, ?3)",
        params![uid::generate(uid::PROMPT), DURATION as i64, now()],
    )?;
    conn.execute_batch("BEGIN")?;
    for s in 1..=2 * SESSIONS {
        conn.execute(
            "INSERT INTO users(id, sub, created_at) VALUES (?1, ?2, ?3)",
            params![s, format!("user-{s}"), now()],
        )?;
        conn.execute(
            "INSERT INTO interactive_prompt_sessions(id, interactive_prompt_id, user_id, uid) VALUES (?1, 1, ?1, ?2)",
            params![s, uid::generate(uid::SESSION)],
        )?;
    }
    conn.execute_batch("COMMIT")?;
    Ok(conn)
}

/// A run of inserts of numeric events, each in a random one of
/// [`SESSIONS`] sessions.
struct Insert<'a> {
    /// The first of the sessions' ids.
    sessions_from: i64,
    count: u64,
    /// Events per commit.
    batch: u64,
    uid: fn() -> String,
    /// The WAL file, fsynced after each commit when given.
    wal: Option<&'a std::fs::File>,
}

impl Insert<'_> {
    /// Inserts event `i` at prompt time `time(i)` plus up to 2 s.
    fn run(&self, conn: &Connection, time: impl Fn(u64) -> f64) -> Result<(), Box<dyn Error>> {
        let mut rng = rand::rng();
        let mut stmt = conn.prepare_cached(
            "INSERT INTO interactive_prompt_events(uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
             VALUES (?1, ?2, 'numeric', ?3, ?4, ?5, 1)",
        )?;
        for start in (0..self.count).step_by(self.batch as usize) {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            for i in start..(start + self.batch).min(self.count) {
                let data = format!("{{\"rating\":{}}}", rng.random_range(1..=10));
                let t = (time(i) + rng.random_range(0.0..2.0)).min(DURATION);
                let session = self.sessions_from + rng.random_range(0..SESSIONS);
                stmt.execute(params![(self.uid)(), session, data, t, now()])?;
            }
            conn.execute_batch("COMMIT")?;
            if let Some(wal) = self.wal {
                wal.sync_data()?;
            }
        }
        Ok(())
    }
}

/// Participants taking the prompt as the server's writer sees them: each
/// user's session with its rule state, started when its last one ended.
struct Crowd {
    prompt: PromptRecord,
    /// `(user id, session)` of each participant.
    users: Vec<(i64, Option<Session>)>,
}

impl Crowd {
    /// [`SESSIONS`] participants, users `first_user..`, none in a session yet.
    fn new(first_user: i64) -> Self {
        let prompt = Prompt::Numeric {
            text: "How do you feel?".into(),
            min: 1,
            max: 10,
            step: 1,
        };
        let mut prompt = PromptRecord::unsaved(prompt, DURATION as i64, now());
        prompt.id = 1;
        let users = (first_user..first_user + SESSIONS).map(|u| (u, None));
        Crowd {
            prompt,
            users: users.collect(),
        }
    }

    /// `run.count` events of random participants in commits of
    /// `run.batch`, with their session starts and aggregate rows.
    fn run(
        &mut self,
        conn: &Connection,
        run: &Insert<'_>,
        time: impl Fn(u64) -> f64,
    ) -> Result<(), Box<dyn Error>> {
        let mut rng = rand::rng();
        let mut ids = FenwickRowIds::default();
        for start in (0..run.count).step_by(run.batch as usize) {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let mut agg = PendingAggregates::default();
            for i in start..(start + run.batch).min(run.count) {
                let who = rng.random_range(0..self.users.len());
                let t = time(i) + rng.random_range(0.0..2.0);
                self.post(conn, &mut agg, who, t)?;
            }
            write_aggregates(conn, &agg, &mut ids)?;
            conn.execute_batch("COMMIT")?;
            if let Some(wal) = run.wal {
                wal.sync_data()?;
            }
        }
        Ok(())
    }

    /// Participant `who`'s next event at about prompt time `t` (starting
    /// its session first if it has none), as `writes::append_event` stores it.
    fn post(
        &mut self,
        conn: &Connection,
        agg: &mut PendingAggregates,
        who: usize,
        t: f64,
    ) -> Result<(), Box<dyn Error>> {
        let prompt = &self.prompt;
        let (user_id, session) = &mut self.users[who];
        let session = match session {
            Some(s) => s,
            None => {
                let session_uid = uid::generate(uid::SESSION);
                conn.prepare_cached(INSERT_SESSION)?.execute(params![
                    prompt.id,
                    *user_id,
                    session_uid
                ])?;
                agg.add_sessions(prompt.id, 1);
                let owner = SessionOwner {
                    prompt_id: prompt.id,
                    user_sub: format!("user-{user_id}"),
                };
                let state = Default::default();
                let id = conn.last_insert_rowid();
                session.insert(Session { id, owner, state })
            }
        };
        let kind = match session.state.events {
            0 => EventKind::Join,
            6 => EventKind::Leave,
            n if n % 2 == 1 => EventKind::Numeric {
                rating: rand::random_range(1..=10),
            },
            _ => EventKind::Like,
        };
        let t = t.max(session.state.last_time + 0.001).min(DURATION);
        let sub = session.owner.user_sub.clone();
        let effects = rules::check(Some(prompt), Some(&*session), &sub, kind, t)?.effects;
        let joined = session.state.joined_at;
        let data = kind.stored_data().to_string();
        let row = params![
            uid::event(),
            session.id,
            kind.event_type().as_str(),
            data,
            t,
            now(),
            prompt.id
        ];
        conn.prepare_cached(INSERT_EVENT)?.execute(row)?;
        session.state.apply(kind, t);
        agg.add(prompt.id, &effects);
        if let Some(write) = presence::write_for(kind, t, joined, prompt.duration_seconds) {
            agg.add_presence(session.id, prompt.id, write);
        }
        if kind == EventKind::Leave {
            self.users[who].1 = None;
        }
        Ok(())
    }
}

/// This process's user + system CPU time.
fn cpu_seconds() -> std::io::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or("", |(_, r)| r)
        .split(' ')
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, in clock ticks of 1/100 s (Linux's USER_HZ).
    Ok((ticks(11) + ticks(12)) / 100.0)
}

/// Bytes this process has written (`wchar` of `/proc/self/io`).
fn bytes_written() -> std::io::Result<u64> {
    let io = std::fs::read_to_string("/proc/self/io")?;
    Ok(io
        .lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}
