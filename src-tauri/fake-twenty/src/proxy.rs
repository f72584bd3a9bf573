//! A proxy in front of any Twenty, the real one included, that fails the way networks do: the
//! same [`Fault`]s the fake injects (a delay, a hang, a 5xx, a reply lost after Twenty applied the
//! write, a truncated body, a write Twenty refuses), plus a network that is down (nothing
//! listens). `make test-twenty` puts it between RepXP and the real server; it also counts the
//! requests that pass, which is how the request budgets are measured there.
//!
//! Hand-written on hyper and reqwest, which the workspace already builds: a TCP-level fault
//! proxy (toxiproxy and its ports) cannot lose a reply *after* the request was applied, nor
//! refuse a write by what its body carries.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::fake::faults::{Fault, FaultKind, FaultSet};

/// What passed through the proxy.
#[derive(Debug, Clone, Default)]
pub struct ProxyStats {
    /// Requests that reached the proxy (answered by Twenty or by a fault).
    pub total: u64,
    /// By what they were: `graphql`, `rest GET`, `rest POST`, …
    pub by_kind: BTreeMap<String, u64>,
    /// Connections refused while the network was down.
    pub refused: u64,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    faults: Mutex<FaultSet>,
    stats: Mutex<ProxyStats>,
}

impl Shared {
    fn faults(&self) -> MutexGuard<'_, FaultSet> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stats(&self) -> MutexGuard<'_, ProxyStats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running proxy on 127.0.0.1.
pub struct FaultProxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// `true` while the network is down: the port is closed, so connecting fails at once.
    down: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`) on a free loopback port.
    pub async fn start(upstream: &str) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .map_err(std::io::Error::other)?,
            faults: Mutex::new(FaultSet::default()),
            stats: Mutex::new(ProxyStats::default()),
        });
        let (down, down_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, addr, shared.clone(), down_rx));
        Ok(FaultProxy {
            shared,
            addr,
            down,
            task: Some(task),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_fault(&self, fault: Fault) {
        self.shared.faults().push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// The network goes down (`true`: nothing listens on the port, connections are refused)
    /// or comes back.
    pub fn set_down(&self, down: bool) {
        let _ = self.down.send(down);
    }

    pub fn stats(&self) -> ProxyStats {
        self.shared.stats().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

async fn accept_loop(
    mut listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    mut down: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                tokio::spawn(serve(stream, shared.clone(), down.clone()));
            }
            changed = down.changed() => {
                if changed.is_err() {
                    return;
                }
                if !*down.borrow() {
                    continue;
                }
                // Down: close the port until the network is back, then listen again on it.
                drop(listener);
                while *down.borrow() {
                    if down.changed().await.is_err() {
                        return;
                    }
                }
                listener = loop {
                    match TcpListener::bind(addr).await {
                        Ok(l) => break l,
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                };
            }
        }
    }
}

/// One client connection; a fault may cut it (a reply lost) or the network going down.
async fn serve(stream: TcpStream, shared: Arc<Shared>, mut down: watch::Receiver<bool>) {
    let kill = Arc::new(Notify::new());
    let cut = kill.clone();
    let service = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        let cut = cut.clone();
        async move { Ok::<_, Infallible>(forward(&shared, req, &cut).await) }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = down.wait_for(|d| *d) => {}
    }
}

fn answer(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn forward(shared: &Shared, req: Request<Incoming>, cut: &Notify) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return answer(400, String::new()),
    };
    let path = parts.uri.path().to_string();
    let graphql = path == "/graphql";
    let method = parts.method.as_str().to_string();
    let text = String::from_utf8_lossy(&body).to_string();
    let is_write = if graphql {
        text.contains("mutation")
    } else {
        method != "GET"
    };
    let records = graphql || path.starts_with("/rest/") && !path.starts_with("/rest/metadata");
    let public = path == "/client-config" || path == "/healthz";
    let (faults, reject) = {
        let mut set = shared.faults();
        let taken = set.take_for(&method, is_write, records, public);
        let reject = if is_write {
            set.take_reject(&method, &text)
        } else {
            None
        };
        (taken, reject)
    };
    {
        let mut stats = shared.stats();
        stats.total += 1;
        let kind = if graphql {
            "graphql".to_string()
        } else {
            format!("rest {method}")
        };
        *stats.by_kind.entry(kind).or_default() += 1;
    }
    for f in &faults {
        if let FaultKind::Delay { ms } = f {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
        }
    }
    for f in &faults {
        match f {
            FaultKind::Hang => std::future::pending::<()>().await,
            FaultKind::ServerError { status } => {
                let body = json!({"statusCode": status, "error": "Bad Gateway", "messages": ["upstream unavailable"]});
                return answer(*status, body.to_string());
            }
            _ => {}
        }
    }
    if let Some((status, message)) = reject {
        // Twenty's own shape for a refused value: GraphQL says it in `errors`, REST in `messages`.
        let body = if graphql {
            (
                400,
                json!({"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}),
            )
        } else {
            (
                status,
                json!({"statusCode": status, "error": "BadRequestException", "messages": [message]}),
            )
        };
        return answer(body.0, body.1.to_string());
    }
    let url = format!(
        "{}{}",
        shared.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut up = shared
        .http
        .request(parts.method.clone(), &url)
        .body(body.clone());
    for name in ["authorization", "content-type", "accept"] {
        if let Some(v) = parts.headers.get(name) {
            up = up.header(name, v);
        }
    }
    let (status, bytes) = match up.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(b) => (status, b),
                Err(_) => return answer(502, String::new()),
            }
        }
        Err(_) => return answer(502, String::new()),
    };
    if faults.iter().any(|f| matches!(f, FaultKind::ApplyThenDrop)) {
        // Twenty applied it; the reply never arrives.
        cut.notify_one();
        std::future::pending::<()>().await;
    }
    if faults.iter().any(|f| matches!(f, FaultKind::MalformedJson)) {
        let half = bytes.slice(..bytes.len() / 2);
        return answer(200, String::from_utf8_lossy(&half).to_string());
    }
    answer(status, String::from_utf8_lossy(&bytes).to_string())
}
