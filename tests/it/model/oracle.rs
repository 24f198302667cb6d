//! The test's own model of docs/rules.md ("The event rules", "Fenwick
//! trees", "Counts"), written independently of the crate: which rule
//! refuses a request, and the aggregates of a prompt recomputed by brute
//! force from the accepted events.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

/// Routes and the evtype each posts.
pub const ROUTES: [(&str, &str); 8] = [
    ("join", "join"),
    ("leave", "leave"),
    ("like", "like"),
    ("respond_numeric_prompt", "numeric_prompt_response"),
    ("respond_press_prompt/start", "press_prompt_start_response"),
    ("respond_press_prompt/end", "press_prompt_end_response"),
    ("respond_color_prompt", "color_prompt_response"),
    ("respond_word_prompt", "word_prompt_response"),
];

/// A prompt's style, with its number of ratings or options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    Numeric { min: i64, max: i64 },
    Press,
    Color(i64),
    Word(i64),
}

/// A prompt as the model knows it.
pub struct MPrompt {
    pub uid: String,
    pub jwt: String,
    pub style: Style,
    pub duration: i64,
    pub deleted: bool,
}

/// An accepted event: `route` indexes [`ROUTES`]; `value` is the rating or index.
pub struct MEvent {
    pub route: usize,
    pub t: f64,
    pub value: Option<i64>,
    pub uid: String,
}

/// A session and its accepted events.
pub struct MSession {
    pub prompt: usize,
    pub owner: usize,
    pub uid: String,
    /// Accepted events, in acceptance order.
    pub events: Vec<MEvent>,
}

/// One event request: `None` stands for an unknown prompt or session uid.
pub struct Req {
    pub prompt: Option<usize>,
    pub session: Option<usize>,
    pub actor: usize,
    pub route: usize,
    pub t: f64,
    pub value: Option<i64>,
}

impl MSession {
    /// "Pressing": the latest press event is a start.
    pub fn pressing(&self) -> bool {
        let press = self
            .events
            .iter()
            .rev()
            .find(|e| e.route == 4 || e.route == 5);
        press.is_some_and(|e| e.route == 4)
    }

    pub fn ended(&self) -> bool {
        self.events.last().is_some_and(|e| e.route == 1)
    }
}

/// An event as listed by search: uid, session uid, evtype, prompt time.
pub type Row = (String, String, String, f64);

/// Everything the server should hold.
pub struct Model {
    pub prompts: Vec<MPrompt>,
    pub sessions: Vec<MSession>,
}

/// `bins(d) = 1` if `d ≤ 1`, else `2^ceil(log2 d) − 1`.
pub fn bins(d: i64) -> usize {
    if d <= 1 {
        return 1;
    }
    let mut p = 1;
    while p < d {
        p *= 2;
    }
    (p - 1) as usize
}

/// `min(bins − 1, floor(t · bins / d))`.
pub fn bin_of(t: f64, d: i64) -> usize {
    let n = bins(d);
    ((t * n as f64 / d as f64).floor() as usize).min(n - 1)
}

impl Model {
    /// The event rules (docs/rules.md) in their order: the error type the
    /// server must answer, if any.
    pub fn predict(&self, r: &Req) -> Result<(), &'static str> {
        let pi = r.prompt.ok_or("not_found")?;
        let p = &self.prompts[pi];
        if p.deleted {
            return Err("not_found");
        }
        if !(0.0 <= r.t && r.t <= p.duration as f64) {
            return Err("impossible_prompt_time");
        }
        let s = r
            .session
            .map(|si| &self.sessions[si])
            .filter(|s| s.prompt == pi && s.owner == r.actor)
            .ok_or("session_not_found")?;
        let evs = &s.events;
        if r.route == 0 && !evs.is_empty() {
            return Err("session_already_started");
        }
        if r.route != 0 && evs.is_empty() {
            return Err("session_not_started");
        }
        if s.ended() {
            return Err("session_already_ended");
        }
        if evs.iter().any(|e| e.t > r.t) {
            return Err("session_has_later_event");
        }
        if evs.iter().any(|e| e.route == r.route && e.t == r.t) {
            return Err("session_has_same_event_at_same_time");
        }
        let (pressing, v) = (s.pressing(), r.value.unwrap_or(0));
        let data_ok = match (r.route, p.style) {
            (0..=2, _) => true,
            (3, Style::Numeric { min, max }) => min <= v && v <= max,
            (4, Style::Press) => !pressing,
            (5, Style::Press) => pressing,
            (6, Style::Color(n)) | (7, Style::Word(n)) => 0 <= v && v < n,
            _ => return Err("impossible_event"),
        };
        if data_ok {
            Ok(())
        } else {
            Err("impossible_event_data")
        }
    }

    /// The accepted events of a prompt in `(prompt_time, uid)` order.
    pub fn rows(&self, pi: usize) -> Vec<Row> {
        let sessions = self.sessions.iter().filter(|s| s.prompt == pi);
        let mut rows: Vec<Row> = sessions
            .flat_map(|s| {
                s.events
                    .iter()
                    .map(|e| (e.uid.clone(), s.uid.clone(), e.t, e.route))
            })
            .map(|(uid, session, t, route)| (uid, session, ROUTES[route].1.to_owned(), t))
            .collect();
        rows.sort_by(|a, b| a.3.total_cmp(&b.3).then_with(|| a.0.cmp(&b.0)));
        rows
    }

    /// `(category, per-bin totals)` of a prompt, recomputed from its events.
    pub fn expected_totals(&self, pi: usize) -> HashMap<String, Vec<i64>> {
        let d = self.prompts[pi].duration;
        let mut deltas: HashMap<String, Vec<i64>> = HashMap::new();
        let mut add = |key: String, b: usize, v: i64| {
            deltas.entry(key).or_insert_with(|| vec![0; bins(d)])[b] += v
        };
        for s in self.sessions.iter().filter(|s| s.prompt == pi) {
            let (mut pressing, mut answer) = (false, None::<i64>);
            for e in &s.events {
                let b = bin_of(e.t, d);
                let kind = [
                    "users", "users", "likes", "numeric", "press", "press", "color", "word",
                ][e.route];
                match e.route {
                    0 | 2 => add(kind.into(), b, 1),
                    1 => {
                        add("users".into(), b, -1);
                        if pressing {
                            add("press_active".into(), b, -1);
                        }
                    }
                    4 | 5 => {
                        pressing = e.route == 4;
                        add("press_active".into(), b, if pressing { 1 } else { -1 });
                        if pressing {
                            add("press".into(), b, 1);
                        }
                    }
                    _ => {
                        let v = e.value.unwrap();
                        add(format!("{kind}:{v}"), b, 1);
                        if let Some(old) = answer.replace(v) {
                            add(format!("{kind}:{old}"), b, -1);
                        }
                    }
                }
            }
        }
        for series in deltas.values_mut() {
            for b in 1..series.len() {
                series[b] += series[b - 1];
            }
        }
        deltas
    }

    /// The stats figures of one bin (without `prompt_time` and `bin_width`).
    pub fn expected_stats(&self, pi: usize, totals: &HashMap<String, Vec<i64>>, b: usize) -> Value {
        let at = |key: String| totals.get(&key).map_or(0, |s| s[b]);
        let list =
            |kind: &str, n: i64| (0..n).map(|i| at(format!("{kind}:{i}"))).collect::<Value>();
        let mut v = json!({"users": at("users".into()), "likes": at("likes".into()),
            "numeric_active": null, "press_active": null, "press": null, "color_active": null, "word_active": null});
        match self.prompts[pi].style {
            Style::Numeric { min, max } => {
                let m: BTreeMap<String, i64> = (min..=max)
                    .map(|r| (r.to_string(), at(format!("numeric:{r}"))))
                    .collect();
                v["numeric_active"] = json!(m);
            }
            Style::Press => {
                v["press_active"] = json!(at("press_active".into()));
                v["press"] = json!(at("press".into()));
            }
            Style::Color(n) => v["color_active"] = list("color", n),
            Style::Word(n) => v["word_active"] = list("word", n),
        }
        v
    }
}
