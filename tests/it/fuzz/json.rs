//! Strategies for hostile request bodies: arbitrary JSON (as text, so that
//! numbers can be huge or absurdly precise), mutations of a valid body, and
//! arbitrary bytes.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;

/// A JSON tree whose leaves are already rendered, so a leaf can be any
/// number text (`1e999`, 40 digits) that `serde_json::Value` cannot hold.
#[derive(Debug, Clone)]
pub enum Json {
    /// A rendered scalar: `null`, `true`, a number or a string literal.
    Raw(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in order (duplicates allowed).
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Converts a valid value.
    pub fn from_value(v: &Value) -> Json {
        match v {
            Value::Array(a) => Json::Arr(a.iter().map(Json::from_value).collect()),
            Value::Object(o) => Json::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), Json::from_value(v)))
                    .collect(),
            ),
            leaf => Json::Raw(leaf.to_string()),
        }
    }

    /// The JSON text.
    pub fn render(&self) -> String {
        match self {
            Json::Raw(s) => s.clone(),
            Json::Arr(items) => {
                let items: Vec<String> = items.iter().map(Json::render).collect();
                format!("[{}]", items.join(","))
            }
            Json::Obj(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v.render()))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
        }
    }

    /// Every object field, as a path of child positions from the root.
    fn field_paths(&self, at: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        let children: Vec<&Json> = match self {
            Json::Raw(_) => return,
            Json::Arr(items) => items.iter().collect(),
            Json::Obj(fields) => fields.iter().map(|(_, v)| v).collect(),
        };
        for (i, child) in children.into_iter().enumerate() {
            at.push(i);
            if matches!(self, Json::Obj(_)) {
                out.push(at.clone());
            }
            child.field_paths(at, out);
            at.pop();
        }
    }

    /// The parent of the node at `path` and the node's position in it.
    fn parent_mut(&mut self, path: &[usize]) -> (&mut Json, usize) {
        let (last, init) = path.split_last().expect("a field path is never empty");
        let mut node = self;
        for &i in init {
            node = match node {
                Json::Arr(items) => &mut items[i],
                Json::Obj(fields) => &mut fields[i].1,
                Json::Raw(_) => unreachable!("paths only go through containers"),
            };
        }
        (node, *last)
    }
}

/// Names the API uses, so that generated objects often reach deep parsing.
const KEYS: &[&str] = &[
    "prompt",
    "style",
    "text",
    "min",
    "max",
    "step",
    "colors",
    "options",
    "duration_seconds",
    "interactive_prompt_uid",
    "interactive_prompt_jwt",
    "session_uid",
    "prompt_time",
    "data",
    "rating",
    "index",
    "name",
    "filters",
    "sort",
    "limit",
    "operator",
    "value",
    "key",
    "dir",
    "after",
    "evtype",
    "user_sub",
    "created_at",
    "dropout_for_total",
    "type",
    "jwt",
    "bandwidth",
    "lookback",
    "lookahead",
    "replay",
    "receive_timestamp",
    "transmit_timestamp",
];

/// Scalars, with numbers at and far beyond every boundary.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| if f.is_finite() {
            format!("{f:?}")
        } else {
            "1e999".into()
        }),
        prop::sample::select(vec![
            "-0",
            "0.0",
            "1e308",
            "-1e308",
            "1e999",
            "-1e999",
            "5e-324",
            "1E2",
            "123456789012345678901234567890",
            "-9223372036854775809",
            "18446744073709551616",
            "0.30000000000000000000000000001",
            "86401",
        ])
        .prop_map(str::to_owned),
        prop::sample::select(KEYS).prop_map(|k| Value::from(k).to_string()),
        any::<String>().prop_map(|s| Value::from(s).to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![3 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => any::<String>()]
}

/// Arbitrary JSON: nested arrays and objects of scalars.
pub fn json() -> impl Strategy<Value = Json> {
    scalar()
        .prop_map(Json::Raw)
        .prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Json::Arr),
                vec((key(), inner), 0..6).prop_map(Json::Obj),
            ]
        })
}

/// What to do to one field of a valid body.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Remove it.
    Drop,
    /// Replace its value (usually with another type).
    Replace(Json),
    /// Put its value one level deeper: `[v]`.
    WrapInArray,
    /// Put its value one level deeper: `{"value": v}`.
    WrapInObject,
    /// Add an unknown sibling.
    AddSibling(String, Json),
}

/// One mutation of a field chosen by `selector`, or of the whole body.
pub fn mutation() -> impl Strategy<Value = (usize, Mutation)> {
    let m = prop_oneof![
        Just(Mutation::Drop),
        json().prop_map(Mutation::Replace),
        Just(Mutation::WrapInArray),
        Just(Mutation::WrapInObject),
        (key(), json()).prop_map(|(k, v)| Mutation::AddSibling(k, v)),
    ];
    (any::<usize>(), m)
}

/// Applies 1–3 mutations to `body`.
pub fn mutate(body: &Value, mutations: &[(usize, Mutation)]) -> Json {
    let mut root = Json::from_value(body);
    for (selector, m) in mutations {
        let mut paths = Vec::new();
        root.field_paths(&mut Vec::new(), &mut paths);
        if paths.is_empty() {
            root = Json::Arr(vec![root]);
            continue;
        }
        let path = &paths[selector % paths.len()];
        let (parent, i) = root.parent_mut(path);
        let Json::Obj(fields) = parent else {
            unreachable!("field paths end in objects")
        };
        match m.clone() {
            Mutation::Drop => {
                fields.remove(i);
            }
            Mutation::Replace(v) => fields[i].1 = v,
            Mutation::WrapInArray => fields[i].1 = Json::Arr(vec![fields[i].1.clone()]),
            Mutation::WrapInObject => {
                fields[i].1 = Json::Obj(vec![("value".into(), fields[i].1.clone())])
            }
            Mutation::AddSibling(k, v) => fields.push((k, v)),
        }
    }
    root
}

/// Arbitrary bytes, or a valid body cut short or with one byte changed.
pub fn bytes_near(valid: String) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len();
    let (cut, flip) = (valid.clone(), valid);
    prop_oneof![
        vec(any::<u8>(), 0..300),
        (0..len).prop_map(move |n| cut.as_bytes()[..n].to_vec()),
        (0..len, any::<u8>()).prop_map(move |(i, b)| {
            let mut v = flip.clone().into_bytes();
            v[i] = b;
            v
        }),
    ]
}

/// Arrays or objects nested up to `max_depth` deep: parsing must refuse
/// them, not overflow the stack.
pub fn deeply_nested(max_depth: usize) -> impl Strategy<Value = Vec<u8>> {
    (1..max_depth, any::<bool>()).prop_map(|(depth, arrays)| {
        let (open, close) = if arrays {
            ("[", "]")
        } else {
            (r#"{"data":"#, "}")
        };
        format!("{}1{}", open.repeat(depth), close.repeat(depth)).into_bytes()
    })
}

/// `Authorization` values: any bytes a header may hold, any scheme, and
/// `bearer` with JWT-shaped tokens whose header and claims are arbitrary
/// JSON (or none at all).
pub fn authorization() -> impl Strategy<Value = Option<reqwest::header::HeaderValue>> {
    use base64::Engine;
    let b64 = |j: &Json| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(j.render());
    let claims = prop_oneof![
        json(),
        (any::<i64>(), scalar()).prop_map(|(iat, exp)| Json::Obj(vec![
            ("sub".into(), Json::Raw("\"ip_x\"".into())),
            ("iat".into(), Json::Raw(iat.to_string())),
            ("exp".into(), Json::Raw(exp)),
        ])),
    ];
    let alg = prop::sample::select(vec!["none", "HS256", "RS256", "ES256", "HS512", ""]);
    let jwt = (alg, claims, vec(any::<u8>(), 0..64)).prop_map(move |(alg, claims, sig)| {
        let header = Json::Obj(vec![(
            "alg".into(),
            Json::Raw(Value::from(alg).to_string()),
        )]);
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig);
        format!("Bearer {}.{}.{sig}", b64(&header), b64(&claims))
    });
    let text = prop_oneof![
        jwt,
        "(bearer|Bearer|BEARER|basic|) ?[ -~]{0,80}",
        vec(any::<u8>(), 0..120).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    prop_oneof![
        1 => Just(None),
        9 => text.prop_map(|t| reqwest::header::HeaderValue::from_str(&t).ok()),
    ]
}
