//! The UI's routes: a request's method and URL to a [`Reply`] read from a
//! [`StatusStore`]. The HTTP itself is `tiny_http`'s; this only splits the
//! path and the `key=value` pairs of the query.

use serde::Serialize;

use crate::api::BatchStatus;
use crate::store::StatusStore;

/// The page, embedded at build time.
const PAGE: &str = include_str!("page.html");

/// The prefix of Spark's streaming REST API.
const API: &str = "/api/v1/streaming";

/// What to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// The HTTP status code.
    pub(crate) status: u16,
    /// The `Content-Type`.
    pub(crate) content_type: &'static str,
    /// The body.
    pub(crate) body: String,
}

const JSON: &str = "application/json";

fn json(value: &impl Serialize) -> Reply {
    match serde_json::to_string_pretty(value) {
        Ok(body) => Reply {
            status: 200,
            content_type: JSON,
            body,
        },
        Err(e) => error(500, &format!("cannot encode the reply: {e}")),
    }
}

/// A JSON error reply: `{"error": message}`.
fn error(status: u16, message: &str) -> Reply {
    Reply {
        status,
        content_type: JSON,
        body: serde_json::json!({ "error": message }).to_string(),
    }
}

fn not_found(path: &str) -> Reply {
    error(404, &format!("no such page: {path}"))
}

/// Answers one request.
pub(crate) fn route(store: &StatusStore, method: &str, url: &str) -> Reply {
    if method != "GET" && method != "HEAD" {
        return error(
            405,
            &format!("{method} is not allowed; the UI is read-only"),
        );
    }
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    match path {
        "/" => Reply {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: PAGE.to_owned(),
        },
        "/metrics" => match store.metrics_text() {
            Ok(body) => Reply {
                status: 200,
                content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8",
                body,
            },
            Err(e) => error(500, &format!("cannot encode the metrics: {e}")),
        },
        _ => match path.strip_prefix(API) {
            Some(rest) => api(store, rest, query).unwrap_or_else(|| not_found(path)),
            None => not_found(path),
        },
    }
}

/// The `/api/v1/streaming` routes; `None` for an unknown path.
fn api(store: &StatusStore, rest: &str, query: &str) -> Option<Reply> {
    let parts: Vec<&str> = rest.split('/').skip(1).collect();
    Some(match parts.as_slice() {
        ["statistics"] => json(&store.statistics()),
        ["receivers"] => json(&store.receivers()),
        ["receivers", id] => {
            let id: i32 = id.parse().ok()?;
            match store.receivers().into_iter().find(|r| r.stream_id == id) {
                Some(receiver) => json(&receiver),
                None => error(404, &format!("unknown receiver: {id}")),
            }
        }
        ["batches"] => batches(store, query),
        ["batches", id] | ["batches", id, "operations"] => {
            let Ok(time) = id.parse::<u64>() else {
                return Some(error(404, &format!("unknown batch: {id}")));
            };
            match store.batch(time) {
                Some(batch) if parts.len() == 3 => json(&batch.output_operations),
                Some(batch) => json(&batch),
                None => error(404, &format!("unknown batch: {id}")),
            }
        }
        ["checkpoint"] => json(&store.checkpoint()),
        ["lineage"] => json(&store.lineage()),
        _ => return None,
    })
}

/// `/batches?status=COMPLETED|PROCESSING|QUEUED&after=<ms>`.
fn batches(store: &StatusStore, query: &str) -> Reply {
    let mut status = None;
    let mut after = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "status" => match BatchStatus::parse(value) {
                Some(s) => status = Some(s),
                None => {
                    return error(
                        400,
                        &format!("status {value:?} is not one of COMPLETED, PROCESSING, QUEUED"),
                    );
                }
            },
            "after" => match value.parse::<u64>() {
                Ok(ms) => after = Some(ms),
                Err(_) => return error(400, &format!("after {value:?} is not a time in ms")),
            },
            _ => {}
        }
    }
    json(&store.batches(status, after))
}
