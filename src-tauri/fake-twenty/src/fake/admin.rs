//! Test-control endpoints under `/__fake/`, a prefix Twenty never serves. Not authenticated,
//! not counted, never faulted.
//!
//! - `GET  /__fake/state`   -> `{"records":[...],"stored_records":[...],"stats":{...},"faults":[...],"objects":["repProgressions"],"profile":"newest"}`
//!   (`records`: every repProgression, trashed included, rendered as the API prints them, DATE_TIME
//!   in ms; `stored_records`: the same as stored, DATE_TIME with microseconds; `objects`: every
//!   object's `namePlural`, extra objects included; `profile`: "2025-06" or "newest")
//! - `GET  /__fake/stats`   -> the `Stats` object
//! - `GET  /__fake/faults`  -> `{"faults":[...]}`
//! - `POST /__fake/faults`  body: one `Fault` or an array of them -> `{"faults":[...active]}`
//! - `DELETE /__fake/faults` or `POST /__fake/faults/clear` -> `{"faults":[]}`
//! - `POST /__fake/reset`   -> `{"ok":true}` (records, faults, counters, rate limit, schema)
//! - `POST /__fake/records` body: fields of a `repProgression` -> the new record, rendered
//!
//! Fault JSON forms: see `faults.rs` (`concurrent_writer`, `other_writer`, `reject_writes`, ...).

use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::{json_response, ordered};
use super::faults::Fault;
use super::Shared;

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Fault>),
    One(Fault),
}

fn ok(body: Value) -> Response {
    json_response(200, body.to_string(), &[])
}

fn bad(message: String) -> Response {
    json_response(400, json!({ "error": message }).to_string(), &[])
}

fn faults_body(shared: &Shared) -> Response {
    let faults = shared.lock().faults.active.clone();
    ok(json!({ "faults": faults }))
}

pub(crate) fn handle(shared: &Shared, method: &Method, path: &str, body: &[u8]) -> Response {
    match (method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/__fake/state") => {
            let records = shared.rendered_rep_records(false);
            let stored = shared.stored_rep_records();
            let inner = shared.lock();
            let objects: Vec<&str> = inner
                .schema
                .objects
                .iter()
                .map(|o| o.name_plural.as_str())
                .collect();
            ok(json!({
                "records": records,
                "stored_records": stored,
                "stats": inner.stats,
                "faults": inner.faults.active,
                "objects": objects,
                "profile": shared.config.profile.name(),
            }))
        }
        ("GET", "/__fake/stats") => json_response(200, ordered(&shared.lock().stats), &[]),
        ("GET", "/__fake/faults") => faults_body(shared),
        ("POST", "/__fake/faults") => match serde_json::from_slice::<OneOrMany>(body) {
            Ok(OneOrMany::One(f)) => {
                shared.set_fault(f);
                faults_body(shared)
            }
            Ok(OneOrMany::Many(fs)) => {
                for f in fs {
                    shared.set_fault(f);
                }
                faults_body(shared)
            }
            Err(e) => bad(format!("invalid fault: {e}")),
        },
        ("DELETE", "/__fake/faults") | ("POST", "/__fake/faults/clear") => {
            shared.lock().faults.clear();
            faults_body(shared)
        }
        ("POST", "/__fake/reset") => {
            shared.reset();
            ok(json!({ "ok": true }))
        }
        // {"reps": n}: a sales team (Shared::seed_team); answers each live rep's email and XP.
        ("POST", "/__fake/team") => match serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("reps").and_then(Value::as_u64))
        {
            Some(n) if n <= 10_000 => ok(json!(shared.seed_team(n as usize))),
            _ => bad("body must be {\"reps\": n} with n up to 10000".to_string()),
        },
        ("POST", "/__fake/records") => match serde_json::from_slice::<Value>(body) {
            Ok(v) if v.is_object() => ok(shared.insert_record(&v)),
            _ => bad("body must be a JSON object of record fields".to_string()),
        },
        _ => json_response(
            404,
            json!({ "error": "unknown admin endpoint" }).to_string(),
            &[],
        ),
    }
}
