//! Event search (docs/api.md, "Search"): every filter and operator checked
//! against an independent filter of the events we posted, the sorts,
//! keyset pagination, `dropout_for_total` sampling and the refused requests.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::time::UNIX_EPOCH;

use serde_json::{Value, json};

use crate::support::*;

/// `(prompt_time, uid)` order, the default listing order.
fn order(a: &Value, b: &Value) -> Ordering {
    let by_time = num(a, "prompt_time").total_cmp(&num(b, "prompt_time"));
    by_time.then_with(|| a["uid"].as_str().cmp(&b["uid"].as_str()))
}

fn num(e: &Value, field: &str) -> f64 {
    e[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} of {e}"))
}

fn uids(items: &[Value]) -> Vec<&str> {
    items.iter().map(|e| e["uid"].as_str().unwrap()).collect()
}

fn filtered(filters: &Value) -> Value {
    json!({"filters": filters, "limit": 5000})
}

fn items(page: &Value) -> &[Value] {
    page["items"].as_array().expect("items")
}

fn unix_now() -> f64 {
    UNIX_EPOCH.elapsed().unwrap().as_secs_f64()
}

/// Posts an event and records the search item it should become (all but `created_at`).
async fn post(app: &TestApp, s: &Session, route: &str, t: f64, data: Value, out: &mut Vec<Value>) {
    let (status, body) = app.post_event(s, route, t, data.clone()).await;
    assert_eq!(status, 201, "{route} at {t}: {body}");
    let data = match route {
        "join" | "leave" => json!({"name": format!("Name-{}", s.sub)}),
        _ => data,
    };
    out.push(json!({
        "uid": body["uid"], "user_sub": s.sub, "session_uid": s.session_uid,
        "interactive_prompt_uid": s.prompt_uid, "evtype": body["type"], "icon": null,
        "data": data, "prompt_time": t,
    }));
}

/// A server whose first prompt has 84 known events: six sessions of three
/// users, sharing prompt times pairwise so that `uid` has to break ties.
/// Returns a session of it, a session of a second prompt with one event of
/// its own, and the first prompt's events as search items in
/// `(prompt_time, uid)` order.
async fn seeded() -> (TestApp, Session, Session, Vec<Value>) {
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let prompt = app.create_prompt(numeric_prompt(), 60).await;
    let (started, mut posted, mut first) = (unix_now(), Vec::new(), None);
    for i in 0..6 {
        let sub = ["ada", "bob", "cy"][i % 3];
        let s = app.start_session(&prompt, sub).await;
        let base = (i / 2) as f64;
        post(&app, &s, "join", base, json!({}), &mut posted).await;
        for j in 1..=8 {
            let t = base + j as f64 * 2.5;
            post(&app, &s, "like", t, json!({}), &mut posted).await;
            if j % 2 == 0 {
                let rating = json!({"rating": (i + j) % 10 + 1});
                post(&app, &s, "respond_numeric_prompt", t, rating, &mut posted).await;
            }
        }
        post(&app, &s, "leave", base + 25.0, json!({}), &mut posted).await;
        first.get_or_insert(s);
    }
    let other_prompt = app.create_prompt(press_prompt(), 60).await;
    let other = app.start_session(&other_prompt, "ada").await;
    assert_eq!(app.post_event(&other, "join", 1.0, json!({})).await.0, 201);
    let finished = unix_now();

    let s = first.unwrap();
    let (status, page) = app.search(&s, json!({"limit": 5000})).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["next_page_sort"], json!(null));
    posted.sort_by(order);
    let events = items(&page).to_vec();
    assert_eq!(events.len(), 84, "the other prompt's event leaked in?");
    // Items have exactly the expected fields and values.
    for (item, mut want) in events.iter().zip(posted) {
        let window = started - 1.0..=finished + 1.0;
        assert!(window.contains(&num(item, "created_at")), "{item}");
        want["created_at"] = item["created_at"].clone();
        assert_eq!(item, &want);
    }
    (app, s, other, events)
}

/// Follows `next_page_sort` until it is null, copying it verbatim (as raw
/// JSON text, the way a client that never re-encodes numbers would).
/// Returns the items and the number of pages.
async fn all_pages(app: &TestApp, s: &Session, body: Value) -> (Vec<Value>, usize) {
    #[derive(serde::Deserialize)]
    struct Page<'a> {
        items: Vec<Value>,
        #[serde(borrow)]
        next_page_sort: &'a serde_json::value::RawValue,
    }
    let mut base = body.clone();
    base.as_object_mut().unwrap().remove("sort");
    let base = base.to_string();
    let (mut items, mut pages, mut text) = (Vec::new(), 0, body.to_string());
    loop {
        let url = app.url("/api/1/interactive_prompts/events/search");
        let req = app.http.post(url).bearer_auth(&s.jwt).body(text);
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let reply = resp.text().await.unwrap();
        let page: Page = serde_json::from_str(&reply).unwrap();
        items.extend(page.items);
        pages += 1;
        if page.next_page_sort.get() == "null" {
            return (items, pages);
        }
        assert!(pages <= 600, "pagination does not end");
        let (head, sort) = (&base[..base.len() - 1], page.next_page_sort);
        text = format!(r#"{head}, "sort": {sort}}}"#);
    }
}

#[tokio::test]
async fn every_filter_and_operator_matches_an_independent_filter_of_the_posted_events() {
    let (app, s, _, events) = seeded().await;
    let mut created: Vec<f64> = events.iter().map(|e| num(e, "created_at")).collect();
    created.sort_by(f64::total_cmp);
    let (c_lo, c_mid, c_hi) = (created[20], created[42], created[60]);

    type Pred = Box<dyn Fn(&Value) -> bool>;
    let text = |field: &'static str, op: &'static str, v: &str| -> (Value, Pred) {
        let (f, v) = (json!({ field: {"operator": op, "value": v} }), v.to_owned());
        let pred: Pred = Box::new(move |e: &Value| (e[field] == v.as_str()) == (op == "eq"));
        (f, pred)
    };
    let number = |field: &'static str, op: &'static str, v: Value| -> (Value, Pred) {
        let f = json!({ field: {"operator": op, "value": v.clone()} });
        let (y, a, b) = (v.as_f64(), v[0].as_f64(), v[1].as_f64());
        let pred = move |e: &Value| {
            let x = e[field].as_f64();
            match op {
                "eq" => x == y,
                "neq" => x != y,
                "gt" => x > y,
                "gte" => x >= y,
                "lt" => x < y,
                "lte" => x <= y,
                "bt" => a <= x && x <= b,
                _ => a <= x && x < b,
            }
        };
        (f, Box::new(pred) as Pred)
    };
    let bob = events.iter().find(|e| e["user_sub"] == "bob").unwrap();
    let session = bob["session_uid"].as_str().unwrap();
    let mut cases: Vec<(Value, Pred)> = vec![
        text("user_sub", "eq", "bob"),
        text("user_sub", "neq", "bob"),
        text("user_sub", "eq", "nobody"),
        text("session_uid", "eq", session),
        text("session_uid", "neq", session),
        text("evtype", "eq", "like"),
        text("evtype", "neq", "like"),
        text("evtype", "eq", "numeric_prompt_response"),
    ];
    for op in ["eq", "neq", "gt", "gte", "lt", "lte"] {
        cases.push(number("prompt_time", op, json!(7.5)));
        cases.push(number("created_at", op, json!(c_mid)));
    }
    for op in ["bt", "bte"] {
        cases.push(number("prompt_time", op, json!([5.0, 12.5])));
        cases.push(number("created_at", op, json!([c_lo, c_hi])));
    }
    // Filters combine: all must hold.
    let (f1, p1) = text("user_sub", "eq", "ada");
    let (f2, p2) = number("prompt_time", "lt", json!(10));
    let both = json!({"user_sub": f1["user_sub"], "prompt_time": f2["prompt_time"]});
    cases.push((both, Box::new(move |e: &Value| p1(e) && p2(e))));

    for (filters, pred) in &cases {
        let want: Vec<&Value> = events.iter().filter(|e| pred(e)).collect();
        let (status, page) = app.search(&s, filtered(filters)).await;
        assert_eq!(status, 200, "{filters}: {page}");
        let want: Vec<&str> = want.iter().map(|e| e["uid"].as_str().unwrap()).collect();
        assert_eq!(uids(items(&page)), want, "{filters}");
    }
    // The data tell the operators apart: bob has events, nobody has none,
    // two likes are at 7.5 s and two at 12.5 s (in bt, not in bte).
    let count = |i: usize| events.iter().filter(|e| cases[i].1(e)).count();
    let bt_minus_bte = count(20) - count(22);
    assert_eq!(
        (count(0) > 0, count(2), count(8), bt_minus_bte),
        (true, 0, 2, 2)
    );
    assert!(count(21) > count(23) && count(23) > 0);
}

#[tokio::test]
async fn numbers_copied_from_items_select_exactly_those_items() {
    // created_at is made by the server with all its digits: it must survive
    // the trip out to the client and back into a filter.
    let (app, s, _, events) = seeded().await;
    for e in &events {
        for field in ["created_at", "prompt_time"] {
            let filters = json!({ field: {"operator": "eq", "value": e[field]} });
            let (_, page) = app.search(&s, filtered(&filters)).await;
            let same = events.iter().filter(|o| o[field] == e[field]);
            let want: Vec<&str> = same.map(|o| o["uid"].as_str().unwrap()).collect();
            assert_eq!(uids(items(&page)), want, "{filters}");
        }
    }
}

#[tokio::test]
async fn the_prompt_filter_accepts_only_the_tokens_own_prompt() {
    let (app, s, other, events) = seeded().await;
    let by_prompt = |uid: &str| json!({"filters": {"interactive_prompt_uid": {"operator": "eq", "value": uid}}, "limit": 5000});
    let (status, page) = app.search(&s, by_prompt(&s.prompt_uid)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(items(&page), events.as_slice());

    let (status, body) = app.search(&s, by_prompt(&other.prompt_uid)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["type"], "invalid");

    // The other prompt's token sees only its own single event.
    let (_, page) = app.search(&other, json!({})).await;
    assert_eq!(items(&page).len(), 1);
    let only = &items(&page)[0];
    assert_eq!(only["interactive_prompt_uid"], other.prompt_uid.as_str());
    assert_eq!(only["data"], json!({"name": "Name-ada"}));
}

#[tokio::test]
async fn sorts_order_by_prompt_time_and_uid_in_either_direction() {
    let (app, s, _, events) = seeded().await;
    let sorted = |f: &dyn Fn(&Value, &Value) -> Ordering| {
        let mut v = events.clone();
        v.sort_by(|a, b| f(a, b));
        uids(&v).into_iter().map(String::from).collect::<Vec<_>>()
    };
    let uid = |e: &Value| e["uid"].as_str().unwrap().to_owned();
    let pt = |e: &Value| e["prompt_time"].as_f64().unwrap();
    let item = |key: &str, dir: &str| json!({"key": key, "dir": dir});
    #[rustfmt::skip]
    let cases = [
        (None, sorted(&order)),
        (Some(vec![item("prompt_time", "asc"), item("uid", "asc")]), sorted(&order)),
        (Some(vec![item("prompt_time", "desc"), item("uid", "desc")]), sorted(&|a, b| order(b, a))),
        (Some(vec![item("uid", "asc")]), sorted(&|a, b| uid(a).cmp(&uid(b)))),
        (Some(vec![item("uid", "desc")]), sorted(&|a, b| uid(b).cmp(&uid(a)))),
        // uid is the final tie-break, ascending when not given.
        (Some(vec![item("prompt_time", "desc")]), sorted(&|a, b| pt(b).total_cmp(&pt(a)).then(uid(a).cmp(&uid(b))))),
    ];
    for (sort, want) in cases {
        let mut body = json!({"limit": 5000});
        if let Some(sort) = &sort {
            body["sort"] = json!(sort);
        }
        let (status, page) = app.search(&s, body).await;
        assert_eq!(status, 200, "{sort:?}: {page}");
        assert_eq!(uids(items(&page)), want, "{sort:?}");
    }
}

#[tokio::test]
async fn keyset_pagination_visits_every_event_exactly_once_in_order() {
    let (app, s, _, events) = seeded().await;
    let asc = uids(&events);
    for limit in [1, 2, 7, 83, 84, 100] {
        let (items, pages) = all_pages(&app, &s, json!({"limit": limit})).await;
        assert_eq!(uids(&items), asc, "limit {limit}");
        assert_eq!(pages, events.len().div_ceil(limit), "limit {limit}");
    }
    let desc: Vec<&str> = asc.iter().rev().copied().collect();
    let sort = json!([{"key": "prompt_time", "dir": "desc"}, {"key": "uid", "dir": "desc"}]);
    for limit in [1, 5, 13] {
        let (items, _) = all_pages(&app, &s, json!({"sort": sort, "limit": limit})).await;
        assert_eq!(uids(&items), desc, "desc, limit {limit}");
    }
    // Pagination composes with filters.
    let likes = events.iter().filter(|e| e["evtype"] == "like");
    let likes: Vec<&str> = likes.map(|e| e["uid"].as_str().unwrap()).collect();
    let body = json!({"filters": {"evtype": {"operator": "eq", "value": "like"}}, "limit": 4});
    assert_eq!(uids(&all_pages(&app, &s, body).await.0), likes);

    // next_page_sort names the last item of the page.
    let (_, page) = app.search(&s, json!({"limit": 1})).await;
    let (t, uid) = (&events[0]["prompt_time"], &events[0]["uid"]);
    let want = json!([{"key": "prompt_time", "dir": "asc", "after": t}, {"key": "uid", "dir": "asc", "after": uid}]);
    assert_eq!(page["next_page_sort"], want);
}

/// A press prompt where each of `sessions` sessions joins at 0, likes once
/// at `k - 0.5`, `per_session` times at distinct irregular times in
/// `[k, k + 1)`, and once at `k + 1`.
async fn crowded_bucket(k: f64, sessions: usize, per_session: usize) -> (TestApp, Session) {
    let app = spawn_app_with(&["--session-event-rate", "0"]).await;
    let prompt = app.create_prompt(press_prompt(), 10).await;
    let mut all = Vec::new();
    for i in 0..sessions {
        all.push(app.start_session(&prompt, &format!("u{i}")).await);
    }
    let total = (sessions * per_session) as f64;
    let posts = all.iter().enumerate().map(|(i, s)| {
        let app = &app;
        let mut times = vec![(0.0, "join"), (k - 0.5, "like")];
        times.extend((0..per_session).map(|j| (k + (j * sessions + i) as f64 / total, "like")));
        times.push((k + 1.0, "like"));
        async move {
            for (t, route) in times {
                let (status, body) = app.post_event(s, route, t, json!({})).await;
                assert_eq!(status, 201, "{body}");
            }
        }
    });
    futures::future::join_all(posts).await;
    (app, all.swap_remove(0))
}

fn dropout(m: i64, k: f64) -> Value {
    json!({"filters": {"dropout_for_total": {"operator": "eq", "value": m},
        "prompt_time": {"operator": "bte", "value": [k, k + 1.0]}}, "limit": 5000})
}

fn in_bucket_3(items: &[Value]) -> bool {
    items
        .iter()
        .all(|e| (3.0..4.0).contains(&num(e, "prompt_time")))
}

#[tokio::test]
async fn dropout_for_total_keeps_about_m_events_of_the_bucket() {
    let (app, s) = crowded_bucket(3.0, 40, 10).await; // 400 likes in [3, 4)
    let mut kept = 0;
    for _ in 0..10 {
        let (status, page) = app.search(&s, dropout(40, 3.0)).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["next_page_sort"], json!(null));
        let items = items(&page);
        assert!(in_bucket_3(items), "{page}");
        assert!(items.is_sorted_by(|a, b| order(a, b).is_lt()));
        kept += items.len();
    }
    // Binomial(400, 0.1) has mean 40 and standard deviation 6 per request.
    let mean = kept as f64 / 10.0;
    assert!((25.0..=55.0).contains(&mean), "kept {mean} on average");

    for m in [400, 1000] {
        let (_, page) = app.search(&s, dropout(m, 3.0)).await;
        let items = items(&page);
        assert!(in_bucket_3(items));
        let distinct: HashSet<&str> = uids(items).into_iter().collect();
        assert_eq!(distinct.len(), 400, "m = {m}");
    }
    // Bucket 2 holds one like per session: m = count keeps all 40.
    let (_, page) = app.search(&s, dropout(40, 2.0)).await;
    assert_eq!(items(&page).len(), 40);
}

#[tokio::test]
async fn random_sort_with_small_dropout_shuffles_and_cannot_be_continued() {
    let (app, s) = crowded_bucket(3.0, 40, 10).await;
    let mut any_unsorted = false;
    for _ in 0..3 {
        let mut body = dropout(100, 3.0);
        body["sort"] = json!([{"key": "random", "dir": "asc"}]);
        let (status, page) = app.search(&s, body).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["next_page_sort"], json!(null));
        let items = items(&page);
        assert!((50..=150).contains(&items.len()), "kept {}", items.len());
        assert!(in_bucket_3(items));
        any_unsorted |= !items.is_sorted_by(|a, b| order(a, b).is_le());
    }
    assert!(any_unsorted, "three random sorts came back sorted");
}

#[tokio::test]
async fn pagination_over_irregular_prompt_times_visits_every_event_once() {
    let (app, s) = crowded_bucket(3.0, 40, 10).await;
    let (all, _) = all_pages(&app, &s, json!({"limit": 5000})).await;
    assert_eq!(all.len(), 40 * 13);
    for limit in [1, 7] {
        let (items, _) = all_pages(&app, &s, json!({"limit": limit})).await;
        assert_eq!(uids(&items), uids(&all), "limit {limit}");
    }
}

#[tokio::test]
async fn invalid_searches_are_refused_with_422() {
    let (app, s) = crowded_bucket(3.0, 2, 2).await;
    let random = json!([{"key": "random", "dir": "asc"}]);
    let with = |mut body: Value, key: &str, v: Value| {
        body[key] = v;
        body
    };
    let dropout_over = |pt: Value| json!({"filters": {"dropout_for_total": {"operator": "eq", "value": 5}, "prompt_time": pt}});
    let random_after = json!([{"key": "random", "dir": "asc", "after": 0.5}]);
    let paged = json!([{"key": "prompt_time", "dir": "asc", "after": 3.0}, {"key": "uid", "dir": "asc", "after": "ipe_a"}]);
    let bad = [
        json!({"filters": {"dropout_for_total": {"operator": "eq", "value": 5}}}),
        dropout_over(json!({"operator": "bt", "value": [3, 4]})),
        dropout_over(json!({"operator": "bte", "value": [3, 5]})),
        dropout_over(json!({"operator": "bte", "value": [3.5, 4.5]})),
        dropout_over(json!({"operator": "gte", "value": 3})),
        with(dropout(0, 3.0), "limit", json!(10)),
        with(dropout(101, 3.0), "sort", random.clone()),
        json!({"sort": random}),
        with(dropout(50, 3.0), "sort", random_after),
        with(dropout(50, 3.0), "sort", paged),
        json!({"limit": 0}),
        json!({"limit": 5001}),
        json!({"limit": -1}),
        json!({"filters": {"prompt_time": {"operator": "bt", "value": 3}}}),
        json!({"filters": {"prompt_time": {"operator": "like", "value": 3}}}),
        json!({"filters": {"color": {"operator": "eq", "value": "red"}}}),
        json!({"sort": [{"key": "created_at", "dir": "asc"}]}),
    ];
    for body in bad {
        let (status, err) = app.search(&s, body.clone()).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["type"], "unprocessable_entity", "{body}");
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    // The boundaries themselves are fine.
    let fine = [json!({"limit": 1}), json!({"limit": 5000})];
    for body in fine
        .into_iter()
        .chain([with(dropout(100, 3.0), "sort", random)])
    {
        let (status, err) = app.search(&s, body.clone()).await;
        assert_eq!(status, 200, "{body}: {err}");
    }
}
