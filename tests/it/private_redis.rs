//! A Redis of the test's own (never the shared one), which a test may kill
//! and restart, and a TCP proxy that can stop forwarding the connections
//! it carries without closing them (a half-open connection).

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A private `redis-server` on a port of its own, killed on drop.
pub struct PrivateRedis {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap().port()
}

impl PrivateRedis {
    /// Starts one and waits until it answers.
    pub fn start() -> Self {
        let mut redis = PrivateRedis {
            port: free_port(),
            child: None,
            dir: tempfile::tempdir().expect("tempdir"),
        };
        redis.restart();
        redis
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it at once (no shutdown handshake with its clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (is Redis installed?)");
        self.child = Some(child);
        for _ in 0..100 {
            if self.cli(&["ping"]).contains("PONG") {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the private redis-server on port {} did not start",
            self.port
        );
    }

    /// Runs `redis-cli` against it and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy on a port of its own in front of `target`. After
/// [`Proxy::stall`] the connections it carried stop forwarding in both
/// directions but stay open, as when a middlebox drops a connection's
/// state; connections made after it are forwarded normally.
pub struct Proxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    stall: watch::Sender<u64>,
    next_id: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `127.0.0.1:target_port` (on the current runtime,
    /// which must be multi-threaded if the test blocks).
    pub async fn start(target_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().unwrap().port();
        let (stall, stalled) = watch::channel(0u64);
        let next_id = Arc::new(AtomicU64::new(0));
        let ids = next_id.clone();
        let task = tokio::spawn(async move {
            // Stalled connections are kept here, open and silent.
            let graveyard = Arc::new(std::sync::Mutex::new(Vec::new()));
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let id = ids.fetch_add(1, Ordering::SeqCst);
                let mut stalled = stalled.clone();
                let graveyard = graveyard.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    let cut = stalled.wait_for(|&before| id < before);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut => graveyard.lock().unwrap().push((client, server)),
                    }
                });
            }
        });
        Proxy {
            port,
            stall,
            next_id,
            task,
        }
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops forwarding every connection made so far, without closing it.
    pub fn stall(&self) {
        self.stall.send_replace(self.next_id.load(Ordering::SeqCst));
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.next_id.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
