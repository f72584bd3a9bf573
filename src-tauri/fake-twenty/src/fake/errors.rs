//! Error bodies exactly as Twenty's REST layer writes them.
//!
//! Shape `{"statusCode":n,"error":"<Name>","messages":["..."]}` follows
//! packages/twenty-server/src/engine/core-modules/exception-handler/http-exception-handler.service.ts
//! (`handleError`) and, in newer snapshots,
//! packages/twenty-server/src/engine/core-modules/exception-handler/utils/send-http-exception-response.util.ts
//! (same keys, plus a `code` that is `undefined` for Nest HttpExceptions and so never serialized).
//! `error` is the Nest exception class name (`exception.name`).
//!
//! Bodies are kept as JSON *text* so key order is the order Twenty writes (serde_json without
//! `preserve_order` would sort keys).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One error answer: status, JSON body text and optional extra headers.
#[derive(Debug, Clone)]
pub struct TwentyError {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StandardBody<'a> {
    status_code: u16,
    error: &'a str,
    messages: [&'a str; 1],
}

impl TwentyError {
    /// `{"statusCode":status,"error":name,"messages":[message]}`.
    pub fn new(status: u16, name: &str, message: &str) -> Self {
        TwentyError {
            status,
            body: ordered(&StandardBody {
                status_code: status,
                error: name,
                messages: [message],
            }),
            headers: Vec::new(),
        }
    }

    /// Nest `BadRequestException(message)` -> 400 "BadRequestException".
    pub fn bad_request(message: &str) -> Self {
        Self::new(400, "BadRequestException", message)
    }

    /// Nest `NotFoundException('Record not found')` -> 404. Follows
    /// packages/twenty-server/src/engine/api/common/common-query-runners/utils/common-query-runner-to-rest-api-exception-handler.util.ts
    /// (RECORD_NOT_FOUND). Older snapshots answered 400 "Record not found" (docs/twenty-api.md).
    pub fn record_not_found() -> Self {
        Self::new(404, "NotFoundException", "Record not found")
    }

    /// A guard returning `false` makes Nest throw `ForbiddenException('Forbidden resource')`;
    /// packages/twenty-server/src/engine/guards/jwt-auth.guard.ts returns false on any token error
    /// (missing, malformed, unknown, revoked or expired key).
    pub fn forbidden() -> Self {
        Self::new(403, "ForbiddenException", "Forbidden resource")
    }

    /// The REST auth middleware's answer (newest): `{"statusCode":n,"messages":[m],"error":code}`,
    /// keys in that order, `error` = the AuthException code, status from
    /// packages/twenty-server/src/engine/core-modules/auth/utils/get-auth-exception-rest-status.util.ts
    /// (`124a02e5`). Source: packages/twenty-server/src/engine/middlewares/middleware.service.ts
    /// (`45b288cd`, `writeRestResponseOnExceptionCaught`), called by
    /// packages/twenty-server/src/engine/middlewares/rest-core.middleware.ts on a token error.
    pub fn auth_middleware(status: u16, code: &str, message: &str) -> Self {
        TwentyError {
            status,
            body: ordered(&MiddlewareBody {
                status_code: status,
                messages: [message],
                error: code,
            }),
            headers: Vec::new(),
        }
    }

    /// Newest, no `Authorization` header: 403
    /// `{"statusCode":403,"messages":["Missing authentication token"],"error":"FORBIDDEN_EXCEPTION"}`
    /// (packages/twenty-server/src/engine/core-modules/auth/token/services/access-token.service.ts,
    /// `a0c8ee5f`: `AuthException('Missing authentication token', FORBIDDEN_EXCEPTION)`; an older
    /// version, `0052622f`, wrote it in lower case).
    pub fn missing_token() -> Self {
        Self::auth_middleware(403, "FORBIDDEN_EXCEPTION", "Missing authentication token")
    }

    /// Newest, a key that is not one of the workspace's: 401 `UNAUTHENTICATED`
    /// (packages/twenty-server/src/engine/core-modules/jwt/services/jwt-wrapper.service.ts,
    /// `f286f269`, `verifyJwtToken`): text that does not decode as a JWT -> "No payload"; a JWT
    /// whose signature does not verify -> "Token invalid." ([`TwentyError::invalid_token_message`]).
    pub fn invalid_token(presented: &str) -> Self {
        Self::auth_middleware(
            401,
            "UNAUTHENTICATED",
            Self::invalid_token_message(presented),
        )
    }

    /// The message of [`TwentyError::invalid_token`] for this key, as
    /// packages/twenty-server/src/engine/core-modules/jwt/services/jwt-wrapper.service.ts
    /// (`verifyWorkspaceToken`) words it: a text whose middle part is no JSON object → "No
    /// payload" (`a.b.c`, `not-a-jwt`), one without `sub` → "No payload sub", a payload whose
    /// signature does not verify → "Token invalid." (each checked on the real 7f19111 server but
    /// "No payload sub").
    pub fn invalid_token_message(presented: &str) -> &'static str {
        let parts: Vec<&str> = presented.split('.').collect();
        let payload = match parts.as_slice() {
            [_, p, _] => decode_jwt_part(p),
            _ => None,
        };
        match payload {
            None => "No payload",
            Some(v) if v.get("sub").is_none_or(|s| s.is_null() || s == "") => "No payload sub",
            Some(_) => "Token invalid.",
        }
    }

    /// Legacy find-one (and delete / restore) of a missing id: 400 `BadRequestException` "Record
    /// not found": packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-find-one.handler.ts
    /// (`0380223f`, legacy `handle()`) and the spec
    /// packages/twenty-server/test/integration/rest/suites/rest-api-core-find-one.integration-spec.ts
    /// (`08ce2f83`). For delete and restore the 400 is Inferred from the older common-query-runner
    /// mapping (RECORD_NOT_FOUND -> BadRequestException, research Q4).
    pub fn record_not_found_legacy() -> Self {
        Self::bad_request("Record not found")
    }

    /// Legacy update-one of a missing (or trashed) id: the old handler
    /// (packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-update-one.handler.ts,
    /// `999629ce`) calls `repository.findOneOrFail`, whose TypeORM `EntityNotFoundError` reaches the
    /// REST filter as a 400; the spec rest-api-core-update.integration-spec.ts (`f0f12a06`) asserts 400
    /// `EntityNotFoundError` "Could not find any entity of type \"person\"". The criteria text after
    /// `matching:` (TypeORM's `JSON.stringify(criteria, null, 4)` of `{where:{id}}`) is Inferred.
    pub fn entity_not_found(object_singular: &str, id: &str) -> Self {
        let criteria = format!("{{\n    \"where\": {{\n        \"id\": \"{id}\"\n    }}\n}}");
        Self::new(
            400,
            "EntityNotFoundError",
            &format!(
                "Could not find any entity of type \"{object_singular}\" matching: {criteria}"
            ),
        )
    }

    /// A spent credit allowance: 402, **no** Retry-After.
    /// packages/twenty-server/src/engine/core-modules/usage-limit/utils/usage-limit-to-rest-api-exception-handler.util.ts
    /// (`123fc19f`: QUOTA_EXHAUSTED with `exhaustedKind: 'allowance'` -> PAYMENT_REQUIRED, headers
    /// `{}`) and its spec `__tests__/usage-limit-to-rest-api-exception-handler.util.spec.ts`
    /// (`ace2093b`: "answers 402 without retry headers when the credit allowance is exhausted";
    /// scope `spenderType: 'workspace'`, `spenderId: null`, `operationType: ALL`, `periodCount` and
    /// `periodUnit` null). Key order follows the spec's 429 body. `limit`, `remaining` and
    /// `retryAfterSeconds` values are the fake's own (Unverified).
    pub fn quota_exhausted() -> Self {
        let body = ordered(&QuotaBody {
            status_code: 402,
            error: "QUOTA_EXHAUSTED",
            messages: ["Credit allowance exhausted for this billing period"],
            limit_kind: "quota",
            exhausted_kind: "allowance",
            scope: QuotaScope {
                spender_type: "workspace",
                spender_id: None,
                operation_type: "ALL",
            },
            limit: 5000,
            remaining: 0,
            period_count: None,
            period_unit: None,
            retry_after_seconds: 86_400,
        });
        TwentyError {
            status: 402,
            body,
            headers: Vec::new(),
        }
    }

    /// A workspace without a subscription plan (`IS_PLAN_REQUIRED_API_ENFORCEMENT_ENABLED`): 402
    /// `{"statusCode":402,"error":"PaymentRequiredException","messages":["Workspace subscription plan is required"],"code":"BILLING_PLAN_REQUIRED"}`.
    /// packages/twenty-server/src/engine/guards/workspace-plan-required.guard.ts and its HTTP spec
    /// `__tests__/workspace-plan-required.guard.http.spec.ts` (`72b0ad41`: `GET /rest/companies` ->
    /// 402, `code: "BILLING_PLAN_REQUIRED"`); body keys from
    /// packages/twenty-server/src/engine/core-modules/exception-handler/utils/send-http-exception-response.util.ts
    /// (`0a0ec6a7`). `error` = "PaymentRequiredException" is Inferred (`getErrorNameFromStatusCode(402)`).
    pub fn plan_required() -> Self {
        TwentyError {
            status: 402,
            body: ordered(&CodedErrorBody {
                status_code: 402,
                error: "PaymentRequiredException",
                messages: ["Workspace subscription plan is required"],
                code: "BILLING_PLAN_REQUIRED",
            }),
            headers: Vec::new(),
        }
    }

    /// 5xx with the Nest exception name Twenty would put in `error`.
    pub fn server_error(status: u16) -> Self {
        let (name, message) = match status {
            502 => ("BadGatewayException", "Bad Gateway"),
            503 => ("ServiceUnavailableException", "Service Unavailable"),
            504 => ("GatewayTimeoutException", "Gateway Timeout"),
            _ => ("InternalServerErrorException", "Internal server error"),
        };
        Self::new(status, name, message)
    }

    /// Unknown key in a filter or in written data. Message text from
    /// packages/twenty-server/src/engine/api/common/common-args-processors/filter-arg-processor/filter-arg-processor.service.ts
    /// and .../common-args-processors/data-arg-processor/data-arg-processor.service.ts
    /// (INVALID_ARGS_FILTER / INVALID_ARGS_DATA -> BadRequestException).
    pub fn unknown_field(object_singular: &str, key: &str) -> Self {
        Self::bad_request(&format!(
            "Object {object_singular} doesn't have any \"{key}\" field."
        ))
    }

    pub fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_string(), value));
        self
    }
}

/// A JWT part: base64url (padding optional) of a JSON object.
fn decode_jwt_part(part: &str) -> Option<serde_json::Value> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in part.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|x| *x == c)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push(((bits >> count) & 0xff) as u8);
        }
    }
    match serde_json::from_slice::<serde_json::Value>(&bytes).ok()? {
        v @ serde_json::Value::Object(_) => Some(v),
        _ => None,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MiddlewareBody<'a> {
    status_code: u16,
    messages: [&'a str; 1],
    error: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CodedErrorBody<'a> {
    status_code: u16,
    error: &'a str,
    messages: [&'a str; 1],
    code: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QuotaScope<'a> {
    spender_type: &'a str,
    spender_id: Option<&'a str>,
    operation_type: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QuotaBody<'a> {
    status_code: u16,
    error: &'a str,
    messages: [&'a str; 1],
    limit_kind: &'a str,
    exhausted_kind: &'a str,
    scope: QuotaScope<'a>,
    limit: u64,
    remaining: u64,
    period_count: Option<u64>,
    period_unit: Option<&'a str>,
    retry_after_seconds: u64,
}

/// JSON text of any `Serialize` value; struct fields keep their declaration order.
pub fn ordered<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// A JSON response with the given status, body text and extra headers.
pub fn json_response(status: u16, body: String, headers: &[(String, String)]) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (code, body).into_response();
    let h = response.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
    }
    response
}

impl IntoResponse for TwentyError {
    fn into_response(self) -> Response {
        json_response(self.status, self.body, &self.headers)
    }
}
