//! The rep's `repProgression` record in Twenty's JSON, read leniently and written minimally.
//!
//! Lists and maps live in TEXT fields holding JSON (the existing schema); RAW_JSON fields, which
//! Twenty returns as JSON values, are read too. A field RepXP cannot read (another tool wrote
//! plain text into `defeatedBosses`, a fractional `totalXp`) is recorded in
//! `Snapshot::unreadable` with the reason and never written back: it is not RepXP's to repair.
//! Only a record without an `id` is unreadable as a whole (`Malformed`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::error::TwentyError;
use super::list_fields::{self, BOSS_KEYS, EXAM_KEYS};
use crate::snapshot::{ExamResult, NullFields, Snapshot, Watermark};
use crate::timefmt;

/// Why a field cannot be read; becomes `Snapshot::unreadable[field]`.
type Unreadable = String;

fn shown(v: &Value) -> String {
    let s = short(v);
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// A TEXT field holding JSON, or a RAW_JSON field holding the value; `None` when null/empty.
fn json_field(rec: &Map<String, Value>, field: &str) -> Result<Option<Value>, Unreadable> {
    match rec.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|_| {
            format!(
                "holds text that is not JSON ({})",
                shown(&Value::String(s.clone()))
            )
        }),
        Some(v) => Ok(Some(v.clone())),
    }
}

fn integer(rec: &Map<String, Value>, field: &str) -> Result<i64, Unreadable> {
    match rec.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| format!("holds {n}, not a whole number")),
        Some(other) => Err(format!("holds {}, not a number", shown(other))),
    }
}

fn is_null(rec: &Map<String, Value>, field: &str) -> bool {
    matches!(rec.get(field), None | Some(Value::Null))
}

fn text(rec: &Map<String, Value>, field: &str) -> Result<Option<String>, Unreadable> {
    match rec.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("holds {}, not text", shown(other))),
    }
}

fn id_of(v: &Value, keys: &[&str]) -> Option<String> {
    list_fields::identity(v, keys)
}

fn bosses(v: Option<Value>) -> Result<BTreeSet<String>, Unreadable> {
    let Some(v) = v else {
        return Ok(BTreeSet::new());
    };
    let Value::Array(items) = v else {
        return Err(format!("holds {}, not a JSON list", shown(&v)));
    };
    items
        .iter()
        .map(|i| {
            id_of(i, &BOSS_KEYS)
                .ok_or_else(|| format!("has an item RepXP cannot read: {}", shown(i)))
        })
        .collect()
}

fn score(v: Option<&Value>) -> Result<Option<f64>, Unreadable> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(format!(
            "has a score that is not a number: {}",
            shown(other)
        )),
    }
}

fn exams(v: Option<Value>) -> Result<BTreeMap<String, ExamResult>, Unreadable> {
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
                    other => {
                        return Err(format!("has an entry RepXP cannot read: {}", shown(other)))
                    }
                };
                add(id, ExamResult { score: s });
            }
        }
        // ["objections", {"id": "discovery", "score": 80}]
        Some(Value::Array(items)) => {
            for i in items {
                let id = id_of(&i, &EXAM_KEYS)
                    .ok_or_else(|| format!("has an item RepXP cannot read: {}", shown(&i)))?;
                let s = match &i {
                    Value::Object(o) => score(o.get("score"))?,
                    _ => None,
                };
                add(id, ExamResult { score: s });
            }
        }
        Some(other) => {
            return Err(format!(
                "holds {}, not a JSON object or list",
                shown(&other)
            ))
        }
    }
    Ok(out)
}

fn metrics(v: Option<Value>) -> Result<BTreeMap<String, f64>, Unreadable> {
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(m) = v else {
        return Err(format!("holds {}, not a JSON object", shown(&v)));
    };
    m.into_iter()
        .map(|(k, v)| match v.as_f64() {
            Some(f) => Ok((k, f)),
            None => Err(format!("has {k} = {}, not a number", shown(&v))),
        })
        .collect()
}

fn watermarks(v: Option<Value>) -> Result<BTreeMap<String, Watermark>, Unreadable> {
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(m) = v else {
        return Err(format!("holds {}, not a JSON object", shown(&v)));
    };
    m.into_iter()
        .map(|(k, v)| {
            let wm = match &v {
                Value::Number(n) => n.as_u64().map(Watermark::Legacy),
                Value::Object(o) => match (
                    o.get("seq").and_then(Value::as_i64),
                    o.get("event").and_then(Value::as_str),
                ) {
                    (Some(seq), Some(event)) if seq > 0 => Some(Watermark::Event {
                        seq,
                        event: event.to_string(),
                        at: o.get("at").and_then(Value::as_str).map(str::to_string),
                    }),
                    _ => None,
                },
                _ => None,
            };
            wm.map(|w| (k.clone(), w))
                .ok_or_else(|| format!("has {k} = {}, not a watermark", shown(&v)))
        })
        .collect()
}

/// `Some(value)`, or `None` with the reason recorded under `field`.
fn take<T>(
    unreadable: &mut BTreeMap<String, String>,
    field: &str,
    r: Result<T, Unreadable>,
) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(why) => {
            unreadable.insert(field.to_string(), why);
            None
        }
    }
}

/// Reads one record object (the value under `data.repProgression`, or an element of a list).
pub fn parse_record(v: &Value) -> Result<Snapshot, TwentyError> {
    let rec = v.as_object().ok_or_else(|| TwentyError::Malformed {
        detail: format!("expected a record object, got {}", short(v)),
    })?;
    let id = match text(rec, "id") {
        Ok(Some(id)) if !id.is_empty() => id,
        _ => {
            return Err(TwentyError::Malformed {
                detail: format!("a record without an id: {}", short(v)),
            })
        }
    };
    let updated_at = text(rec, "updatedAt").map_err(|why| TwentyError::Malformed {
        detail: format!("field updatedAt {why}"),
    })?;
    let mut unreadable = BTreeMap::new();
    let total_xp = take(&mut unreadable, "totalXp", integer(rec, "totalXp")).unwrap_or(0);
    let level =
        take(&mut unreadable, "level", integer(rec, "level")).filter(|_| !is_null(rec, "level"));
    let defeated_bosses = take(
        &mut unreadable,
        "defeatedBosses",
        json_field(rec, "defeatedBosses").and_then(bosses),
    )
    .unwrap_or_default();
    let passed_exams = take(
        &mut unreadable,
        "passedExams",
        json_field(rec, "passedExams").and_then(exams),
    )
    .unwrap_or_default();
    let efficiency_metrics = take(
        &mut unreadable,
        "efficiencyMetrics",
        json_field(rec, "efficiencyMetrics").and_then(metrics),
    )
    .unwrap_or_default();
    let last_activity_date = take(
        &mut unreadable,
        "lastActivityDate",
        text(rec, "lastActivityDate").and_then(|t| match t {
            Some(t) if timefmt::parse(&t).is_err() => Err(format!("holds {t:?}, not a time")),
            other => Ok(other),
        }),
    )
    .flatten();
    let sync_watermarks = take(
        &mut unreadable,
        "syncWatermarks",
        json_field(rec, "syncWatermarks").and_then(watermarks),
    )
    .unwrap_or_default();
    let sync_revision = take(
        &mut unreadable,
        "syncRevision",
        integer(rec, "syncRevision"),
    )
    .unwrap_or(0);
    Ok(Snapshot {
        remote_id: Some(id),
        // TEXT, or an EMAILS composite `{primaryEmail, additionalEmails}`.
        rep_email: match rec.get("repEmail") {
            Some(Value::Object(o)) => o
                .get("primaryEmail")
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => text(rec, "repEmail").ok().flatten(),
        },
        created_at: text(rec, "createdAt").ok().flatten(),
        name: text(rec, "name")
            .ok()
            .flatten()
            .filter(|n| !n.trim().is_empty()),
        total_xp,
        level,
        defeated_bosses,
        passed_exams,
        efficiency_metrics,
        last_activity_date,
        sync_watermarks,
        sync_revision,
        updated_at,
        null_fields: NullFields {
            sync_revision: is_null(rec, "syncRevision"),
            total_xp: is_null(rec, "totalXp"),
        },
        unreadable,
        duplicates: Vec::new(),
        duplicate_xp: BTreeMap::new(),
        raw: Some(
            LIST_FIELDS
                .iter()
                .map(|f| (f.to_string(), rec.get(*f).cloned().unwrap_or(Value::Null)))
                .collect(),
        ),
    })
}

/// The fields RepXP adds to without owning them (see `list_fields.rs`).
const LIST_FIELDS: [&str; 3] = ["defeatedBosses", "passedExams", "efficiencyMetrics"];

/// Whether a record is in Twenty's trash (`deletedAt` set).
pub fn is_trashed(v: &Value) -> bool {
    v.get("deletedAt").is_some_and(|d| !d.is_null())
}

fn field_value(s: &Snapshot, field: &str) -> Value {
    // As Twenty holds it, plus what RepXP adds, in the shape another writer chose (RepXP's own
    // shape when the field is empty or was never read).
    let raw = s
        .raw
        .as_ref()
        .and_then(|r| r.get(field))
        .unwrap_or(&Value::Null);
    match field {
        "totalXp" => json!(s.total_xp),
        "level" => json!(s.level),
        "defeatedBosses" => list_fields::add_bosses(raw, &s.defeated_bosses),
        "passedExams" => list_fields::add_exams(raw, &s.passed_exams),
        "efficiencyMetrics" => list_fields::set_metrics(raw, &s.efficiency_metrics),
        "syncWatermarks" => Value::String(json!(s.sync_watermarks).to_string()),
        "syncRevision" => json!(s.sync_revision),
        "lastActivityDate" => json!(s
            .last_activity_date
            .as_deref()
            .and_then(|t| timefmt::parse(t).ok())
            .map(timefmt::format)),
        _ => Value::Null,
    }
}

/// Every field RepXP writes, in the order it writes them.
pub const WRITTEN_FIELDS: [&str; 8] = [
    "totalXp",
    "level",
    "defeatedBosses",
    "passedExams",
    "efficiencyMetrics",
    "lastActivityDate",
    "syncWatermarks",
    "syncRevision",
];

/// The body of an update from `base` (the record as Twenty holds it) to `next`: only the fields
/// that change, never one RepXP could not read. Writing less leaves less to collide with a writer
/// that ignores the compare-and-set.
pub fn update_fields(base: &Snapshot, next: &Snapshot) -> Value {
    let mut out = Map::new();
    for field in WRITTEN_FIELDS {
        if !base.is_readable(field) {
            continue;
        }
        let (old, new) = (field_value(base, field), field_value(next, field));
        let null_before = match field {
            "totalXp" => base.null_fields.total_xp,
            "syncRevision" => base.null_fields.sync_revision,
            _ => false,
        };
        if old != new || (null_before && !new.is_null()) {
            out.insert(field.to_string(), new);
        }
    }
    Value::Object(out)
}

/// The fields of a new record holding `s`.
pub fn create_fields(s: &Snapshot) -> Value {
    let mut out = Map::new();
    for field in WRITTEN_FIELDS {
        out.insert(field.to_string(), field_value(s, field));
    }
    Value::Object(out)
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
            "syncWatermarks": "{\"dev\":3,\"d2\":{\"seq\":9,\"event\":\"e9\"}}", "syncRevision": 7,
            "lastActivityDate": null, "updatedAt": "2026-11-25T10:00:00.000Z"});
        let raw = json!({"id": "r1", "totalXp": 120.0, "defeatedBosses": ["gatekeeper"],
            "passedExams": [{"examId": "objections", "score": 90}], "efficiencyMetrics": {"talk": 0.4},
            "syncWatermarks": {"dev": 3, "d2": {"seq": 9, "event": "e9"}}, "syncRevision": 7,
            "updatedAt": "2026-11-25T10:00:00.000Z"});
        let mut a = parse_record(&text).expect("text form");
        let mut b = parse_record(&raw).expect("raw form");
        // What they hold reads alike; each keeps its own stored form to be written back in.
        assert_ne!(a.raw, b.raw);
        (a.raw, b.raw) = (None, None);
        assert_eq!(a, b);
        assert_eq!(a.total_xp, 120);
        assert_eq!(a.sync_watermarks["dev"], Watermark::Legacy(3));
        assert_eq!(
            a.sync_watermarks["d2"],
            Watermark::Event {
                seq: 9,
                event: "e9".into(),
                at: None
            }
        );
        assert!(a.unreadable.is_empty());
    }

    #[test]
    fn a_fresh_record_with_nulls_reads_as_empty() {
        let s = parse_record(&json!({"id": "r1", "repEmail": "a@b.c", "totalXp": null}))
            .expect("nulls");
        assert_eq!(s.total_xp, 0);
        assert!(s.null_fields.total_xp);
        assert!(s.defeated_bosses.is_empty());
        assert_eq!(s.rep_email.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn a_field_that_cannot_be_read_is_named_not_fatal() {
        for (field, value) in [
            ("totalXp", json!("lots")),
            ("totalXp", json!(1.5)),
            ("defeatedBosses", json!("gatekeeper, dragon")),
            ("defeatedBosses", json!("{\"a\":1}")),
            ("syncWatermarks", json!("{\"d\":-1}")),
            ("efficiencyMetrics", json!("[1]")),
            ("passedExams", json!("[[1]]")),
            ("lastActivityDate", json!("yesterday")),
        ] {
            let mut rec =
                json!({"id": "r", "totalXp": 40, "updatedAt": "2026-11-25T10:00:00.000Z"});
            rec[field] = value.clone();
            let s = parse_record(&rec).expect("readable apart from one field");
            assert!(
                s.unreadable.contains_key(field),
                "{field} = {value}: {:?}",
                s.unreadable
            );
            assert_eq!(s.unreadable.len(), 1, "{field}: only that field");
        }
        assert!(parse_record(&json!({"totalXp": 1})).is_err(), "no id");
        assert!(parse_record(&json!([1, 2])).is_err());
    }

    #[test]
    fn create_then_read_round_trips() {
        let mut s = Snapshot {
            remote_id: Some("r1".into()),
            total_xp: 1240,
            level: Some(7),
            sync_revision: 3,
            ..Snapshot::default()
        };
        s.defeated_bosses.insert("gatekeeper".into());
        s.passed_exams
            .insert("objections".into(), ExamResult { score: Some(88.0) });
        s.passed_exams
            .insert("discovery".into(), ExamResult { score: None });
        s.efficiency_metrics.insert("talk".into(), 0.25);
        s.sync_watermarks.insert(
            "dev".into(),
            Watermark::Event {
                seq: 9,
                event: "e".into(),
                at: Some("2026-11-25T10:00:00.000Z".into()),
            },
        );
        s.last_activity_date = Some("2026-11-25T10:00:00.000Z".into());
        let mut written = create_fields(&s);
        assert_eq!(written["level"], 7);
        written["id"] = json!("r1");
        let mut read = parse_record(&written).expect("round trip");
        read.raw = None;
        assert_eq!(read, s);
    }

    #[test]
    fn an_update_writes_only_what_changed_and_never_an_unreadable_field() {
        let mut base = parse_record(&json!({"id": "r", "totalXp": 40, "syncRevision": 2,
            "defeatedBosses": "not json", "passedExams": "{}", "updatedAt": "2026-11-25T10:00:00.000Z"}))
        .expect("record");
        let mut next = base.clone();
        next.total_xp = 45;
        next.sync_revision = 3;
        next.defeated_bosses.insert("dragon".into());
        let body = update_fields(&base, &next);
        let keys: Vec<&str> = body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["syncRevision", "totalXp"]);
        base.null_fields.total_xp = true;
        base.total_xp = 0;
        next.total_xp = 0;
        assert!(
            update_fields(&base, &next).get("totalXp").is_some(),
            "null becomes 0 on write"
        );
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
