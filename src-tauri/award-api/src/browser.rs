//! The award API as web pages see it (issue 24): the browser's rules for a page calling a server
//! on this computer, pairing, and the rep's decisions (web.rs). A page is whatever sends `Origin`.
//!
//! ```text
//! OPTIONS any                CORS and Private Network Access preflight (allowed origins; /v1/pair: any)
//! POST /v1/pair              Origin: O                      → 202 {"state":"waiting","request":R}
//! GET  /v1/pair              Origin: O, X-RepXP-Pairing: R  → 202 waiting | 200 {"state":"allowed","token":T} once | 403 denied
//! POST /v1/awards, GET /v1/progression   Origin: O, Authorization: Bearer T
//! GET  /v1/web, POST /v1/web/{allow,deny,revoke} {"origin":O}   the rep's side: the award secret, no Origin
//! ```

use std::sync::{Arc, MutexGuard};

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::desk::{DecideError, WebDesk};
use crate::server::{reply, Refusal, Shared};
use crate::web::{Origin, PairAsked, PairPolled, WebOrigins};

/// The pairing request id travels in this header (never in a URL, which browsers log and keep).
pub const PAIRING_HEADER: &str = "x-repxp-pairing";

const ALLOW_PRIVATE_NETWORK: HeaderName =
    HeaderName::from_static("access-control-allow-private-network");
const REQUEST_PRIVATE_NETWORK: &str = "access-control-request-private-network";

/// Who is calling, once the checks passed.
pub(crate) enum Caller {
    /// A local program with the award secret.
    Local,
    /// A page of an allowed origin with that origin's token.
    Page(Origin),
}

/// A DNS-rebinding page reaches 127.0.0.1 under its own host name: anything but this computer's
/// loopback names with our port in `Host` is refused.
pub(crate) fn host_refusal(headers: &HeaderMap, port: u16) -> Option<Response> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ok = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host.eq_ignore_ascii_case(&format!("{name}:{port}")));
    (!ok).then(|| {
        tracing::warn!(host, "award API refused a request for another host name");
        reply(
            StatusCode::FORBIDDEN,
            format!("Host {host:?} is not this computer's award API (use http://127.0.0.1:{port})"),
        )
    })
}

/// The origin a request comes from: `Ok(None)` without an `Origin` header (a local program).
pub(crate) fn origin_of(headers: &HeaderMap) -> Result<Option<Origin>, Refusal> {
    let Some(value) = headers.get(header::ORIGIN) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(Origin::parse)
        .map(Some)
        .ok_or_else(|| {
            Box::new(reply(
                StatusCode::FORBIDDEN,
                "the award API accepts pages of allowed origins only",
            ))
        })
}

pub(crate) fn web(shared: &Shared) -> Result<MutexGuard<'_, WebOrigins>, Refusal> {
    shared.web.lock().map_err(|_| {
        Box::new(reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error: web origins lock",
        ))
    })
}

/// A page's request to `/v1/awards` or `/v1/progression`: its origin's token, or nothing.
pub(crate) fn page_refusal(
    shared: &Shared,
    origin: &Origin,
    headers: &HeaderMap,
) -> Option<Response> {
    let token = crate::server::bearer(headers).unwrap_or("");
    let admitted = match web(shared) {
        Ok(w) => w.admits(origin, token),
        Err(r) => return Some(*r),
    };
    (!admitted).then(|| {
        tracing::warn!(%origin, "award API refused a page without its origin's token");
        reply(
            StatusCode::FORBIDDEN,
            format!(
                "{origin} may not award XP here: pair it first (POST /v1/pair) and send its token"
            ),
        )
    })
}

/// The CORS headers a page's browser needs to read our answer.
pub(crate) fn with_cors(mut r: Response, origin: &Origin) -> Response {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin.as_str()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    r
}

/// The browser asks before a page's request: answered for allowed origins (any origin may ask
/// to pair), including Chromium's Private Network Access question; everyone else gets no CORS
/// headers, so the browser stops there.
pub(crate) async fn preflight(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = host_refusal(&headers, shared.port) {
        return r;
    }
    let origin = match origin_of(&headers) {
        Ok(Some(o)) => o,
        Ok(None) => return reply(StatusCode::BAD_REQUEST, "a preflight names its Origin"),
        Err(r) => return *r,
    };
    let may = uri.path() == "/v1/pair"
        || match web(&shared) {
            Ok(w) => w.is_allowed(&origin),
            Err(r) => return *r,
        };
    if !may {
        return reply(
            StatusCode::FORBIDDEN,
            format!("{origin} may not call the award API: pair it first"),
        );
    }
    let mut r = with_cors(StatusCode::NO_CONTENT.into_response(), &origin);
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, x-repxp-pairing"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    if headers
        .get(REQUEST_PRIVATE_NETWORK)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
    {
        h.insert(ALLOW_PRIVATE_NETWORK, HeaderValue::from_static("true"));
    }
    r
}

/// A page asks to pair: the rep is asked (one request at a time; not again after a Deny).
pub(crate) async fn pair_ask(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let origin = match page(&shared, &headers) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let asked = match web(&shared) {
        Ok(mut w) => w.ask(&origin),
        Err(r) => return *r,
    };
    if matches!(asked, PairAsked::Waiting { .. }) {
        shared.bump();
    }
    let r = match asked {
        PairAsked::Waiting { request } => {
            tracing::warn!(%origin, "a web page asks to send XP to RepXP: `repxp-cli web allow {origin}` or `repxp-cli web deny {origin}`");
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({"ok": true, "state": "waiting", "request": request})),
            )
                .into_response()
        }
        PairAsked::AlreadyWaiting => state(
            StatusCode::CONFLICT,
            "waiting",
            "this origin already waits for the rep's answer",
        ),
        PairAsked::Busy => state(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            "another page waits for the rep's answer; ask again later",
        ),
        PairAsked::Denied => state(
            StatusCode::FORBIDDEN,
            "denied",
            "the rep denied this origin",
        ),
    };
    with_cors(r, &origin)
}

/// The page that asked polls for the rep's answer with its request id.
pub(crate) async fn pair_poll(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let origin = match page(&shared, &headers) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let request = headers
        .get(PAIRING_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let polled = match web(&shared) {
        Ok(mut w) => w.poll(&origin, request),
        Err(r) => return *r,
    };
    if matches!(polled, PairPolled::Allowed { .. } | PairPolled::Denied) {
        shared.bump();
    }
    let r = match polled {
        PairPolled::Waiting => state(
            StatusCode::ACCEPTED,
            "waiting",
            "the rep has not answered yet",
        ),
        PairPolled::Allowed { token } => {
            tracing::info!(%origin, "web origin paired");
            axum::Json(json!({"ok": true, "state": "allowed", "token": token})).into_response()
        }
        PairPolled::Denied => state(
            StatusCode::FORBIDDEN,
            "denied",
            "the rep denied this origin",
        ),
        PairPolled::Unknown => state(
            StatusCode::NOT_FOUND,
            "unknown",
            "no such pairing request: ask again",
        ),
    };
    with_cors(r, &origin)
}

fn page(shared: &Shared, headers: &HeaderMap) -> Result<Origin, Refusal> {
    if let Some(r) = host_refusal(headers, shared.port) {
        return Err(Box::new(r));
    }
    origin_of(headers)?.ok_or_else(|| {
        Box::new(reply(
            StatusCode::BAD_REQUEST,
            "pairing is for web pages (their browser sends Origin); local programs use the award secret",
        ))
    })
}

fn state(status: StatusCode, state: &str, why: &str) -> Response {
    (
        status,
        axum::Json(json!({"ok": status.is_success(), "state": state, "error": why})),
    )
        .into_response()
}

/// The rep's side (`repxp-cli web`, the tray): list, allow, deny, revoke. Local programs only.
pub(crate) async fn decide(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    UrlPath(action): UrlPath<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(r) = crate::server::local_refusal(peer, &shared, &headers) {
        return r;
    }
    let Some(origin) = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["origin"].as_str().map(str::to_string))
    else {
        return reply(
            StatusCode::BAD_REQUEST,
            "send {\"origin\": \"https://host[:port]\"}",
        );
    };
    let desk = WebDesk { shared };
    match desk.decide(&action, &origin) {
        Ok(said) => axum::Json(json!({"ok": true, "said": said})).into_response(),
        Err(e) => {
            let status = match e {
                DecideError::NotAsking(_) | DecideError::Unknown(_) => StatusCode::NOT_FOUND,
                DecideError::NotAnOrigin(_) | DecideError::NoSuchAnswer(_) => {
                    StatusCode::BAD_REQUEST
                }
                DecideError::Lock | DecideError::Save(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let why = e.to_string();
            (
                status,
                axum::Json(json!({"ok": false, "said": why, "error": why})),
            )
                .into_response()
        }
    }
}

/// Every origin the rep decided on, and the one waiting for an answer.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = crate::server::local_refusal(peer, &shared, &headers) {
        return r;
    }
    let desk = crate::WebDesk { shared };
    axum::Json(json!({"ok": true, "origins": desk.origins(), "waiting": desk.waiting()}))
        .into_response()
}
