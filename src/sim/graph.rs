//! The fake Graph API: one axum fallback handler that routes like Meta
//! (`/{version}/{node}[/{edge}]`, `POST /{version}/` for batch), checks the
//! token, injects faults and latency, and adds the usage headers.

use super::errors::GraphError;
use super::fields::{self, Field};
use super::ids::{cursor, parse_cursor};
use super::multipart::{self, Part};
use super::world::{Customer, SimMessage, Thread, World};
use super::{send, Inner};
use crate::domain::Platform;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .fallback(handle)
        // Uploads reach Meta's 25 MB limit (axum's default is 2 MB); the
        // fake answers a bigger one itself, like Meta.
        .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
        .with_state(inner)
}

/// One request, whether it came over HTTP or inside a batch.
struct Req {
    method: Method,
    segs: Vec<String>,
    params: HashMap<String, String>,
    token: Option<String>,
    body: Value,
    /// The `filedata` part of a multipart body (an upload).
    file: Option<Part>,
}

fn pairs(s: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = inner.faults().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let params = uri.query().map(pairs).unwrap_or_default();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut file = None;
    let body_value = if body.is_empty() {
        Value::Object(Map::new())
    } else if let Some(b) = multipart::boundary(content_type) {
        let Some(parts) = multipart::parse(&b, &body) else {
            let e = GraphError::invalid("(#100) Malformed multipart body");
            return reply(&inner, "invalid", Err(e));
        };
        let mut fields = Map::new();
        for p in parts {
            if p.name == "filedata" {
                file = Some(p);
            } else {
                let v = String::from_utf8_lossy(&p.data).into_owned();
                fields.insert(p.name, Value::String(v));
            }
        }
        Value::Object(fields)
    } else if is_form {
        let form = pairs(&String::from_utf8_lossy(&body));
        Value::Object(
            form.into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => v,
            Err(_) => {
                let e = GraphError::invalid("(#100) Request body is not valid JSON");
                return reply(&inner, "invalid", Err(e));
            }
        }
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        })
        .map(str::to_string);
    let token = params
        .get("access_token")
        .cloned()
        .or_else(|| {
            body_value
                .get("access_token")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .or(bearer);
    let req = Req {
        method,
        segs: uri
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        params,
        token,
        body: body_value,
        file,
    };
    let (endpoint, result) = if req.method == Method::POST && req.segs.len() == 1 {
        ("batch".to_string(), batch(&inner, &req))
    } else {
        dispatch(&inner, &req)
    };
    reply(&inner, &endpoint, result)
}

fn reply(inner: &Inner, endpoint: &str, result: Result<Value, GraphError>) -> Response {
    let (status, body) = match result {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => (
            StatusCode::from_u16(e.http).unwrap_or(StatusCode::BAD_REQUEST),
            e.body(),
        ),
    };
    let mut resp = (status, axum::Json(body)).into_response();
    let (app, buc) = usage_headers(inner, endpoint);
    if let Ok(v) = HeaderValue::from_str(&app) {
        resp.headers_mut().insert("x-app-usage", v);
    }
    if let Ok(v) = HeaderValue::from_str(&buc) {
        resp.headers_mut().insert("x-business-use-case-usage", v);
    }
    resp
}

fn usage_headers(inner: &Inner, endpoint: &str) -> (String, String) {
    let n = inner.usage.load(Ordering::Relaxed);
    let app = json!({"call_count": n, "total_cputime": n / 2, "total_time": n / 2}).to_string();
    let kind = if endpoint == "send" {
        "messenger"
    } else {
        "pages"
    };
    let buc = json!({ inner.cfg.ids.page_id.clone(): [{
        "type": kind, "call_count": n, "total_cputime": n / 2, "total_time": n / 2,
        "estimated_time_to_regain_access": if n >= 100 { 1 } else { 0 },
    }]})
    .to_string();
    (app, buc)
}

fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty()
            && a.chars().all(|c| c.is_ascii_digit()) && b.chars().all(|c| c.is_ascii_digit())
    )
}

fn endpoint_name(inner: &Inner, method: &Method, rest: &[String]) -> String {
    match (method.as_str(), rest) {
        ("POST", [_, e]) if e == "messages" => "send".into(),
        ("POST", [_, e]) if e == "message_attachments" => "upload".into(),
        ("GET", [_, e]) if e == "conversations" => "conversations".into(),
        ("GET", [_, e]) if e == "messages" => "messages".into(),
        (_, [_, e]) if e == "subscribed_apps" => "subscribed_apps".into(),
        ("GET", [id]) if id == "me" => "me".into(),
        ("GET", [id]) => {
            let w = inner.world();
            if w.customer_by_user(id).is_some() {
                "profile".into()
            } else if w.thread_by_conv(id).is_some() {
                "conversation".into()
            } else if w.message_by_mid(id).is_some() {
                "message".into()
            } else {
                "node".into()
            }
        }
        _ => "other".into(),
    }
}

fn dispatch(inner: &Arc<Inner>, req: &Req) -> (String, Result<Value, GraphError>) {
    let Some(ver) = req.segs.first().filter(|s| is_version(s)) else {
        let path = format!("/{}", req.segs.join("/"));
        return (
            "unknown".into(),
            Err(GraphError::new(
                400,
                2500,
                None,
                format!("Unknown path components: {path}"),
            )),
        );
    };
    let rest = &req.segs[1..];
    let endpoint = endpoint_name(inner, &req.method, rest);
    inner.stats.count(&endpoint);
    let result = (|| {
        check_token(inner, req.token.as_deref())?;
        if let Some((code, sub)) = inner.faults().fail_all {
            return Err(GraphError::from_code(code, sub));
        }
        if endpoint != "send" && inner.usage.load(Ordering::Relaxed) >= 100 {
            return Err(GraphError::from_code(32, None));
        }
        let token = req.token.as_deref().unwrap_or_default();
        let ctx = Ctx {
            base: &inner.base_url,
            ver,
            token,
        };
        let ids = &inner.cfg.ids;
        match (req.method.as_str(), rest) {
            ("POST", [id, e]) if e == "messages" => {
                let mut body = req.body.clone();
                // Meta also reads send parameters from the query string.
                if let Some(obj) = body.as_object_mut() {
                    for (k, v) in &req.params {
                        if k != "access_token" && !obj.contains_key(k) {
                            obj.insert(k.clone(), Value::String(v.clone()));
                        }
                    }
                }
                send::send(inner, id, &body, req.file.as_ref())
            }
            ("POST", [id, e]) if e == "message_attachments" => {
                send::upload(inner, id, &req.body, req.file.as_ref())
            }
            ("GET", [id, e]) if e == "conversations" => conversations(inner, &ctx, id, &req.params),
            ("GET", [id, e]) if e == "messages" => {
                let w = inner.world();
                let t = w.thread_by_conv(id).ok_or_else(|| no_node(id))?;
                let sub = req.params.get("fields").map(|f| fields::parse(f)).unwrap_or_default();
                let limit = limit_param(&req.params, 25)?;
                check_size(inner, limit)?;
                let offset = after_param(&req.params)?;
                Ok(messages_page(&w, &w.threads[t], &sub, limit, offset, &ctx))
            }
            ("GET", [id, e]) if e == "subscribed_apps" && is_page(inner, id) => Ok(json!({"data": [{
                "category": "Business",
                "link": "https://www.example.com/dmdesk",
                "name": ids.app_name,
                "id": ids.app_id,
                "subscribed_fields": ["messages", "message_echoes", "message_deliveries", "message_reads",
                    "message_reactions", "message_edits", "messaging_postbacks", "messaging_optins",
                    "messaging_referrals", "messaging_handovers", "standby"],
            }]})),
            ("POST", [id, e]) if e == "subscribed_apps" && is_page(inner, id) => Ok(json!({"success": true})),
            ("GET", [id]) => node(inner, &ctx, id, &req.params),
            _ => Err(GraphError::new(400, 100, None, format!(
                "Unsupported {} request. Object does not exist, cannot be loaded due to missing permissions, or does not support this operation",
                req.method
            ))),
        }
    })();
    (endpoint, result)
}

fn check_token(inner: &Inner, token: Option<&str>) -> Result<(), GraphError> {
    match token {
        None | Some("") => Err(GraphError::new(
            400,
            2500,
            None,
            "An active access token must be used to query information about the current user.",
        )),
        Some(t) if t == inner.cfg.ids.page_token => Ok(()),
        Some(_) => Err(GraphError::token()),
    }
}

fn is_page(inner: &Inner, id: &str) -> bool {
    id == "me" || id == inner.cfg.ids.page_id
}

fn no_node(id: &str) -> GraphError {
    GraphError::new(400, 100, Some(33), format!("Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation"))
}

fn limit_param(p: &HashMap<String, String>, default: usize) -> Result<usize, GraphError> {
    match p.get("limit") {
        None => Ok(default),
        Some(l) => l
            .parse::<usize>()
            .map(|n| n.clamp(1, 500))
            .map_err(|_| GraphError::invalid("(#100) Param limit must be a number")),
    }
}

/// Nested messages asked for per conversation by a `fields=` list (`messages`
/// without `.limit()` means Meta's default, 25 here); 1 when none.
fn nested_messages(fs: &[Field]) -> usize {
    fields::find(fs, "messages").map_or(1, |m| m.limit.unwrap_or(25).max(1))
}

/// Code 1 when one read asks for more items than the configured maximum.
fn check_size(inner: &Inner, items: usize) -> Result<(), GraphError> {
    match inner.faults().max_items_per_read {
        Some(max) if items > max => Err(GraphError::too_much_data()),
        _ => Ok(()),
    }
}

fn after_param(p: &HashMap<String, String>) -> Result<usize, GraphError> {
    match p.get("after") {
        None => Ok(0),
        Some(c) => parse_cursor(c).ok_or_else(|| GraphError::invalid("(#100) Invalid cursor")),
    }
}

/// What paging URLs are built from.
struct Ctx<'a> {
    base: &'a str,
    ver: &'a str,
    token: &'a str,
}

impl Ctx<'_> {
    fn url(&self, path: &str, query: &[(&str, String)]) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            s.append_pair(k, v);
        }
        s.append_pair("access_token", self.token);
        format!("{}/{}/{}?{}", self.base, self.ver, path, s.finish())
    }
}

fn created_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}

fn participant(w: &World, c: &Customer, customer_side: bool) -> Value {
    match (c.platform, customer_side) {
        (Platform::Messenger, true) => {
            json!({"name": c.full_name(), "email": format!("{}@facebook.com", c.user_id), "id": c.user_id})
        }
        (Platform::Messenger, false) => {
            json!({"name": w.ids.page_name, "email": format!("{}@facebook.com", w.ids.page_id), "id": w.ids.page_id})
        }
        (Platform::Instagram, true) => json!({"username": c.username, "id": c.user_id}),
        (Platform::Instagram, false) => json!({"username": w.ids.ig_username, "id": w.ids.ig_id}),
    }
}

fn render_message(w: &World, th: &Thread, m: &SimMessage, sub: &[Field]) -> Value {
    let c = &w.customers[th.customer];
    let default = [
        Field {
            name: "id".into(),
            ..Default::default()
        },
        Field {
            name: "created_time".into(),
            ..Default::default()
        },
    ];
    let sub = if sub.is_empty() { &default[..] } else { sub };
    let mut o = Map::new();
    for f in sub {
        let v = match f.name.as_str() {
            "id" => json!(m.mid),
            "created_time" => json!(created_time(m.ts_ms)),
            "from" => participant(w, c, m.from_customer),
            "to" => json!({"data": [participant(w, c, !m.from_customer)]}),
            // Meta answers "" for attachment-only messages.
            "message" => json!(m.text.clone().unwrap_or_default()),
            "attachments" if !m.attachments.is_empty() => {
                let data: Vec<Value> = m
                    .attachments
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        let mut d = json!({"id": format!("{}_{i}", m.mid.len() + i), "mime_type": a.mime,
                            "name": a.url.rsplit('/').next().unwrap_or("file"), "size": 48213});
                        match a.kind.as_str() {
                            "image" => d["image_data"] = json!({"url": a.url, "preview_url": a.url, "width": 960, "height": 720}),
                            "video" => d["video_data"] = json!({"url": a.url, "preview_url": a.url, "width": 640, "height": 360}),
                            _ => d["file_url"] = json!(a.url),
                        }
                        d
                    })
                    .collect();
                json!({"data": data})
            }
            _ => continue,
        };
        o.insert(f.name.clone(), v);
    }
    Value::Object(o)
}

/// Newest first; Instagram lets an app read only the 20 most recent.
fn readable(th: &Thread, platform: Platform) -> Vec<&SimMessage> {
    let cap = match platform {
        Platform::Instagram => 20,
        Platform::Messenger => usize::MAX,
    };
    th.messages.iter().rev().take(cap).collect()
}

fn messages_page(
    w: &World,
    th: &Thread,
    sub: &[Field],
    limit: usize,
    offset: usize,
    ctx: &Ctx<'_>,
) -> Value {
    let platform = w.customers[th.customer].platform;
    let all = readable(th, platform);
    let start = offset.min(all.len());
    let end = (start + limit).min(all.len());
    let data: Vec<Value> = all[start..end]
        .iter()
        .map(|m| render_message(w, th, m, sub))
        .collect();
    let mut paging = json!({"cursors": {"before": cursor(start), "after": cursor(end)}});
    if end < all.len() {
        let mut q = vec![("limit", limit.to_string()), ("after", cursor(end))];
        if !sub.is_empty() {
            q.insert(0, ("fields", fields::render(sub)));
        }
        paging["next"] = json!(ctx.url(&format!("{}/messages", th.conv_id), &q));
    }
    if start > 0 {
        paging["previous"] = json!(ctx.url(
            &format!("{}/messages", th.conv_id),
            &[("limit", limit.to_string()), ("before", cursor(start))]
        ));
    }
    json!({"data": data, "paging": paging})
}

fn render_conv(w: &World, th: &Thread, fs: &[Field], ctx: &Ctx<'_>) -> Value {
    let c = &w.customers[th.customer];
    let mut o = Map::new();
    o.insert("id".into(), json!(th.conv_id));
    let default = [Field {
        name: "updated_time".into(),
        ..Default::default()
    }];
    let fs = if fs.is_empty() { &default[..] } else { fs };
    for f in fs {
        let v = match f.name.as_str() {
            "updated_time" => json!(created_time(th.updated_ms())),
            "participants" => json!({"data": [participant(w, c, true), participant(w, c, false)]}),
            "message_count" => json!(th.messages.len()),
            "snippet" => json!(th
                .messages
                .last()
                .and_then(|m| m.text.clone())
                .unwrap_or_default()),
            "can_reply" => json!(c.reachable),
            "messages" => messages_page(
                w,
                th,
                f.sub.as_deref().unwrap_or(&[]),
                f.limit.unwrap_or(25),
                0,
                ctx,
            ),
            _ => continue,
        };
        o.insert(f.name.clone(), v);
    }
    Value::Object(o)
}

fn conversations(
    inner: &Inner,
    ctx: &Ctx<'_>,
    account: &str,
    p: &HashMap<String, String>,
) -> Result<Value, GraphError> {
    let ids = &inner.cfg.ids;
    let platform = if account == ids.ig_id {
        Platform::Instagram
    } else if is_page(inner, account) {
        match p.get("platform").map(String::as_str) {
            None | Some("messenger") => Platform::Messenger,
            Some("instagram") => Platform::Instagram,
            Some(other) => {
                return Err(GraphError::invalid(format!(
                    "(#100) Param platform must be one of {{MESSENGER, INSTAGRAM}}, got {other}"
                )))
            }
        }
    } else {
        return Err(no_node(account));
    };
    let fs = p
        .get("fields")
        .map(|f| fields::parse(f))
        .unwrap_or_default();
    let limit = limit_param(p, 25)?;
    check_size(inner, limit.saturating_mul(nested_messages(&fs)))?;
    let offset = after_param(p)?;
    let w = inner.world();
    let mut threads: Vec<&Thread> = w
        .threads
        .iter()
        .filter(|t| w.customers[t.customer].platform == platform)
        .filter(|t| {
            p.get("user_id")
                .is_none_or(|u| &w.customers[t.customer].user_id == u)
        })
        .collect();
    threads.sort_by(|a, b| {
        b.updated_ms()
            .cmp(&a.updated_ms())
            .then_with(|| a.conv_id.cmp(&b.conv_id))
    });
    let start = offset.min(threads.len());
    let end = (start + limit).min(threads.len());
    let data: Vec<Value> = threads[start..end]
        .iter()
        .map(|t| render_conv(&w, t, &fs, ctx))
        .collect();
    let mut paging = json!({"cursors": {"before": cursor(start), "after": cursor(end)}});
    if end < threads.len() {
        let mut q: Vec<(&str, String)> = p
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "after" | "before" | "access_token"))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        q.sort();
        q.push(("after", cursor(end)));
        paging["next"] = json!(ctx.url(&format!("{account}/conversations"), &q));
    }
    Ok(json!({"data": data, "paging": paging}))
}

fn node(
    inner: &Inner,
    ctx: &Ctx<'_>,
    id: &str,
    p: &HashMap<String, String>,
) -> Result<Value, GraphError> {
    let ids = &inner.cfg.ids;
    let fs = p
        .get("fields")
        .map(|f| fields::parse(f))
        .unwrap_or_default();
    let wants = |n: &str| fields::find(&fs, n).is_some();
    if is_page(inner, id) {
        let mut o = json!({"id": ids.page_id, "name": ids.page_name});
        if wants("instagram_business_account") {
            o["instagram_business_account"] = json!({"id": ids.ig_id});
        }
        return Ok(o);
    }
    if id == ids.ig_id {
        return Ok(json!({"id": ids.ig_id, "username": ids.ig_username, "name": ids.page_name}));
    }
    let w = inner.world();
    if let Some(i) = w.customer_by_user(id) {
        return profile(&w.customers[i], &fs);
    }
    if let Some(t) = w.thread_by_conv(id) {
        check_size(inner, nested_messages(&fs))?;
        return Ok(render_conv(&w, &w.threads[t], &fs, ctx));
    }
    if let Some((t, m)) = w.message_by_mid(id) {
        let th = &w.threads[t];
        let platform = w.customers[th.customer].platform;
        if !readable(th, platform).iter().any(|r| r.mid == m.mid) {
            return Err(GraphError::invalid("(#100) This message has been deleted"));
        }
        return Ok(render_message(&w, th, m, &fs));
    }
    Err(no_node(id))
}

fn profile(c: &Customer, fs: &[Field]) -> Result<Value, GraphError> {
    let (allowed, default): (&[&str], &[&str]) = match c.platform {
        Platform::Messenger => (
            &[
                "id",
                "name",
                "first_name",
                "last_name",
                "profile_pic",
                "locale",
                "timezone",
                "gender",
            ],
            &["name", "id"],
        ),
        Platform::Instagram => (
            &[
                "id",
                "name",
                "username",
                "profile_pic",
                "follower_count",
                "is_user_follow_business",
                "is_business_follow_user",
                "is_verified_user",
            ],
            &["id"],
        ),
    };
    for f in fs {
        if !allowed.contains(&f.name.as_str()) {
            return Err(GraphError::invalid(format!(
                "(#100) Tried accessing nonexisting field ({}) on node type (User)",
                f.name
            )));
        }
    }
    if !c.profile_available {
        return Err(match c.platform {
            Platform::Messenger => GraphError::new(
                400,
                100,
                Some(2018218),
                "(#100) No profile available for this user.",
            ),
            Platform::Instagram => GraphError::new(
                400,
                230,
                None,
                "User consent is required to access user profile",
            ),
        });
    }
    let names: Vec<&str> = if fs.is_empty() {
        default.to_vec()
    } else {
        fs.iter().map(|f| f.name.as_str()).collect()
    };
    let mut o = Map::new();
    for n in names {
        let v = match n {
            "id" => json!(c.user_id),
            "name" => json!(c.full_name()),
            "first_name" => json!(c.first_name),
            "last_name" => json!(c.last_name),
            "username" => json!(c.username),
            "profile_pic" => json!(c.profile_pic),
            "follower_count" => json!(120 + c.username.len() * 7),
            "is_user_follow_business" => json!(true),
            "is_business_follow_user" => json!(false),
            "is_verified_user" => json!(false),
            // Need permissions the demo app does not have: omitted, like Meta.
            _ => continue,
        };
        o.insert(n.to_string(), v);
    }
    if !o.contains_key("id") {
        o.insert("id".into(), json!(c.user_id));
    }
    Ok(Value::Object(o))
}

/// `POST /{ver}/` with `batch=[{method, relative_url}]`, at most 50.
fn batch(inner: &Arc<Inner>, req: &Req) -> Result<Value, GraphError> {
    inner.stats.count("batch");
    let ver = req
        .segs
        .first()
        .filter(|s| is_version(s))
        .cloned()
        .ok_or_else(|| {
            GraphError::new(
                400,
                2500,
                None,
                format!("Unknown path components: /{}", req.segs.join("/")),
            )
        })?;
    check_token(inner, req.token.as_deref())?;
    let raw = req
        .body
        .get("batch")
        .or_else(|| req.params.get("batch").map(|_| &Value::Null))
        .cloned()
        .unwrap_or(Value::Null);
    let list: Value = match raw {
        Value::String(s) => serde_json::from_str(&s)
            .map_err(|_| GraphError::invalid("(#100) batch parameter must be a JSON array"))?,
        Value::Null => match req.params.get("batch") {
            Some(s) => serde_json::from_str(s)
                .map_err(|_| GraphError::invalid("(#100) batch parameter must be a JSON array"))?,
            None => {
                return Err(GraphError::invalid(
                    "(#100) The parameter batch is required",
                ))
            }
        },
        v => v,
    };
    let items = list
        .as_array()
        .ok_or_else(|| GraphError::invalid("(#100) batch parameter must be a JSON array"))?;
    if items.len() > 50 {
        return Err(GraphError::invalid(
            "(#100) Too many requests in batch message. Maximum batch size is 50",
        ));
    }
    let include_headers = req
        .body
        .get("include_headers")
        .and_then(Value::as_str)
        .or(req.params.get("include_headers").map(String::as_str))
        != Some("false");
    let mut out = vec![];
    for item in items {
        let method = item
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .to_ascii_uppercase();
        let rel = item
            .get("relative_url")
            .and_then(Value::as_str)
            .unwrap_or("");
        let (path, query) = rel
            .trim_start_matches('/')
            .split_once('?')
            .unwrap_or((rel.trim_start_matches('/'), ""));
        let params = pairs(query);
        let mut segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if segs.first().is_none_or(|s| !is_version(s)) {
            segs.insert(0, ver.clone());
        }
        let body = item
            .get("body")
            .and_then(Value::as_str)
            .map(|b| {
                Value::Object(
                    pairs(b)
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                )
            })
            .unwrap_or_else(|| Value::Object(Map::new()));
        let sub = Req {
            method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            token: params
                .get("access_token")
                .cloned()
                .or_else(|| req.token.clone()),
            segs,
            params,
            body,
            file: None,
        };
        let (_, r) = dispatch(inner, &sub);
        let (code, body) = match r {
            Ok(v) => (200, v),
            Err(e) => (e.http, e.body()),
        };
        let mut entry = json!({"code": code, "body": body.to_string()});
        if include_headers {
            entry["headers"] =
                json!([{"name": "Content-Type", "value": "text/javascript; charset=UTF-8"}]);
        }
        out.push(entry);
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(is_version("v23.0"));
        assert!(is_version("v9.10"));
        assert!(!is_version("23.0"));
        assert!(!is_version("v23"));
        assert!(!is_version("vx.0"));
    }
}
