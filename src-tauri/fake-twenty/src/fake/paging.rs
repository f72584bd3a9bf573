//! Record order and cursors as Twenty 7f19111 pages both its REST and GraphQL find-many
//! (the June 2025 profile's REST lists and every GraphQL `repProgressions(…)`):
//! - the order is the requested one followed by `id` ascending
//!   (packages/twenty-server/src/engine/api/rest/input-factories/order-by-input.factory.ts
//!   `addDefaultOrderById`; graphql-query-find-many-resolver.service.ts `orderByWithIdCondition`),
//!   so without `order_by` records come by id;
//! - a cursor is base64 of the JSON of the order's values and the id, in that order
//!   (packages/twenty-server/src/engine/api/graphql/graphql-query-runner/utils/cursors.util.ts
//!   `encodeCursor`: `{"id":"…"}`, or `{"createdAt":"…","id":"…"}` with `order_by=createdAt`, as the
//!   real server printed them);
//! - `starting_after` / `after` keeps the rows after it in that order, with the SQL of
//!   packages/twenty-server/src/engine/api/utils/compute-cursor-arg-filter.utils.ts
//!   (`k1 > v1 OR (k1 = v1 AND k2 > v2) …`), evaluated like any filter, so a timestamp cursor (ms)
//!   is compared with the stored microseconds as Postgres does.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::cursor::{base64_text, unbase64_text};
use super::errors::TwentyError;
use super::filter::{Filter, FilterValue};
use super::records::cmp_json;

/// One key of an order: field, descending?, nulls first?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    pub field: String,
    pub desc: bool,
    pub nulls_first: bool,
}

impl OrderKey {
    pub fn asc(field: &str) -> Self {
        OrderKey {
            field: field.to_string(),
            desc: false,
            nulls_first: true,
        }
    }

    /// From Twenty's `OrderByDirection` (`AscNullsFirst`, `AscNullsLast`, `DescNullsFirst`,
    /// `DescNullsLast`).
    pub fn from_direction(field: &str, direction: &str) -> Option<Self> {
        let (desc, nulls_first) = match direction {
            "AscNullsFirst" => (false, true),
            "AscNullsLast" => (false, false),
            "DescNullsFirst" => (true, true),
            "DescNullsLast" => (true, false),
            _ => return None,
        };
        Some(OrderKey {
            field: field.to_string(),
            desc,
            nulls_first,
        })
    }
}

/// The order followed by `id` ascending (unless it already names `id`).
pub fn with_id(mut keys: Vec<OrderKey>) -> Vec<OrderKey> {
    if !keys.iter().any(|k| k.field == "id") {
        keys.push(OrderKey::asc("id"));
    }
    keys
}

/// REST `order_by=field_1[AscNullsFirst],field_2[DescNullsLast],field_3` (a bare field is
/// `AscNullsFirst`); an unknown direction: 400 with the real handler's text
/// (order-by-input.factory.ts, 7f19111).
pub fn parse_rest_order_by(spec: Option<&str>) -> Result<Vec<OrderKey>, TwentyError> {
    let mut keys = Vec::new();
    for item in spec.unwrap_or("").split(',').filter(|s| !s.is_empty()) {
        let (field, direction) = match item.split_once('[') {
            Some((f, d)) if item.contains(']') => (f, d.replacen(']', "", 1)),
            _ => (item, "AscNullsFirst".to_string()),
        };
        let key = OrderKey::from_direction(field, &direction).ok_or_else(|| {
            TwentyError::bad_request(&format!(
                "'order_by' direction '{direction}' invalid. Allowed values are 'AscNullsFirst', 'AscNullsLast', 'DescNullsFirst', 'DescNullsLast'. eg: ?order_by=field_1[AscNullsFirst],field_2[DescNullsLast],field_3"
            ))
        })?;
        keys.push(key);
    }
    Ok(with_id(keys))
}

/// Compare two rows by the order (`reverse`: every direction flipped, as backward paging asks).
pub fn cmp_rows(a: &Value, b: &Value, order: &[OrderKey], reverse: bool) -> Ordering {
    for k in order {
        let (x, y) = (a.get(&k.field), b.get(&k.field));
        let (xn, yn) = (x.is_none_or(Value::is_null), y.is_none_or(Value::is_null));
        let desc = k.desc != reverse;
        let nulls_first = k.nulls_first != reverse;
        let ord = match (xn, yn) {
            (true, true) => Ordering::Equal,
            (true, false) if nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let o = cmp_json(x, y);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// The cursor of a row (as rendered): the order's values, then the id.
pub fn encode_cursor(row: &Value, order: &[OrderKey]) -> String {
    let mut parts: Vec<(String, Value)> = Vec::new();
    for k in order.iter().filter(|k| k.field != "id") {
        let v = row.get(&k.field).cloned().unwrap_or(Value::Null);
        parts.push((k.field.clone(), v));
    }
    parts.push(("id".into(), row.get("id").cloned().unwrap_or(Value::Null)));
    let body: Vec<String> = parts
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v))
        .collect();
    base64_text(&format!("{{{}}}", body.join(",")))
}

/// A cursor's values (`None`: not base64 of a JSON object).
pub fn decode_cursor(cursor: &str) -> Option<Map<String, Value>> {
    let text = unbase64_text(cursor)?;
    match serde_json::from_str::<Value>(&text).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn operand(v: &Value) -> Option<FilterValue> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(FilterValue::One(s.clone())),
        other => Some(FilterValue::One(other.to_string())),
    }
}

fn leaf(field: &str, op: &str, v: &Value) -> Filter {
    match operand(v) {
        Some(value) => Filter::Leaf {
            path: vec![field.to_string()],
            op: op.to_string(),
            value,
        },
        // A comparison with NULL is never true.
        None => Filter::Or(Vec::new()),
    }
}

/// The rows after (`forward`) or before the cursor in the order:
/// `k1 > v1 OR (k1 = v1 AND k2 > v2) OR …` (compute-cursor-arg-filter.utils.ts; `<` for a
/// descending key, the reverse when paging backward).
pub fn cursor_filter(cursor: &Map<String, Value>, order: &[OrderKey], forward: bool) -> Filter {
    let keys: Vec<(&OrderKey, Value)> = order
        .iter()
        .map(|k| (k, cursor.get(&k.field).cloned().unwrap_or(Value::Null)))
        .collect();
    let mut branches = Vec::new();
    for (i, (k, v)) in keys.iter().enumerate() {
        let mut conds: Vec<Filter> = keys[..i]
            .iter()
            .map(|(p, pv)| leaf(&p.field, "eq", pv))
            .collect();
        let op = if k.desc == forward { "lt" } else { "gt" };
        conds.push(leaf(&k.field, op, v));
        branches.push(Filter::And(conds));
    }
    Filter::Or(branches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::filter::{matches_in, DateTimeFilterMode};
    use crate::fake::metadata::{ObjectMeta, SchemaPreset};
    use serde_json::json;

    #[test]
    fn cursors_look_like_twentys() {
        let order = with_id(Vec::new());
        let row = json!({"id": "bd9d48c4-2179-4096-b71b-498c10f91d28", "createdAt": "2026-12-07T03:24:41.532Z"});
        // The real server's startCursor for this id.
        assert_eq!(
            encode_cursor(&row, &order),
            "eyJpZCI6ImJkOWQ0OGM0LTIxNzktNDA5Ni1iNzFiLTQ5OGMxMGY5MWQyOCJ9"
        );
        let by_created = parse_rest_order_by(Some("createdAt[AscNullsFirst]")).unwrap();
        let c = encode_cursor(&row, &by_created);
        let decoded = unbase64_text(&c).unwrap();
        assert_eq!(
            decoded,
            r#"{"createdAt":"2026-12-07T03:24:41.532Z","id":"bd9d48c4-2179-4096-b71b-498c10f91d28"}"#
        );
        assert!(parse_rest_order_by(Some("totalXp[Up]")).is_err());
    }

    #[test]
    fn after_a_cursor() {
        let o = ObjectMeta::rep_progression(&SchemaPreset::Full, 0);
        let order = with_id(vec![
            OrderKey::from_direction("totalXp", "DescNullsLast").unwrap()
        ]);
        let cursor =
            decode_cursor(&encode_cursor(&json!({"id": "b", "totalXp": 10}), &order)).unwrap();
        let f = cursor_filter(&cursor, &order, true);
        let after = |r: Value| matches_in(&f, &r, &o, DateTimeFilterMode::Legacy);
        assert!(
            after(json!({"id": "a", "totalXp": 5})),
            "lower XP comes after"
        );
        assert!(
            after(json!({"id": "c", "totalXp": 10})),
            "same XP, higher id"
        );
        assert!(!after(json!({"id": "a", "totalXp": 10})));
        assert!(!after(json!({"id": "z", "totalXp": 11})));
        let mut rows = [
            json!({"id": "a", "totalXp": null}),
            json!({"id": "b", "totalXp": 3}),
            json!({"id": "c", "totalXp": 9}),
        ];
        rows.sort_by(|a, b| cmp_rows(a, b, &order, false));
        let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["c", "b", "a"]);
    }
}
