//! Who may hold a stream (docs/stream-protocol.md, "Handshake"; the limits
//! in docs/operations.md). A socket that has not authorized yet holds only
//! a slot of the small *pending* pool, and for at most the handshake
//! timeout; it takes one of the `max_streams` slots, and one of its user's
//! `max_streams_per_user`, only once its prompt token is verified. Silent
//! or slow sockets therefore cannot lock authorized viewers out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics as m;

/// The limits of the stream endpoint, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSettings {
    /// Most authorized streams this process serves at once.
    pub max_streams: usize,
    /// Most sockets still in their handshake at once.
    pub max_pending: usize,
    /// Most authorized streams one user holds at once in this process.
    pub max_per_user: usize,
    /// How long the whole handshake (`authorize` and `sync_response`) may take.
    pub handshake_timeout: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            max_streams: 20_000,
            max_pending: 1_000,
            max_per_user: 10,
            handshake_timeout: Duration::from_secs(5),
        }
    }
}

/// The slots of one process's streams.
pub struct Admission {
    settings: StreamSettings,
    pending: Arc<Semaphore>,
    streams: Arc<Semaphore>,
    users: Arc<Mutex<HashMap<Arc<str>, usize>>>,
}

/// Why a stream slot was not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The process serves `max_streams` streams (or `max_pending` handshakes).
    Server,
    /// The user already holds `max_streams_per_user` streams.
    User,
}

/// A socket's place while it has not authorized.
pub struct PendingSlot(#[allow(dead_code)] OwnedSemaphorePermit);

/// An authorized stream's place: released when dropped.
pub struct StreamSlot {
    _permit: OwnedSemaphorePermit,
    _user: Option<UserSlot>,
    _open: OpenStream,
}

/// One of a user's streams.
struct UserSlot {
    user: Arc<str>,
    users: Arc<Mutex<HashMap<Arc<str>, usize>>>,
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut users = self.users.lock().expect("user streams");
        if let Some(n) = users.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                users.remove(&self.user);
            }
        }
    }
}

/// Counts an open stream in `chorus_open_streams` while alive.
struct OpenStream;

impl OpenStream {
    fn new() -> Self {
        metrics::gauge!(m::OPEN_STREAMS).increment(1.0);
        OpenStream
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!(m::OPEN_STREAMS).decrement(1.0);
    }
}

impl Admission {
    /// Slots as `settings` says.
    pub fn new(settings: StreamSettings) -> Self {
        Admission {
            settings,
            pending: Arc::new(Semaphore::new(settings.max_pending)),
            streams: Arc::new(Semaphore::new(settings.max_streams)),
            users: Arc::default(),
        }
    }

    /// The limits in force.
    pub fn settings(&self) -> &StreamSettings {
        &self.settings
    }

    /// A slot for a socket that has yet to authorize, if the pending pool
    /// has one.
    pub fn pending(&self) -> Option<PendingSlot> {
        self.pending
            .clone()
            .try_acquire_owned()
            .ok()
            .map(PendingSlot)
    }

    /// A slot for an authorized stream of `user` (tokens minted without a
    /// user, by the admin route, are not counted per user). The pending
    /// slot is given back either way.
    pub fn admit(&self, pending: PendingSlot, user: Option<&str>) -> Result<StreamSlot, Full> {
        drop(pending);
        let permit = self
            .streams
            .clone()
            .try_acquire_owned()
            .map_err(|_| Full::Server)?;
        let user = match user {
            Some(user) => Some(self.take_user_slot(user)?),
            None => None,
        };
        Ok(StreamSlot {
            _permit: permit,
            _user: user,
            _open: OpenStream::new(),
        })
    }

    fn take_user_slot(&self, user: &str) -> Result<UserSlot, Full> {
        let mut users = self.users.lock().expect("user streams");
        let user: Arc<str> = match users.get_key_value(user) {
            Some((key, _)) => key.clone(),
            None => user.into(),
        };
        let n = users.entry(user.clone()).or_insert(0);
        if *n >= self.settings.max_per_user {
            return Err(Full::User);
        }
        *n += 1;
        Ok(UserSlot {
            user,
            users: self.users.clone(),
        })
    }

    /// How many users hold a stream (for tests).
    #[cfg(test)]
    pub fn users_streaming(&self) -> usize {
        self.users.lock().expect("user streams").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(max_streams: usize, max_pending: usize, max_per_user: usize) -> Admission {
        Admission::new(StreamSettings {
            max_streams,
            max_pending,
            max_per_user,
            handshake_timeout: Duration::from_secs(1),
        })
    }

    #[test]
    fn pending_sockets_do_not_take_stream_slots() {
        let a = admission(1, 2, 5);
        let (p1, p2) = (a.pending().unwrap(), a.pending().unwrap());
        assert!(a.pending().is_none(), "the pending pool is full");
        let slot = a.admit(p1, Some("u")).unwrap();
        assert!(
            a.pending().is_some(),
            "admitting gave the pending slot back"
        );
        assert_eq!(a.admit(p2, Some("v")).err(), Some(Full::Server));
        drop(slot);
        assert!(a.admit(a.pending().unwrap(), Some("v")).is_ok());
    }

    #[test]
    fn each_user_holds_at_most_its_share_and_is_forgotten_after() {
        let a = admission(10, 10, 2);
        let s1 = a.admit(a.pending().unwrap(), Some("u")).unwrap();
        let s2 = a.admit(a.pending().unwrap(), Some("u")).unwrap();
        assert_eq!(
            a.admit(a.pending().unwrap(), Some("u")).err(),
            Some(Full::User)
        );
        let other = a.admit(a.pending().unwrap(), Some("v")).unwrap();
        let admin = [(); 3].map(|()| a.admit(a.pending().unwrap(), None).unwrap());
        drop(s1);
        let s3 = a.admit(a.pending().unwrap(), Some("u")).unwrap();
        drop((s2, s3, other, admin));
        assert_eq!(a.users_streaming(), 0);
    }
}
