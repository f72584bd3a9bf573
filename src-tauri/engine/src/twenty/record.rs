//! The rep's `repProgression` record in Twenty's JSON, read leniently and written strictly.
//!
//! Lists and maps live in TEXT fields holding JSON (the existing schema); RAW_JSON fields, which
//! Twenty returns as JSON values, are read too. Anything unreadable is a `Malformed` error naming
//! the field, never a panic and never a silent zero.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::error::TwentyError;
use crate::snapshot::{ExamResult, NullFields, Snapshot};
use crate::sync::plan::level_of;
use crate::timefmt;

fn malformed(field: &str, why: impl std::fmt::Display) -> TwentyError {
    TwentyError::Malformed {
        detail: format!("field {field}: {why}"),
    }
}

/// A TEXT field holding JSON, or a RAW_JSON field holding the value; `None` when null/empty.
fn json_field(rec: &Map<String, Value>, field: &str) -> Result<Option<Value>, TwentyError> {
    match rec.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|e| malformed(field, format!("not JSON text ({e})"))),
        Some(v) => Ok(Some(v.clone())),
    }
}

fn integer(rec: &Map<String, Value>, field: &str) -> Result<i64, TwentyError> {
    match rec.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| malformed(field, format!("{n} is not a whole number"))),
        Some(other) => Err(malformed(field, format!("expected a number, got {other}"))),
    }
}

fn is_null(rec: &Map<String, Value>, field: &str) -> bool {
    matches!(rec.get(field), None | Some(Value::Null))
}

fn text(rec: &Map<String, Value>, field: &str) -> Result<Option<String>, TwentyError> {
    match rec.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(malformed(field, format!("expected text, got {other}"))),
    }
}

fn id_of(v: &Value, keys: &[&str]) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => keys
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string)),
        _ => None,
    }
}

fn bosses(v: Option<Value>) -> Result<BTreeSet<String>, TwentyError> {
    let Some(v) = v else {
        return Ok(BTreeSet::new());
    };
    let Value::Array(items) = v else {
        return Err(malformed("defeatedBosses", "expected a JSON array"));
    };
    items
        .iter()
        .map(|i| {
            id_of(i, &["id", "bossId"])
                .ok_or_else(|| malformed("defeatedBosses", format!("cannot read item {i}")))
        })
        .collect()
}

fn score(v: Option<&Value>) -> Result<Option<f64>, TwentyError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(malformed(
            "passedExams",
            format!("score {other} is not a number"),
        )),
    }
}

fn exams(v: Option<Value>) -> Result<BTreeMap<String, ExamResult>, TwentyError> {
    let mut out: BTreeMap<String, ExamResult> = BTreeMap::new();
    let mut add = |id: String, r: ExamResult| {
        let merged = out.get(&id).map(|e| e.merge(&r)).unwrap_or(r);
        out.insert(id, merged);
    };
    match v {
        None => {}
        // {"objections": {"score": 90}} (what RepXP writes)
        Some(Value::Object(m)) => {
            for (id, r) in m {
                let s = match &r {
                    Value::Object(o) => score(o.get("score"))?,
                    Value::Number(_) | Value::Null => score(Some(&r))?,
                    other => return Err(malformed("passedExams", format!("cannot read {other}"))),
                };
                add(id, ExamResult { score: s });
            }
        }
        // ["objections", {"id": "discovery", "score": 80}]
        Some(Value::Array(items)) => {
            for i in items {
                let id = id_of(&i, &["id", "examId"])
                    .ok_or_else(|| malformed("passedExams", format!("cannot read item {i}")))?;
                let s = match &i {
                    Value::Object(o) => score(o.get("score"))?,
                    _ => None,
                };
                add(id, ExamResult { score: s });
            }
        }
        Some(other) => return Err(malformed("passedExams", format!("cannot read {other}"))),
    }
    Ok(out)
}

fn metrics(v: Option<Value>) -> Result<BTreeMap<String, f64>, TwentyError> {
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(m) = v else {
        return Err(malformed("efficiencyMetrics", "expected a JSON object"));
    };
    m.into_iter()
        .map(|(k, v)| match v.as_f64() {
            Some(f) => Ok((k, f)),
            None => Err(malformed(
                "efficiencyMetrics",
                format!("{k} = {v} is not a number"),
            )),
        })
        .collect()
}

fn watermarks(v: Option<Value>) -> Result<BTreeMap<String, u64>, TwentyError> {
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(m) = v else {
        return Err(malformed("syncWatermarks", "expected a JSON object"));
    };
    m.into_iter()
        .map(|(k, v)| match v.as_u64() {
            Some(n) => Ok((k, n)),
            None => Err(malformed(
                "syncWatermarks",
                format!("{k} = {v} is not a batch number"),
            )),
        })
        .collect()
}

/// Reads one record object (the value under `data.repProgression`, or an element of a list).
pub fn parse_record(v: &Value) -> Result<Snapshot, TwentyError> {
    let rec = v.as_object().ok_or_else(|| TwentyError::Malformed {
        detail: format!("expected a record object, got {}", short(v)),
    })?;
    let id = text(rec, "id")?.ok_or_else(|| malformed("id", "missing"))?;
    Ok(Snapshot {
        remote_id: Some(id),
        total_xp: integer(rec, "totalXp")?,
        defeated_bosses: bosses(json_field(rec, "defeatedBosses")?)?,
        passed_exams: exams(json_field(rec, "passedExams")?)?,
        efficiency_metrics: metrics(json_field(rec, "efficiencyMetrics")?)?,
        last_activity_date: text(rec, "lastActivityDate")?,
        sync_watermarks: watermarks(json_field(rec, "syncWatermarks")?)?,
        sync_revision: integer(rec, "syncRevision")?,
        updated_at: text(rec, "updatedAt")?,
        null_fields: NullFields {
            sync_revision: is_null(rec, "syncRevision"),
            total_xp: is_null(rec, "totalXp"),
        },
    })
}

/// The fields RepXP writes (never `id`, `repEmail` only on create).
pub fn write_fields(s: &Snapshot) -> Value {
    let exams: Map<String, Value> = s
        .passed_exams
        .iter()
        .map(|(id, r)| (id.clone(), serde_json::to_value(r).unwrap_or(Value::Null)))
        .collect();
    let last_activity = s
        .last_activity_date
        .as_deref()
        .and_then(|t| timefmt::parse(t).ok())
        .map(timefmt::format);
    json!({
        "totalXp": s.total_xp,
        "level": level_of(s),
        "defeatedBosses": Value::from(s.defeated_bosses.iter().cloned().collect::<Vec<_>>()).to_string(),
        "passedExams": Value::Object(exams).to_string(),
        "efficiencyMetrics": json!(s.efficiency_metrics).to_string(),
        "syncWatermarks": json!(s.sync_watermarks).to_string(),
        "syncRevision": s.sync_revision,
        "lastActivityDate": last_activity,
    })
}

/// A value shortened for an error message (a malformed body can be megabytes of HTML).
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_text_json_and_raw_json_alike() {
        let text = json!({"id": "r1", "totalXp": 120, "defeatedBosses": "[\"gatekeeper\"]",
            "passedExams": "{\"objections\":{\"score\":90}}", "efficiencyMetrics": "{\"talk\":0.4}",
            "syncWatermarks": "{\"dev\":3}", "syncRevision": 7, "lastActivityDate": null,
            "updatedAt": "2026-11-25T10:00:00.000Z"});
        let raw = json!({"id": "r1", "totalXp": 120.0, "defeatedBosses": ["gatekeeper"],
            "passedExams": [{"examId": "objections", "score": 90}], "efficiencyMetrics": {"talk": 0.4},
            "syncWatermarks": {"dev": 3}, "syncRevision": 7, "updatedAt": "2026-11-25T10:00:00.000Z"});
        let a = parse_record(&text).expect("text form");
        let b = parse_record(&raw).expect("raw form");
        assert_eq!(a, b);
        assert_eq!(a.total_xp, 120);
        assert_eq!(a.sync_watermarks["dev"], 3);
    }

    #[test]
    fn a_fresh_record_with_nulls_reads_as_empty() {
        let s = parse_record(&json!({"id": "r1", "repEmail": "a@b.c", "totalXp": null}))
            .expect("nulls");
        assert_eq!(s.total_xp, 0);
        assert!(s.defeated_bosses.is_empty());
    }

    #[test]
    fn bad_values_are_named_errors() {
        for (rec, field) in [
            (json!({"totalXp": 1}), "id"),
            (json!({"id": "r", "totalXp": "lots"}), "totalXp"),
            (json!({"id": "r", "totalXp": 1.5}), "totalXp"),
            (
                json!({"id": "r", "defeatedBosses": "not json"}),
                "defeatedBosses",
            ),
            (
                json!({"id": "r", "syncWatermarks": "{\"d\":-1}"}),
                "syncWatermarks",
            ),
            (
                json!({"id": "r", "efficiencyMetrics": "[1]"}),
                "efficiencyMetrics",
            ),
        ] {
            let err = parse_record(&rec).expect_err("must fail");
            assert!(err.to_string().contains(field), "{err}");
        }
        assert!(parse_record(&json!([1, 2])).is_err());
    }

    #[test]
    fn write_then_read_round_trips() {
        let mut s = Snapshot {
            remote_id: Some("r1".into()),
            total_xp: 1240,
            sync_revision: 3,
            ..Snapshot::default()
        };
        s.defeated_bosses.insert("gatekeeper".into());
        s.passed_exams
            .insert("objections".into(), ExamResult { score: Some(88.0) });
        s.passed_exams
            .insert("discovery".into(), ExamResult { score: None });
        s.efficiency_metrics.insert("talk".into(), 0.25);
        s.sync_watermarks.insert("dev".into(), 9);
        s.last_activity_date = Some("2026-11-25T10:00:00.000Z".into());
        let mut written = write_fields(&s);
        assert_eq!(written["level"], 7);
        written["id"] = json!("r1");
        assert_eq!(parse_record(&written).expect("round trip"), s);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-zA-Z]{1,16}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever Twenty (or a proxy, or the academy app) puts in the record: an answer, never a panic.
        #[test]
        fn parse_record_never_panics(v in arb_json(), fields in proptest::collection::btree_map(
            prop_oneof![Just("id"), Just("totalXp"), Just("defeatedBosses"), Just("passedExams"),
                Just("efficiencyMetrics"), Just("syncWatermarks"), Just("syncRevision"), Just("lastActivityDate")],
            arb_json(), 0..8)) {
            let _ = parse_record(&v);
            let mut obj: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let _ = parse_record(&Value::Object(obj.clone()));
            obj.insert("id".into(), json!("r"));
            let _ = parse_record(&Value::Object(obj));
        }
    }
}
