//! The Chorus API as the load generator calls it: tokens, prompts,
//! sessions, events and stats, over [`Conn`].

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::client::{Conn, Response};
use super::target::Plan;

/// How the load generator gets tokens.
#[derive(Clone)]
pub struct Credentials {
    admin_token: String,
    user_key: Option<jsonwebtoken::EncodingKey>,
}

impl Credentials {
    /// The credentials of a plan.
    pub fn new(plan: &Plan) -> Self {
        Credentials {
            admin_token: plan.admin_token.clone(),
            user_key: plan
                .user_secret
                .as_ref()
                .filter(|_| !plan.dev)
                .map(|s| jsonwebtoken::EncodingKey::from_secret(s.as_bytes())),
        }
    }

    /// A user token for `sub`: minted (HS256, claims `sub`, `iat`, `exp`,
    /// `given_name`) or, in dev mode, from `POST /api/1/dev/login`.
    pub async fn user_token(&self, conn: &mut Conn, sub: &str) -> anyhow::Result<String> {
        if let Some(key) = &self.user_key {
            let now = jsonwebtoken::get_current_timestamp();
            let claims = json!({"sub": sub, "iat": now, "exp": now + 3600, "given_name": sub});
            return Ok(jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &claims,
                key,
            )?);
        }
        let resp = conn
            .post("/api/1/dev/login", None, json!({"name": sub}).to_string())
            .await?;
        expect(&resp, 200, "dev login")?;
        Ok(resp.json()["user_jwt"]
            .as_str()
            .context("dev login returned no user_jwt")?
            .to_owned())
    }

    /// Creates a prompt; returns its uid.
    pub async fn create_prompt(
        &self,
        conn: &mut Conn,
        prompt: &Value,
        duration: i64,
    ) -> anyhow::Result<String> {
        let body = json!({"prompt": prompt, "duration_seconds": duration}).to_string();
        let resp = conn
            .post("/api/1/interactive_prompts", Some(&self.admin_token), body)
            .await?;
        expect(&resp, 201, "creating a prompt")?;
        Ok(resp.json()["uid"]
            .as_str()
            .context("no prompt uid")?
            .to_owned())
    }

    /// Reads a prompt as admin.
    pub async fn read_prompt(&self, conn: &mut Conn, uid: &str) -> anyhow::Result<Value> {
        let resp = conn
            .get(
                &format!("/api/1/interactive_prompts/{uid}"),
                Some(&self.admin_token),
            )
            .await?;
        expect(&resp, 200, "reading the prompt")?;
        Ok(resp.json())
    }
}

fn expect(resp: &Response, status: u16, what: &str) -> anyhow::Result<()> {
    if resp.status != status {
        bail!(
            "{what}: expected {status}, got {} {}",
            resp.status,
            String::from_utf8_lossy(&resp.body)
        );
    }
    Ok(())
}

/// A started session: everything needed to post its events.
#[derive(Debug, Clone)]
pub struct Session {
    /// The prompt's uid.
    pub prompt_uid: String,
    /// The session's uid.
    pub session_uid: String,
    /// The prompt token.
    pub prompt_jwt: String,
    /// The user token.
    pub user_token: String,
}

/// `POST /api/1/interactive_prompts/start_session`: the response, and the
/// session when it was 201.
pub async fn start_session(
    conn: &mut Conn,
    prompt_uid: &str,
    user_token: &str,
) -> Result<(Response, Option<Session>), super::client::ClientError> {
    let body = json!({"interactive_prompt_uid": prompt_uid}).to_string();
    let resp = conn
        .post(
            "/api/1/interactive_prompts/start_session",
            Some(user_token),
            body,
        )
        .await?;
    let session = (resp.status == 201).then(|| {
        let v = resp.json();
        Session {
            prompt_uid: prompt_uid.to_owned(),
            session_uid: v["session_uid"].as_str().unwrap_or_default().to_owned(),
            prompt_jwt: v["jwt"].as_str().unwrap_or_default().to_owned(),
            user_token: user_token.to_owned(),
        }
    });
    Ok((resp, session))
}

/// Starts a session, failing on anything but 201 (setup steps).
pub async fn must_start_session(
    conn: &mut Conn,
    creds: &Credentials,
    prompt_uid: &str,
    sub: &str,
) -> anyhow::Result<Session> {
    let token = creds.user_token(conn, sub).await?;
    let (resp, session) = start_session(conn, prompt_uid, &token).await?;
    expect(&resp, 201, "starting a session")?;
    Ok(session.expect("201"))
}

/// `POST /api/1/interactive_prompts/events/{route}`.
pub async fn post_event(
    conn: &mut Conn,
    s: &Session,
    route: &str,
    prompt_time: f64,
    data: &Value,
) -> Result<Response, super::client::ClientError> {
    /// The request body, serialized straight from borrowed fields.
    #[derive(serde::Serialize)]
    struct Body<'a> {
        interactive_prompt_uid: &'a str,
        interactive_prompt_jwt: &'a str,
        session_uid: &'a str,
        prompt_time: f64,
        data: &'a Value,
    }
    let body = serde_json::to_vec(&Body {
        interactive_prompt_uid: &s.prompt_uid,
        interactive_prompt_jwt: &s.prompt_jwt,
        session_uid: &s.session_uid,
        prompt_time,
        data,
    })
    .expect("an event body serializes");
    let mut path = String::with_capacity(64);
    path.push_str("/api/1/interactive_prompts/events/");
    path.push_str(route);
    conn.post(&path, Some(&s.user_token), body).await
}

/// `GET /api/1/interactive_prompts/events/stats?uid=…&bin=…`.
pub async fn stats(
    conn: &mut Conn,
    prompt_uid: &str,
    prompt_jwt: &str,
    bin: u32,
) -> Result<Response, super::client::ClientError> {
    conn.get(
        &format!("/api/1/interactive_prompts/events/stats?uid={prompt_uid}&bin={bin}"),
        Some(prompt_jwt),
    )
    .await
}

/// `POST …/events/search` for the one-second bucket `[bucket, bucket + 1)`
/// of the token's prompt in `(prompt_time, uid)` order, 5,000 a page, from
/// `sort` (null for the first page): the replay bucket's query, as the
/// stream loads it, plus the page's limit.
pub async fn search_bucket(
    conn: &mut Conn,
    prompt_jwt: &str,
    bucket: i64,
    sort: &Value,
) -> Result<Response, super::client::ClientError> {
    let range = json!({"operator": "bte", "value": [bucket, bucket + 1]});
    let mut body = json!({"filters": {"prompt_time": range}, "limit": 5000});
    if !sort.is_null() {
        body["sort"] = sort.clone();
    }
    conn.post(
        "/api/1/interactive_prompts/events/search",
        Some(prompt_jwt),
        body.to_string(),
    )
    .await
}

/// One stored event as search lists it: `(session uid, prompt time,
/// created_at)`.
pub type StoredAt = (String, f64, f64);

/// Every stored event of the token's prompt created at or after `since`
/// (Unix seconds), through search, 5,000 per page.
pub async fn created_since(
    conn: &mut Conn,
    prompt_jwt: &str,
    since: f64,
) -> anyhow::Result<Vec<StoredAt>> {
    let mut found = Vec::new();
    let mut sort = Value::Null;
    loop {
        let mut body = json!({
            "filters": {"created_at": {"operator": "gte", "value": since}},
            "limit": 5000,
        });
        if !sort.is_null() {
            body["sort"] = sort;
        }
        let resp = conn
            .post(
                "/api/1/interactive_prompts/events/search",
                Some(prompt_jwt),
                body.to_string(),
            )
            .await?;
        expect(&resp, 200, "searching events")?;
        let page = resp.json();
        for item in page["items"].as_array().context("search items")? {
            let field = |k: &str| item[k].as_f64().context("search item number");
            let session = item["session_uid"]
                .as_str()
                .context("search item session")?;
            found.push((
                session.to_owned(),
                field("prompt_time")?,
                field("created_at")?,
            ));
        }
        sort = page["next_page_sort"].clone();
        if sort.is_null() {
            return Ok(found);
        }
    }
}

/// Example prompts of each style.
pub fn prompt_of_style(style: &str) -> anyhow::Result<Value> {
    Ok(match style {
        "numeric" => {
            json!({"style": "numeric", "text": "How do you feel?", "min": 1, "max": 10, "step": 1})
        }
        "press" => json!({"style": "press", "text": "Press while you like it"}),
        "color" => {
            json!({"style": "color", "text": "Which colour is this song?", "colors": ["#FF0000", "#00FF00", "#0000FF", "#FFFF00"]})
        }
        "word" => {
            json!({"style": "word", "text": "Pick a word", "options": ["calm", "joy", "fear", "awe"]})
        }
        other => bail!("unknown style {other:?}: numeric, press, color, word or mixed"),
    })
}
