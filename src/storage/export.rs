//! Export pages encoded where they are read (docs/api.md, "Data
//! ownership"; docs/operations.md, "Exporting a prompt's events").
//!
//! The engine decodes a page's rows one at a time and hands each event to
//! an [`ExportEncoder`] (the HTTP layer's CSV or JSON lines) on the thread
//! that read it, and only the encoded bytes leave that thread. Decoding on
//! one thread and encoding and freeing on another made the allocator keep
//! the reader threads' freed pages (+41–46 MiB resident on a process's
//! first export; BENCHMARKS.md, "Targets").

use crate::domain::event::StoredEvent;

use super::StorageError;
use super::search_sql::ExportCursor;

/// Turns the events of one export page into the bytes sent for them.
pub trait ExportEncoder: Send + Sync {
    /// Appends the encoding of every event of `events`, in order, to `out`.
    fn encode(&self, events: &mut dyn Iterator<Item = StoredEvent>, out: &mut Vec<u8>);
}

/// One page of an export, encoded.
#[derive(Debug, Default)]
pub struct ExportChunk {
    /// The page's events, encoded.
    pub bytes: Vec<u8>,
    /// How many events it holds.
    pub events: usize,
    /// Its last event's `(prompt_time, uid)`, where the next page starts
    /// (`None` when the page is empty).
    pub last: Option<ExportCursor>,
}

/// Bytes reserved per event of a page before encoding (a CSV row of a
/// numeric answer is about 110), so the buffer seldom grows.
const BYTES_PER_EVENT: usize = 160;

/// Encodes decoded rows with `encoder` into one chunk, stopping at the
/// first row that fails to decode and returning its error. At most one
/// event is alive at a time.
pub fn encode_rows(
    rows: impl Iterator<Item = Result<StoredEvent, StorageError>>,
    limit: usize,
    encoder: &dyn ExportEncoder,
) -> Result<ExportChunk, StorageError> {
    let mut counted = Counted {
        rows,
        events: 0,
        last_time: 0.0,
        last_uid: String::new(),
        error: None,
    };
    let mut bytes = Vec::with_capacity(limit * BYTES_PER_EVENT);
    encoder.encode(&mut counted, &mut bytes);
    if let Some(e) = counted.error {
        return Err(e);
    }
    let last = (counted.events > 0).then_some((counted.last_time, counted.last_uid));
    Ok(ExportChunk {
        bytes,
        events: counted.events,
        last,
    })
}

/// The rows as events, remembering how many were taken, the last one's
/// cursor (in a reused buffer: no allocation per row) and the first error.
struct Counted<I> {
    rows: I,
    events: usize,
    last_time: f64,
    last_uid: String,
    error: Option<StorageError>,
}

impl<I: Iterator<Item = Result<StoredEvent, StorageError>>> Iterator for Counted<I> {
    type Item = StoredEvent;

    fn next(&mut self) -> Option<StoredEvent> {
        if self.error.is_some() {
            return None;
        }
        match self.rows.next()? {
            Ok(event) => {
                self.events += 1;
                self.last_time = event.prompt_time;
                self.last_uid.clear();
                self.last_uid.push_str(&event.uid);
                Some(event)
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::EventKind;
    use crate::domain::user::Shown;

    struct Uids;
    impl ExportEncoder for Uids {
        fn encode(&self, events: &mut dyn Iterator<Item = StoredEvent>, out: &mut Vec<u8>) {
            for e in events {
                out.extend_from_slice(e.uid.as_bytes());
                out.push(b'\n');
            }
        }
    }

    fn event(uid: &str, prompt_time: f64) -> StoredEvent {
        StoredEvent::new(
            uid.into(),
            "sub".into(),
            "ips_a".into(),
            "ip_a".into(),
            EventKind::Like,
            Shown::default(),
            prompt_time,
            0.0,
        )
    }

    #[test]
    fn a_chunk_counts_its_events_and_ends_at_the_last() {
        let rows = [event("ipe_a", 1.0), event("ipe_b", 2.5)].map(Ok);
        let chunk = encode_rows(rows.into_iter(), 2, &Uids).unwrap();
        assert_eq!(chunk.bytes, b"ipe_a\nipe_b\n");
        assert_eq!(chunk.events, 2);
        assert_eq!(chunk.last, Some((2.5, "ipe_b".into())));
        let empty = encode_rows(std::iter::empty(), 2, &Uids).unwrap();
        assert_eq!((empty.events, empty.last), (0, None));
    }

    #[test]
    fn a_row_that_fails_to_decode_fails_the_chunk() {
        let rows = vec![
            Ok(event("ipe_a", 1.0)),
            Err(StorageError::Corrupt("bad".into())),
            Ok(event("ipe_c", 3.0)),
        ];
        let err = encode_rows(rows.into_iter(), 3, &Uids).unwrap_err();
        assert!(matches!(err, StorageError::Corrupt(_)));
    }
}
