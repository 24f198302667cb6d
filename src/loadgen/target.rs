//! The server(s) under load: spawned as child processes on a fresh
//! database (so their memory can be read from `/proc`), or already running
//! at `--url`. Only loopback addresses are accepted.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

use crate::cli::loadgen::TargetArgs;

/// Secrets and where the database is, decided before any server starts
/// (so a scenario can bulk-fill the database first).
pub struct Plan {
    /// The database URL the spawned servers use (None with `--url`).
    pub database: Option<String>,
    /// The admin token.
    pub admin_token: String,
    /// Secret to mint user tokens with, if known.
    pub user_secret: Option<String>,
    /// Whether to use dev login for user tokens.
    pub dev: bool,
    args: TargetArgs,
    temp_dir: Option<PathBuf>,
}

/// Running servers.
pub struct Target {
    /// Their addresses.
    pub addrs: Vec<SocketAddr>,
    /// Process ids of spawned servers (empty with `--url`).
    pub pids: Vec<u32>,
    /// The database URL, when known.
    pub database: Option<String>,
    children: Vec<Child>,
    temp_dir: Option<PathBuf>,
}

fn random_secret() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl Plan {
    /// Decides secrets and the database from the command line.
    pub fn new(args: &TargetArgs) -> anyhow::Result<Plan> {
        if args.spawn != args.url.is_empty() {
            bail!("give either --spawn or --url");
        }
        let mut temp_dir = None;
        let database = if args.spawn {
            Some(match &args.database {
                Some(db) => db.clone(),
                None => {
                    let dir = std::env::temp_dir()
                        .join(format!("chorus-loadgen-{:x}", rand::random::<u64>()));
                    std::fs::create_dir_all(&dir).context("creating a temp dir")?;
                    let url = format!("sqlite://{}", dir.join("chorus.db").display());
                    temp_dir = Some(dir);
                    url
                }
            })
        } else {
            args.database.clone()
        };
        let admin_token = match (&args.admin_token, args.spawn) {
            (Some(t), _) => t.clone(),
            (None, true) => random_secret(),
            (None, false) => bail!("--url needs --admin-token (or CHORUS_ADMIN_TOKEN)"),
        };
        let user_secret = match (&args.user_jwt_secret, args.spawn) {
            (Some(s), _) => Some(s.clone()),
            (None, true) => Some(random_secret()),
            (None, false) if args.dev => None,
            (None, false) => bail!("--url needs --user-jwt-secret or --dev"),
        };
        Ok(Plan {
            database,
            admin_token,
            user_secret,
            dev: args.dev && args.user_jwt_secret.is_none(),
            args: args.clone(),
            temp_dir,
        })
    }

    /// The SQLite file of the planned database, if it is one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.database
            .as_deref()
            .and_then(|d| d.strip_prefix("sqlite://"))
            .map(PathBuf::from)
    }

    /// Starts the servers (with `--spawn`) or checks the URLs.
    pub fn start(self) -> anyhow::Result<Target> {
        if !self.args.spawn {
            let addrs = self
                .args
                .url
                .iter()
                .map(|u| loopback_addr(u))
                .collect::<anyhow::Result<_>>()?;
            return Ok(Target {
                addrs,
                pids: vec![],
                database: self.database,
                children: vec![],
                temp_dir: None,
            });
        }
        let database = self.database.clone().expect("spawn has a database");
        if self.args.processes > 1 && database.starts_with("sqlite") {
            bail!("several server processes need a PostgreSQL --database");
        }
        let exe = std::env::current_exe().context("locating the chorus binary")?;
        // One prompt secret for every process: a prompt token minted by one
        // must be valid on the others.
        let prompt_secret = random_secret();
        let mut target = Target {
            addrs: vec![],
            pids: vec![],
            database: Some(database.clone()),
            children: vec![],
            temp_dir: self.temp_dir,
        };
        for _ in 0..self.args.processes.max(1) {
            let mut cmd = Command::new(&exe);
            cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", &database]);
            if let Some(redis) = &self.args.redis {
                cmd.args(["--redis", redis]);
            }
            // Simulated clients share prompt tokens and users as people do
            // not; the limits still run, sized never to refuse them.
            for (name, rate) in [
                ("CHORUS_READ_RATE", "1000000"),
                ("CHORUS_USER_EVENT_RATE", "1000000"),
                ("CHORUS_SESSION_START_RATE", "1000000"),
            ] {
                if std::env::var_os(name).is_none() {
                    cmd.env(name, rate);
                }
            }
            cmd.env("CHORUS_ADMIN_TOKEN", &self.admin_token)
                .env("CHORUS_PROMPT_JWT_SECRET", &prompt_secret)
                .env(
                    "CHORUS_USER_JWT_SECRET",
                    self.user_secret.as_deref().unwrap_or_default(),
                )
                .env(
                    "RUST_LOG",
                    std::env::var("CHORUS_LOADGEN_SERVER_LOG").unwrap_or("error".into()),
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            let mut child = cmd.spawn().context("starting chorus serve")?;
            let mut line = String::new();
            BufReader::new(child.stdout.take().expect("piped stdout"))
                .read_line(&mut line)
                .context("reading the server's first line")?;
            let url = line
                .trim()
                .rsplit(' ')
                .next()
                .unwrap_or_default()
                .to_owned();
            target.pids.push(child.id());
            target.children.push(child);
            target
                .addrs
                .push(loopback_addr(&url).with_context(|| format!("server printed {line:?}"))?);
        }
        Ok(target)
    }
}

/// Parses `http://127.0.0.1:PORT` (or `ws://`), refusing non-loopback hosts.
pub fn loopback_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let hostport = url
        .trim_start_matches("http://")
        .trim_start_matches("ws://")
        .trim_end_matches('/');
    let addr = hostport
        .to_socket_addrs()
        .with_context(|| format!("resolving {url}"))?
        .next()
        .with_context(|| format!("no address for {url}"))?;
    if !addr.ip().is_loopback() {
        bail!("{url} is not a loopback address: the load generator only targets this machine");
    }
    Ok(addr)
}

impl Target {
    /// Anonymous resident memory of the spawned servers, in bytes (None
    /// with `--url`): the heap, without the database file's mapped pages,
    /// which are the OS page cache rather than the server's own.
    pub fn rss_bytes(&self) -> Option<u64> {
        if self.pids.is_empty() {
            return None;
        }
        self.pids.iter().map(|&p| rss_of(p)).sum()
    }

    /// The address the `i`-th client should use.
    pub fn addr_for(&self, i: usize) -> SocketAddr {
        self.addrs[i % self.addrs.len()]
    }
}

/// `RssAnon` of process `pid` (resident memory not backed by a file),
/// in bytes.
pub fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time of process `pid` so far (user plus system, every thread,
/// including those that have ended), in seconds: `/proc/PID/stat` counts
/// clock ticks of `USER_HZ`, which is 100 on Linux.
pub fn cpu_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces: state is the
    // 3rd field of the line, utime the 14th, stime the 15th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

impl Drop for Target {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
