//! Executing the records root fields on the fake's store, as each profile's resolvers do.
//!
//! June 2025 (twentyhq/twenty 7f19111, packages/twenty-server/src/engine/api/graphql/graphql-query-runner/resolvers/,
//! every behaviour below checked on the real server):
//! - `updateRepProgressions(filter, data)` (graphql-query-update-many-resolver.service.ts): no
//!   filter → `Error('Filter is required')` (INTERNAL_SERVER_ERROR); then the live rows matching
//!   the filter are selected (a plain SELECT: trashed rows are left out **even when the filter names
//!   `deletedAt`**); none → `NOT_FOUND` "Records not found" with `data: {updateRepProgressions:
//!   null}`; then one `UPDATE … WHERE filter RETURNING *` runs, which does reach trashed rows:
//!   when it changed a row the SELECT had not seen (a trashed one), the event emitter fails on it,
//!   `Cannot read properties of undefined (reading 'id')` (INTERNAL_SERVER_ERROR), **after** the
//!   update was applied.
//! - `updateRepProgression(id, data)`: live rows only, else `NOT_FOUND` "Record not found".
//! - `deleteRepProgression(id)`: stamps `deletedAt` and `updatedAt`, also on a record already in
//!   the trash (it is stamped again); `restoreRepProgression(id)`: `deletedAt` null, `updatedAt`
//!   stamped, a live record too; `destroyRepProgression(id)`: removes it, trashed or not,
//!   answering the record as it was; an unknown id → `NOT_FOUND` "Record not found".
//! - `repProgressions(filter, first, after, …)`: trashed rows only when the filter names
//!   `deletedAt`; order `orderBy` then `id`; `first` (or `last`) defaults to 60
//!   (`QUERY_MAX_RECORDS`); `totalCount` counts the filter's matches, the cursor aside.
//! - `createRepProgression(data)`: `position` "first" (the lowest position minus one, 1 when
//!   none: packages/twenty-server/src/engine/core-modules/record-position/services/record-position.service.ts),
//!   no unique index (`FakeConfig::unique_indexes`).
//! - Roles: role-wide permissions, checked after the arguments' validation and before any row is
//!   read (base-resolver-service.ts `validateObjectRecordPermissionsOrThrow`): 200
//!   `{"errors":[{"message":"User does not have permission","extensions":{"code":"FORBIDDEN"}}],
//!   "data":{"<field>":null}}`. API keys bypass them (`RestrictedKey` stands for a member's token).
//!   With per-object permissions (`IS_PERMISSIONS_V2_ENABLED`) the ORM checks them when a
//!   statement runs (twenty-orm/repository/permissions.utils.ts): update-many's first SELECT
//!   needs read only, so a filter that matches nothing answers `NOT_FOUND` to a role that may not
//!   update, and the `UPDATE` itself is refused (checked on the real server).
//! - PostgreSQL refuses a NUL character in text: `invalid byte sequence for encoding "UTF8":
//!   0x00` (INTERNAL_SERVER_ERROR), after the role was checked and with nothing written.
//!
//! Newest (read in source, twentyhq/twenty `02e13c8d`):
//! packages/twenty-server/src/engine/api/graphql/workspace-resolver-builder/factories/update-many-resolver.factory.ts
//! runs packages/twenty-server/src/engine/api/common/common-query-runners/common-update-many-query-runner.service.ts:
//! one `UPDATE … WHERE filter RETURNING` whose `generatedMaps` are answered, so **nothing matched
//! answers `[]`** (no NOT_FOUND) and trashed rows match (no `deletedAt` predicate on mutations,
//! docs/twenty-api.md §3b). The fake also refuses an empty filter there, as the newest REST
//! runner does ("A non-empty filter is required for a bulk mutation", PR #24746; code Unverified).
//! Update-one reaches trashed rows; soft delete matches live rows only.

use serde_json::{json, Map, Value};

use super::schema::{FieldDef, GqlSchema, RootOp};
use super::syntax::{Field, Selection, TypeRef};
use super::to_filter::to_filter;
use super::value::Out;
use super::ExecError;
use crate::fake::filter::{self, Filter};
use crate::fake::metadata::ObjectMeta;
use crate::fake::paging::{self, OrderKey};
use crate::fake::profile::RestrictedKey;
use crate::fake::records::{self, Scope};
use crate::fake::timestamps;
use crate::fake::{js_number, Inner};

/// What a root field runs with.
pub struct Ctx<'a> {
    pub gql: &'a GqlSchema,
    pub inner: &'a mut Inner,
    pub now_ms: u64,
    /// `createdBy.name` of records it creates.
    pub key_name: &'a str,
    /// `None`: every permission (an API key).
    pub role: Option<&'a RestrictedKey>,
    /// See [`super::Caller::permissions_v2`].
    pub permissions_v2: bool,
}

/// A scalar as graphql-js serializes it: `Int` and `Float` refuse what is not a finite number
/// of their kind (a REST write of `"lots"` stored `NaN`, of `2.5` a fraction): the field is null
/// and the answer carries `Int cannot represent non-integer value: NaN` with
/// `INTERNAL_SERVER_ERROR` (checked on the real server, data kept beside the errors).
fn serialize(scalar: &str, v: &Value, errors: &mut Vec<ExecError>) -> Out {
    let shown = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let refused = match (scalar, v) {
        ("Int", Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() != 0.0 => {
                Some(format!("Int cannot represent non-integer value: {shown}"))
            }
            Some(f) if !(-2_147_483_648.0..=2_147_483_647.0).contains(&f) => Some(format!(
                "Int cannot represent non 32-bit signed integer value: {shown}"
            )),
            _ => None,
        },
        ("Int", Value::String(_)) => {
            Some(format!("Int cannot represent non-integer value: {shown}"))
        }
        ("Float", Value::String(_)) => {
            Some(format!("Float cannot represent non numeric value: {shown}"))
        }
        _ => None,
    };
    match refused {
        Some(message) => {
            errors.push(ExecError::internal(&message));
            Out::null()
        }
        None => Out::Json(v.clone()),
    }
}

/// An answer's value for one field: the selection applied to `v`; serialization refusals go to
/// `errors`.
pub fn render(
    gql: &GqlSchema,
    ty: &TypeRef,
    sel: Option<&[Selection]>,
    v: &Value,
    errors: &mut Vec<ExecError>,
) -> Out {
    match ty {
        TypeRef::NonNull(inner) => render(gql, inner, sel, v, errors),
        TypeRef::List(inner) => match v {
            Value::Array(items) => Out::List(
                items
                    .iter()
                    .map(|i| render(gql, inner, sel, i, errors))
                    .collect(),
            ),
            _ => Out::null(),
        },
        TypeRef::Named(name) => {
            let Some(sel) = sel else {
                return serialize(name, v, errors);
            };
            if v.is_null() {
                return Out::null();
            }
            let mut fields = Vec::new();
            for s in sel {
                let Selection::Field(f) = s else { continue };
                let key = f.response_key().to_string();
                if f.name == "__typename" {
                    fields.push((key, Out::Json(json!(name))));
                    continue;
                }
                let Some(def) = gql.field(name, &f.name) else {
                    continue;
                };
                let child = v.get(&f.name).unwrap_or(&Value::Null);
                fields.push((
                    key,
                    render(gql, &def.ty, f.selection.as_deref(), child, errors),
                ));
            }
            Out::Object(fields)
        }
    }
}

/// A row as GraphQL reads it: timestamps in milliseconds, a float column's `NaN` kept for
/// [`serialize`] to refuse.
fn rendered(object: &ObjectMeta, row: &Value) -> Value {
    timestamps::render_record_with(object, row, true)
}

fn arg<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    args.get(name).filter(|v| !v.is_null())
}

/// Run one root field: its value, and the refusals met while serializing it.
pub fn run(
    ctx: &mut Ctx<'_>,
    field: &Field,
    def: &FieldDef,
    args: &Map<String, Value>,
) -> Result<(Out, Vec<ExecError>), ExecError> {
    let Some((op, plural)) = def.root.clone() else {
        return Err(ExecError::internal("not a records field"));
    };
    let Some(object) = ctx.inner.schema.by_plural(&plural).cloned() else {
        return Err(ExecError::internal(&format!(
            "Object metadata not found for {plural}"
        )));
    };
    let june = ctx.inner.profile.is_june_2025();
    validate_args(op, args, june)?;
    let checked_when_it_runs = june && ctx.permissions_v2 && op == RootOp::UpdateMany;
    if !checked_when_it_runs {
        check_role(ctx, op, &object.name_plural)?;
    }
    let sel = field.selection.as_deref();
    let value = match op {
        RootOp::FindMany => find_many(ctx, &object, args)?,
        RootOp::FindOne => find_one(ctx, &object, args)?,
        RootOp::CreateOne => {
            let data = arg(args, "data").cloned().unwrap_or(json!({}));
            create(ctx, &object, &data)?
        }
        RootOp::CreateMany => {
            let items = arg(args, "data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut out = Vec::new();
            for data in &items {
                out.push(create(ctx, &object, data)?);
            }
            Value::Array(out)
        }
        RootOp::UpdateOne => update_one(ctx, &object, args)?,
        RootOp::UpdateMany => update_many(ctx, &object, args)?,
        RootOp::DeleteOne => delete_one(ctx, &object, args)?,
        RootOp::DestroyOne => destroy_one(ctx, &object, args)?,
        RootOp::RestoreOne => restore_one(ctx, &object, args)?,
        RootOp::DeleteMany | RootOp::DestroyMany | RootOp::RestoreMany => {
            many_by_filter(ctx, &object, op, args)?
        }
    };
    let mut errors = Vec::new();
    let out = render(ctx.gql, &def.ty, sel, &value, &mut errors);
    Ok((out, errors))
}

/// The resolvers' own argument checks, before permissions
/// (graphql-query-find-many-resolver.service.ts `validate`, update-many `validate`).
fn validate_args(op: RootOp, args: &Map<String, Value>, june: bool) -> Result<(), ExecError> {
    let has = |n: &str| arg(args, n).is_some();
    match op {
        RootOp::FindMany => {
            for (a, b) in [
                ("first", "last"),
                ("before", "after"),
                ("before", "first"),
                ("after", "last"),
            ] {
                if has(a) && has(b) {
                    return Err(ExecError::bad_input(&format!(
                        "Cannot provide both {a} and {b}"
                    )));
                }
            }
        }
        RootOp::UpdateMany | RootOp::DeleteMany | RootOp::DestroyMany | RootOp::RestoreMany => {
            if !has("filter") {
                return Err(if june {
                    ExecError::internal("Filter is required")
                } else {
                    ExecError::bad_input("Filter is required")
                });
            }
            let empty =
                arg(args, "filter").is_some_and(|f| f.as_object().is_some_and(Map::is_empty));
            if !june && empty {
                return Err(ExecError::bad_input(
                    "A non-empty filter is required for a bulk mutation",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_role(ctx: &mut Ctx<'_>, op: RootOp, plural: &str) -> Result<(), ExecError> {
    let Some(role) = ctx.role else {
        return Ok(());
    };
    let allowed = if op.is_write() {
        role.may_update(plural)
    } else {
        role.may_read(plural)
    };
    if allowed {
        return Ok(());
    }
    ctx.inner.stats.permission_denied += 1;
    Err(ExecError::new(
        "FORBIDDEN",
        ctx.inner.profile.permission_denied_message(),
    ))
}

/// The filter argument as the fake's filter, EMAILS values as the profile treats them.
fn filter_arg(
    ctx: &Ctx<'_>,
    object: &ObjectMeta,
    args: &Map<String, Value>,
) -> Result<Option<Filter>, ExecError> {
    let Some(v) = arg(args, "filter") else {
        return Ok(None);
    };
    Ok(to_filter(v, object)?.map(|f| filter::canonicalize_emails(f, object, ctx.inner.profile)))
}

fn rows<'a>(ctx: &'a Ctx<'_>, object: &ObjectMeta) -> &'a [Value] {
    ctx.inner
        .records
        .get(&object.name_plural)
        .map_or(&[][..], Vec::as_slice)
}

fn find_many(
    ctx: &mut Ctx<'_>,
    object: &ObjectMeta,
    args: &Map<String, Value>,
) -> Result<Value, ExecError> {
    let f = filter_arg(ctx, object, args)?;
    let mut keys = Vec::new();
    for item in arg(args, "orderBy")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        for (field, dir) in item.as_object().into_iter().flatten() {
            if let Some(k) = dir
                .as_str()
                .and_then(|d| OrderKey::from_direction(field, d))
            {
                keys.push(k);
            }
        }
    }
    let order = paging::with_id(keys);
    let before = arg(args, "before").and_then(Value::as_str);
    let after = arg(args, "after").and_then(Value::as_str);
    let forward = before.is_none();
    let limit = arg(args, "first")
        .or_else(|| arg(args, "last"))
        .and_then(Value::as_i64)
        .map_or(60, |n| n.max(0) as usize);
    let cursor = match before.or(after) {
        None => None,
        Some(c) => Some(
            paging::decode_cursor(c)
                .ok_or_else(|| ExecError::bad_input(&format!("Invalid cursor: {c}")))?,
        ),
    };
    let mode = ctx.inner.datetime_mode;
    let all = rows(ctx, object);
    let matched: Vec<&Value> = records::matching_indices(all, &f, object, mode, Scope::Read)
        .into_iter()
        .map(|i| &all[i])
        .collect();
    let total = matched.len();
    let cursor_filter = cursor
        .as_ref()
        .map(|c| paging::cursor_filter(c, &order, forward));
    let mut page: Vec<&Value> = matched
        .into_iter()
        .filter(|r| {
            cursor_filter
                .as_ref()
                .is_none_or(|c| filter::matches_in(c, r, object, mode))
        })
        .collect();
    page.sort_by(|a, b| paging::cmp_rows(a, b, &order, !forward));
    let more = page.len() > limit;
    page.truncate(limit);
    if !forward {
        page.reverse();
    }
    let rendered: Vec<Value> = page.iter().map(|r| rendered(object, r)).collect();
    let edges: Vec<Value> = rendered
        .iter()
        .map(|r| json!({"node": r, "cursor": paging::encode_cursor(r, &order)}))
        .collect();
    let cursor_of =
        |r: Option<&Value>| r.map_or(Value::Null, |r| json!(paging::encode_cursor(r, &order)));
    Ok(json!({
        "totalCount": total,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": forward && more,
            "hasPreviousPage": !forward && more,
            "startCursor": cursor_of(rendered.first()),
            "endCursor": cursor_of(rendered.last()),
        }
    }))
}

fn find_one(
    ctx: &mut Ctx<'_>,
    object: &ObjectMeta,
    args: &Map<String, Value>,
) -> Result<Value, ExecError> {
    let f = filter_arg(ctx, object, args)?;
    let mode = ctx.inner.datetime_mode;
    let all = rows(ctx, object);
    let mut hits: Vec<&Value> = records::matching_indices(all, &f, object, mode, Scope::Read)
        .into_iter()
        .map(|i| &all[i])
        .collect();
    hits.sort_by(|a, b| paging::cmp_rows(a, b, &paging::with_id(Vec::new()), false));
    hits.first()
        .map(|r| rendered(object, r))
        .ok_or_else(|| ExecError::not_found("Record not found"))
}

/// The values to store from a coerced `…CreateInput`/`…UpdateInput`, refused as Postgres
/// refuses them through the real server: a date it cannot read, a null in a `NOT NULL` column
/// (`INTERNAL_SERVER_ERROR`, checked on the real server).
fn data_of(
    ctx: &Ctx<'_>,
    object: &ObjectMeta,
    data: &Value,
) -> Result<Map<String, Value>, ExecError> {
    let mut out = Map::new();
    for (key, value) in data.as_object().into_iter().flatten() {
        let Some(field) = object.field(key) else {
            continue;
        };
        if value.to_string().contains("\\u0000") {
            return Err(ExecError::internal(
                "invalid byte sequence for encoding \"UTF8\": 0x00",
            ));
        }
        let stored = match (field.ty.as_str(), value) {
            ("EMAILS", Value::Null) => records::empty_emails(),
            ("EMAILS", v) => records::normalize_emails(key, v, ctx.inner.profile)
                .map_err(|e| ExecError::bad_input(&first_message(&e.body)))?,
            (_, Value::Null) if !field.is_nullable && key != "id" => {
                return Err(ExecError::internal(&records::not_null_message(object, key)));
            }
            (_, Value::Null) => Value::Null,
            ("DATE_TIME" | "DATE", v) => match v.as_str().and_then(timestamps::normalize_written) {
                Some(t) => Value::String(t),
                None => {
                    let shown = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    return Err(ExecError::internal(&format!(
                        "invalid input syntax for type timestamp with time zone: \"{shown}\""
                    )));
                }
            },
            ("NUMBER" | "NUMERIC", Value::Number(n)) => n.as_f64().map_or(Value::Null, js_number),
            ("POSITION", Value::String(s)) => json!(position_for(ctx, object, s)),
            _ => value.clone(),
        };
        out.insert(key.clone(), stored);
    }
    Ok(out)
}

fn first_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/messages/0")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.to_string())
}

/// `position: "first" | "last"` (record-position.service.ts): the lowest live position minus
/// one, or the highest plus one; 1 when no record has one.
fn position_for(ctx: &Ctx<'_>, object: &ObjectMeta, which: &str) -> f64 {
    let positions = rows(ctx, object)
        .iter()
        .filter(|r| !records::is_trashed(r))
        .filter_map(|r| r.get("position").and_then(Value::as_f64));
    let bound = if which == "last" {
        positions.fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))))
    } else {
        positions.fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.min(p))))
    };
    match (bound, which) {
        (Some(b), "last") => b + 1.0,
        (Some(b), _) => b - 1.0,
        (None, _) => 1.0,
    }
}

fn duplicate() -> ExecError {
    // handle-duplicate-key-error.util.ts: `UserInputError('A duplicate entry was detected')`
    // when the index is not known by name (the fake's case).
    ExecError::bad_input("A duplicate entry was detected")
}

fn create(ctx: &mut Ctx<'_>, object: &ObjectMeta, data: &Value) -> Result<Value, ExecError> {
    let mut fields = data_of(ctx, object, data)?;
    let existing = rows(ctx, object);
    if let Some(id) = fields.get("id").and_then(Value::as_str) {
        if existing
            .iter()
            .any(|r| r.get("id").and_then(Value::as_str) == Some(id))
        {
            return Err(duplicate());
        }
    }
    if records::unique_violation(ctx.inner.unique_indexes, object, existing, &fields, None)
        .is_some()
    {
        return Err(duplicate());
    }
    let position = match fields.remove("position").and_then(|p| p.as_f64()) {
        Some(p) => p,
        None if ctx.inner.profile.is_june_2025() => position_for(ctx, object, "first"),
        None => {
            ctx.inner.next_position += 1.0;
            ctx.inner.next_position
        }
    };
    let now = ctx.inner.stamper.next(ctx.now_ms);
    let record = records::build_record(object, &fields, ctx.key_name, &now, Some(position));
    let rendered = rendered(object, &record);
    ctx.inner
        .records
        .entry(object.name_plural.clone())
        .or_default()
        .push(record);
    Ok(rendered)
}

fn id_arg(args: &Map<String, Value>) -> &str {
    arg(args, "id").and_then(Value::as_str).unwrap_or("")
}

fn update_one(
    ctx: &mut Ctx<'_>,
    object: &ObjectMeta,
    args: &Map<String, Value>,
) -> Result<Value, ExecError> {
    let id = id_arg(args);
    let june = ctx.inner.profile.is_june_2025();
    let data = data_of(ctx, object, arg(args, "data").unwrap_or(&json!({})))?;
    let i = records::find_index(ctx.inner, object, id, june)
        .ok_or_else(|| ExecError::not_found("Record not found"))?;
    if records::unique_violation(
        ctx.inner.unique_indexes,
        object,
        rows(ctx, object),
        &data,
        Some(id),
    )
    .is_some()
    {
        return Err(duplicate());
    }
    let now = ctx.inner.stamper.next(ctx.now_ms);
    let rows = ctx
        .inner
        .records
        .entry(object.name_plural.clone())
        .or_default();
    records::apply(object, &mut rows[i], &data, &now);
    Ok(rendered(object, &rows[i]))
}

fn update_many(
    ctx: &mut Ctx<'_>,
    object: &ObjectMeta,
    args: &Map<String, Value>,
) -> Result<Value, ExecError> {
    let june = ctx.inner.profile.is_june_2025();
    let f = filter_arg(ctx, object, args)?;
    let mode = ctx.inner.datetime_mode;
    let hit = records::matching_indices(rows(ctx, object), &f, object, mode, Scope::Mutation);
    let seen: Vec<usize> = if june {
        let all = rows(ctx, object);
        let seen: Vec<usize> = hit
            .iter()
            .copied()
            .filter(|&i| !records::is_trashed(&all[i]))
            .collect();
        if seen.is_empty() {
            return Err(ExecError::not_found("Records not found"));
        }
        if ctx.permissions_v2 {
            // The UPDATE runs now: the role is checked, then PostgreSQL takes the values.
            check_role(ctx, RootOp::UpdateMany, &object.name_plural)?;
        }
        seen
    } else {
        hit.clone()
    };
    let data = data_of(ctx, object, arg(args, "data").unwrap_or(&json!({})))?;
    let all = rows(ctx, object);
    let sets_unique = object
        .fields
        .iter()
        .any(|fm| fm.is_unique && data.contains_key(&fm.name));
    if ctx.inner.unique_indexes && sets_unique && hit.len() > 1 {
        return Err(duplicate());
    }
    if let Some(&only) = hit.first() {
        let id = all[only]
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string);
        if records::unique_violation(ctx.inner.unique_indexes, object, all, &data, id.as_deref())
            .is_some()
        {
            return Err(duplicate());
        }
    }
    if hit.is_empty() {
        return Ok(json!([]));
    }
    let now = ctx.inner.stamper.next(ctx.now_ms);
    let rows = ctx
        .inner
        .records
        .entry(object.name_plural.clone())
        .or_default();
    let mut changed = Vec::with_capacity(hit.len());
    for &i in &hit {
        records::apply(object, &mut rows[i], &data, &now);
        changed.push(rendered(object, &rows[i]));
    }
    if june && hit.len() != seen.len() {
        return Err(ExecError::internal(
            "Cannot read properties of undefined (reading 'id')",
        ));
    }
    Ok(Value::Array(changed))
}

fn delete_one(
    ctx: &mut Ctx<'_>,
    object: &ObjectMeta,
    args: &Map<String, Value>,
) -> Result<Value, ExecError> {
    let id = id_arg(args).to_string();
    let live_only = !ctx.inner.profile.is_june_2025();
    let i = records::find_index(ctx.inner, object, &id, live_only)
        .ok_or_else(|| ExecError::not_found("Record not found"))?;
    records::delete_rows(ctx.inner, object, vec![i], true, ctx.now_ms);
    Ok(rendered(object, &rows(ctx, object)[i]))
}

fn destroy_one(
    ctx: &mut Ctx<'_>,
    object: &ObjectMeta,
    args: &Map<String, Value>,
) -> Result<Value, ExecError> {
    let id = id_arg(args).to_string();
    let i = records::find_index(ctx.inner, object, &id, false)
        .ok_or_else(|| ExecError::not_found("Record not found"))?;
    let before = rendered(object, &rows(ctx, object)[i]);
    records::destroy_row(ctx.inner, object, &id);
    Ok(before)
}

fn restore_one(
    ctx: &mut Ctx<'_>,
    object: &ObjectMeta,
    args: &Map<String, Value>,
) -> Result<Value, ExecError> {
    let id = id_arg(args).to_string();
    let i = records::find_index(ctx.inner, object, &id, false)
        .ok_or_else(|| ExecError::not_found("Record not found"))?;
    let mut out = records::restore_rows(ctx.inner, object, &[i], ctx.now_ms);
    Ok(out.pop().unwrap_or(Value::Null))
}

/// `deleteRepProgressions` (live matches), `destroyRepProgressions` (every match, the trash
/// when the filter names `deletedAt`) and `restoreRepProgressions` (trashed matches); `[]` when
/// nothing matches (Unverified on June 2025: RepXP and its tests do not use them).
fn many_by_filter(
    ctx: &mut Ctx<'_>,
    object: &ObjectMeta,
    op: RootOp,
    args: &Map<String, Value>,
) -> Result<Value, ExecError> {
    let f = filter_arg(ctx, object, args)?;
    let mode = ctx.inner.datetime_mode;
    let all = rows(ctx, object);
    let hit: Vec<usize> = match op {
        RootOp::DeleteMany => records::matching_indices(all, &f, object, mode, Scope::SoftDelete),
        RootOp::DestroyMany => records::matching_indices(all, &f, object, mode, Scope::Read),
        _ => records::matching_indices(all, &f, object, mode, Scope::Mutation)
            .into_iter()
            .filter(|&i| records::is_trashed(&all[i]))
            .collect(),
    };
    let out: Vec<Value> = match op {
        RootOp::DeleteMany => {
            records::delete_rows(ctx.inner, object, hit.clone(), true, ctx.now_ms);
            hit.iter()
                .map(|&i| rendered(object, &rows(ctx, object)[i]))
                .collect()
        }
        RootOp::DestroyMany => {
            let before: Vec<Value> = hit
                .iter()
                .map(|&i| rendered(object, &rows(ctx, object)[i]))
                .collect();
            records::delete_rows(ctx.inner, object, hit, false, ctx.now_ms);
            before
        }
        _ => records::restore_rows(ctx.inner, object, &hit, ctx.now_ms),
    };
    Ok(Value::Array(out))
}
