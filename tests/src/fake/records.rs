//! The records REST API (`/rest/{namePlural}` and `/rest/{namePlural}/{id}`).
//!
//! Routing: packages/twenty-server/src/engine/api/rest/core/controllers/rest-api-core.controller.ts
//! (GET -> 200, POST -> 201, PATCH -> 200) and
//! packages/twenty-server/src/engine/api/rest/core/services/rest-api-core.service.ts
//! (PATCH with an id -> update one, without -> update many).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use super::errors::{ordered, TwentyError};
use super::filter::{self, Filter};
use super::metadata::ObjectMeta;
use super::{iso_ms, js_number, Inner};

/// Cursor text for a record id: base64 of `{"id":"..."}`. Clients must treat it as opaque.
pub fn cursor_for(id: &str) -> String {
    base64(json!({ "id": id }).to_string().as_bytes())
}

fn cursor_id(cursor: &str) -> Option<String> {
    let bytes = unbase64(cursor)?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("id")?.as_str().map(str::to_string)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(input: &[u8]) -> String {
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(input: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in input.bytes().filter(|c| *c != b'=') {
        let v = B64.iter().position(|x| *x == c)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(((bits >> count) & 0xff) as u8);
        }
    }
    Some(out)
}

/// `pageInfo` as in packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-base.handler.ts (`PageInfo`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn envelope(key: &str, payload: &Value) -> String {
    format!("{{\"data\":{{{}:{}}}}}", ordered(key), payload)
}

fn normalize_datetime(v: &str) -> Option<String> {
    let t = OffsetDateTime::parse(v, &Rfc3339).ok()?;
    let ms = (t.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    Some(iso_ms(ms))
}

/// Validate written data against the object's fields; returns the values to store.
/// Unknown key message: data-arg-processor.service.ts (INVALID_ARGS_DATA -> 400).
/// Per-type messages below are the fake's own (not read from Twenty's coercer utils).
pub fn validate_data(object: &ObjectMeta, body: &Value) -> Result<Map<String, Value>, TwentyError> {
    let Some(data) = body.as_object() else {
        return Err(TwentyError::bad_request(
            "Request body must be a JSON object",
        ));
    };
    let mut out = Map::new();
    for (key, value) in data {
        let Some(field) = object.field(key) else {
            return Err(TwentyError::unknown_field(&object.name_singular, key));
        };
        let invalid = || {
            TwentyError::bad_request(&format!(
                "Invalid value {value} for field \"{key}\" of type {}",
                field.ty
            ))
        };
        let stored = match (field.ty.as_str(), value) {
            (_, Value::Null) => Value::Null,
            ("TEXT" | "UUID", Value::String(_)) => value.clone(),
            ("NUMBER" | "NUMERIC" | "POSITION", Value::Number(n)) => {
                js_number(n.as_f64().ok_or_else(invalid)?)
            }
            ("NUMBER" | "NUMERIC" | "POSITION", Value::String(s)) => {
                let n = filter::js_parse_float(s);
                if !n.is_finite() {
                    return Err(invalid());
                }
                js_number(n)
            }
            ("BOOLEAN", Value::Bool(_)) => value.clone(),
            ("DATE_TIME", Value::String(s)) => {
                Value::String(normalize_datetime(s).ok_or_else(invalid)?)
            }
            ("DATE", Value::String(_)) => value.clone(),
            ("RAW_JSON" | "ACTOR" | "SELECT", _) => value.clone(),
            _ => return Err(invalid()),
        };
        out.insert(key.clone(), stored);
    }
    Ok(out)
}

fn parse_filter_param(
    params: &HashMap<String, String>,
    object: &ObjectMeta,
) -> Result<Option<Filter>, TwentyError> {
    match params.get("filter") {
        None => Ok(None),
        Some(raw) => {
            let f = filter::parse_filter_rest(raw)?;
            filter::validate(&f, object)?;
            Ok(Some(f))
        }
    }
}

fn matching<'a>(records: &'a [Value], f: &Option<Filter>, object: &ObjectMeta) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r.get("deletedAt").is_none_or_null())
        .filter(|r| passes(f, r, object))
        .collect()
}

fn passes(f: &Option<Filter>, record: &Value, object: &ObjectMeta) -> bool {
    match f {
        None => true,
        Some(f) => filter::matches(f, record, object),
    }
}

trait NullExt {
    fn is_none_or_null(&self) -> bool;
}

impl NullExt for Option<&Value> {
    fn is_none_or_null(&self) -> bool {
        match self {
            None => true,
            Some(v) => v.is_null(),
        }
    }
}

fn unique_violation(
    object: &ObjectMeta,
    records: &[Value],
    candidate: &Map<String, Value>,
    skip_id: Option<&str>,
) -> Option<TwentyError> {
    for field in object.fields.iter().filter(|f| f.is_unique) {
        let Some(v) = candidate.get(&field.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let clash = records.iter().any(|r| {
            r.get("id").and_then(Value::as_str) != skip_id
                && r.get("deletedAt").is_none_or_null()
                && r.get(&field.name) == Some(v)
        });
        if clash {
            // TwentyORMException DUPLICATE_ENTRY_DETECTED, mapped to 400 by
            // packages/twenty-server/src/engine/core-modules/exception-handler/http-exception-handler.service.ts
            // (message from Twenty's `handleDuplicateKeyError`, twenty-orm utils; path not pinned).
            return Some(TwentyError::bad_request("A duplicate entry was detected"));
        }
    }
    None
}

/// Build a full record: every field of the object, standard values, then `data`.
pub fn build_record(
    object: &ObjectMeta,
    data: &Map<String, Value>,
    key_name: &str,
    now: &str,
    position: f64,
) -> Value {
    let mut r = Map::new();
    for f in &object.fields {
        r.insert(f.name.clone(), Value::Null);
    }
    r.insert("id".into(), json!(Uuid::new_v4().to_string()));
    r.insert("createdAt".into(), json!(now));
    r.insert("updatedAt".into(), json!(now));
    r.insert("position".into(), js_number(position));
    // API-key writes: packages/twenty-server/src/engine/core-modules/actor/services/actor-from-auth-context.service.ts
    r.insert(
        "createdBy".into(),
        json!({"source": "API", "name": key_name, "workspaceMemberId": null, "context": {}}),
    );
    for (k, v) in data {
        if k == "createdBy" {
            continue;
        }
        r.insert(k.clone(), v.clone());
    }
    Value::Object(r)
}

/// Query parameters the records API reads.
pub struct ListParams<'a> {
    pub params: &'a HashMap<String, String>,
}

/// `GET /rest/{plural}` -> 200 `{"data":{plural:[...]},"totalCount":n,"pageInfo":{...}}`.
/// Source: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-find-many.handler.ts
/// (`formatRestResponse`; `depth` only selects relations, which this object has none of).
pub fn find_many(
    inner: &Inner,
    object: &ObjectMeta,
    p: ListParams<'_>,
) -> Result<String, TwentyError> {
    let f = parse_filter_param(p.params, object)?;
    let limit = match p.params.get("limit") {
        None => 60,
        Some(l) => match l.parse::<usize>() {
            Ok(n) => n.min(200),
            Err(_) => {
                return Err(TwentyError::bad_request(&format!(
                    "limit '{l}' is invalid. Should be an integer"
                )))
            }
        },
    };
    let empty = Vec::new();
    let all = inner.records.get(&object.name_plural).unwrap_or(&empty);
    let mut rows = matching(all, &f, object);
    sort_rows(&mut rows, p.params.get("order_by").map(String::as_str));
    let total = rows.len();
    let start = match p.params.get("starting_after").and_then(|c| cursor_id(c)) {
        Some(id) => rows
            .iter()
            .position(|r| r.get("id").and_then(Value::as_str) == Some(id.as_str()))
            .map_or(0, |i| i + 1),
        None => 0,
    };
    let page: Vec<&Value> = rows.iter().skip(start).take(limit).copied().collect();
    let ids: Vec<&str> = page
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str))
        .collect();
    let page_info = PageInfo {
        has_next_page: start + page.len() < total,
        has_previous_page: start > 0,
        start_cursor: ids.first().map(|id| cursor_for(id)),
        end_cursor: ids.last().map(|id| cursor_for(id)),
    };
    Ok(format!(
        "{{\"data\":{{{}:{}}},\"totalCount\":{},\"pageInfo\":{}}}",
        ordered(&object.name_plural),
        ordered(&page),
        total,
        ordered(&page_info)
    ))
}

/// `order_by=field[AscNullsFirst|AscNullsLast|DescNullsFirst|DescNullsLast],...`; default position, id.
fn sort_rows(rows: &mut [&Value], order_by: Option<&str>) {
    let mut keys: Vec<(String, bool)> = Vec::new();
    if let Some(spec) = order_by {
        for part in spec.split(',').filter(|s| !s.is_empty()) {
            let (field, dir) = match part.split_once('[') {
                Some((f, d)) => (f.to_string(), d.trim_end_matches(']').to_string()),
                None => (part.to_string(), "AscNullsFirst".to_string()),
            };
            keys.push((field, dir.starts_with("Desc")));
        }
    }
    keys.push(("position".into(), false));
    keys.push(("id".into(), false));
    rows.sort_by(|a, b| {
        for (k, desc) in &keys {
            let ord = cmp_json(a.get(k), b.get(k));
            let ord = if *desc { ord.reverse() } else { ord };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
}

fn cmp_json(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a.filter(|v| !v.is_null()), b.filter(|v| !v.is_null())) {
        (None, None) => Equal,
        (None, _) => Less,
        (_, None) => Greater,
        (Some(x), Some(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(Equal),
            _ => x.to_string().cmp(&y.to_string()),
        },
    }
}

fn find_index(inner: &Inner, object: &ObjectMeta, id: &str) -> Option<usize> {
    inner
        .records
        .get(&object.name_plural)?
        .iter()
        .position(|r| {
            r.get("id").and_then(Value::as_str) == Some(id) && r.get("deletedAt").is_none_or_null()
        })
}

/// `GET /rest/{plural}/{id}` -> 200 `{"data":{singular:{...}}}`; unknown id -> 404 "Record not found".
/// Source: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-find-one.handler.ts.
pub fn find_one(inner: &Inner, object: &ObjectMeta, id: &str) -> Result<String, TwentyError> {
    let i = find_index(inner, object, id).ok_or_else(TwentyError::record_not_found)?;
    let record = &inner.records[&object.name_plural][i];
    Ok(envelope(&object.name_singular, record))
}

/// `POST /rest/{plural}` -> 201 `{"data":{"create<Singular>":{...}}}`.
/// Source: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-create-one.handler.ts
/// (`formatRestResponse`) and rest-api-core.controller.ts (`res.status(201)`).
pub fn create_one(
    inner: &mut Inner,
    object: &ObjectMeta,
    body: &Value,
    key_name: &str,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let data = validate_data(object, body)?;
    let empty = Vec::new();
    let existing = inner.records.get(&object.name_plural).unwrap_or(&empty);
    if let Some(id) = data.get("id").and_then(Value::as_str) {
        if existing
            .iter()
            .any(|r| r.get("id").and_then(Value::as_str) == Some(id))
        {
            return Err(TwentyError::bad_request("A duplicate entry was detected"));
        }
    }
    if let Some(e) = unique_violation(object, existing, &data, None) {
        return Err(e);
    }
    inner.next_position += 1.0;
    let record = build_record(
        object,
        &data,
        key_name,
        &iso_ms(now_ms),
        inner.next_position,
    );
    let text = envelope(
        &format!("create{}", capitalize(&object.name_singular)),
        &record,
    );
    inner
        .records
        .entry(object.name_plural.clone())
        .or_default()
        .push(record);
    Ok(text)
}

fn apply(record: &mut Value, data: &Map<String, Value>, now: &str) {
    if let Some(r) = record.as_object_mut() {
        for (k, v) in data {
            if matches!(k.as_str(), "id" | "createdBy" | "createdAt") {
                continue;
            }
            r.insert(k.clone(), v.clone());
        }
        if !data.contains_key("updatedAt") {
            r.insert("updatedAt".into(), json!(now));
        }
    }
}

/// `PATCH /rest/{plural}/{id}` -> 200 `{"data":{"update<Singular>":{...}}}`.
/// Source: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-update-one.handler.ts.
pub fn update_one(
    inner: &mut Inner,
    object: &ObjectMeta,
    id: &str,
    body: &Value,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let data = validate_data(object, body)?;
    let i = find_index(inner, object, id).ok_or_else(TwentyError::record_not_found)?;
    if let Some(e) = unique_violation(object, &inner.records[&object.name_plural], &data, Some(id))
    {
        return Err(e);
    }
    let now = iso_ms(now_ms);
    let rows = inner.records.entry(object.name_plural.clone()).or_default();
    apply(&mut rows[i], &data, &now);
    Ok(envelope(
        &format!("update{}", capitalize(&object.name_singular)),
        &rows[i],
    ))
}

/// `PATCH /rest/{plural}?filter=...` -> 200 `{"data":{"update<Plural>":[...]}}`, exactly the rows
/// the single `UPDATE ... WHERE <filter> RETURNING ...` changed (`[]` when none matched).
/// Sources: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-update-many.handler.ts and
/// packages/twenty-server/src/engine/api/common/common-query-runners/common-update-many-query-runner.service.ts.
/// Without `filter`, the parser yields `{}` and every row is updated, as in Twenty.
pub fn update_many(
    inner: &mut Inner,
    object: &ObjectMeta,
    params: &HashMap<String, String>,
    body: &Value,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let f = parse_filter_param(params, object)?;
    let data = validate_data(object, body)?;
    let rows = inner.records.entry(object.name_plural.clone()).or_default();
    let hit: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.get("deletedAt").is_none_or_null())
        .filter(|(_, r)| passes(&f, r, object))
        .map(|(i, _)| i)
        .collect();
    // One statement: a unique column set on two rows, or clashing with another row, fails whole.
    let sets_unique = object
        .fields
        .iter()
        .any(|fm| fm.is_unique && data.get(&fm.name).is_some_and(|v| !v.is_null()));
    if sets_unique && hit.len() > 1 {
        return Err(TwentyError::bad_request("A duplicate entry was detected"));
    }
    if let Some(&only) = hit.first() {
        let id = rows[only]
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(e) = unique_violation(object, rows, &data, id.as_deref()) {
            return Err(e);
        }
    }
    let now = iso_ms(now_ms);
    let mut changed = Vec::with_capacity(hit.len());
    for i in hit {
        apply(&mut rows[i], &data, &now);
        changed.push(rows[i].clone());
    }
    Ok(envelope(
        &format!("update{}", capitalize(&object.name_plural)),
        &Value::Array(changed),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "{\"id\":\"x\"}"] {
            let e = base64(s.as_bytes());
            assert_eq!(unbase64(&e).unwrap(), s.as_bytes());
        }
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(cursor_id(&cursor_for("42")).as_deref(), Some("42"));
    }
}
