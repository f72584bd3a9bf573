//! The records REST API (`/rest/{namePlural}`, `/rest/{namePlural}/{id}` and the restore routes).
//!
//! Routing: packages/twenty-server/src/engine/api/rest/core/controllers/rest-api-core.controller.ts
//! (`0a0ec6a`: GET -> 200, POST -> 201, PATCH -> 200, DELETE -> 200, `PATCH *path/restore` -> 200
//! and declared before `PATCH *path`, so `/rest/{plural}/restore` is restore-many) and
//! packages/twenty-server/src/engine/api/rest/core/services/rest-api-core.service.ts
//! (`1b037d4`: PATCH with an id -> update one, without -> update many; DELETE: `soft_delete=true`
//! -> soft delete, anything else -> destroy, each one/many by the presence of an id).
//! The soft-delete flag: packages/twenty-server/src/engine/api/rest/input-request-parsers/soft-delete-parser-utils/parse-soft-delete-rest-request.util.ts
//! (`01c5e99`: only the exact text `true` counts).
//!
//! Trash (`deletedAt` set), newest Twenty:
//! - Reads (find-many, find-one) add `deletedAt IS NULL` unless the filter mentions `deletedAt`
//!   anywhere: packages/twenty-server/src/engine/api/common/common-query-runners/common-find-many-query-runner.service.ts
//!   (`442e2cd`, `applyDeletedAtToBuilder`) and
//!   packages/twenty-server/src/engine/twenty-orm/query-builder/__tests__/workspace-select-query-builder-where.spec.ts.
//!   find-one filters on `id` only, so a trashed id is 404.
//! - Updates and restores match trashed rows (no `deletedAt` predicate on mutations):
//!   packages/twenty-server/src/engine/api/common/common-query-runners/utils/build-mutation-query-builder.util.ts
//!   (`785be17`: "TypeORM auto-injects `deletedAt IS NULL` for SELECT-typed queries but not for
//!   mutation-typed ones") and packages/twenty-server/src/engine/twenty-orm/sql/utils/build-mutation-statement.util.ts.
//!   An update leaves the row in the trash.
//! - Soft delete matches live rows only (`0cb4db3` of build-mutation-statement.util.ts adds
//!   `"deletedAt" IS NULL` for `soft-delete`), so trashing a trashed record is 404.
//! - Unique indexes are not partial: a trashed record keeps its value reserved
//!   (packages/twenty-server/src/engine/metadata-modules/flat-field-metadata/utils/generate-index-for-flat-field-metadata.util.ts,
//!   `44697aa`: `indexWhereClause: null`).
//!
//! Every record in every answer goes through [`render_record`]: DATE_TIME values are stored with
//! microseconds and printed with milliseconds (see `timestamps.rs`).
//!
//! By profile (`profile.rs`), everything above is the newest server. The June 2025 server
//! (twentyhq/twenty 7f19111, every point checked on a real one: tests/twenty-compat/compare.py)
//! has only find-many, find-one, create, update-one and delete-one here, through
//! packages/twenty-server/src/engine/api/rest/core/services/rest-api-core.service.ts and the
//! handlers of .../rest/core/handlers/ (paths parsed as `server.rs` `parse_june_2025_records`
//! does): no update-many, soft delete or restore; `DELETE` destroys; the trash is invisible
//! (find-one 400 "Record not found", find-many never lists it, update-one and delete-one 400
//! `EntityNotFoundError`); values are written through TypeORM `save()` without the data-arg
//! processor ([`validate_data`]'s June 2025 branch); find-many pages by id
//! ([`find_many`]'s June 2025 branch); EMAILS filter values are not lower-cased; no unique index
//! (`FakeConfig::unique_indexes`). Not modelled there: update-many without a filter (the newest
//! refusal stays for the newest profile only; June 2025 has no REST update-many at all).
//!
//! EMAILS fields (`FakeConfig::rep_email_type`): stored as `{"primaryEmail", "additionalEmails"}`
//! (one column per sub-field), [`normalize_emails`] on write, unique on `primaryEmail`.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::cursor::{cursor_for, cursor_id};
use super::errors::{ordered, TwentyError};
use super::filter::{self, DateTimeFilterMode, Filter};
use super::metadata::{FieldMeta, ObjectMeta};
use super::paging;
use super::profile::TwentyProfile;
use super::timestamps::{self, render_record};
use super::{js_number, Inner};

/// `pageInfo` as in packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-base.handler.ts (`PageInfo`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub(crate) fn envelope(key: &str, payload: &Value) -> String {
    format!("{{\"data\":{{{}:{}}}}}", ordered(key), payload)
}

/// An EMAILS value as written: `{"primaryEmail": …, "additionalEmails": …}`, only the keys sent
/// (the newest transform touches only the keys present, research pass 11 §2, index id
/// 56592056801; the record keeps the other sub-columns). `primaryEmail` is lower-cased in every
/// version (packages/twenty-server/src/engine/core-modules/record-transformer/utils/transform-emails-value.util.ts:
/// `toLowerCase()`, newest `canonicalizeEmail` at `0ea80165`, whose spec
/// test/integration/rest/suites/emails-domain-canonicalization.integration-spec.ts also
/// canonicalizes `additionalEmails`); `""` becomes null on the newest and stays `""` on legacy.
/// `additionalEmails` may be an array of strings, a JSON text of one, or null. Anything else
/// (a bare string, another key, another JSON type) -> 400 with the fake's own wording (Unverified).
pub(crate) fn normalize_emails(
    key: &str,
    value: &Value,
    profile: TwentyProfile,
) -> Result<Value, TwentyError> {
    let invalid = || {
        TwentyError::bad_request(&format!(
            "Invalid value {value} for field \"{key}\" of type EMAILS"
        ))
    };
    let Value::Object(given) = value else {
        return Err(invalid());
    };
    let mut out = Map::new();
    for (sub, v) in given {
        let stored = match (sub.as_str(), v) {
            (_, Value::Null) => Value::Null,
            ("primaryEmail", Value::String(s)) if s.is_empty() => {
                if profile.is_june_2025() {
                    json!("")
                } else {
                    Value::Null
                }
            }
            ("primaryEmail", Value::String(s)) => json!(s.to_lowercase()),
            ("additionalEmails", Value::String(s)) if s.trim().is_empty() => Value::Null,
            ("additionalEmails", Value::String(s)) => {
                let parsed: Value = serde_json::from_str(s).map_err(|_| invalid())?;
                lower_email_list(&parsed).ok_or_else(invalid)?
            }
            ("additionalEmails", list @ Value::Array(_)) => {
                lower_email_list(list).ok_or_else(invalid)?
            }
            _ => return Err(invalid()),
        };
        out.insert(sub.clone(), stored);
    }
    Ok(Value::Object(out))
}

fn lower_email_list(list: &Value) -> Option<Value> {
    let items = list.as_array()?;
    let lowered: Option<Vec<Value>> = items
        .iter()
        .map(|i| i.as_str().map(|s| json!(s.to_lowercase())))
        .collect();
    lowered.map(Value::Array)
}

/// An EMAILS column set with nothing written: both sub-columns null (Unverified for legacy, where
/// a column default of `''` is possible).
pub fn empty_emails() -> Value {
    json!({"primaryEmail": null, "additionalEmails": null})
}

/// A seeded value for an EMAILS field: a bare string becomes `{"primaryEmail": <lower-cased>,
/// "additionalEmails": null}`, an object gets its `primaryEmail` lower-cased and missing
/// sub-fields null; anything else is kept as given.
pub fn seed_emails(value: &Value) -> Value {
    match value {
        Value::String(s) => json!({"primaryEmail": s.to_lowercase(), "additionalEmails": null}),
        Value::Object(m) => {
            let mut out = empty_emails();
            for (k, v) in m {
                let v = match (k.as_str(), v) {
                    ("primaryEmail", Value::String(s)) => json!(s.to_lowercase()),
                    _ => v.clone(),
                };
                out[k.as_str()] = v;
            }
            out
        }
        other => other.clone(),
    }
}

/// Validate written data against the object's fields; returns the values to store.
/// Unknown key message: data-arg-processor.service.ts (INVALID_ARGS_DATA -> 400).
/// DATE_TIME: packages/twenty-server/src/engine/api/common/common-args-processors/data-arg-processor/validator-utils/validate-date-time-field-or-throw.util.ts
/// (`8d24ebb`), stored rounded to microseconds. EMAILS: [`normalize_emails`]. Other per-type
/// messages are the fake's own (not read from Twenty's coercer utils).
pub fn validate_data(
    object: &ObjectMeta,
    body: &Value,
    profile: TwentyProfile,
) -> Result<Map<String, Value>, TwentyError> {
    let Some(data) = body.as_object() else {
        return Err(TwentyError::bad_request(
            "Request body must be a JSON object",
        ));
    };
    if profile.is_june_2025() {
        return validate_data_june_2025(object, data);
    }
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
        if field.ty == "EMAILS" {
            let stored = match value {
                Value::Null => empty_emails(),
                v => normalize_emails(key, v, profile)?,
            };
            out.insert(key.clone(), stored);
            continue;
        }
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
            ("DATE_TIME", _) => {
                match value.as_str().and_then(timestamps::normalize_written) {
                    Some(v) => Value::String(v),
                    None => {
                        return Err(TwentyError::bad_request(&format!(
                            "Invalid value {} for date-time field \"{key}\". Expected format: 'YYYY-MM-DDTHH:mm:ssZ'",
                            timestamps::js_inspect(value)
                        )))
                    }
                }
            }
            ("DATE", Value::String(_)) => value.clone(),
            ("RAW_JSON" | "ACTOR" | "SELECT", _) => value.clone(),
            _ => return Err(invalid()),
        };
        out.insert(key.clone(), stored);
    }
    Ok(out)
}

/// JavaScript's `Number(text)`: surrounding white space ignored, `""` is 0, decimal or `0x` hex,
/// `Infinity`; anything else NaN (`None`).
fn js_number_of_text(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return Some(0.0);
    }
    let (sign, body) = match t.as_bytes()[0] {
        b'-' => (-1.0, &t[1..]),
        b'+' => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    if body == "Infinity" {
        return Some(sign * f64::INFINITY);
    }
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok().map(|n| n as f64);
    }
    let plain = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if !plain || body.starts_with(['e', 'E']) {
        return None;
    }
    body.parse::<f64>().ok().map(|n| sign * n)
}

/// A float column's value: a number, or Postgres' `NaN` / `Infinity` / `-Infinity`, which JSON
/// cannot hold: the fake stores them as those texts, REST prints them as null (JavaScript's
/// `JSON.stringify`) and GraphQL refuses to serialize them (`timestamps::render_record`,
/// `graphql/exec.rs`). Checked on the real server: `level: "high"` through REST reads back null
/// in REST and `Int cannot represent non-integer value: NaN` in GraphQL.
pub(crate) fn stored_float(n: f64) -> Value {
    if n.is_nan() {
        Value::String("NaN".into())
    } else if n.is_infinite() {
        Value::String(if n > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        js_number(n)
    }
}

/// The table a custom object's rows live in (packages/twenty-server/src/engine/utils/compute-table-name.util.ts:
/// `_<nameSingular>` for custom objects), as Postgres names it in its messages.
pub(crate) fn table_name(object: &ObjectMeta) -> String {
    format!("_{}", object.name_singular)
}

/// Postgres' refusal of a null in a `NOT NULL` column.
pub(crate) fn not_null_message(object: &ObjectMeta, column: &str) -> String {
    format!(
        "null value in column \"{column}\" of relation \"{}\" violates not-null constraint",
        table_name(object)
    )
}

/// June 2025 REST writes (7f19111: `repository.save()` of the body through TypeORM, no
/// data-arg processor), as the real server answered them:
/// - an unknown key: 400 `{"error":"Error","messages":["Field metadata for field \"x\" is
///   missing in object metadata"]}`;
/// - a NUMBER from text goes through JavaScript's `Number()` (`"41"` → 41) and a value that is
///   not a number is stored as Postgres' `NaN` ([`stored_float`]: REST prints null, answered
///   201/200; GraphQL then fails to serialize it); a fraction is kept (`2.5`);
/// - a TEXT field takes a number as its text (`5` → `"5"`); null in a `NOT NULL` column (June
///   2025 TEXT fields and `name`) is Postgres' refusal, 400 `null value in column "name" of
///   relation "_repProgression" violates not-null constraint`;
/// - DATE_TIME text is read by Postgres (the fake reads ISO forms; Postgres' own words such as
///   `yesterday` are not modelled: docs/twenty-api.md §11); text it cannot read is refused with
///   Postgres' message (Unverified for REST: checked through GraphQL);
/// - EMAILS as on every version ([`normalize_emails`]).
fn validate_data_june_2025(
    object: &ObjectMeta,
    data: &Map<String, Value>,
) -> Result<Map<String, Value>, TwentyError> {
    let mut out = Map::new();
    for (key, value) in data {
        let Some(field) = object.field(key) else {
            return Err(TwentyError::new(
                400,
                "Error",
                &format!("Field metadata for field \"{key}\" is missing in object metadata"),
            ));
        };
        let stored = match (field.ty.as_str(), value) {
            ("EMAILS", Value::Null) => empty_emails(),
            ("EMAILS", v) => normalize_emails(key, v, TwentyProfile::June2025)?,
            (_, Value::Null) if !field.is_nullable => {
                return Err(TwentyError::bad_request(&not_null_message(object, key)))
            }
            (_, Value::Null) => Value::Null,
            ("NUMBER" | "NUMERIC" | "POSITION", Value::Number(n)) => {
                n.as_f64().map_or(Value::Null, js_number)
            }
            ("NUMBER" | "NUMERIC" | "POSITION", Value::String(t)) => {
                stored_float(js_number_of_text(t).unwrap_or(f64::NAN))
            }
            ("NUMBER" | "NUMERIC" | "POSITION", Value::Bool(b)) => {
                js_number(f64::from(u8::from(*b)))
            }
            ("NUMBER" | "NUMERIC" | "POSITION", _) => stored_float(f64::NAN),
            ("TEXT", Value::String(_)) => value.clone(),
            ("TEXT", Value::Number(n)) => {
                Value::String(n.as_f64().map(js_number).unwrap_or(Value::Null).to_string())
            }
            ("TEXT", Value::Bool(b)) => Value::String(b.to_string()),
            ("TEXT", other) => Value::String(other.to_string()),
            ("DATE_TIME", _) => match value.as_str().and_then(timestamps::normalize_written) {
                Some(v) => Value::String(v),
                None => {
                    let shown = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_string);
                    return Err(TwentyError::bad_request(&format!(
                        "invalid input syntax for type timestamp with time zone: \"{shown}\""
                    )));
                }
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), stored);
    }
    Ok(out)
}

/// Parse and validate `filter`, then canonicalize EMAILS values as the profile does
/// ([`filter::canonicalize_emails`]).
fn parse_filter_param(
    params: &HashMap<String, String>,
    object: &ObjectMeta,
    profile: TwentyProfile,
) -> Result<Option<Filter>, TwentyError> {
    match params.get("filter") {
        None => Ok(None),
        Some(raw) => {
            let f = filter::parse_filter_rest_for(raw, profile)?;
            filter::validate_for(&f, object, profile)?;
            Ok(Some(filter::canonicalize_emails(f, object, profile)))
        }
    }
}

/// Which rows a statement can see.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// SELECT: live rows only, unless the filter mentions `deletedAt`.
    Read,
    /// UPDATE / DELETE / restore: every row.
    Mutation,
    /// Soft delete: live rows only.
    SoftDelete,
}

pub(crate) fn is_trashed(record: &Value) -> bool {
    !record.get("deletedAt").is_none_or_null()
}

pub(crate) fn matching_indices(
    records: &[Value],
    f: &Option<Filter>,
    object: &ObjectMeta,
    mode: DateTimeFilterMode,
    scope: Scope,
) -> Vec<usize> {
    let live_only = match scope {
        Scope::Read => !f
            .as_ref()
            .is_some_and(|f| filter::mentions_field(f, "deletedAt")),
        Scope::Mutation => false,
        Scope::SoftDelete => true,
    };
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| !(live_only && is_trashed(r)))
        .filter(|(_, r)| match f {
            None => true,
            Some(f) => filter::matches_in(f, r, object, mode),
        })
        .map(|(i, _)| i)
        .collect()
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

/// The value a unique field's index holds for `data` ([`FieldMeta::unique_key`]: an EMAILS
/// value's `primaryEmail`), if `data` sets one.
fn unique_key_in(field: &FieldMeta, data: &Map<String, Value>) -> Option<Value> {
    data.get(&field.name).and_then(|v| field.unique_key(v))
}

/// A unique value already held by another row, trashed rows included (the index is not
/// partial: generate-index-for-flat-field-metadata.util.ts `indexWhereClause: null`; issue
/// #24227 "that's expected, please hard delete the soft deleted row"). An EMAILS field is unique
/// on `primaryEmail` (emails.composite-type.ts `41d24255`, `isIncludedInUniqueConstraint`).
pub(crate) fn unique_violation(
    enforced: bool,
    object: &ObjectMeta,
    records: &[Value],
    candidate: &Map<String, Value>,
    skip_id: Option<&str>,
) -> Option<TwentyError> {
    if !enforced {
        return None;
    }
    for field in object.fields.iter().filter(|f| f.is_unique) {
        let Some(v) = unique_key_in(field, candidate) else {
            continue;
        };
        let clash = records.iter().any(|r| {
            r.get("id").and_then(Value::as_str) != skip_id
                && r.get(&field.name).and_then(|x| field.unique_key(x)) == Some(v.clone())
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

/// Build a full record: every field of the object (its column default: June 2025 TEXT `""`,
/// `name` `"Untitled"`, else null), standard values, then `data`. `position` null is what a
/// June 2025 REST create stores (checked on the real server).
/// `now` is the stored (microsecond) stamp for `createdAt` and `updatedAt` (column default
/// `now()`); values in `data` win, so a body may set `createdAt`/`updatedAt` itself.
pub fn build_record(
    object: &ObjectMeta,
    data: &Map<String, Value>,
    key_name: &str,
    now: &str,
    position: Option<f64>,
) -> Value {
    let mut r = Map::new();
    for f in &object.fields {
        let empty = if f.ty == "EMAILS" {
            empty_emails()
        } else {
            f.column_default().unwrap_or(Value::Null)
        };
        r.insert(f.name.clone(), empty);
    }
    r.insert("id".into(), json!(Uuid::new_v4().to_string()));
    r.insert("createdAt".into(), json!(now));
    r.insert("updatedAt".into(), json!(now));
    r.insert("position".into(), position.map_or(Value::Null, js_number));
    // API-key writes: packages/twenty-server/src/engine/core-modules/actor/services/actor-from-auth-context.service.ts
    r.insert(
        "createdBy".into(),
        json!({"source": "API", "name": key_name, "workspaceMemberId": null, "context": {}}),
    );
    for (k, v) in data {
        if k == "createdBy" {
            continue;
        }
        let merged = match r.get_mut(k) {
            Some(old @ Value::Object(_)) if is_emails(object, k) => {
                merge_composite(old, v);
                old.clone()
            }
            _ => v.clone(),
        };
        r.insert(k.clone(), merged);
    }
    Value::Object(r)
}

fn is_emails(object: &ObjectMeta, key: &str) -> bool {
    object.field(key).is_some_and(|f| f.ty == "EMAILS")
}

/// Write the sub-fields present in `new` over a stored composite value (one column per sub-field).
fn merge_composite(stored: &mut Value, new: &Value) {
    match (stored.as_object_mut(), new.as_object()) {
        (Some(old), Some(new)) => {
            for (k, v) in new {
                old.insert(k.clone(), v.clone());
            }
        }
        _ => *stored = new.clone(),
    }
}

/// Query parameters the records API reads.
pub struct ListParams<'a> {
    pub params: &'a HashMap<String, String>,
}

/// `GET /rest/{plural}` -> 200 `{"data":{plural:[...]},"totalCount":n,"pageInfo":{...}}`.
/// Source: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-find-many.handler.ts
/// (`formatRestResponse`; `depth` only selects relations, which this object has none of).
/// Trashed records are left out unless the filter mentions `deletedAt`
/// (`deletedAt[is]:NOT_NULL` lists the trash, `or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL)` both).
pub fn find_many(
    inner: &Inner,
    object: &ObjectMeta,
    p: ListParams<'_>,
) -> Result<String, TwentyError> {
    if inner.profile.is_june_2025() {
        return find_many_june_2025(inner, object, p.params);
    }
    let f = parse_filter_param(p.params, object, inner.profile)?;
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
    let mut rows: Vec<&Value> = matching_indices(all, &f, object, inner.datetime_mode, Scope::Read)
        .into_iter()
        .map(|i| &all[i])
        .collect();
    sort_rows(&mut rows, p.params.get("order_by").map(String::as_str));
    let total = rows.len();
    let start = match p.params.get("starting_after").and_then(|c| cursor_id(c)) {
        Some(id) => rows
            .iter()
            .position(|r| r.get("id").and_then(Value::as_str) == Some(id.as_str()))
            .map_or(0, |i| i + 1),
        None => 0,
    };
    let page: Vec<Value> = rows
        .iter()
        .skip(start)
        .take(limit)
        .map(|r| render_record(object, r))
        .collect();
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

/// `GET /rest/{plural}` on June 2025, as 7f19111's
/// packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-find-many.handler.ts and
/// `findRecords` in .../rest/core/interfaces/rest-api-base.handler.ts answer it (checked on the
/// real server):
/// - trashed records are never listed, whatever the filter says (the REST repository always adds
///   `deletedAt IS NULL`: `deletedAt[is]:NOT_NULL` answers an empty list);
/// - the order is `order_by` then `id` ascending, cursors carry the order's values
///   ([`paging`]);
/// - `limit` defaults to 60 and has no cap; `0` means no limit (`if (inputs.first)`);
/// - `totalCount` counts what the filter **and the cursor** leave (`getTotalCount` runs after the
///   cursor condition is added), and `hasNextPage` is `records < totalCount`;
/// - `pageInfo` has `hasPreviousPage` only when paging backward with more records before;
/// - key order `data`, `pageInfo`, `totalCount`.
fn find_many_june_2025(
    inner: &Inner,
    object: &ObjectMeta,
    params: &HashMap<String, String>,
) -> Result<String, TwentyError> {
    let f = parse_filter_param(params, object, inner.profile)?;
    let limit = match params.get("limit").filter(|l| !l.is_empty()) {
        None => 60,
        Some(l) => match l.trim().parse::<f64>() {
            Ok(n) if n >= 0.0 => n as usize,
            _ => {
                return Err(TwentyError::bad_request(&format!(
                    "limit '{l}' is invalid. Should be an integer"
                )))
            }
        },
    };
    let order = paging::parse_rest_order_by(params.get("order_by").map(String::as_str))?;
    let before = params.get("ending_before").filter(|c| !c.is_empty());
    let after = params.get("starting_after").filter(|c| !c.is_empty());
    let forward = before.is_none();
    let cursor = match before.or(after) {
        None => None,
        Some(c) => Some(
            paging::decode_cursor(c)
                .ok_or_else(|| TwentyError::bad_request(&format!("Invalid cursor: {c}")))?,
        ),
    };
    let empty = Vec::new();
    let all = inner.records.get(&object.name_plural).unwrap_or(&empty);
    let mode = inner.datetime_mode;
    let cursor_filter = cursor
        .as_ref()
        .map(|c| paging::cursor_filter(c, &order, forward));
    let mut rows: Vec<&Value> = all
        .iter()
        .filter(|r| !is_trashed(r))
        .filter(|r| {
            f.as_ref()
                .is_none_or(|f| filter::matches_in(f, r, object, mode))
        })
        .filter(|r| {
            cursor_filter
                .as_ref()
                .is_none_or(|c| filter::matches_in(c, r, object, mode))
        })
        .collect();
    let total = rows.len();
    rows.sort_by(|a, b| paging::cmp_rows(a, b, &order, !forward));
    if limit > 0 {
        rows.truncate(limit);
    }
    if !forward {
        rows.reverse();
    }
    let page: Vec<Value> = rows.iter().map(|r| render_record(object, r)).collect();
    let more = page.len() < total;
    let mut info = vec![format!("\"hasNextPage\":{}", forward && more)];
    if !forward && more {
        info.push("\"hasPreviousPage\":true".to_string());
    }
    let cursor_of = |r: Option<&Value>| {
        r.map_or(Value::Null, |r| {
            Value::String(paging::encode_cursor(r, &order))
        })
    };
    info.push(format!("\"startCursor\":{}", cursor_of(page.first())));
    info.push(format!("\"endCursor\":{}", cursor_of(page.last())));
    Ok(format!(
        "{{\"data\":{{{}:{}}},\"pageInfo\":{{{}}},\"totalCount\":{}}}",
        ordered(&object.name_plural),
        ordered(&page),
        info.join(","),
        total
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

pub(crate) fn cmp_json(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
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

/// Index of the record with `id`; `live_only` leaves trashed records out.
pub(crate) fn find_index(
    inner: &Inner,
    object: &ObjectMeta,
    id: &str,
    live_only: bool,
) -> Option<usize> {
    inner
        .records
        .get(&object.name_plural)?
        .iter()
        .position(|r| {
            r.get("id").and_then(Value::as_str) == Some(id) && !(live_only && is_trashed(r))
        })
}

/// "Record not found" as the profile answers it: newest 404 `NotFoundException`
/// ([`TwentyError::record_not_found`]), legacy 400 `BadRequestException`
/// ([`TwentyError::record_not_found_legacy`]).
fn not_found(profile: TwentyProfile) -> TwentyError {
    if profile.is_june_2025() {
        TwentyError::record_not_found_legacy()
    } else {
        TwentyError::record_not_found()
    }
}

/// `GET /rest/{plural}/{id}` -> 200 `{"data":{singular:{...}}}`; unknown or trashed id -> 404
/// "Record not found" (legacy: 400, see [`not_found`]).
/// Sources: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-find-one.handler.ts,
/// packages/twenty-server/src/engine/api/common/common-query-runners/common-find-one-query-runner.service.ts
/// (`57bddbd`: filter on `id` only, so `deletedAt IS NULL` applies) and the spec
/// packages/twenty-server/test/integration/rest/suites/rest-api-core-find-one.integration-spec.ts (`12cb8dc`).
pub fn find_one(inner: &Inner, object: &ObjectMeta, id: &str) -> Result<String, TwentyError> {
    let i = find_index(inner, object, id, true).ok_or_else(|| not_found(inner.profile))?;
    let record = &inner.records[&object.name_plural][i];
    Ok(envelope(
        &object.name_singular,
        &render_record(object, record),
    ))
}

/// `POST /rest/{plural}` -> 201 `{"data":{"create<Singular>":{...}}}`.
/// Source: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-create-one.handler.ts
/// (`formatRestResponse`) and rest-api-core.controller.ts (`res.status(201)`).
/// A `repEmail` held by a trashed record is a duplicate too (non-partial unique index).
pub fn create_one(
    inner: &mut Inner,
    object: &ObjectMeta,
    body: &Value,
    key_name: &str,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let data = validate_data(object, body, inner.profile)?;
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
    if let Some(e) = unique_violation(inner.unique_indexes, object, existing, &data, None) {
        return Err(e);
    }
    inner.next_position += 1.0;
    let now = inner.stamper.next(now_ms);
    // The June 2025 REST create leaves `position` null (checked on the real server; its GraphQL
    // create puts the record first, see graphql/exec.rs).
    let position = (!inner.profile.is_june_2025()).then_some(inner.next_position);
    let record = build_record(object, &data, key_name, &now, position);
    let text = envelope(
        &format!("create{}", capitalize(&object.name_singular)),
        &render_record(object, &record),
    );
    inner
        .records
        .entry(object.name_plural.clone())
        .or_default()
        .push(record);
    Ok(text)
}

/// Set `data` on a stored record; `updatedAt = now` unless `data` sets `updatedAt` itself
/// (workspace-mutation-query-builder.ts `b2fef50`: "should not append updatedAt maintenance when
/// the caller sets updatedAt itself"). A composite (EMAILS) value sets only the sub-fields sent.
pub(crate) fn apply(object: &ObjectMeta, record: &mut Value, data: &Map<String, Value>, now: &str) {
    if let Some(r) = record.as_object_mut() {
        for (k, v) in data {
            if matches!(k.as_str(), "id" | "createdBy" | "createdAt") {
                continue;
            }
            match r.get_mut(k) {
                Some(old @ Value::Object(_)) if is_emails(object, k) => merge_composite(old, v),
                _ => {
                    r.insert(k.clone(), v.clone());
                }
            }
        }
        if !data.contains_key("updatedAt") {
            r.insert("updatedAt".into(), json!(now));
        }
    }
}

/// Update one record and return it rendered. Shared by `PATCH /rest/{plural}/{id}` and
/// `FakeTwenty::patch_record`.
/// Newest: trashed records included (they stay in the trash); unknown id -> 404 "Record not
/// found". Legacy: the old handler's `findOneOrFail` sees live rows only, so an unknown **or
/// trashed** id -> 400 `EntityNotFoundError` ([`TwentyError::entity_not_found`]; research Q4:
/// "a soft-deleted id gave 400 EntityNotFoundError").
pub fn update_one_record(
    inner: &mut Inner,
    object: &ObjectMeta,
    id: &str,
    body: &Value,
    now_ms: u64,
) -> Result<Value, TwentyError> {
    let legacy = inner.profile.is_june_2025();
    let data = validate_data(object, body, inner.profile)?;
    let i = find_index(inner, object, id, legacy).ok_or_else(|| {
        if legacy {
            TwentyError::entity_not_found(&object.name_singular, id)
        } else {
            TwentyError::record_not_found()
        }
    })?;
    if let Some(e) = unique_violation(
        inner.unique_indexes,
        object,
        &inner.records[&object.name_plural],
        &data,
        Some(id),
    ) {
        return Err(e);
    }
    let now = inner.stamper.next(now_ms);
    let rows = inner.records.entry(object.name_plural.clone()).or_default();
    apply(object, &mut rows[i], &data, &now);
    Ok(render_record(object, &rows[i]))
}

/// `PATCH /rest/{plural}/{id}` -> 200 `{"data":{"update<Singular>":{...}}}`.
/// Sources: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-update-one.handler.ts and
/// packages/twenty-server/src/engine/api/common/common-query-runners/common-update-one-query-runner.service.ts
/// (`5eae7b0`: update-many on `id[eq]`, RECORD_NOT_FOUND -> 404 only when no row came back). A
/// trashed record is updated and stays trashed (PR #13425 "updateOne/Many works on soft deleted
/// records"). The old handler (`999629c`, spec rest-api-core-update.integration-spec.ts `f0f12a0`)
/// answered 400 `EntityNotFoundError` instead: the legacy profile ([`update_one_record`]).
pub fn update_one(
    inner: &mut Inner,
    object: &ObjectMeta,
    id: &str,
    body: &Value,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let record = update_one_record(inner, object, id, body, now_ms)?;
    Ok(envelope(
        &format!("update{}", capitalize(&object.name_singular)),
        &record,
    ))
}

/// `A non-empty filter is required for a bulk mutation` (INVALID_ARGS_FILTER -> 400), thrown by
/// `runFilteredMutation` in
/// packages/twenty-server/src/engine/api/common/common-query-runners/common-base-query-runner.service.ts
/// (newest, PR #24746) for every bulk update / soft delete / restore.
fn empty_bulk_filter() -> TwentyError {
    TwentyError::bad_request("A non-empty filter is required for a bulk mutation")
}

/// `PATCH /rest/{plural}?filter=...` -> 200 `{"data":{"update<Plural>":[...]}}`, exactly the rows
/// the single `UPDATE ... WHERE <filter> RETURNING ...` changed (`[]` when none matched).
/// Sources: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-update-many.handler.ts and
/// packages/twenty-server/src/engine/api/common/common-query-runners/common-update-many-query-runner.service.ts.
/// Trashed rows match too (no `deletedAt` predicate on mutations) and stay trashed.
/// Without `filter` the newest runner refuses: 400 "A non-empty filter is required for a bulk
/// mutation" (`runFilteredMutation`, PR #24746). Older versions (`acc0f92`) updated every row.
pub fn update_many(
    inner: &mut Inner,
    object: &ObjectMeta,
    params: &HashMap<String, String>,
    body: &Value,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let f = parse_filter_param(params, object, inner.profile)?;
    let data = validate_data(object, body, inner.profile)?;
    if f.is_none() {
        return Err(empty_bulk_filter());
    }
    let mode = inner.datetime_mode;
    let rows = inner.records.entry(object.name_plural.clone()).or_default();
    let hit = matching_indices(rows, &f, object, mode, Scope::Mutation);
    // One statement: a unique column set on two rows, or clashing with another row, fails whole.
    let sets_unique = object
        .fields
        .iter()
        .any(|fm| fm.is_unique && unique_key_in(fm, &data).is_some());
    if inner.unique_indexes && sets_unique && hit.len() > 1 {
        return Err(TwentyError::bad_request("A duplicate entry was detected"));
    }
    if let Some(&only) = hit.first() {
        let id = rows[only]
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(e) = unique_violation(inner.unique_indexes, object, rows, &data, id.as_deref())
        {
            return Err(e);
        }
    }
    let now = if hit.is_empty() {
        String::new()
    } else {
        inner.stamper.next(now_ms)
    };
    let rows = inner.records.entry(object.name_plural.clone()).or_default();
    let mut changed = Vec::with_capacity(hit.len());
    for i in hit {
        apply(object, &mut rows[i], &data, &now);
        changed.push(render_record(object, &rows[i]));
    }
    Ok(envelope(
        &format!("update{}", capitalize(&object.name_plural)),
        &Value::Array(changed),
    ))
}

fn id_of(record: &Value) -> Value {
    json!({ "id": record.get("id").cloned().unwrap_or(Value::Null) })
}

/// Soft delete (`deletedAt = updatedAt = CURRENT_TIMESTAMP`, one stamp per statement:
/// workspace-mutation-query-builder.spec.ts `a36f72e`) or destroy the rows at `indices`;
/// returns their `{"id":…}` objects in row order.
pub(crate) fn delete_rows(
    inner: &mut Inner,
    object: &ObjectMeta,
    mut indices: Vec<usize>,
    soft: bool,
    now_ms: u64,
) -> Vec<Value> {
    if indices.is_empty() {
        return Vec::new();
    }
    let now = inner.stamper.next(now_ms);
    let rows = inner.records.entry(object.name_plural.clone()).or_default();
    let ids: Vec<Value> = indices.iter().map(|&i| id_of(&rows[i])).collect();
    if soft {
        for &i in &indices {
            if let Some(r) = rows[i].as_object_mut() {
                r.insert("deletedAt".into(), json!(now));
                r.insert("updatedAt".into(), json!(now));
            }
        }
    } else {
        indices.sort_unstable();
        for &i in indices.iter().rev() {
            rows.remove(i);
        }
    }
    ids
}

/// `DELETE /rest/{plural}/{id}?soft_delete=true` (soft) or `DELETE /rest/{plural}/{id}` (destroy)
/// -> 200 `{"data":{"delete<Singular>":{"id":"…"}}}` (the key is `delete…` for both).
///
/// Sources: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-delete-one.handler.ts
/// (newest: `{ id }`; one older version, `0380223`, added a top-level `softDelete: true`, which
/// the fake does not), .../handlers/rest-api-destroy-one.handler.ts (`d1340b4`, `selectedFields:
/// { id: true }`) and the spec packages/twenty-server/test/integration/rest/suites/rest-api-core-delete.integration-spec.ts
/// (`02a1f88`: destroy 200 `deletePerson: { id }`; unknown id 404 NotFoundException "Record not found").
/// Soft delete of an already-trashed record is 404 (newest: the soft-delete statement matches live
/// rows only; Inferred. The TypeORM era re-stamped it and answered 200). Destroy works on a
/// trashed record (no `deletedAt` predicate; Inferred). Legacy profile: 400 instead of 404
/// ([`not_found`]).
pub fn delete_one(
    inner: &mut Inner,
    object: &ObjectMeta,
    id: &str,
    soft: bool,
    now_ms: u64,
) -> Result<String, TwentyError> {
    if inner.profile.is_june_2025() {
        // rest-api-delete-one.handler.ts (7f19111): `findOneOrFail` (live rows) then
        // `repository.delete(id)`: every DELETE destroys, `soft_delete` is not read, a trashed
        // or unknown id is `EntityNotFoundError` (checked on the real server).
        let i = find_index(inner, object, id, true)
            .ok_or_else(|| TwentyError::entity_not_found(&object.name_singular, id))?;
        let mut ids = delete_rows(inner, object, vec![i], false, now_ms);
        let one = ids.pop().unwrap_or(Value::Null);
        return Ok(envelope(
            &format!("delete{}", capitalize(&object.name_singular)),
            &one,
        ));
    }
    let i = find_index(inner, object, id, soft).ok_or_else(|| not_found(inner.profile))?;
    let mut ids = delete_rows(inner, object, vec![i], soft, now_ms);
    let one = ids.pop().unwrap_or(Value::Null);
    Ok(envelope(
        &format!("delete{}", capitalize(&object.name_singular)),
        &one,
    ))
}

/// Soft delete one live record (the helpers' and an admin's trash button): `deletedAt` and
/// `updatedAt` stamped. False for an unknown or already-trashed id.
pub(crate) fn soft_delete_row(
    inner: &mut Inner,
    object: &ObjectMeta,
    id: &str,
    now_ms: u64,
) -> bool {
    match find_index(inner, object, id, true) {
        Some(i) => {
            delete_rows(inner, object, vec![i], true, now_ms);
            true
        }
        None => false,
    }
}

/// Destroy one record, trashed or not. False for an unknown id.
pub(crate) fn destroy_row(inner: &mut Inner, object: &ObjectMeta, id: &str) -> bool {
    match find_index(inner, object, id, false) {
        Some(i) => {
            if let Some(rows) = inner.records.get_mut(&object.name_plural) {
                rows.remove(i);
            }
            true
        }
        None => false,
    }
}

/// `DELETE /rest/{plural}?soft_delete=true|…&filter=…` -> 200
/// `{"data":{"delete<Plural>":[{"id":…},…]}}`. Soft delete applies to live matches only; destroy to
/// every match. Without `filter`: 400 "Filters are mandatory for bulk delete operations. …" (soft)
/// or "… bulk destroy operations. …".
/// Sources: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-delete-many.handler.ts and
/// .../handlers/rest-api-destroy-many.handler.ts (`isEmpty(filter)` -> BadRequestException, full
/// text below), spec rest-api-core-delete.integration-spec.ts (`02a1f88`, "Filters are mandatory
/// for bulk delete operations" / "... destroy operations", 400 BadRequestException).
pub fn delete_many(
    inner: &mut Inner,
    object: &ObjectMeta,
    params: &HashMap<String, String>,
    soft: bool,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let f = parse_filter_param(params, object, inner.profile)?;
    if f.is_none() {
        let what = if soft { "delete" } else { "destroy" };
        return Err(TwentyError::bad_request(&format!(
            "Filters are mandatory for bulk {what} operations. Please provide at least one filter to prevent accidental deletion of all records."
        )));
    }
    let empty = Vec::new();
    let rows = inner.records.get(&object.name_plural).unwrap_or(&empty);
    let scope = if soft {
        Scope::SoftDelete
    } else {
        Scope::Mutation
    };
    let hit = matching_indices(rows, &f, object, inner.datetime_mode, scope);
    let ids = delete_rows(inner, object, hit, soft, now_ms);
    Ok(envelope(
        &format!("delete{}", capitalize(&object.name_plural)),
        &Value::Array(ids),
    ))
}

/// `deletedAt = NULL, updatedAt = CURRENT_TIMESTAMP` on the rows at `indices`
/// (workspace-mutation-query-builder.spec.ts `a36f72e`); returns them rendered.
pub(crate) fn restore_rows(
    inner: &mut Inner,
    object: &ObjectMeta,
    indices: &[usize],
    now_ms: u64,
) -> Vec<Value> {
    if indices.is_empty() {
        return Vec::new();
    }
    let now = inner.stamper.next(now_ms);
    let rows = inner.records.entry(object.name_plural.clone()).or_default();
    let mut out = Vec::with_capacity(indices.len());
    for &i in indices {
        if let Some(r) = rows[i].as_object_mut() {
            r.insert("deletedAt".into(), Value::Null);
            r.insert("updatedAt".into(), json!(now));
        }
        out.push(render_record(object, &rows[i]));
    }
    out
}

/// `PATCH /rest/{plural}/{id}/restore` -> 200 `{"data":{"restore<Singular>":{…record…}}}`;
/// unknown id -> 404 "Record not found" (legacy profile: 400, [`not_found`]).
/// Sources: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-restore-one.handler.ts
/// (`02e13c8`) and the spec packages/twenty-server/test/integration/rest/suites/rest-api-core-restore.integration-spec.ts
/// (`ad4d7ca`). Restoring a live record matches it too (mutations have no `deletedAt` predicate)
/// and only stamps `updatedAt` (Inferred, Unverified).
pub fn restore_one(
    inner: &mut Inner,
    object: &ObjectMeta,
    id: &str,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let i = find_index(inner, object, id, false).ok_or_else(|| not_found(inner.profile))?;
    let one = restore_rows(inner, object, &[i], now_ms)
        .pop()
        .unwrap_or(Value::Null);
    Ok(envelope(
        &format!("restore{}", capitalize(&object.name_singular)),
        &one,
    ))
}

/// `PATCH /rest/{plural}/restore?filter=…` -> 200 `{"data":{"restore<Plural>":[…records…]}}`:
/// every row the filter matches, trashed or not (build-mutation-query-builder.util.ts `785be17`:
/// the mutation has no `deletedAt IS NULL`, "otherwise `restoreMany` would never find
/// soft-deleted rows"; live matches returned too: Inferred, Unverified).
/// Sources: packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-restore-many.handler.ts
/// (no REST-level filter check) and spec rest-api-core-restore.integration-spec.ts (`ad4d7ca`).
/// Without `filter`: 400 "A non-empty filter is required for a bulk mutation" (`runFilteredMutation`).
pub fn restore_many(
    inner: &mut Inner,
    object: &ObjectMeta,
    params: &HashMap<String, String>,
    now_ms: u64,
) -> Result<String, TwentyError> {
    let f = parse_filter_param(params, object, inner.profile)?;
    if f.is_none() {
        return Err(empty_bulk_filter());
    }
    let empty = Vec::new();
    let rows = inner.records.get(&object.name_plural).unwrap_or(&empty);
    let hit = matching_indices(rows, &f, object, inner.datetime_mode, Scope::Mutation);
    let restored = restore_rows(inner, object, &hit, now_ms);
    Ok(envelope(
        &format!("restore{}", capitalize(&object.name_plural)),
        &Value::Array(restored),
    ))
}
