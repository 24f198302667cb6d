//! `GET /api/1/interactive_prompts/{uid}/events/export` (docs/api.md,
//! "Data ownership"): every event of a prompt, deleted or not, as CSV or
//! JSON lines, streamed from the database a page at a time.
//!
//! A producer task reads a page through the per-prompt index, encoded by
//! the engine as it reads it (with [`Format`]'s [`ExportEncoder`]), and
//! hands the chunk to the response body over a channel of
//! [`CHUNKS_AHEAD`] chunks: the server holds at most a few pages of one
//! export whatever the prompt's size, the next page is read while the
//! previous one is sent, and a client that stops reading (or goes away)
//! stops the reads.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, kind};
use super::error_responses::*;
use super::event_json::{EventData, Evtype};
use super::extract::Admin;
use super::state::AppState;
use crate::domain::event::StoredEvent;
use crate::domain::prompt::PromptRecord;
use crate::storage::export::ExportEncoder;
use crate::storage::{StorageError, Store};

/// Events read from the database at a time.
pub const PAGE_EVENTS: usize = 2000;
/// Encoded pages waiting for the client, at most.
pub const CHUNKS_AHEAD: usize = 2;
/// The columns, in order: the CSV header and the JSON lines' keys.
pub const COLUMNS: [&str; 7] = [
    "uid",
    "session_uid",
    "user_sub",
    "evtype",
    "data",
    "prompt_time",
    "created_at",
];

/// The export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One JSON object a line.
    Jsonl,
}

impl Format {
    fn parse(uri: &Uri) -> Result<Format, ApiError> {
        let axum::extract::Query(raw) = axum::extract::Query::<ExportParams>::try_from_uri(uri)
            .map_err(|e| ApiError::unprocessable(e.body_text()))?;
        match raw.format.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("jsonl") => Ok(Format::Jsonl),
            Some(other) => Err(ApiError::unprocessable(format!(
                "format: must be csv or jsonl, not {other:?}"
            ))),
            None => Err(ApiError::unprocessable(
                "format: missing; must be csv or jsonl",
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Jsonl => "application/x-ndjson; charset=utf-8",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    /// What the body starts with: the CSV header row.
    pub fn preamble(self) -> Bytes {
        match self {
            Format::Csv => Bytes::from(COLUMNS.join(",") + "\r\n"),
            Format::Jsonl => Bytes::new(),
        }
    }
}

/// Each page is encoded by the engine on the thread that reads it
/// ([`crate::storage::export`]).
impl ExportEncoder for Format {
    fn encode(&self, events: &mut dyn Iterator<Item = StoredEvent>, out: &mut Vec<u8>) {
        match self {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(out);
                for e in events {
                    let row = ExportedEvent::from(&e);
                    let record = [
                        row.uid,
                        row.session_uid,
                        row.user_sub,
                        row.evtype.0,
                        &row.data.to_string(),
                        &number(row.prompt_time),
                        &number(row.created_at),
                    ];
                    w.write_record(record).expect("writing to memory");
                }
                w.flush().expect("writing to memory");
            }
            Format::Jsonl => {
                for e in events {
                    serde_json::to_writer(&mut *out, &ExportedEvent::from(&e))
                        .expect("an event serializes");
                    out.push(b'\n');
                }
            }
        }
    }
}

/// A number as JSON writes it (the shortest text that reads back exactly).
fn number(x: f64) -> String {
    serde_json::Number::from_f64(x).map_or_else(|| "null".into(), |n| n.to_string())
}

/// Query of the export.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `csv` or `jsonl`.
    #[param(required = true, value_type = String, pattern = "^(csv|jsonl)$")]
    format: Option<String>,
}

// Members in the export's column order.
/// One exported event: a JSON line, or a CSV row with `data` as JSON text.
#[derive(Serialize, ToSchema)]
pub struct ExportedEvent<'a> {
    /// `ipe_…`
    uid: &'a str,
    /// `ips_…`
    session_uid: &'a str,
    user_sub: &'a str,
    evtype: Evtype,
    #[schema(value_type = EventData)]
    data: &'a Value,
    prompt_time: f64,
    /// Unix seconds when stored.
    created_at: f64,
}

impl<'a> From<&'a StoredEvent> for ExportedEvent<'a> {
    fn from(e: &'a StoredEvent) -> Self {
        ExportedEvent {
            uid: &e.uid,
            session_uid: &e.session_uid,
            user_sub: &e.user_sub,
            evtype: Evtype(e.evtype),
            data: &e.data,
            prompt_time: e.prompt_time,
            created_at: e.created_at,
        }
    }
}

/// Streams every event of a prompt, deleted or not, in `(prompt_time,
/// uid)` order, in constant server memory.
#[utoipa::path(get, path = "/api/1/interactive_prompts/{uid}/events/export", tag = "prompts",
    security(("admin_token" = [])),
    params(("uid" = String, Path, description = "The prompt's uid (`ip_…`)."), ExportParams),
    responses(
        (status = 200, description = "Every event of the prompt, streamed.", content(
            (String = "text/csv"),
            (ExportedEvent = "application/x-ndjson"),
        )),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = PromptNotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = Unavailable),
    ))]
pub async fn export(
    _: Admin,
    State(s): State<AppState>,
    uid: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(kind::NOT_FOUND, "interactive prompt not found");
    let uid = uid.map(|Path(uid)| uid).map_err(|_| not_found())?;
    let format = Format::parse(&uri)?;
    let prompt = s.store.prompt(&uid).await?.ok_or_else(not_found)?;
    let disposition = format!(
        "attachment; filename=\"{}-events.{}\"",
        prompt.uid,
        format.extension()
    );
    let disposition = HeaderValue::from_str(&disposition)
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let headers = [
        (
            CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        ),
        (CONTENT_DISPOSITION, disposition),
    ];
    Ok((
        StatusCode::OK,
        headers,
        stream(s.store.clone(), prompt, format),
    )
        .into_response())
}

/// The body: chunks from a producer task that reads page after page.
fn stream(store: Store, prompt: PromptRecord, format: Format) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, StorageError>>(CHUNKS_AHEAD);
    tokio::spawn(async move {
        let preamble = format.preamble();
        if !preamble.is_empty() && tx.send(Ok(preamble)).await.is_err() {
            return;
        }
        let encoder: Arc<dyn ExportEncoder> = Arc::new(format);
        let mut after = None;
        loop {
            let chunk = store
                .export_chunk(&prompt, after.take(), PAGE_EVENTS, encoder.clone())
                .await;
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    // The status is sent: the client sees the body cut short.
                    tracing::warn!(prompt = %prompt.uid, error = %e, "export failed midway");
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            if chunk.events == 0 {
                return;
            }
            let done = chunk.events < PAGE_EVENTS;
            after = chunk.last;
            if tx.send(Ok(Bytes::from(chunk.bytes))).await.is_err() || done {
                return; // the client went away, or that was the last page
            }
        }
    });
    Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: Format, events: &[StoredEvent]) -> Vec<u8> {
        let mut out = Vec::new();
        format.encode(&mut events.iter().cloned(), &mut out);
        out
    }

    #[test]
    fn numbers_are_written_as_json_writes_them() {
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(3.0), "3.0");
        assert_eq!(number(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn awkward_names_survive_a_csv_reader_and_json_lines() {
        use crate::domain::event::EventKind;
        use crate::domain::user::Shown;
        let name = "Ann \"the, one\"\r\nO'Neil";
        let events = [
            StoredEvent::new(
                "ipe_a".into(),
                "sub,1".into(),
                "ips_a".into(),
                "ip_a".into(),
                EventKind::Join,
                Shown {
                    name: Some(name),
                    picture: None,
                },
                0.5,
                1.25,
            ),
            StoredEvent::new(
                "ipe_b".into(),
                "sub\"2".into(),
                "ips_b".into(),
                "ip_a".into(),
                EventKind::Numeric { rating: 7 },
                Shown::default(),
                3.0,
                2.0,
            ),
        ];
        let mut text = Format::Csv.preamble().to_vec();
        text.extend_from_slice(&encoded(Format::Csv, &events));
        let mut reader = csv::Reader::from_reader(text.as_slice());
        assert_eq!(reader.headers().unwrap(), COLUMNS.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][2], "sub,1");
        let data: Value = serde_json::from_str(&rows[0][4]).unwrap();
        assert_eq!(data["name"], name);
        assert_eq!(&rows[1][4], r#"{"rating":7}"#);
        assert_eq!(&rows[1][5], "3.0");
        let lines = encoded(Format::Jsonl, &events);
        let lines: Vec<Value> = std::str::from_utf8(&lines)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["data"]["name"], name);
        assert_eq!(lines[1]["user_sub"], "sub\"2");
        let keys: Vec<&String> = lines[1].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), COLUMNS.len());
    }

    #[test]
    fn the_csv_header_names_every_column_and_ends_with_crlf() {
        assert_eq!(
            Format::Csv.preamble(),
            "uid,session_uid,user_sub,evtype,data,prompt_time,created_at\r\n"
        );
        assert!(Format::Jsonl.preamble().is_empty());
    }
}
