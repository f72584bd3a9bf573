//! The rep's side of web pairing, for the process serving the API (the tray shows the request in
//! a notification and the panel; `repxp-cli web` reaches the same through HTTP): who is asking,
//! who may award, and the answers. Every change bumps a counter the tray watches.

use std::sync::Arc;

use tokio::sync::watch;

use crate::server::Shared;
use crate::web::Origin;

/// Why an answer of the rep did nothing.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("{0:?} is not a web page's origin (https://host[:port])")]
    NotAnOrigin(String),
    #[error("{0} is not asking to pair: open its page and let it ask first")]
    NotAsking(Origin),
    #[error("{0} was neither allowed nor denied")]
    Unknown(Origin),
    #[error("{0:?}: answer allow, deny or revoke")]
    NoSuchAnswer(String),
    #[error("internal error: web origins lock")]
    Lock,
    #[error(transparent)]
    Save(#[from] crate::AwardApiError),
}

/// A handle on the running API's web origins.
#[derive(Clone)]
pub struct WebDesk {
    pub(crate) shared: Arc<Shared>,
}

/// One origin the rep decided on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OriginView {
    pub origin: String,
    /// "allowed" or "denied".
    pub state: &'static str,
    /// When the rep decided, Unix seconds.
    pub at: u64,
}

impl WebDesk {
    /// The origin asking to pair right now, if any.
    pub fn waiting(&self) -> Option<String> {
        let mut w = self.shared.web.lock().ok()?;
        w.waiting().map(|o| o.to_string())
    }

    pub fn origins(&self) -> Vec<OriginView> {
        self.shared.web.lock().map_or_else(
            |_| Vec::new(),
            |w| {
                w.list()
                    .into_iter()
                    .map(|(origin, state, at)| OriginView {
                        origin: origin.to_string(),
                        state,
                        at,
                    })
                    .collect()
            },
        )
    }

    /// Bumped whenever a page asks or the rep answers.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    /// The rep's answer, `action` one of allow, deny, revoke: the line to show.
    pub fn decide(&self, action: &str, origin: &str) -> Result<String, DecideError> {
        let origin =
            Origin::parse(origin).ok_or_else(|| DecideError::NotAnOrigin(origin.to_string()))?;
        let mut w = self.shared.web.lock().map_err(|_| DecideError::Lock)?;
        let said = match action {
            "allow" => match w.allow(&origin)? {
                true => Ok(format!("{origin} may award XP now")),
                false => Err(DecideError::NotAsking(origin.clone())),
            },
            "deny" => w
                .deny(&origin)
                .map(|()| format!("{origin} denied; its page is not asked about again today"))
                .map_err(DecideError::from),
            "revoke" => match w.revoke(&origin)? {
                true => Ok(format!("{origin} may no longer award XP")),
                false => Err(DecideError::Unknown(origin.clone())),
            },
            other => Err(DecideError::NoSuchAnswer(other.to_string())),
        };
        drop(w);
        if said.is_ok() {
            tracing::info!(%origin, action, "web origin decision");
            self.shared.bump();
        }
        said
    }
}
