//! Injected faults. Nothing here imitates Twenty: these are the network and concurrency
//! failures a real deployment shows, switchable at runtime from Rust or over HTTP.
//!
//! JSON form (admin endpoint `POST /__fake/faults`), e.g.
//! `{"kind":"delay","ms":500,"times":3,"method":"PATCH"}` or `{"kind":"apply_then_drop"}`.
//! `times` absent = until cleared; `method` absent = every method.

use serde::{Deserialize, Serialize};

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Wait `ms` before handling the request normally.
    Delay { ms: u64 },
    /// Never answer (the client must time out). The request is not applied.
    Hang,
    /// Answer `status` (500, 502, 503, 504) with a Twenty-like body, without applying.
    ServerError {
        #[serde(default = "default_status")]
        status: u16,
    },
    /// Close each new TCP connection at once, and drop open keep-alive connections when set.
    /// `times` counts connections, `method` is ignored.
    RefuseConnections,
    /// Apply the request, then close the connection without any response.
    ApplyThenDrop,
    /// Apply the request, then answer 200 with a truncated, unparseable JSON body.
    MalformedJson,
    /// Answer every request 403 "Forbidden resource", as for a revoked key.
    AuthFailure,
    /// Before the next write (POST/PATCH on records) is applied, another writer (the academy
    /// app) adds `xp` to `totalXp`, optionally bumps `syncRevision` and appends a boss to the
    /// `defeatedBosses` JSON list, on the record with `rep_email` (or every record).
    ConcurrentWriter {
        #[serde(default)]
        xp: i64,
        #[serde(default = "yes")]
        bump_revision: bool,
        #[serde(default)]
        add_boss: Option<String>,
        #[serde(default)]
        rep_email: Option<String>,
    },
}

fn default_status() -> u16 {
    500
}

fn yes() -> bool {
    true
}

/// A fault with its scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Apply to the next N matching requests; `None` = until cleared.
    #[serde(default)]
    pub times: Option<u32>,
    /// Only requests with this HTTP method (case-insensitive); `None` = all.
    #[serde(default)]
    pub method: Option<String>,
}

impl Fault {
    /// A fault that applies until cleared, to every method.
    pub fn always(kind: FaultKind) -> Self {
        Fault {
            kind,
            times: None,
            method: None,
        }
    }
    /// A fault for the next `n` matching requests.
    pub fn times(kind: FaultKind, n: u32) -> Self {
        Fault {
            kind,
            times: Some(n),
            method: None,
        }
    }
    /// Restrict to one HTTP method (GET, PATCH, POST, ...).
    pub fn on_method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    fn matches_method(&self, method: &str) -> bool {
        match &self.method {
            None => true,
            Some(m) => m.eq_ignore_ascii_case(method),
        }
    }
}

/// The active faults, in the order they were set.
#[derive(Debug, Default, Clone)]
pub struct FaultSet {
    pub active: Vec<Fault>,
}

impl FaultSet {
    pub fn push(&mut self, fault: Fault) {
        if fault.times != Some(0) {
            self.active.push(fault);
        }
    }

    pub fn clear(&mut self) {
        self.active.clear();
    }

    /// Take the faults that apply to one request (everything except `RefuseConnections`),
    /// counting down their `times`. Write-only faults (`ConcurrentWriter`) are taken only
    /// when `is_write`.
    pub fn take_for_request(&mut self, method: &str, is_write: bool) -> Vec<FaultKind> {
        let mut taken = Vec::new();
        for f in &mut self.active {
            if matches!(f.kind, FaultKind::RefuseConnections) || !f.matches_method(method) {
                continue;
            }
            if matches!(f.kind, FaultKind::ConcurrentWriter { .. }) && !is_write {
                continue;
            }
            taken.push(f.kind.clone());
            if let Some(n) = f.times.as_mut() {
                *n = n.saturating_sub(1);
            }
        }
        self.active.retain(|f| f.times != Some(0));
        taken
    }

    /// Should the next accepted connection be closed at once?
    pub fn take_refuse(&mut self) -> bool {
        let Some(f) = self
            .active
            .iter_mut()
            .find(|f| matches!(f.kind, FaultKind::RefuseConnections))
        else {
            return false;
        };
        if let Some(n) = f.times.as_mut() {
            *n = n.saturating_sub(1);
        }
        self.active.retain(|f| f.times != Some(0));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_counting() {
        let f: Fault =
            serde_json::from_str(r#"{"kind":"delay","ms":5,"times":2,"method":"patch"}"#).unwrap();
        assert_eq!(f.kind, FaultKind::Delay { ms: 5 });
        let mut set = FaultSet::default();
        set.push(f);
        assert!(set.take_for_request("GET", false).is_empty());
        assert_eq!(set.take_for_request("PATCH", true).len(), 1);
        assert_eq!(set.take_for_request("PATCH", true).len(), 1);
        assert!(set.take_for_request("PATCH", true).is_empty());
        assert!(set.active.is_empty());
    }

    #[test]
    fn concurrent_writer_defaults() {
        let f: Fault = serde_json::from_str(r#"{"kind":"concurrent_writer","xp":40}"#).unwrap();
        assert_eq!(
            f.kind,
            FaultKind::ConcurrentWriter {
                xp: 40,
                bump_revision: true,
                add_boss: None,
                rep_email: None
            }
        );
        let mut set = FaultSet::default();
        set.push(Fault::times(f.kind, 1));
        assert!(
            set.take_for_request("GET", false).is_empty(),
            "reads don't trigger it"
        );
        assert_eq!(set.take_for_request("PATCH", true).len(), 1);
    }
}
