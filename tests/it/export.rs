//! The export of a prompt's events (docs/api.md, "Data ownership"): CSV and
//! JSON lines hold exactly the events search reads, in the same
//! `(prompt_time, uid)` order, across the export's page boundaries and
//! ties of `prompt_time`; both round-trip through real parsers (awkward
//! names included); a deleted prompt exports; and the refusals.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::raw_db::Db;
use crate::support::*;

/// Events added behind the server's back: more than the export's page
/// (2,000) so that pages continue one another, with many ties of
/// `prompt_time`, so the order within a tie is the uid's.
const BULK: u32 = 4500;

/// The export of `uid` with the query `query`: status, headers and body.
async fn export(
    app: &TestApp,
    uid: &str,
    query: &str,
    token: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let url = app.url(&format!(
        "/api/1/interactive_prompts/{uid}/events/export{query}"
    ));
    let mut req = app.http.get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("export request");
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.text().await.expect("the whole body"))
}

/// Every event search returns for the session's prompt, page after page.
async fn searched(app: &TestApp, s: &Session) -> Vec<Value> {
    let mut items = Vec::new();
    let mut body = json!({"limit": 5000});
    loop {
        let (status, page) = app.search(s, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match &page["next_page_sort"] {
            Value::Null => return items,
            sort => body["sort"] = sort.clone(),
        }
    }
}

/// The export's columns of a search item, with `data` as a JSON value.
fn columns(item: &Value) -> Value {
    json!({
        "uid": item["uid"], "session_uid": item["session_uid"], "user_sub": item["user_sub"],
        "evtype": item["evtype"], "data": item["data"],
        "prompt_time": item["prompt_time"], "created_at": item["created_at"],
    })
}

/// The CSV export parsed by the `csv` crate into the same shape.
fn parse_csv(text: &str) -> Vec<Value> {
    assert!(text.ends_with("\r\n"), "CRLF line ends");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "uid",
            "session_uid",
            "user_sub",
            "evtype",
            "data",
            "prompt_time",
            "created_at"
        ]
    );
    let number = |s: &str| json!(s.parse::<f64>().unwrap_or_else(|_| panic!("a number: {s}")));
    reader
        .records()
        .map(|r| {
            let r = r.expect("an RFC 4180 record");
            assert_eq!(r.len(), 7);
            json!({
                "uid": r[0], "session_uid": r[1], "user_sub": r[2], "evtype": r[3],
                "data": serde_json::from_str::<Value>(&r[4]).expect("data is JSON text"),
                "prompt_time": number(&r[5]), "created_at": number(&r[6]),
            })
        })
        .collect()
}

/// The JSON lines export, one object a line.
fn parse_jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON object a line");
            assert_eq!(v.as_object().unwrap().len(), 7, "{l}");
            v
        })
        .collect()
}

/// Sessions of awkward users with real events, then `BULK` likes written
/// straight into the database on those sessions; returns the server (on
/// the same database), the prompt and one session.
async fn filled_prompt() -> (TestApp, String, Session) {
    let (database, dir) = fresh_database().await;
    let app = spawn_on(&database, &[], None);
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    let names = ["Ann \"the, one\"", "line\r\nbreak", "émile ☃", "plain"];
    let mut first = None;
    for (i, name) in names.iter().enumerate() {
        let s = app
            .start_session_as(&prompt, &format!("sub,{i}\""), Some(name))
            .await;
        for (route, t, data) in [
            ("join", 0.5, json!({})),
            ("respond_numeric_prompt", 2.5, json!({"rating": 3 + i})),
            ("like", 2.5, json!({})),
            ("leave", 9.0, json!({})),
        ] {
            let (status, body) = app.post_event(&s, route, t, data).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        first.get_or_insert(s);
    }
    drop(app);
    let db = Db::open(&database).await;
    db.batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {BULK})
         INSERT INTO interactive_prompt_events
             (uid, interactive_prompt_session_id, evtype, data, prompt_time, created_at, interactive_prompt_id)
         SELECT 'ipe_bulk' || ((n.i * 7919) % 10007), s.id, 'like', '{{}}', (n.i % 9) * 2.5,
                1800000000.25, s.interactive_prompt_id
         FROM n JOIN interactive_prompt_sessions s
           ON s.id = (SELECT MIN(id) FROM interactive_prompt_sessions) + n.i % 4;"
    ))
    .await;
    drop(db);
    (
        spawn_on(&database, &[], dir),
        prompt,
        first.expect("a session"),
    )
}

#[tokio::test]
async fn csv_and_json_lines_hold_what_search_reads_in_its_order() {
    let (app, prompt, s) = filled_prompt().await;
    let expected: Vec<Value> = searched(&app, &s).await.iter().map(columns).collect();
    assert_eq!(expected.len(), 16 + BULK as usize);

    let (status, headers, csv) = export(&app, &prompt, "?format=csv", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{prompt}-events.csv\"")
    );
    let rows = parse_csv(&csv);
    assert_eq!(rows.len(), expected.len());
    for (i, (got, want)) in rows.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "row {i}");
    }

    let (status, headers, jsonl) = export(&app, &prompt, "?format=jsonl", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/x-ndjson")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with("-events.jsonl\"")
    );
    let lines = parse_jsonl(&jsonl);
    assert_eq!(lines, expected);
    let joined = lines
        .iter()
        .find(|l| l["evtype"] == "join" && l["user_sub"] == "sub,0\"");
    assert_eq!(
        joined.expect("Ann's join")["data"],
        json!({"name": "Ann \"the, one\""})
    );
}

#[tokio::test]
async fn a_deleted_prompt_exports_and_bad_requests_are_refused() {
    let app = spawn_app().await;
    let prompt = app.create_prompt(press_prompt(), 30).await;
    let (_, _, empty) = export(&app, &prompt, "?format=csv", Some(ADMIN_TOKEN)).await;
    assert_eq!(
        empty,
        "uid,session_uid,user_sub,evtype,data,prompt_time,created_at\r\n"
    );
    let (_, _, empty) = export(&app, &prompt, "?format=jsonl", Some(ADMIN_TOKEN)).await;
    assert_eq!(empty, "");

    let s = app.start_session(&prompt, "ada").await;
    for (route, t) in [
        ("join", 0.0),
        ("respond_press_prompt/start", 1.0),
        ("respond_press_prompt/end", 2.0),
    ] {
        assert_eq!(
            app.post_event(&s, route, t, json!({})).await.0,
            StatusCode::CREATED
        );
    }
    let (status, _) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/1/interactive_prompts/{prompt}")))
                .bearer_auth(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = export(&app, &prompt, "?format=jsonl", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let expected: Vec<Value> = searched(&app, &s).await.iter().map(columns).collect();
    assert_eq!(expected.len(), 3);
    assert_eq!(parse_jsonl(&body), expected);

    let refusals: [(&str, &str, Option<&str>, u16, &str); 7] = [
        (&prompt, "?format=csv", None, 401, "not_set"),
        (&prompt, "?format=csv", Some("wrong-token"), 403, "invalid"),
        (&prompt, "?format=csv", Some(&s.jwt), 403, "invalid"),
        (
            "ip_nosuchprompt",
            "?format=csv",
            Some(ADMIN_TOKEN),
            404,
            "not_found",
        ),
        (
            &prompt,
            "?format=xml",
            Some(ADMIN_TOKEN),
            422,
            "format: must be csv or jsonl, not",
        ),
        (&prompt, "", Some(ADMIN_TOKEN), 422, "format: missing"),
        (
            &prompt,
            "?format=csv&limit=3",
            Some(ADMIN_TOKEN),
            422,
            "limit",
        ),
    ];
    for (uid, query, token, status, says) in refusals {
        let (got, _, body) = export(&app, uid, query, token).await;
        assert_eq!(got.as_u16(), status, "{uid}{query}: {body}");
        assert!(body.contains(says), "{uid}{query}: {body}");
        let body: Value = serde_json::from_str(&body).expect("a JSON error");
        assert!(body["type"].is_string() && body["message"].is_string());
    }
}
