//! `POST /graphql`: the records GraphQL API Twenty generates for each object, for the subset a
//! client of `repProgressions` uses. RepXP writes its compare-and-set here
//! (`updateRepProgressions(filter:, data:)`) and looks into the trash (`repProgressions(filter:
//! {deletedAt: {is: NOT_NULL}})`), because the REST API of the June 2025 servers has neither
//! (docs/twenty-api.md §3c, §11).
//!
//! The pieces: `syntax.rs` (lexer and parser), `schema.rs` (the types Twenty derives from the
//! metadata), `validate.rs` (graphql-js's validation rules and messages), `value.rs`
//! (variables and literals, ordered answers), `to_filter.rs` (a filter argument as the fake's
//! filter tree), `exec.rs` (each root field on the store, per profile).
//!
//! Answers, as the real 7f19111 server gives them (every shape checked there):
//! - success: 200 `{"data":{…}}`, keys in the selection's order;
//! - a refusal while running: 200 `{"errors":[{"message":…,"extensions":{"code":…}}],
//!   "data":{"<field>":null}}` (`NOT_FOUND`, `FORBIDDEN`, `BAD_USER_INPUT`,
//!   `INTERNAL_SERVER_ERROR`);
//! - an invalid document: 200 `{"errors":[{"message":…,"locations":[{"line":…,"column":…}]}]}`
//!   without `extensions` (syntax errors too);
//! - a variable its type refuses: **400** `{"errors":[{"message":…,"extensions":{"code":
//!   "BAD_USER_INPUT"}}]}` (`GRAPHQL_VALIDATION_FAILED` for an invalid UUID); a required
//!   variable missing or null: 400 with graphql-js's full text;
//! - no `query`: 200 `{"errors":[{"message":"Must provide query string."}]}`; several operations
//!   and no `operationName`: 400 "Could not determine what operation to execute.";
//! - authentication: see `server.rs` (200 `UNAUTHENTICATED`; without a token the request runs
//!   against the public schema, which has no records types, [`unauthenticated_errors`]).
//!
//! The rate limit and the injected faults apply as on the REST records API (`server.rs`).

pub(crate) mod exec;
pub mod schema;
pub mod suggest;
pub mod syntax;
pub mod to_filter;
pub mod validate;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use self::schema::{GqlSchema, RootOp};
use self::syntax::{Definition, Document, OpKind, Operation, Selection};
use self::value::{coerce_json, resolve, InputError, Out};
use super::errors::TwentyError;
use super::profile::{RestrictedKey, TwentyProfile};
use super::Inner;

/// A refusal while a root field runs: `{"message":…,"extensions":{"code":…}}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ExecError {
    pub message: String,
    pub code: &'static str,
}

impl ExecError {
    pub fn new(code: &'static str, message: &str) -> Self {
        ExecError {
            message: message.to_string(),
            code,
        }
    }

    /// `INTERNAL_SERVER_ERROR`: what Postgres or a plain `Error` in a resolver turns into.
    pub fn internal(message: &str) -> Self {
        Self::new("INTERNAL_SERVER_ERROR", message)
    }

    pub fn not_found(message: &str) -> Self {
        Self::new("NOT_FOUND", message)
    }

    pub fn bad_input(message: &str) -> Self {
        Self::new("BAD_USER_INPUT", message)
    }
}

/// A GraphQL answer: HTTP status and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    fn new(status: u16, body: String) -> Self {
        Answer { status, body }
    }
}

/// `{"errors":[{"message":m,"extensions":{"code":c}}]}` (no `data`).
pub fn error_body(message: &str, code: &str) -> String {
    Out::Object(vec![(
        "errors".into(),
        Out::List(vec![error_out(message, Some(code), &[])]),
    )])
    .text()
}

fn error_out(message: &str, code: Option<&str>, pos: &[syntax::Pos]) -> Out {
    let mut e = vec![("message".to_string(), Out::Json(json!(message)))];
    if !pos.is_empty() {
        let locs = pos
            .iter()
            .map(|p| {
                Out::Object(vec![
                    ("line".into(), Out::Json(json!(p.line))),
                    ("column".into(), Out::Json(json!(p.column))),
                ])
            })
            .collect();
        e.push(("locations".into(), Out::List(locs)));
    }
    if let Some(c) = code {
        e.push((
            "extensions".into(),
            Out::Object(vec![("code".into(), Out::Json(json!(c)))]),
        ));
    }
    Out::Object(e)
}

fn errors_only(errors: Vec<Out>) -> String {
    Out::Object(vec![("errors".into(), Out::List(errors))]).text()
}

/// The workspace schema, built once per metadata version.
pub(crate) fn schema_of(inner: &mut Inner) -> Arc<GqlSchema> {
    if let Some(s) = &inner.gql_schema {
        return s.clone();
    }
    let s = Arc::new(GqlSchema::build(&inner.schema));
    inner.gql_schema = Some(s.clone());
    s
}

/// A request body read as far as it names an operation.
pub struct Parsed {
    pub doc: Document,
    pub variables: Map<String, Value>,
    pub operation_name: Option<String>,
}

/// The body's `query`, parsed; `Err` is the answer at once (no query, a syntax error).
pub fn parse_body(body: &Value) -> Result<Parsed, Answer> {
    let Some(query) = body.get("query").and_then(Value::as_str) else {
        return Err(Answer::new(
            200,
            errors_only(vec![error_out("Must provide query string.", None, &[])]),
        ));
    };
    let doc = syntax::parse(query).map_err(|e| {
        Answer::new(
            200,
            errors_only(vec![error_out(&e.to_string(), None, &[e.pos])]),
        )
    })?;
    let variables = match body.get("variables") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let operation_name = body
        .get("operationName")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Parsed {
        doc,
        variables,
        operation_name,
    })
}

impl Parsed {
    /// The operation to run (graphql-js `getOperationAST` rules).
    fn operation(&self) -> Result<&Operation, Answer> {
        let ops: Vec<&Operation> = self
            .doc
            .definitions
            .iter()
            .filter_map(|d| match d {
                Definition::Operation(o) => Some(o),
                Definition::Fragment { .. } => None,
            })
            .collect();
        match &self.operation_name {
            Some(name) => ops
                .into_iter()
                .find(|o| o.name.as_deref() == Some(name))
                .ok_or_else(|| {
                    Answer::new(
                        400,
                        errors_only(vec![error_out(
                            &format!("Unknown operation named \"{name}\"."),
                            None,
                            &[],
                        )]),
                    )
                }),
            None if ops.len() == 1 => Ok(ops[0]),
            None => Err(Answer::new(
                400,
                errors_only(vec![error_out(
                    "Could not determine what operation to execute.",
                    None,
                    &[],
                )]),
            )),
        }
    }
}

/// How a request counts and which faults it takes: its first root field's kind, and whether
/// it writes records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub kind: &'static str,
    pub is_write: bool,
}

/// Classify a request body (unparseable or unknown fields: "graphql", a read).
pub fn classify(gql: &GqlSchema, body: &Value) -> Classified {
    let fallback = Classified {
        kind: "graphql",
        is_write: false,
    };
    let Ok(parsed) = parse_body(body) else {
        return fallback;
    };
    let Ok(op) = parsed.operation() else {
        return fallback;
    };
    let root = match op.kind {
        OpKind::Mutation => "Mutation",
        _ => "Query",
    };
    let ops: Vec<RootOp> = op
        .selection
        .iter()
        .filter_map(|s| match s {
            Selection::Field(f) => gql.field(root, &f.name).and_then(|d| d.root.as_ref()),
            Selection::Fragment { .. } => None,
        })
        .map(|(op, _)| *op)
        .collect();
    match ops.first() {
        Some(first) => Classified {
            kind: first.kind(),
            is_write: ops.iter().any(|o| o.is_write()),
        },
        None => fallback,
    }
}

/// Who asks, and what the fake's faults and rate limit say.
pub struct Caller<'a> {
    pub key_name: &'a str,
    pub role: Option<&'a RestrictedKey>,
    /// The workspace has per-object permissions (`IS_PERMISSIONS_V2_ENABLED`), which June 2025
    /// checks when a statement runs, not before its resolver looks for rows.
    pub permissions_v2: bool,
    /// A `RejectWrites` fault that fired for this write: (HTTP status, message).
    pub reject: Option<(u16, String)>,
    /// The per-workspace bucket refused this request (the caller consumed it): the REST 429 it
    /// would have answered.
    pub rate_limited: Option<TwentyError>,
}

/// Answer an authenticated request.
pub(crate) fn answer(inner: &mut Inner, now_ms: u64, body: &Value, caller: &Caller<'_>) -> Answer {
    let gql = schema_of(inner);
    let parsed = match parse_body(body) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let invalid = validate::validate(&gql, &parsed.doc);
    if !invalid.is_empty() {
        let errors = invalid
            .iter()
            .map(|e| error_out(&e.message, None, &e.pos))
            .collect();
        return Answer::new(200, errors_only(errors));
    }
    let op = match parsed.operation() {
        Ok(op) => op,
        Err(a) => return a,
    };
    let vars = match coerce_variables(&gql, op, &parsed.variables) {
        Ok(v) => v,
        Err(errors) => {
            let errors = errors
                .iter()
                .map(|e| error_out(&e.message, Some(e.code), &[]))
                .collect();
            return Answer::new(400, errors_only(errors));
        }
    };
    if let Some((status, message)) = &caller.reject {
        return Answer::new(*status, error_body(message, "BAD_USER_INPUT"));
    }
    let root = match op.kind {
        OpKind::Mutation => "Mutation",
        _ => "Query",
    };
    let mut ctx = exec::Ctx {
        gql: &gql,
        inner,
        now_ms,
        key_name: caller.key_name,
        role: caller.role,
        permissions_v2: caller.permissions_v2,
    };
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for s in &op.selection {
        let Selection::Field(f) = s else { continue };
        let key = f.response_key().to_string();
        if f.name == "__typename" {
            data.push((key, Out::Json(json!(root))));
            continue;
        }
        let Some(def) = gql.field(root, &f.name) else {
            continue;
        };
        if let Some(refusal) = &caller.rate_limited {
            errors.push(throttled(ctx.inner.profile, refusal));
            data.push((key, Out::null()));
            continue;
        }
        let mut args = Map::new();
        for a in &f.args {
            if let Some(d) = def.args.iter().find(|d| d.name == a.name) {
                if let Some(v) = resolve(&gql, &a.value, &d.ty, &vars) {
                    args.insert(a.name.clone(), v);
                }
            }
        }
        match exec::run(&mut ctx, f, def, &args) {
            Ok((out, refused)) => {
                errors.extend(
                    refused
                        .iter()
                        .map(|e| error_out(&e.message, Some(e.code), &[])),
                );
                data.push((key, out));
            }
            Err(e) => {
                tracing::debug!(field = %f.name, code = e.code, message = %e.message, "graphql refusal");
                errors.push(error_out(&e.message, Some(e.code), &[]));
                data.push((key, Out::null()));
            }
        }
    }
    let mut top = Vec::new();
    if !errors.is_empty() {
        top.push(("errors".to_string(), Out::List(errors)));
    }
    top.push(("data".to_string(), Out::Object(data)));
    Answer::new(200, Out::Object(top).text())
}

/// A root field the per-workspace bucket refused.
///
/// June 2025: the GraphQL throttle
/// (packages/twenty-server/src/engine/api/graphql/graphql-config/hooks/use-throttler.ts) throws
/// `Error('Too many requests.')`, which
/// packages/twenty-server/src/engine/core-modules/graphql/utils/generate-graphql-error-from-error.util.ts
/// turns into `INTERNAL_SERVER_ERROR`. Checked on the real server: the 501st `companies` query of
/// one user within 100 s answered 200 `{"errors":[{"message":"Too many requests.","extensions":
/// {"code":"INTERNAL_SERVER_ERROR"}}],"data":{"companies":null}}`. The real bucket is 500 per
/// 100 s per user (or IP, for API keys) and root field (`API_RATE_LIMITING_TTL`/`_LIMIT`); the
/// fake's is its per-workspace one (docs/twenty-api.md §11). REST has no limit there (560
/// requests in 31 s all answered).
///
/// Newest (`RateLimitStyle::Modern`): `usageLimitToGraphqlApiExceptionHandler`, whose spec
/// packages/twenty-server/src/engine/core-modules/usage-limit/utils/__tests__/usage-limit-to-graphql-api-exception-handler.util.spec.ts
/// (`00e0aaca`) asserts code `RATE_LIMITED`, the usage-limit message, no HTTP status of its own
/// ("keeps transport concerns out"), and the exhausted scope in `extensions`: `limitKind`,
/// `limit`, `remaining`, `periodCount`, `periodUnit`, `retryAfterMs`, `scope: {spenderType,
/// spenderId}` (key order and `retryAfterMs` rounded to whole seconds: the fake's). With the
/// legacy 429 style the fake keeps the REST message under the same code (its own hybrid).
fn throttled(profile: TwentyProfile, refusal: &TwentyError) -> Out {
    if profile.is_june_2025() {
        return error_out("Too many requests.", Some("INTERNAL_SERVER_ERROR"), &[]);
    }
    let body: Value = serde_json::from_str(&refusal.body).unwrap_or(Value::Null);
    let message = body
        .pointer("/messages/0")
        .and_then(Value::as_str)
        .unwrap_or("Too many requests.");
    if body.get("error").and_then(Value::as_str) != Some("RATE_LIMITED") {
        return error_out(message, Some("RATE_LIMITED"), &[]);
    }
    let field = |k: &str| Out::Json(body.get(k).cloned().unwrap_or(Value::Null));
    let retry_ms = body
        .get("retryAfterSeconds")
        .and_then(Value::as_u64)
        .map_or(Value::Null, |s| json!(s * 1000));
    let extensions = Out::Object(vec![
        ("code".into(), Out::Json(json!("RATE_LIMITED"))),
        ("limitKind".into(), field("limitKind")),
        ("limit".into(), field("limit")),
        ("remaining".into(), field("remaining")),
        ("periodCount".into(), field("periodCount")),
        ("periodUnit".into(), field("periodUnit")),
        ("retryAfterMs".into(), Out::Json(retry_ms)),
        (
            "scope".into(),
            Out::Json(json!({
                "spenderType": body.pointer("/scope/spenderType").cloned().unwrap_or(Value::Null),
                "spenderId": body.pointer("/scope/spenderId").cloned().unwrap_or(Value::Null),
            })),
        ),
    ]);
    Out::Object(vec![
        ("message".into(), Out::Json(json!(message))),
        ("extensions".into(), extensions),
    ])
}

/// graphql-js `coerceVariableValues`, with Twenty's presentation of its errors (only the inner
/// message of a value's refusal; the whole text for a missing or null required variable).
fn coerce_variables(
    gql: &GqlSchema,
    op: &Operation,
    given: &Map<String, Value>,
) -> Result<HashMap<String, Value>, Vec<InputError>> {
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    for def in &op.variables {
        match given.get(&def.name) {
            None => {
                if let Some(d) = &def.default {
                    if let Some(v) = resolve(gql, d, &def.ty, &HashMap::new()) {
                        out.insert(def.name.clone(), v);
                    }
                } else if def.ty.is_non_null() {
                    errors.push(InputError {
                        message: format!(
                            "Variable \"${}\" of required type \"{}\" was not provided.",
                            def.name, def.ty
                        ),
                        code: "BAD_USER_INPUT",
                        pos: None,
                    });
                }
            }
            Some(Value::Null) if def.ty.is_non_null() => errors.push(InputError {
                message: format!(
                    "Variable \"${}\" of non-null type \"{}\" must not be null.",
                    def.name, def.ty
                ),
                code: "BAD_USER_INPUT",
                pos: None,
            }),
            Some(v) => {
                let coerced = coerce_json(gql, v, &def.ty, &mut errors);
                out.insert(def.name.clone(), coerced);
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Without a token the request runs against Twenty's public schema, which has no records types
/// (checked on the real server: `Unknown type "RepProgressionFilterInput".` for each variable
/// type and `Cannot query field "repProgressions" on type "Query".` for each root field, with
/// locations, HTTP 200). The public schema's own fields are not modelled, so the fake never
/// adds "Did you mean" hints here.
pub fn unauthenticated_errors(body: &Value) -> Answer {
    let parsed = match parse_body(body) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let builtin = ["String", "Int", "Float", "Boolean", "ID"];
    let mut errors = Vec::new();
    for d in &parsed.doc.definitions {
        let Definition::Operation(op) = d else {
            continue;
        };
        for v in &op.variables {
            if !builtin.contains(&v.ty.base()) {
                errors.push(error_out(
                    &format!("Unknown type \"{}\".", v.ty.base()),
                    None,
                    &[v.ty_pos],
                ));
            }
        }
        let root = match op.kind {
            OpKind::Mutation => "Mutation",
            _ => "Query",
        };
        for s in &op.selection {
            if let Selection::Field(f) = s {
                if f.name != "__typename" {
                    errors.push(error_out(
                        &format!("Cannot query field \"{}\" on type \"{root}\".", f.name),
                        None,
                        &[f.pos],
                    ));
                }
            }
        }
    }
    Answer::new(200, errors_only(errors))
}

#[cfg(test)]
mod tests;
