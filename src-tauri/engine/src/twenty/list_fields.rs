//! Adding to the lists and maps of a record another writer also keeps: `defeatedBosses`,
//! `passedExams`, `efficiencyMetrics`. The academy keeps item data RepXP has no use for
//! (`{"examId": "cold-calls-101", "score": 88, "passedAt": "…"}`), in a shape of its own (a list
//! of objects where RepXP writes a map). RepXP adds its items in the shape it found, matched by
//! their identity key whatever the writer named it, and changes nothing else: unknown keys, the
//! order of items, the field's type (TEXT holding JSON, or RAW_JSON) all stay. A better score
//! replaces the score of the same item, in place.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::snapshot::ExamResult;

/// Keys that name a boss item, in the order an item is asked for them.
pub const BOSS_KEYS: [&str; 3] = ["id", "bossId", "name"];
/// Keys that name an exam item.
pub const EXAM_KEYS: [&str; 3] = ["examId", "id", "name"];

/// The item's identity: a string item is its own; an object's is its first identity key.
pub fn identity(item: &Value, keys: &[&str]) -> Option<String> {
    match item {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => keys
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string)),
        _ => None,
    }
}

/// A number as JavaScript prints it (`88`, not `88.0`), as Twenty and its other writers do.
pub fn js_number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// The field as stored: JSON inside a TEXT string, or a RAW_JSON value. `None`: empty.
fn stored(raw: &Value) -> Option<(Value, bool)> {
    match raw {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => serde_json::from_str(s).ok().map(|v| (v, true)),
        v => Some((v.clone(), false)),
    }
}

/// The new field value: unchanged (`raw` itself) when nothing was added, else `value` in the
/// field's own type.
fn written(raw: &Value, value: Value, as_text: bool, changed: bool) -> Value {
    match (changed, as_text) {
        (false, _) => raw.clone(),
        (true, true) => Value::String(value.to_string()),
        (true, false) => value,
    }
}

/// The key this list's object items are named by (the first one an item uses), if its items
/// are objects.
fn object_key(items: &[Value], keys: &[&str]) -> Option<&'static str> {
    let first = items.iter().find_map(Value::as_object)?;
    keys.iter()
        .find(|k| first.get(**k).is_some_and(Value::is_string))
        .map(|k| match *k {
            "bossId" => "bossId",
            "examId" => "examId",
            "name" => "name",
            _ => "id",
        })
}

/// `raw` with the bosses of `want` it lacks appended, in its shape.
pub fn add_bosses(raw: &Value, want: &BTreeSet<String>) -> Value {
    let Some((Value::Array(mut items), as_text)) = stored(raw) else {
        let list: Vec<&String> = want.iter().collect();
        return Value::String(json!(list).to_string());
    };
    let have: BTreeSet<String> = items
        .iter()
        .filter_map(|i| identity(i, &BOSS_KEYS))
        .collect();
    let key = object_key(&items, &BOSS_KEYS);
    let mut changed = false;
    for id in want.iter().filter(|id| !have.contains(*id)) {
        items.push(match key {
            Some(k) => json!({ k: id }),
            None => json!(id),
        });
        changed = true;
    }
    written(raw, Value::Array(items), as_text, changed)
}

fn better(new: Option<f64>, old: Option<f64>) -> bool {
    match (new, old) {
        (Some(n), Some(o)) => n > o,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn score_of(v: &Value) -> Option<f64> {
    match v {
        Value::Object(o) => o.get("score").and_then(Value::as_f64),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// `raw` with the exams of `want` it lacks added and better scores set, in its shape: a map
/// `{id: {score}}` (RepXP's) or a list of items.
pub fn add_exams(raw: &Value, want: &BTreeMap<String, ExamResult>) -> Value {
    let result = |r: &ExamResult| match r.score {
        Some(s) => json!({ "score": js_number(s) }),
        None => json!({}),
    };
    let Some((stored_value, as_text)) = stored(raw) else {
        let map: Map<String, Value> = want.iter().map(|(id, r)| (id.clone(), result(r))).collect();
        return Value::String(Value::Object(map).to_string());
    };
    let mut changed = false;
    let value = match stored_value {
        Value::Object(mut map) => {
            for (id, r) in want {
                match map.get_mut(id) {
                    Some(Value::Object(item))
                        if better(r.score, item.get("score").and_then(Value::as_f64)) =>
                    {
                        item.insert("score".into(), js_number(r.score.unwrap_or_default()));
                        changed = true;
                    }
                    Some(v @ (Value::Number(_) | Value::Null)) if better(r.score, score_of(v)) => {
                        *v = js_number(r.score.unwrap_or_default());
                        changed = true;
                    }
                    Some(_) => {}
                    None => {
                        map.insert(id.clone(), result(r));
                        changed = true;
                    }
                }
            }
            Value::Object(map)
        }
        Value::Array(mut items) => {
            let key = object_key(&items, &EXAM_KEYS).unwrap_or("id");
            for (id, r) in want {
                let at = items
                    .iter()
                    .position(|i| identity(i, &EXAM_KEYS).as_deref() == Some(id));
                match at {
                    Some(i) if better(r.score, score_of(&items[i])) => {
                        let s = js_number(r.score.unwrap_or_default());
                        match &mut items[i] {
                            Value::Object(item) => {
                                item.insert("score".into(), s);
                            }
                            // A bare id cannot carry a score: it becomes an item that can.
                            other => *other = json!({ key: id, "score": s }),
                        }
                        changed = true;
                    }
                    Some(_) => {}
                    None => {
                        let objects = items.iter().any(Value::is_object);
                        items.push(match (objects, r.score) {
                            (false, None) => json!(id),
                            (_, Some(s)) => json!({ key: id, "score": js_number(s) }),
                            (true, None) => json!({ key: id }),
                        });
                        changed = true;
                    }
                }
            }
            Value::Array(items)
        }
        other => other,
    };
    written(raw, value, as_text, changed)
}

/// `raw` with the metrics of `want` set where Twenty holds another value; other keys stay.
pub fn set_metrics(raw: &Value, want: &BTreeMap<String, f64>) -> Value {
    let Some((Value::Object(mut map), as_text)) = stored(raw) else {
        let map: Map<String, Value> = want
            .iter()
            .map(|(k, v)| (k.clone(), js_number(*v)))
            .collect();
        return Value::String(Value::Object(map).to_string());
    };
    let mut changed = false;
    for (k, v) in want {
        if map.get(k).and_then(Value::as_f64) != Some(*v) {
            map.insert(k.clone(), js_number(*v));
            changed = true;
        }
    }
    written(raw, Value::Object(map), as_text, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_academys_item_data_and_shape_stay_and_repxp_adds_in_that_shape() {
        let raw = json!(r#"[{"id":"academy-final","defeatedAt":"2026-01-05T10:00:00Z"}]"#);
        let out = add_bosses(&raw, &set(&["academy-final", "gatekeeper"]));
        let v: Value = serde_json::from_str(out.as_str().expect("text stays text")).expect("json");
        assert_eq!(
            v,
            json!([{"id": "academy-final", "defeatedAt": "2026-01-05T10:00:00Z"}, {"id": "gatekeeper"}])
        );
        // Nothing to add: the stored text comes back untouched, so nothing is written.
        assert_eq!(add_bosses(&raw, &set(&["academy-final"])), raw);
        // A RAW_JSON list stays a value; strings stay strings.
        assert_eq!(
            add_bosses(&json!(["a"]), &set(&["a", "b"])),
            json!(["a", "b"])
        );
        assert_eq!(
            add_bosses(&json!([{"bossId": "x", "hp": 3}]), &set(&["y"])),
            json!([{"bossId": "x", "hp": 3}, {"bossId": "y"}])
        );
        assert_eq!(add_bosses(&json!(""), &set(&["a"])), json!(r#"["a"]"#));
    }

    #[test]
    fn exams_keep_their_shape_and_a_better_score_replaces_in_place() {
        let raw =
            json!(r#"[{"examId":"cold-calls-101","score":88,"passedAt":"2026-01-05T10:00:00Z"}]"#);
        let mut want = BTreeMap::new();
        want.insert(
            "cold-calls-101".to_string(),
            ExamResult { score: Some(80.0) },
        );
        assert_eq!(add_exams(&raw, &want), raw, "a worse score changes nothing");
        want.insert(
            "cold-calls-101".to_string(),
            ExamResult { score: Some(93.0) },
        );
        want.insert("objections".to_string(), ExamResult { score: None });
        let out = add_exams(&raw, &want);
        let v: Value = serde_json::from_str(out.as_str().expect("text")).expect("json");
        assert_eq!(
            v,
            json!([
                {"examId": "cold-calls-101", "score": 93, "passedAt": "2026-01-05T10:00:00Z"},
                {"examId": "objections"}
            ])
        );
        // RepXP's own map shape, with a key another writer added to an item.
        let map = json!(r#"{"a":{"score":70,"by":"coach"}}"#);
        let mut want = BTreeMap::new();
        want.insert("a".to_string(), ExamResult { score: Some(75.5) });
        let v: Value =
            serde_json::from_str(add_exams(&map, &want).as_str().expect("text")).expect("json");
        assert_eq!(v, json!({"a": {"score": 75.5, "by": "coach"}}));
        // A list of bare ids gains a scored item only where a score must be kept.
        let mut want = BTreeMap::new();
        want.insert("b".to_string(), ExamResult { score: None });
        want.insert("c".to_string(), ExamResult { score: Some(90.0) });
        assert_eq!(
            add_exams(&json!(["a"]), &want),
            json!(["a", "b", {"id": "c", "score": 90}])
        );
    }

    #[test]
    fn metrics_set_only_what_changed() {
        let raw = json!(r#"{"talk_ratio":0.3,"calls":12}"#);
        let mut want = BTreeMap::new();
        want.insert("talk_ratio".to_string(), 0.3);
        assert_eq!(set_metrics(&raw, &want), raw);
        want.insert("talk_ratio".to_string(), 0.45);
        let v: Value =
            serde_json::from_str(set_metrics(&raw, &want).as_str().expect("text")).expect("json");
        assert_eq!(v, json!({"talk_ratio": 0.45, "calls": 12}));
    }

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        assert_eq!(js_number(88.0), json!(88));
        assert_eq!(js_number(0.25), json!(0.25));
    }
}
