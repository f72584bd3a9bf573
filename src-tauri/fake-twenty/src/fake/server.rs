//! Accept loop, per-connection control (for drop/hang/refuse faults) and request dispatch.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower_service::Service;

use super::client_config;
use super::errors::{json_response, TwentyError};
use super::faults::{FaultKind, OtherWrite};
use super::metadata::MetaCtx;
use super::profile::{RestrictedKey, TwentyProfile};
use super::{admin, graphql, js_number, metadata, records, Inner, Shared};

/// Lets a handler close its own connection without answering.
#[derive(Clone)]
pub(crate) struct ConnCtl {
    kill: Arc<Notify>,
}

pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = Router::new().fallback(handle).with_state(shared.clone());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let refuse = {
                    let mut inner = shared.lock();
                    let refuse = inner.faults.take_refuse();
                    if refuse {
                        inner.stats.connections_refused += 1;
                    }
                    refuse
                };
                if refuse {
                    drop(stream);
                    continue;
                }
                tokio::spawn(serve_connection(stream, router.clone(), shared.drop_all.subscribe()));
            }
            _ = shutdown.changed() => break,
        }
    }
}

async fn serve_connection(stream: TcpStream, router: Router, mut drop_all: watch::Receiver<u64>) {
    let kill = Arc::new(Notify::new());
    let ctl = ConnCtl { kill: kill.clone() };
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ctl.clone());
        let mut router = router.clone();
        async move { router.call(req).await }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = drop_all.changed() => {}
    }
}

/// What a request is, for counters, auth and rate limiting.
#[derive(Debug, Clone, PartialEq)]
enum Route {
    FindMany(String),
    FindOne(String, String),
    CreateOne(String),
    UpdateOne(String, String),
    UpdateMany(String),
    /// `DELETE /rest/{plural}/{id}`; `soft_delete=true` decides soft delete vs destroy.
    DeleteOne(String, String),
    /// `DELETE /rest/{plural}?filter=…`.
    DeleteMany(String),
    /// `PATCH /rest/{plural}/{id}/restore`.
    RestoreOne(String, String),
    /// `PATCH /rest/{plural}/restore?filter=…`.
    RestoreMany(String),
    MetaListObjects,
    MetaGetObject(String),
    MetaCreateObject,
    MetaListFields,
    MetaGetField(String),
    MetaCreateField,
    /// `PATCH` / `PUT /rest/metadata/fields/{id}`.
    MetaUpdateField(String),
    /// `POST /metadata`: the metadata GraphQL endpoint (only the object-fields query).
    MetaGraphql,
    /// `POST /graphql`: the records GraphQL API (`graphql/`).
    Graphql,
    /// A records path the June 2025 REST handlers refuse before looking at the object
    /// (`parseCorePath` and the handlers' `Record ID not found`): the 400's message and the
    /// endpoint kind it was meant as.
    RestRefused(String, &'static str),
    /// `GET /client-config`: public, no key.
    ClientConfig,
    Other,
}

/// twenty-shared `isValidUuid` (7f19111): versions 1–5, the RFC variant.
fn is_rest_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
        && (b'1'..=b'5').contains(&b[14])
        && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

impl Route {
    fn parse(method: &Method, path: &str, profile: TwentyProfile) -> Route {
        if method == Method::POST && path.trim_end_matches('/') == "/graphql" {
            return Route::Graphql;
        }
        let is_records =
            (path == "/rest" || path.starts_with("/rest/")) && !path.starts_with("/rest/metadata");
        if profile.is_june_2025() && is_records {
            return Self::parse_june_2025_records(method, path);
        }
        let segs: Vec<&str> = path
            .trim_end_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match (method.as_str(), segs.as_slice()) {
            ("GET", ["rest", "metadata", "objects"]) => Route::MetaListObjects,
            ("GET", ["rest", "metadata", "objects", id]) => Route::MetaGetObject(id.to_string()),
            ("POST", ["rest", "metadata", "objects"]) => Route::MetaCreateObject,
            ("GET", ["rest", "metadata", "fields"]) => Route::MetaListFields,
            ("GET", ["rest", "metadata", "fields", id]) => Route::MetaGetField(id.to_string()),
            ("POST", ["rest", "metadata", "fields"]) => Route::MetaCreateField,
            ("PATCH" | "PUT", ["rest", "metadata", "fields", id]) => {
                Route::MetaUpdateField(id.to_string())
            }
            ("POST", ["metadata"]) => Route::MetaGraphql,
            ("GET", ["client-config"]) => Route::ClientConfig,
            (_, ["rest", "metadata", ..]) => Route::Other,
            // `@Patch('*path/restore')` is declared before `@Patch('*path')`
            // (rest-api-core.controller.ts `0a0ec6a`), so it wins; PUT has no restore route.
            ("PATCH", ["rest", o, "restore"]) => Route::RestoreMany(o.to_string()),
            ("PATCH", ["rest", o, id, "restore"]) => {
                Route::RestoreOne(o.to_string(), id.to_string())
            }
            ("DELETE", ["rest", o]) => Route::DeleteMany(o.to_string()),
            ("DELETE", ["rest", o, id]) => Route::DeleteOne(o.to_string(), id.to_string()),
            ("GET", ["rest", o]) => Route::FindMany(o.to_string()),
            ("GET", ["rest", o, id]) => Route::FindOne(o.to_string(), id.to_string()),
            ("POST", ["rest", o]) => Route::CreateOne(o.to_string()),
            ("PATCH" | "PUT", ["rest", o]) => Route::UpdateMany(o.to_string()),
            ("PATCH" | "PUT", ["rest", o, id]) => Route::UpdateOne(o.to_string(), id.to_string()),
            _ => Route::Other,
        }
    }

    /// The records routes of 7f19111's rest-api-core.controller.ts (`GET`, `POST`, `PATCH`, `PUT`,
    /// `DELETE` on `*`, `POST batch/*`, `POST */duplicates`) through its path parser,
    /// packages/twenty-server/src/engine/api/rest/core/query-builder/utils/path-parsers/parse-core-path.utils.ts:
    /// the path loses its first `/rest/` and then its first `/rest` (so `…/{id}/restore` reads as the
    /// id `{id}ore`, and `/rest/repProgressions/restore` as the object `repProgressionsore`);
    /// more than two segments: `Query path '…' invalid. Valid examples: …`; a second segment that
    /// is no UUID: `'…' is not a valid UUID`; `PATCH`/`PUT`/`DELETE` without an id: `Record ID not
    /// found` (rest-api-update-one.handler.ts, rest-api-delete-one.handler.ts). Each answer was
    /// checked on the real server. There is no update-many, soft delete or restore.
    fn parse_june_2025_records(method: &Method, path: &str) -> Route {
        let rest = path.replacen("/rest/", "", 1).replacen("/rest", "", 1);
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let m = method.as_str();
        let kind_without_id = match m {
            "PATCH" | "PUT" => "update_many",
            "DELETE" => "delete_many",
            "GET" => "find_many",
            _ => "create_one",
        };
        if segs.is_empty() || segs.len() > 2 {
            return Route::RestRefused(
                format!("Query path '{path}' invalid. Valid examples: /rest/companies/id or /rest/companies or /rest/batch/companies"),
                kind_without_id,
            );
        }
        if segs.len() == 2 && (segs[0] == "batch" || segs[1] == "duplicates") {
            return Route::Other;
        }
        let object = segs[0].to_string();
        let id = segs.get(1).map(|s| s.to_string());
        if let Some(id) = &id {
            if !is_rest_uuid(id) {
                return Route::RestRefused(format!("'{id}' is not a valid UUID"), kind_without_id);
            }
        }
        match (m, id) {
            ("GET", Some(id)) => Route::FindOne(object, id),
            ("GET", None) => Route::FindMany(object),
            ("POST", _) => Route::CreateOne(object),
            ("PATCH" | "PUT", Some(id)) => Route::UpdateOne(object, id),
            ("DELETE", Some(id)) => Route::DeleteOne(object, id),
            ("PATCH" | "PUT" | "DELETE", None) => {
                Route::RestRefused("Record ID not found".to_string(), kind_without_id)
            }
            _ => Route::Other,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Route::FindMany(_) => "find_many",
            Route::FindOne(..) => "find_one",
            Route::CreateOne(_) => "create_one",
            Route::UpdateOne(..) => "update_one",
            Route::UpdateMany(_) => "update_many",
            Route::DeleteOne(..) => "delete_one",
            Route::DeleteMany(_) => "delete_many",
            Route::RestoreOne(..) => "restore_one",
            Route::RestoreMany(_) => "restore_many",
            Route::MetaListObjects => "metadata_list_objects",
            Route::MetaGetObject(_) => "metadata_get_object",
            Route::MetaCreateObject => "metadata_create_object",
            Route::MetaListFields => "metadata_list_fields",
            Route::MetaGetField(_) => "metadata_get_field",
            Route::MetaCreateField => "metadata_create_field",
            Route::MetaUpdateField(_) => "metadata_update_field",
            Route::MetaGraphql => "metadata_graphql",
            Route::Graphql => "graphql",
            Route::RestRefused(_, kind) => kind,
            Route::ClientConfig => "client_config",
            Route::Other => "other",
        }
    }

    /// The metadata REST controllers (guarded by `SettingsPermissionGuard(DATA_MODEL)` on the
    /// newest; every GraphQL-proxied call selects a guarded field on the legacy one).
    fn is_metadata_rest(&self) -> bool {
        matches!(
            self,
            Route::MetaListObjects
                | Route::MetaGetObject(_)
                | Route::MetaCreateObject
                | Route::MetaListFields
                | Route::MetaGetField(_)
                | Route::MetaCreateField
                | Route::MetaUpdateField(_)
        )
    }

    fn is_record_write(&self) -> bool {
        matches!(
            self,
            Route::CreateOne(_)
                | Route::UpdateOne(..)
                | Route::UpdateMany(_)
                | Route::DeleteOne(..)
                | Route::DeleteMany(_)
                | Route::RestoreOne(..)
                | Route::RestoreMany(_)
        )
    }

    /// The metadata REST writes (June 2025 asks the DATA_MODEL setting for these only).
    fn is_metadata_write(&self) -> bool {
        matches!(
            self,
            Route::MetaCreateObject | Route::MetaCreateField | Route::MetaUpdateField(_)
        )
    }

    fn is_records_api(&self) -> bool {
        matches!(
            self,
            Route::FindMany(_) | Route::FindOne(..) | Route::Graphql | Route::RestRefused(..)
        ) || self.is_record_write()
    }

    /// The GraphQL endpoints answer auth errors inside the GraphQL envelope.
    fn is_graphql(&self) -> bool {
        matches!(self, Route::Graphql | Route::MetaGraphql)
    }

    /// The `namePlural` path segment of a records route.
    fn object(&self) -> Option<&str> {
        match self {
            Route::FindMany(o)
            | Route::FindOne(o, _)
            | Route::CreateOne(o)
            | Route::UpdateOne(o, _)
            | Route::UpdateMany(o)
            | Route::DeleteOne(o, _)
            | Route::DeleteMany(o)
            | Route::RestoreOne(o, _)
            | Route::RestoreMany(o) => Some(o),
            _ => None,
        }
    }
}

fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    query
        .and_then(|q| {
            axum::extract::Query::<HashMap<String, String>>::try_from_uri(
                &format!("/?{q}").parse().ok()?,
            )
            .ok()
        })
        .map(|q| q.0)
        .unwrap_or_default()
}

/// Bearer key from `Authorization`, scheme case-insensitive (passport's fromAuthHeaderAsBearerToken).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Who a request acts as: a full-access key (`api_key`, `extra_api_keys`) or a restricted one.
struct Principal {
    /// `createdBy.name` on records it creates.
    name: String,
    /// `None` = every permission.
    role: Option<RestrictedKey>,
}

impl Principal {
    fn data_model(&self) -> bool {
        self.role.as_ref().is_none_or(|r| r.data_model)
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq)]
enum AuthProblem {
    Missing,
    /// Not a token of this workspace: "No payload" / "Token invalid.".
    Invalid(String),
    Expired,
    Revoked,
}

fn authenticate(shared: &Shared, presented: Option<&str>) -> Result<Principal, AuthProblem> {
    let cfg = &shared.config;
    let Some(key) = presented else {
        return Err(AuthProblem::Missing);
    };
    if key == cfg.api_key || cfg.extra_api_keys.iter().any(|e| e == key) {
        return Ok(Principal {
            name: cfg.api_key_name.clone(),
            role: None,
        });
    }
    if let Some(r) = cfg.restricted_keys.iter().find(|r| r.key == key) {
        return Ok(Principal {
            name: r.name.clone(),
            role: Some(r.clone()),
        });
    }
    if cfg.expired_keys.iter().any(|k| k == key) {
        return Err(AuthProblem::Expired);
    }
    if cfg.revoked_keys.iter().any(|k| k == key) {
        return Err(AuthProblem::Revoked);
    }
    Err(AuthProblem::Invalid(key.to_string()))
}

/// The answer to a refused token, both profiles (checked on the real June 2025 server; the
/// newest sources answer alike). REST and metadata REST: the auth middleware's body
/// (packages/twenty-server/src/engine/middlewares/middleware.service.ts
/// `writeRestResponseOnExceptionCaught`): no header 403 `FORBIDDEN_EXCEPTION` "Missing
/// authentication token", a foreign token 401 `UNAUTHENTICATED` "No payload" / "Token invalid."
/// ([`TwentyError::invalid_token`]), an expired one 401 "Token has expired.", a revoked API key
/// 403 `FORBIDDEN_EXCEPTION` "This API Key is revoked".
///
/// GraphQL (`/graphql`, `/metadata`): 200 `{"errors":[{"message":…,"extensions":{"code":
/// "UNAUTHENTICATED"}}]}` (a revoked key: code `FORBIDDEN`, Unverified). Without a header the
/// request runs against the public schema ([`graphql::unauthenticated_errors`]); on `/metadata`
/// the fake keeps its own `Forbidden resource` / `FORBIDDEN` there (Unverified).
fn auth_refusal(
    route: &Route,
    problem: &AuthProblem,
    body: &Value,
) -> Result<(u16, String), TwentyError> {
    let (status, code, message): (u16, &str, String) = match problem {
        AuthProblem::Missing => (
            403,
            "FORBIDDEN_EXCEPTION",
            "Missing authentication token".into(),
        ),
        AuthProblem::Invalid(key) => (
            401,
            "UNAUTHENTICATED",
            TwentyError::invalid_token_message(key).into(),
        ),
        AuthProblem::Expired => (401, "UNAUTHENTICATED", "Token has expired.".into()),
        AuthProblem::Revoked => (403, "FORBIDDEN_EXCEPTION", "This API Key is revoked".into()),
    };
    if route.is_graphql() {
        let answer = match (route, problem) {
            (Route::Graphql, AuthProblem::Missing) => {
                let a = graphql::unauthenticated_errors(body);
                return Ok((a.status, a.body));
            }
            (_, AuthProblem::Missing) => graphql::error_body("Forbidden resource", "FORBIDDEN"),
            (_, AuthProblem::Revoked) => graphql::error_body(&message, "FORBIDDEN"),
            _ => graphql::error_body(&message, "UNAUTHENTICATED"),
        };
        return Ok((200, answer));
    }
    Err(TwentyError::auth_middleware(status, code, &message))
}

/// The auth-failure fault (a key revoked under the client's feet): June 2025 answers what the
/// real server says for a revoked API key; the newest profile keeps the fake's historical 403
/// "Forbidden resource". GraphQL routes get the GraphQL form.
fn auth_failure_fault(profile: TwentyProfile, route: &Route) -> Response {
    if route.is_graphql() {
        let message = if profile.is_june_2025() {
            "This API Key is revoked"
        } else {
            "Forbidden resource"
        };
        return json_response(200, graphql::error_body(message, "FORBIDDEN"), &[]);
    }
    if profile.is_june_2025() {
        return TwentyError::auth_middleware(403, "FORBIDDEN_EXCEPTION", "This API Key is revoked")
            .into_response();
    }
    TwentyError::forbidden().into_response()
}

/// A body Express' JSON parser refused, as it answers on 7f19111 (checked on the real server:
/// `{"statusCode":400,"message":"Unexpected end of JSON input","error":"Bad Request"}`, a
/// `message` string, not `messages`). The text is V8's `JSON.parse` message; the fake words
/// anything but a cut-off body its own way (Unverified).
fn express_json_error(e: &serde_json::Error) -> TwentyError {
    let message = if e.is_eof() {
        "Unexpected end of JSON input".to_string()
    } else {
        format!(
            "Unexpected token in JSON at line {} column {}",
            e.line(),
            e.column()
        )
    };
    TwentyError {
        status: 400,
        body: format!(
            "{{\"statusCode\":400,\"message\":{},\"error\":\"Bad Request\"}}",
            Value::String(message)
        ),
        headers: Vec::new(),
    }
}

/// The request body as JSON (`{}` when empty).
fn parse_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    if bytes.is_empty() {
        Ok(json!({}))
    } else {
        serde_json::from_slice(bytes)
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let bytes = match to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return TwentyError::bad_request("request entity too large").into_response(),
    };
    if path.starts_with("/__fake/") || path == "/__fake" {
        return admin::handle(&shared, &parts.method, &path, &bytes);
    }
    let ctl = parts.extensions.get::<ConnCtl>().cloned();
    let profile = shared.config.profile;
    let route = Route::parse(&parts.method, &path, profile);
    let method = parts.method.as_str().to_string();
    let json_body = parse_json(&bytes);

    let faults = {
        let mut inner = shared.lock();
        // A GraphQL request counts by its root field, and takes the write faults if it writes.
        let (kind, is_write) = match (&route, &json_body) {
            (Route::Graphql, Ok(v)) => {
                inner.stats.graphql += 1;
                let c = graphql::classify(&graphql::schema_of(&mut inner), v);
                (c.kind, c.is_write)
            }
            (Route::Graphql, Err(_)) => {
                inner.stats.graphql += 1;
                ("graphql", false)
            }
            _ => (route.kind(), route.is_record_write()),
        };
        inner.stats.total += 1;
        *inner.stats.by_method.entry(method.clone()).or_default() += 1;
        *inner.stats.by_kind.entry(kind.to_string()).or_default() += 1;
        let taken = inner.faults.take_for(
            &method,
            is_write,
            route.is_records_api(),
            route == Route::ClientConfig,
        );
        inner.stats.faults_applied += taken.len() as u64;
        (taken, is_write)
    };
    let (faults, is_write) = faults;

    // Faults that act before the request is applied.
    for f in &faults {
        if let FaultKind::Delay { ms } = f {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
        }
    }
    for f in &faults {
        match f {
            FaultKind::Hang => std::future::pending::<()>().await,
            FaultKind::ServerError { status } => {
                return TwentyError::server_error(*status).into_response();
            }
            FaultKind::AuthFailure => {
                shared.lock().stats.auth_failures += 1;
                return auth_failure_fault(profile, &route);
            }
            _ => {}
        }
    }

    let outcome = if route == Route::ClientConfig {
        // Public: no key, no rate limit (client-config.controller.ts, `PublicEndpointGuard`).
        let cfg = &shared.config;
        Ok((
            200,
            client_config::body(cfg.profile, cfg.app_version.as_deref()),
        ))
    } else {
        // Refusals before anything is applied answer at once, as the other pre-request faults do.
        let empty = json!({});
        let body_for_auth = json_body.as_ref().unwrap_or(&empty);
        let principal = match admit(&shared, &parts, &route, &faults, body_for_auth) {
            Ok(p) => p,
            Err(Ok((status, text))) => return json_response(status, text, &[]),
            Err(Err(e)) => return e.into_response(),
        };
        let request = Admitted {
            params: parse_query(parts.uri.query()),
            bytes: &bytes,
            json: json_body,
            is_write,
        };
        answer(&shared, request, &route, &method, &faults, &principal)
    };
    let (status, text, headers) = match outcome {
        Ok((status, text)) => (status, text, Vec::new()),
        Err(e) => {
            if e.status == 429 {
                shared.lock().stats.rate_limited += 1;
            }
            (e.status, e.body, e.headers)
        }
    };

    // Faults that act after the request is applied.
    if faults.iter().any(|f| matches!(f, FaultKind::ApplyThenDrop)) {
        if let Some(ctl) = ctl {
            ctl.kill.notify_one();
        }
        std::future::pending::<()>().await;
    }
    if faults.iter().any(|f| matches!(f, FaultKind::MalformedJson)) {
        let cut = text.len() / 2;
        let mut broken: String = text.chars().take(cut.max(1)).collect();
        broken.push_str("\u{0}<");
        return json_response(200, broken, &[]);
    }
    json_response(status, text, &headers)
}

/// The key, then the 402 faults. `Err` carries the refusal: a GraphQL error body (`Ok`) or an
/// error answer.
fn admit(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    route: &Route,
    faults: &[FaultKind],
    body: &Value,
) -> Result<Principal, Result<(u16, String), TwentyError>> {
    let presented = bearer(&parts.headers);
    let principal = match authenticate(shared, presented) {
        Ok(p) => p,
        Err(problem) => {
            shared.lock().stats.auth_failures += 1;
            return Err(auth_refusal(route, &problem, body));
        }
    };
    // 402s on the records API, after the key is known. The plan guard is an APP_GUARD, so it
    // runs before the handler's quota check (workspace-plan-required.guard.ts).
    if route.is_records_api() {
        if faults.contains(&FaultKind::PlanRequired) {
            return Err(Err(TwentyError::plan_required()));
        }
        if faults.contains(&FaultKind::QuotaExhausted) {
            return Err(Err(TwentyError::quota_exhausted()));
        }
    }
    Ok(principal)
}

/// An admitted request's parts.
struct Admitted<'a> {
    params: HashMap<String, String>,
    bytes: &'a [u8],
    json: Result<Value, serde_json::Error>,
    /// A records write (REST route, or a GraphQL mutation of records).
    is_write: bool,
}

/// An admitted request: the body, the other writers, then [`dispatch`] (or GraphQL).
fn answer(
    shared: &Arc<Shared>,
    request: Admitted<'_>,
    route: &Route,
    method: &str,
    faults: &[FaultKind],
    principal: &Principal,
) -> Result<(u16, String), TwentyError> {
    let profile = shared.config.profile;
    let json_body = match request.json {
        Ok(v) => v,
        // Express' body parser refuses the body before any handler (7f19111, checked; the
        // newest profile keeps the fake's historical wording for REST).
        Err(e) if profile.is_june_2025() || *route == Route::Graphql => {
            return Err(express_json_error(&e))
        }
        Err(e) => return Err(TwentyError::bad_request(&format!("Invalid JSON body: {e}"))),
    };
    let now = shared.now_ms();
    // One lock for the other writers, the reject check and the request itself, so nothing
    // slips in between.
    let mut inner = shared.lock();
    for f in faults {
        match f {
            FaultKind::ConcurrentWriter {
                xp,
                bump_revision,
                add_boss,
                rep_email,
            } => concurrent_write(
                &mut inner,
                now,
                *xp,
                *bump_revision,
                add_boss.as_deref(),
                rep_email.as_deref(),
            ),
            FaultKind::OtherWriter(w) => other_write(&mut inner, now, w),
            _ => {}
        }
    }
    let reject = if request.is_write {
        let raw = String::from_utf8_lossy(request.bytes);
        let taken = inner.faults.take_reject(method, &raw);
        if taken.is_some() {
            inner.stats.faults_applied += 1;
        }
        taken
    } else {
        None
    };
    if *route == Route::Graphql {
        return Ok(graphql_answer(
            shared, &mut inner, now, &json_body, reject, principal,
        ));
    }
    let reject =
        reject.map(|(status, message)| TwentyError::new(status, "BadRequestException", &message));
    dispatch(
        shared,
        &mut inner,
        now,
        route,
        &request.params,
        &json_body,
        reject,
        principal,
    )
}

/// `POST /graphql` for an admitted request: the per-workspace bucket (as the REST records API;
/// the refusal in GraphQL's form, see `graphql::throttled`), then `graphql::answer`. The bucket
/// is consumed only by a request that names a records field and passes validation.
fn graphql_answer(
    shared: &Shared,
    inner: &mut Inner,
    now: u64,
    body: &Value,
    reject: Option<(u16, String)>,
    principal: &Principal,
) -> (u16, String) {
    let runs = graphql::parse_body(body).is_ok_and(|p| {
        let gql = graphql::schema_of(inner);
        graphql::validate::validate(&gql, &p.doc).is_empty()
            && graphql::classify(&gql, body).kind != "graphql"
    });
    let rate_limited = if runs {
        match inner.bucket.consume(now, &shared.workspace_id) {
            Ok(()) => None,
            Err(e) => {
                inner.stats.rate_limited += 1;
                Some(e)
            }
        }
    } else {
        None
    };
    let caller = graphql::Caller {
        key_name: &principal.name,
        role: principal.role.as_ref(),
        permissions_v2: shared.config.permissions_v2,
        reject,
        rate_limited,
    };
    let a = graphql::answer(inner, now, body, &caller);
    (a.status, a.body)
}

/// Whether `record` is the rep `email`'s (compared case-insensitively, as RepXP's identity is).
/// An EMAILS `repEmail` is compared on its `primaryEmail`.
fn has_email(record: &Value, email: &str) -> bool {
    let v = record.get("repEmail");
    v.and_then(Value::as_str)
        .or_else(|| {
            v.and_then(|e| e.get("primaryEmail"))
                .and_then(Value::as_str)
        })
        .is_some_and(|x| x.eq_ignore_ascii_case(email))
}

/// The academy app's write, applied under the same lock as the request it precedes.
fn concurrent_write(
    inner: &mut Inner,
    now_ms: u64,
    xp: i64,
    bump: bool,
    boss: Option<&str>,
    email: Option<&str>,
) {
    let now = inner.stamper.next(now_ms);
    let Some(rows) = inner.records.get_mut("repProgressions") else {
        return;
    };
    for r in rows.iter_mut() {
        if let Some(e) = email {
            if !has_email(r, e) {
                continue;
            }
        }
        let Some(obj) = r.as_object_mut() else {
            continue;
        };
        let total = obj.get("totalXp").and_then(Value::as_f64).unwrap_or(0.0);
        obj.insert("totalXp".into(), js_number(total + xp as f64));
        if bump {
            let rev = obj
                .get("syncRevision")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            obj.insert("syncRevision".into(), js_number(rev + 1.0));
        }
        if let Some(b) = boss {
            let mut list: Vec<Value> = obj
                .get("defeatedBosses")
                .and_then(Value::as_str)
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            list.push(json!(b));
            obj.insert(
                "defeatedBosses".into(),
                Value::String(Value::Array(list).to_string()),
            );
        }
        obj.insert("updatedAt".into(), json!(now));
    }
}

/// Edit a JSON text field in place: `edit` gets the parsed value (`default` for a null or
/// missing column); unreadable text or a value of another JSON kind is left alone.
fn edit_json_text(
    obj: &mut Map<String, Value>,
    key: &str,
    default: Value,
    edit: impl FnOnce(&mut Value) -> bool,
) {
    let mut parsed = match obj.get(key) {
        None | Some(Value::Null) => default,
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => v,
            Err(_) => return,
        },
        Some(_) => return,
    };
    if edit(&mut parsed) {
        obj.insert(key.to_string(), Value::String(parsed.to_string()));
    }
}

/// Another client's write (`FaultKind::OtherWriter`), applied under the same lock as the
/// request it precedes, to the record with `rep_email` (or every record, trashed included).
fn other_write(inner: &mut Inner, now_ms: u64, w: &OtherWrite) {
    let now = inner.stamper.next(now_ms);
    let Some(rows) = inner.records.get_mut("repProgressions") else {
        return;
    };
    for r in rows.iter_mut() {
        if let Some(e) = &w.rep_email {
            if !has_email(r, e.as_str()) {
                continue;
            }
        }
        let Some(obj) = r.as_object_mut() else {
            continue;
        };
        if w.xp != 0 {
            let total = obj.get("totalXp").and_then(Value::as_f64).unwrap_or(0.0);
            obj.insert("totalXp".into(), js_number(total + w.xp as f64));
        }
        if w.bump_revision {
            let rev = obj
                .get("syncRevision")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            obj.insert("syncRevision".into(), js_number(rev + 1.0));
        }
        if let Some(b) = &w.add_boss {
            edit_json_text(obj, "defeatedBosses", json!([]), |v| match v {
                Value::Array(list) => {
                    list.push(json!(b));
                    true
                }
                _ => false,
            });
        }
        if let Some(exam) = &w.add_exam {
            edit_json_text(obj, "passedExams", json!({}), |v| match v {
                Value::Object(map) => {
                    map.insert(exam.clone(), json!({}));
                    true
                }
                _ => false,
            });
        }
        if let Some(m) = &w.set_metric {
            edit_json_text(obj, "efficiencyMetrics", json!({}), |v| match v {
                Value::Object(map) => {
                    map.insert(m.name.clone(), js_number(m.value));
                    true
                }
                _ => false,
            });
        }
        if let Some(fields) = &w.set_fields {
            for (k, v) in fields {
                obj.insert(k.clone(), v.clone());
            }
        }
        let sets_updated_at = w
            .set_fields
            .as_ref()
            .is_some_and(|f| f.contains_key("updatedAt"));
        if !w.keep_updated_at && !sets_updated_at {
            obj.insert("updatedAt".into(), json!(now));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    shared: &Shared,
    inner: &mut Inner,
    now: u64,
    route: &Route,
    params: &HashMap<String, String>,
    body: &Value,
    reject: Option<TwentyError>,
    principal: &Principal,
) -> Result<(u16, String), TwentyError> {
    let cfg = &shared.config;
    let profile = cfg.profile;
    // Metadata REST needs the DATA_MODEL setting permission; guards run before anything else.
    // June 2025 asks it for writes only (a Guest's token listed the objects on the real server
    // and was refused creating a field).
    let needs_data_model =
        route.is_metadata_rest() && (!profile.is_june_2025() || route.is_metadata_write());
    if needs_data_model && !principal.data_model() {
        inner.stats.permission_denied += 1;
        return Err(profile.metadata_permission_denied());
    }
    if let Route::RestRefused(message, _) = route {
        return Err(TwentyError::bad_request(message));
    }
    let object = match route.object() {
        Some(o) => Some(
            inner
                .schema
                .by_plural(o)
                .cloned()
                .ok_or_else(|| inner.schema.object_not_found(o))?,
        ),
        None => None,
    };
    // Per-workspace bucket for API-key requests on the records API
    // (common-base-query-runner.service.ts `throttleQueryExecution`); metadata is not throttled.
    if route.is_records_api() {
        let ws = shared.workspace_id.clone();
        inner.bucket.consume(now, &ws)?;
    }
    if let Some(e) = reject {
        return Err(e);
    }
    // Object permissions of a restricted key: the ORM checks them when the statement runs
    // (packages/twenty-server/src/engine/twenty-orm/repository/permissions.utils.ts,
    // `validateOperationIsPermittedOrThrow`: select needs read, insert/update need update; the
    // fake also asks `update` for soft delete, destroy and restore), so after the rate limit and
    // before any row is touched: an update-many by a key without `update` is refused even when
    // its filter matches nothing. Filter and data validation come after it here (Unverified
    // order).
    // June 2025's REST handlers check no role unless the workspace has permissions V2 (V1: only
    // the GraphQL resolvers do; a Guest's REST PATCH, POST and DELETE succeeded on the real
    // server with the flag off).
    let role = principal
        .role
        .as_ref()
        .filter(|_| !profile.is_june_2025() || cfg.permissions_v2);
    if let (Some(role), Some(o)) = (role, &object) {
        let allowed = if route.is_record_write() {
            role.may_update(&o.name_plural)
        } else {
            role.may_read(&o.name_plural)
        };
        if !allowed {
            inner.stats.permission_denied += 1;
            return Err(profile.records_permission_denied());
        }
    }
    let key_name = principal.name.as_str();
    // parse-soft-delete-rest-request.util.ts: only `soft_delete=true` soft-deletes.
    let soft = params.get("soft_delete").map(String::as_str) == Some("true");
    let ctx = MetaCtx {
        profile,
        workspace_id: &shared.workspace_id,
        page_size: cfg.effective_metadata_page_size(),
        newer_selection: cfg.newer_metadata_selection,
        unique_indexes: cfg.unique_indexes,
    };
    match (route, object) {
        (Route::FindMany(_), Some(o)) => {
            records::find_many(inner, &o, records::ListParams { params }).map(|t| (200, t))
        }
        (Route::FindOne(_, id), Some(o)) => records::find_one(inner, &o, id).map(|t| (200, t)),
        (Route::CreateOne(_), Some(o)) => {
            records::create_one(inner, &o, body, key_name, now).map(|t| (201, t))
        }
        (Route::UpdateOne(_, id), Some(o)) => {
            records::update_one(inner, &o, id, body, now).map(|t| (200, t))
        }
        (Route::UpdateMany(_), Some(o)) => {
            records::update_many(inner, &o, params, body, now).map(|t| (200, t))
        }
        (Route::DeleteOne(_, id), Some(o)) => {
            records::delete_one(inner, &o, id, soft, now).map(|t| (200, t))
        }
        (Route::DeleteMany(_), Some(o)) => {
            records::delete_many(inner, &o, params, soft, now).map(|t| (200, t))
        }
        (Route::RestoreOne(_, id), Some(o)) => {
            records::restore_one(inner, &o, id, now).map(|t| (200, t))
        }
        (Route::RestoreMany(_), Some(o)) => {
            records::restore_many(inner, &o, params, now).map(|t| (200, t))
        }
        (Route::MetaListObjects, _) => {
            metadata::list_objects(&inner.schema, &ctx, params).map(|t| (200, t))
        }
        (Route::MetaGraphql, _) => Ok((
            200,
            metadata::graphql(&inner.schema, body, principal.data_model(), profile),
        )),
        (Route::MetaGetObject(id), _) => {
            metadata::get_object(&inner.schema, &ctx, id).map(|t| (200, t))
        }
        (Route::MetaListFields, _) => {
            metadata::list_fields(&inner.schema, &ctx, params).map(|t| (200, t))
        }
        (Route::MetaGetField(id), _) => {
            metadata::get_field(&inner.schema, &ctx, id).map(|t| (200, t))
        }
        (Route::MetaCreateObject, _) => {
            inner.gql_schema = None;
            metadata::create_object(&mut inner.schema, &ctx, body, now).map(|t| (201, t))
        }
        (Route::MetaCreateField, _) => {
            inner.gql_schema = None;
            metadata::create_field(&mut inner.schema, &ctx, body, now).map(|t| (201, t))
        }
        (Route::MetaUpdateField(id), _) => {
            inner.gql_schema = None;
            metadata::update_field(&mut inner.schema, &ctx, id, body, &inner.records, now)
                .map(|t| (200, t))
        }
        _ => Err(TwentyError::new(
            404,
            "NotFoundException",
            "Cannot find route",
        )),
    }
}
