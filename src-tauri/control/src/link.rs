//! The panel process's line to the tray process: each relayed command gets an id, and the tray's
//! reply with that id answers it. panel.rs carries the lines; commands.rs's relay calls [`call`].
//!
//! [`call`]: PanelLink::call

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{line, PanelCommand, Request};

/// test_connection alone may take a 5 s connect plus a 10 s request.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

const TRAY_GONE: &str = "RepXP's tray has stopped; start RepXP again";

pub struct PanelLink {
    out: mpsc::UnboundedSender<String>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>,
    next_id: AtomicU64,
}

impl PanelLink {
    /// A link whose requests go out as lines on `out`.
    pub fn new(out: mpsc::UnboundedSender<String>) -> PanelLink {
        PanelLink {
            out,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        }
    }

    /// Relays one command and waits for the tray's answer.
    pub async fn call(&self, command: PanelCommand) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| "internal error: pending lock")?
            .insert(id, tx);
        self.out
            .send(line(&Request::Call { id, command }))
            .map_err(|_| TRAY_GONE)?;
        match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(TRAY_GONE.into()),
            Err(_) => {
                if let Ok(mut p) = self.pending.lock() {
                    p.remove(&id);
                }
                Err("RepXP did not answer within a minute; try again".into())
            }
        }
    }

    /// The tray's reply to call `id`.
    pub fn answer(&self, id: u64, result: Result<Value, String>) {
        let waiter = self.pending.lock().ok().and_then(|mut p| p.remove(&id));
        if let Some(w) = waiter {
            let _ = w.send(result);
        }
    }
}
