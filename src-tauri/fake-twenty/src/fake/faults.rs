//! Injected faults. Nothing here imitates Twenty: these are the network and concurrency
//! failures a real deployment shows, switchable at runtime from Rust or over HTTP.
//!
//! JSON form (admin endpoint `POST /__fake/faults`), e.g.
//! `{"kind":"delay","ms":500,"times":3,"method":"PATCH"}` or `{"kind":"apply_then_drop"}`.
//! `times` absent = until cleared; `method` absent = every method.
//!
//! Other writers: `{"kind":"concurrent_writer","xp":25,"add_boss":"hydra"}` (the academy app,
//! unchanged) and `{"kind":"other_writer","add_boss":"dragon","keep_updated_at":true}` (any field,
//! see [`OtherWrite`]). A workspace that refuses values:
//! `{"kind":"reject_writes","contains":"\"level\"","message":"…","times":1}`.
//!
//! "Record write" below means POST, PATCH, PUT or DELETE on `/rest/{object}...` (create, update
//! one/many, delete/destroy one/many, restore one/many) and a GraphQL mutation of records
//! (`POST /graphql` naming `updateRepProgressions`, `createRepProgression`, …). A fault's
//! `method` is an HTTP method, or `WRITE` for every record write whatever its method (RepXP's
//! GraphQL reads and writes are all `POST`): `{"kind":"apply_then_drop","method":"WRITE"}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    /// Answer every request as for a key revoked under the client's feet: June 2025 403
    /// `FORBIDDEN_EXCEPTION` "This API Key is revoked" (the real server's answer), newest 403
    /// "Forbidden resource"; on `/graphql` and `/metadata` a 200 GraphQL error with code
    /// `FORBIDDEN`. The unauthenticated `/client-config` is not affected.
    AuthFailure,
    /// The workspace's credit allowance is spent: records requests answer 402
    /// `{"statusCode":402,"error":"QUOTA_EXHAUSTED",…,"exhaustedKind":"allowance",…}` with no
    /// Retry-After (`TwentyError::quota_exhausted`, usage-limit-to-rest-api-exception-handler.util.ts
    /// `123fc19f` / spec `ace2093b`). Metadata and `/client-config` are not affected. Applied after
    /// the key is checked and before rate limiting (the order is Unverified). JSON:
    /// `{"kind":"quota_exhausted"}`.
    QuotaExhausted,
    /// The workspace has no subscription plan (`IS_PLAN_REQUIRED_API_ENFORCEMENT_ENABLED`): records
    /// requests answer 402 `{"statusCode":402,"error":"PaymentRequiredException","messages":["Workspace
    /// subscription plan is required"],"code":"BILLING_PLAN_REQUIRED"}` (`TwentyError::plan_required`,
    /// workspace-plan-required.guard.ts, HTTP spec `72b0ad41`). Same scope as `QuotaExhausted`.
    /// JSON: `{"kind":"plan_required"}`.
    PlanRequired,
    /// Before the next record write (POST/PATCH/PUT/DELETE on records) is applied, another
    /// writer (the academy app) adds `xp` to `totalXp`, optionally bumps `syncRevision` and
    /// appends a boss to the `defeatedBosses` JSON list, on the record with `rep_email` (or every
    /// record), and stamps `updatedAt`.
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
    /// Before the next record write (POST/PATCH/PUT/DELETE on records) is applied, and under the
    /// same lock, another client changes the record with `rep_email` (or every record, trashed
    /// ones included, as Twenty's updates match trashed rows) as described by [`OtherWrite`].
    /// JSON: `{"kind":"other_writer", ...OtherWrite fields}`.
    OtherWriter(OtherWrite),
    /// A record write whose raw request body contains `contains` is answered
    /// `{"statusCode":status,"error":"BadRequestException","messages":[message]}` and not applied.
    /// Stands for a workspace that refuses certain values, e.g. a field an admin turned into a
    /// SELECT so that free text no longer validates. `times` counts rejected requests (writes
    /// whose body does not contain `contains` do not use it up); `method` applies as usual.
    /// The check runs after rate limiting and after any other-writer fault fired.
    RejectWrites {
        contains: String,
        #[serde(default = "bad_request_status")]
        status: u16,
        message: String,
    },
}

fn default_status() -> u16 {
    500
}

fn bad_request_status() -> u16 {
    400
}

/// A metric another writer sets in the `efficiencyMetrics` JSON object text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    pub name: String,
    pub value: f64,
}

/// What an [`FaultKind::OtherWriter`] changes. Every field is optional in JSON.
///
/// List and object fields are JSON *text* (RepXP's TEXT fields). A change is applied only when
/// the stored text parses as the expected JSON kind (a null column counts as empty); unreadable
/// text is left alone and the rest of the write still applies. `set_fields` is applied last.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OtherWrite {
    /// Only the record with this `repEmail`; `None` = every record.
    pub rep_email: Option<String>,
    /// Added to `totalXp` (0 = `totalXp` untouched).
    pub xp: i64,
    /// Add 1 to `syncRevision` (default false: a writer that ignores the protocol).
    pub bump_revision: bool,
    /// Appended to the `defeatedBosses` JSON list text.
    pub add_boss: Option<String>,
    /// Adds `"<id>": {}` to the `passedExams` JSON object text (existing entries kept).
    pub add_exam: Option<String>,
    /// Sets one key of the `efficiencyMetrics` JSON object text.
    pub set_metric: Option<MetricValue>,
    /// Raw values stored as given, after everything else, e.g.
    /// `{"defeatedBosses": "gatekeeper, dragon"}` (unreadable text) or `{"level": 9}`.
    pub set_fields: Option<Map<String, Value>>,
    /// false: the write stamps `updatedAt` like Twenty (`CURRENT_TIMESTAMP`); true: the writer
    /// sends `updatedAt` itself with the value it had, as a client may, so `updatedAt` does not move.
    pub keep_updated_at: bool,
}

fn yes() -> bool {
    true
}

/// `Fault::method` for every record write.
pub const WRITES: &str = "WRITE";

/// A fault with its scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Apply to the next N matching requests; `None` = until cleared.
    #[serde(default)]
    pub times: Option<u32>,
    /// Only requests with this HTTP method (case-insensitive), or `WRITE`: only record writes
    /// (REST or GraphQL); `None` = all.
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

    /// Restrict to record writes, REST or GraphQL (`method: "WRITE"`).
    pub fn on_writes(mut self) -> Self {
        self.method = Some(WRITES.to_string());
        self
    }

    fn matches_method(&self, method: &str, is_write: bool) -> bool {
        match &self.method {
            None => true,
            Some(m) if m.eq_ignore_ascii_case(WRITES) => is_write,
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

    /// Take the faults that apply to one request (everything except `RefuseConnections` and
    /// `RejectWrites`, see [`FaultSet::take_reject`]), counting down their `times`. Write-only
    /// faults (`ConcurrentWriter`, `OtherWriter`) are taken only when `is_write`.
    /// Equivalent to [`FaultSet::take_for`] for a records request (`is_records = true`,
    /// `is_public = false`).
    pub fn take_for_request(&mut self, method: &str, is_write: bool) -> Vec<FaultKind> {
        self.take_for(method, is_write, true, false)
    }

    /// [`FaultSet::take_for_request`] with the request's scope: the 402 faults
    /// (`QuotaExhausted`, `PlanRequired`) are taken only when `is_records` (the records API), and
    /// `AuthFailure` is not taken when `is_public` (an unauthenticated endpoint).
    pub fn take_for(
        &mut self,
        method: &str,
        is_write: bool,
        is_records: bool,
        is_public: bool,
    ) -> Vec<FaultKind> {
        let mut taken = Vec::new();
        for f in &mut self.active {
            if matches!(
                f.kind,
                FaultKind::RefuseConnections | FaultKind::RejectWrites { .. }
            ) || !f.matches_method(method, is_write)
            {
                continue;
            }
            if matches!(
                f.kind,
                FaultKind::ConcurrentWriter { .. } | FaultKind::OtherWriter(_)
            ) && !is_write
            {
                continue;
            }
            if matches!(f.kind, FaultKind::QuotaExhausted | FaultKind::PlanRequired) && !is_records
            {
                continue;
            }
            if matches!(f.kind, FaultKind::AuthFailure) && is_public {
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

    /// The first `RejectWrites` fault for this record write whose `contains` occurs in the raw
    /// body, counted down; returns its `(status, message)`.
    pub fn take_reject(&mut self, method: &str, raw_body: &str) -> Option<(u16, String)> {
        let f = self.active.iter_mut().find(|f| {
            f.matches_method(method, true)
                && matches!(&f.kind, FaultKind::RejectWrites { contains, .. } if raw_body.contains(contains.as_str()))
        })?;
        let FaultKind::RejectWrites {
            status, message, ..
        } = &f.kind
        else {
            return None;
        };
        let answer = (*status, message.clone());
        if let Some(n) = f.times.as_mut() {
            *n = n.saturating_sub(1);
        }
        self.active.retain(|f| f.times != Some(0));
        Some(answer)
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
    fn write_scope_matches_writes_of_any_method() {
        let mut set = FaultSet::default();
        set.push(Fault::times(FaultKind::ApplyThenDrop, 1).on_writes());
        assert!(
            set.take_for_request("POST", false).is_empty(),
            "a GraphQL read"
        );
        assert_eq!(
            set.take_for_request("POST", true).len(),
            1,
            "a GraphQL write"
        );
        let f: Fault =
            serde_json::from_str(r#"{"kind":"apply_then_drop","method":"WRITE"}"#).unwrap();
        assert_eq!(f.method.as_deref(), Some(WRITES));
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

    #[test]
    fn other_writer_json_form() {
        let f: Fault = serde_json::from_str(
            r#"{"kind":"other_writer","add_boss":"dragon","set_metric":{"name":"calls","value":2.5},
                "set_fields":{"level":9},"times":1,"method":"PATCH"}"#,
        )
        .unwrap();
        assert_eq!(f.times, Some(1));
        assert_eq!(f.method.as_deref(), Some("PATCH"));
        let FaultKind::OtherWriter(w) = &f.kind else {
            panic!("{f:?}")
        };
        assert_eq!(w.add_boss.as_deref(), Some("dragon"));
        assert_eq!(w.xp, 0);
        assert!(!w.bump_revision && !w.keep_updated_at);
        assert_eq!(
            w.set_metric,
            Some(MetricValue {
                name: "calls".into(),
                value: 2.5
            })
        );
        let back = serde_json::to_value(&f).unwrap();
        assert_eq!(back["kind"], "other_writer");
        assert_eq!(back["add_boss"], "dragon");
        let again: Fault = serde_json::from_value(back).unwrap();
        assert_eq!(again, f);
        let mut set = FaultSet::default();
        set.push(Fault::times(f.kind, 1));
        assert!(set.take_for_request("GET", false).is_empty());
        assert_eq!(set.take_for_request("DELETE", true).len(), 1);
    }

    #[test]
    fn payment_faults_only_touch_records_requests() {
        let f: Fault = serde_json::from_str(r#"{"kind":"quota_exhausted","times":1}"#).unwrap();
        assert_eq!(f.kind, FaultKind::QuotaExhausted);
        let p: Fault = serde_json::from_str(r#"{"kind":"plan_required"}"#).unwrap();
        assert_eq!(p.kind, FaultKind::PlanRequired);
        let mut set = FaultSet::default();
        set.push(f);
        assert!(set.take_for("GET", false, false, false).is_empty());
        assert_eq!(
            set.take_for("GET", false, true, false),
            vec![FaultKind::QuotaExhausted]
        );
        assert!(set.active.is_empty());
        set.push(Fault::always(FaultKind::AuthFailure));
        assert!(set.take_for("GET", false, false, true).is_empty());
        assert_eq!(set.take_for("GET", false, false, false).len(), 1);
    }

    #[test]
    fn reject_writes_counts_only_rejections() {
        let f: Fault = serde_json::from_str(
            r#"{"kind":"reject_writes","contains":"level","message":"nope","times":1}"#,
        )
        .unwrap();
        assert_eq!(
            f.kind,
            FaultKind::RejectWrites {
                contains: "level".into(),
                status: 400,
                message: "nope".into()
            }
        );
        let mut set = FaultSet::default();
        set.push(f);
        assert!(set.take_for_request("PATCH", true).is_empty());
        assert_eq!(set.take_reject("PATCH", r#"{"totalXp":1}"#), None);
        assert_eq!(
            set.take_reject("PATCH", r#"{"level":2}"#),
            Some((400, "nope".to_string()))
        );
        assert!(set.active.is_empty());
    }
}
