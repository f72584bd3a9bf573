//! A GraphQL filter (`RepProgressionFilterInput`, already coerced) as the fake's filter tree
//! ([`Filter`], shared with the REST `filter` parameter), the way Twenty's
//! packages/twenty-server/src/engine/api/graphql/graphql-query-runner/graphql-query-parsers/graphql-query-filter/
//! reads it (7f19111): `and`/`or` take lists, `not` one filter, several keys in one object are
//! ANDed, `{field: {op: value}}` is a condition and a composite names its sub-field first
//! (`{repEmail: {primaryEmail: {ilike: "a@b.c"}}}`). `is` takes `NULL`/`Null` or
//! `NOT_NULL`/`NotNull`.
//!
//! Values Postgres would refuse are refused the way the server reports them, 200 with
//! `INTERNAL_SERVER_ERROR` (checked on the real server): a `Date` operand that JavaScript's
//! `new Date()` cannot read reaches SQL as `0NaN-NaN-NaNTNaN:NaN:NaN.NaN+NaN:NaN`, a UUID written as
//! a literal that is not one (`{id: {eq: "zz"}}`; a variable is refused earlier, "Invalid UUID").
//! `Date` operands are read as JavaScript dates, so they are cut to milliseconds.

use serde_json::Value;

use super::ExecError;
use crate::fake::filter::{Filter, FilterValue};
use crate::fake::metadata::ObjectMeta;
use crate::fake::timestamps;

/// The filter, or `None` for an empty one (`{}` matches every row).
pub fn to_filter(v: &Value, object: &ObjectMeta) -> Result<Option<Filter>, ExecError> {
    let Value::Object(map) = v else {
        return Ok(None);
    };
    let mut conds = Vec::new();
    for (key, value) in map {
        match key.as_str() {
            "and" | "or" => {
                let mut items = Vec::new();
                for item in value.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                    items.push(to_filter(item, object)?.unwrap_or(Filter::And(Vec::new())));
                }
                if key == "and" {
                    conds.push(Filter::And(items));
                } else if !items.is_empty() {
                    conds.push(Filter::Or(items));
                }
            }
            "not" => {
                if let Some(inner) = to_filter(value, object)? {
                    conds.push(Filter::Not(Box::new(inner)));
                }
            }
            field => conds.extend(field_conditions(field, value, object)?),
        }
    }
    Ok(match conds.len() {
        0 => None,
        1 => conds.pop(),
        _ => Some(Filter::And(conds)),
    })
}

const OPS: [&str; 15] = [
    "eq",
    "neq",
    "in",
    "is",
    "gt",
    "gte",
    "lt",
    "lte",
    "startsWith",
    "like",
    "ilike",
    "regex",
    "iregex",
    "search",
    "containsAny",
];

fn field_conditions(
    field: &str,
    value: &Value,
    object: &ObjectMeta,
) -> Result<Vec<Filter>, ExecError> {
    let Value::Object(ops) = value else {
        return Ok(Vec::new());
    };
    let ty = object.field(field).map_or("TEXT", |f| f.ty.as_str());
    let mut out = Vec::new();
    for (op, operand) in ops {
        if OPS.contains(&op.as_str()) {
            out.push(leaf(vec![field.to_string()], op, operand, ty)?);
        } else if let Value::Object(sub_ops) = operand {
            for (sub_op, sub_operand) in sub_ops {
                out.push(leaf(
                    vec![field.to_string(), op.clone()],
                    sub_op,
                    sub_operand,
                    "TEXT",
                )?);
            }
        }
    }
    Ok(out)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A `Date` operand as the server passes it to SQL: a JavaScript date's ISO text.
fn date_operand(v: &Value) -> Result<String, ExecError> {
    let parsed = match v {
        Value::String(s) => timestamps::parse_stored(s),
        // `new Date(5)`: milliseconds since the epoch.
        Value::Number(n) => n.as_f64().map(|ms| (ms as i128) * 1_000_000),
        _ => None,
    };
    match parsed {
        Some(ns) => Ok(timestamps::iso_ms_of_ns(ns)),
        None => Err(ExecError::internal(
            "invalid input syntax for type timestamp with time zone: \"0NaN-NaN-NaNTNaN:NaN:NaN.NaN+NaN:NaN\"",
        )),
    }
}

fn leaf(path: Vec<String>, op: &str, operand: &Value, ty: &str) -> Result<Filter, ExecError> {
    if matches!(op, "regex" | "iregex" | "search" | "containsAny") {
        return Err(ExecError::internal(&format!(
            "the fake Twenty does not evaluate `{op}` filters"
        )));
    }
    if operand.is_null() {
        // `= NULL` is never true in SQL.
        return Ok(Filter::Or(Vec::new()));
    }
    if op == "is" {
        let v = match operand.as_str() {
            Some("NULL" | "Null") => "NULL",
            _ => "NOT_NULL",
        };
        return Ok(Filter::Leaf {
            path,
            op: "is".into(),
            value: FilterValue::One(v.into()),
        });
    }
    let one = |v: &Value| -> Result<String, ExecError> {
        if ty == "DATE_TIME" || ty == "DATE" {
            return date_operand(v);
        }
        let t = text(v);
        if ty == "UUID" && !looks_like_uuid(&t) {
            return Err(ExecError::internal(&format!(
                "invalid input syntax for type uuid: \"{t}\""
            )));
        }
        Ok(t)
    };
    let value = match operand {
        Value::Array(items) => {
            FilterValue::List(items.iter().map(one).collect::<Result<Vec<_>, _>>()?)
        }
        v => FilterValue::One(one(v)?),
    };
    Ok(Filter::Leaf {
        path,
        op: op.to_string(),
        value,
    })
}

/// What Postgres' `uuid` input takes: 32 hex digits, optionally in the 8-4-4-4-12 groups.
fn looks_like_uuid(s: &str) -> bool {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::filter::{matches_in, DateTimeFilterMode};
    use crate::fake::metadata::SchemaPreset;
    use serde_json::json;

    fn object() -> ObjectMeta {
        ObjectMeta::rep_progression(&SchemaPreset::Full, 0)
    }

    fn leaf(path: &[&str], op: &str, v: &str) -> Filter {
        Filter::Leaf {
            path: path.iter().map(|s| s.to_string()).collect(),
            op: op.into(),
            value: FilterValue::One(v.into()),
        }
    }

    #[test]
    fn repxp_compare_and_set_filter() {
        let f = to_filter(
            &json!({"and": [
                {"id": {"eq": "0b7d2b8e-6a8f-4c41-9d4e-7d2f8a1b3c4d"}},
                {"deletedAt": {"is": "NULL"}},
                {"updatedAt": {"gte": "2026-11-25T10:00:00.123Z"}},
                {"updatedAt": {"lt": "2026-11-25T10:00:00.124Z"}},
                {"syncRevision": {"eq": 3}},
                {"totalXp": {"eq": 40}}
            ]}),
            &object(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            f,
            Filter::And(vec![
                leaf(&["id"], "eq", "0b7d2b8e-6a8f-4c41-9d4e-7d2f8a1b3c4d"),
                leaf(&["deletedAt"], "is", "NULL"),
                leaf(&["updatedAt"], "gte", "2026-11-25T10:00:00.123Z"),
                leaf(&["updatedAt"], "lt", "2026-11-25T10:00:00.124Z"),
                leaf(&["syncRevision"], "eq", "3"),
                leaf(&["totalXp"], "eq", "40"),
            ])
        );
        let row = json!({"id": "0b7d2b8e-6a8f-4c41-9d4e-7d2f8a1b3c4d", "deletedAt": null,
            "updatedAt": "2026-11-25T10:00:00.123456Z", "syncRevision": 3, "totalXp": 40});
        assert!(matches_in(&f, &row, &object(), DateTimeFilterMode::Legacy));
        let moved = json!({"id": "0b7d2b8e-6a8f-4c41-9d4e-7d2f8a1b3c4d", "deletedAt": null,
            "updatedAt": "2026-11-25T10:00:00.124001Z", "syncRevision": 3, "totalXp": 40});
        assert!(!matches_in(
            &f,
            &moved,
            &object(),
            DateTimeFilterMode::Legacy
        ));
    }

    #[test]
    fn keys_and_or_not_and_composites() {
        let f = to_filter(
            &json!({"or": [{"id": {"eq": "0b7d2b8e-6a8f-4c41-9d4e-7d2f8a1b3c4d"}},
                           {"repEmail": {"primaryEmail": {"ilike": "a@b.c"}}}],
                    "not": {"level": {"in": [1, 2]}},
                    "deletedAt": {"is": "NOT_NULL"}}),
            &object(),
        )
        .unwrap()
        .unwrap();
        let Filter::And(parts) = &f else {
            panic!("{f:?}")
        };
        assert_eq!(parts.len(), 3, "several keys in one object: AND");
        assert!(parts.contains(&leaf(&["deletedAt"], "is", "NOT_NULL")));
        assert!(parts.contains(&Filter::Or(vec![
            leaf(&["id"], "eq", "0b7d2b8e-6a8f-4c41-9d4e-7d2f8a1b3c4d"),
            leaf(&["repEmail", "primaryEmail"], "ilike", "a@b.c"),
        ])));
        assert!(parts.contains(&Filter::Not(Box::new(Filter::Leaf {
            path: vec!["level".into()],
            op: "in".into(),
            value: FilterValue::List(vec!["1".into(), "2".into()]),
        }))));
        assert_eq!(to_filter(&json!({}), &object()).unwrap(), None);
    }

    #[test]
    fn what_postgres_refuses() {
        let e = to_filter(&json!({"updatedAt": {"gte": "not a date"}}), &object()).unwrap_err();
        assert_eq!(e.code, "INTERNAL_SERVER_ERROR");
        assert!(e.message.contains("0NaN-NaN-NaNTNaN"), "{}", e.message);
        let e = to_filter(&json!({"id": {"eq": "zz"}}), &object()).unwrap_err();
        assert_eq!(e.message, "invalid input syntax for type uuid: \"zz\"");
        let f = to_filter(
            &json!({"updatedAt": {"gte": "2026-11-25T10:00:00.123456Z"}}),
            &object(),
        )
        .unwrap();
        assert_eq!(
            f,
            Some(leaf(&["updatedAt"], "gte", "2026-11-25T10:00:00.123Z")),
            "a JavaScript Date keeps milliseconds"
        );
    }
}
