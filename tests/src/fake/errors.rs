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
