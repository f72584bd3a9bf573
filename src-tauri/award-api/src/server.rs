//! The HTTP side of the award API: loopback only, secret first, then one store write.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, options, post};
use axum::Router;
use serde_json::json;
use tokio::sync::oneshot;

use repxp_engine::event_input::{EventInput, EventInputError};
use repxp_engine::intake::Intake;
use repxp_engine::progression::Progression;
use repxp_engine::{Store, StoreError};

use crate::browser::{self, Caller};
use crate::desk::WebDesk;
use crate::secret::{load_or_create_secret, write_private, Secret};
use crate::web::WebOrigins;
use crate::AwardApiError;

/// Inside the data directory: `{"url": "http://127.0.0.1:PORT"}` once the app listens, so a tool
/// finds the port even when the default one was taken.
pub const ENDPOINT_FILE: &str = "award-api.json";

/// An event is a few hundred bytes; anything much bigger is not one.
const MAX_BODY: usize = 16 * 1024;

pub fn endpoint_file(data_dir: &Path) -> PathBuf {
    data_dir.join(ENDPOINT_FILE)
}

/// The running API; dropping it stops it.
pub struct AwardApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: oneshot::Sender<()>,
}

impl AwardApi {
    /// The rep's side of web pairing.
    pub fn desk(&self) -> WebDesk {
        WebDesk {
            shared: self.shared.clone(),
        }
    }
}

pub(crate) struct Shared {
    secret: Secret,
    store: Mutex<Store>,
    /// Web pages the rep let award XP (browser.rs).
    pub(crate) web: Mutex<WebOrigins>,
    /// The port we listen on: `Host` must name it (browser.rs).
    pub(crate) port: u16,
    /// Bumped when a page asks to pair or the rep answers (desk.rs).
    pub(crate) changed: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    pub(crate) fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

/// Listens on 127.0.0.1:`port` (or a free port if that one is taken) and writes the endpoint
/// file. Must be called inside a tokio runtime.
pub async fn start(data_dir: &Path, port: u16) -> Result<AwardApi, AwardApiError> {
    let wanted = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let listener = match bind(wanted).await {
        Err(AwardApiError::Bind { source, .. })
            if port != 0 && source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            tracing::warn!(
                port,
                "award API port is taken; using a free one (see {ENDPOINT_FILE})"
            );
            bind(SocketAddr::new(wanted.ip(), 0)).await?
        }
        other => other?,
    };
    let api = serve(listener, data_dir)?;
    write_private(
        &endpoint_file(data_dir),
        &format!("{}\n", json!({ "url": format!("http://{}", api.addr) })),
    )?;
    tracing::info!(addr = %api.addr, "award API listening");
    Ok(api)
}

/// Binds a loopback address; any other address is refused, so a setting or a typo can never
/// expose the API to the network.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, AwardApiError> {
    if !addr.ip().is_loopback() {
        return Err(AwardApiError::NotLoopback { addr });
    }
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| AwardApiError::Bind { addr, source })
}

/// Serves on an already bound listener. The peer check in every handler does not rely on the
/// bind address: tests bind a non-loopback address here on purpose to prove it.
pub fn serve(
    listener: tokio::net::TcpListener,
    data_dir: &Path,
) -> Result<AwardApi, AwardApiError> {
    let addr = listener
        .local_addr()
        .map_err(|source| AwardApiError::Bind {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            source,
        })?;
    let shared = Arc::new(Shared {
        secret: load_or_create_secret(data_dir)?,
        store: Mutex::new(Store::open_dir(data_dir)?),
        web: Mutex::new(WebOrigins::load(data_dir)?),
        port: addr.port(),
        changed: tokio::sync::watch::channel(0).0,
    });
    let app = Router::new()
        .route("/v1/awards", post(award).options(browser::preflight))
        .route(
            "/v1/progression",
            get(progression).options(browser::preflight),
        )
        .route(
            "/v1/pair",
            post(browser::pair_ask)
                .get(browser::pair_poll)
                .options(browser::preflight),
        )
        .route("/v1/web", get(browser::list))
        .route("/v1/web/{action}", post(browser::decide))
        .route("/v1/{*rest}", options(browser::preflight))
        .fallback(|| async { reply(StatusCode::NOT_FOUND, "no such endpoint; POST /v1/awards") })
        .with_state(shared.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "award API stopped");
        }
    });
    Ok(AwardApi {
        addr,
        shared,
        _stop: stop,
    })
}

/// A refusal's answer, boxed: it is large and the happy path should not carry it.
pub(crate) type Refusal = Box<Response>;

pub(crate) fn reply(status: StatusCode, error: impl std::fmt::Display) -> Response {
    (
        status,
        axum::Json(json!({ "ok": false, "error": error.to_string() })),
    )
        .into_response()
}

/// `Authorization: Bearer <token>`'s token.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Who may talk to us at all: a local program that knows the secret, or a page of an origin the
/// rep allowed with that origin's token (a browser always sends Origin on cross-site requests; a
/// dialer does not), and only through this computer's loopback names.
fn refusal(peer: SocketAddr, headers: &HeaderMap, shared: &Shared) -> Result<Caller, Refusal> {
    if !peer.ip().is_loopback() {
        tracing::warn!(%peer, "award API refused a non-loopback peer");
        return Err(Box::new(reply(
            StatusCode::FORBIDDEN,
            "the award API accepts local programs only",
        )));
    }
    if let Some(r) = browser::host_refusal(headers, shared.port) {
        return Err(Box::new(r));
    }
    if let Some(origin) = browser::origin_of(headers)? {
        return match browser::page_refusal(shared, &origin, headers) {
            Some(r) => Err(Box::new(r)),
            None => Ok(Caller::Page(origin)),
        };
    }
    match bearer(headers) {
        Some(g) if shared.secret.matches(g) => Ok(Caller::Local),
        _ => {
            tracing::warn!(%peer, "award API refused a request without the right secret");
            let mut r = reply(
                StatusCode::UNAUTHORIZED,
                "missing or wrong secret: send Authorization: Bearer <contents of award-api.secret>",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(Box::new(r))
        }
    }
}

/// The rep's own programs only (the award secret, no page).
pub(crate) fn local_refusal(
    peer: SocketAddr,
    shared: &Shared,
    headers: &HeaderMap,
) -> Option<Response> {
    match refusal(peer, headers, shared) {
        Ok(Caller::Local) => None,
        Ok(Caller::Page(origin)) => Some(reply(
            StatusCode::FORBIDDEN,
            format!("{origin} may award XP, not decide which pages may"),
        )),
        Err(r) => Some(*r),
    }
}

/// A page's answer carries the CORS headers its browser needs to let the page read it.
fn answer(caller: &Caller, r: Response) -> Response {
    match caller {
        Caller::Local => r,
        Caller::Page(origin) => browser::with_cors(r, origin),
    }
}

async fn award(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match refusal(peer, &headers, &shared) {
        Ok(caller) => answer(&caller, record_award(shared, body).await),
        Err(r) => *r,
    }
}

async fn record_award(shared: Arc<Shared>, body: Body) -> Response {
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {MAX_BODY} bytes; send one event per request"),
        );
    };
    let input = match std::str::from_utf8(&bytes)
        .map_err(|e| EventInputError::Json(e.to_string()))
        .and_then(EventInput::from_json)
    {
        Ok(i) => i,
        Err(e) => return reply(StatusCode::BAD_REQUEST, e),
    };
    let done = tokio::task::spawn_blocking(move || record(&shared, &input)).await;
    match done {
        Ok(Ok((rec, view))) => {
            tracing::info!(id = %rec.id(), new = matches!(rec, Intake::New(_)), "award via the local API");
            let status = match rec {
                Intake::New(_) => StatusCode::CREATED,
                Intake::Duplicate(_) => StatusCode::OK,
            };
            (
                status,
                axum::Json(json!({
                    "ok": true,
                    "id": rec.id().to_string(),
                    "new": matches!(rec, Intake::New(_)),
                    "xp": view.xp,
                    "level": view.level.level,
                    "pending": view.pending,
                })),
            )
                .into_response()
        }
        Ok(Err((status, e))) => reply(status, e),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        ),
    }
}

async fn progression(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match refusal(peer, &headers, &shared) {
        Ok(caller) => answer(&caller, read_progression(shared).await),
        Err(r) => *r,
    }
}

async fn read_progression(shared: Arc<Shared>) -> Response {
    let read =
        tokio::task::spawn_blocking(move || lock(&shared)?.progression().map_err(store_failure))
            .await;
    match read {
        Ok(Ok(p)) => axum::Json(p).into_response(),
        Ok(Err((status, e))) => reply(status, e),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        ),
    }
}

type Failure = (StatusCode, String);

fn record(shared: &Shared, input: &EventInput) -> Result<(Intake, Progression), Failure> {
    let mut store = lock(shared)?;
    let rec = store
        .record(&input.progress, input.id, input.at)
        .map_err(store_failure)?;
    Ok((rec, store.progression().map_err(store_failure)?))
}

fn lock(shared: &Shared) -> Result<std::sync::MutexGuard<'_, Store>, Failure> {
    shared.store.lock().map_err(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error: store lock".to_string(),
        )
    })
}

fn store_failure(e: StoreError) -> Failure {
    (store_status(&e), e.to_string())
}

/// 4xx for what the caller sent, 503 for what may pass (a full disk, a lock), 500 otherwise.
fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
        StoreError::IdConflict { .. } => StatusCode::CONFLICT,
        StoreError::DiskFull { .. } | StoreError::ReadOnly { .. } | StoreError::Busy { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
