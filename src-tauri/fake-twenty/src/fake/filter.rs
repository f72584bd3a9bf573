//! The REST `filter` query parameter: parser, validation and evaluation.
//!
//! Parsing is a port of Twenty's REST filter parser, step for step:
//! - packages/twenty-server/src/engine/api/rest/input-request-parsers/filter-parser-utils/parse-filter-rest-request.util.ts
//!   (entry: non-string `filter` -> no filter; checkFilterQuery; default conjunction; parseFilter)
//! - .../filter-parser-utils/check-filter-query.util.ts (bracket count message)
//! - .../filter-parser-utils/add-default-conjunction.util.ts (wrap in `and(...)`)
//! - .../filter-parser-utils/parse-filter.util.ts (conjunctions, `not` takes one condition)
//! - .../filter-parser-utils/parse-filter-content.util.ts (comma split, aware of (), [] and quotes)
//! - .../filter-parser-utils/parse-base-filter.util.ts (`field[op]:value`, comparator list)
//! - .../filter-parser-utils/format-field-values.util.ts (called with NO field type: only quote
//!   stripping and `[a,b]` lists; numbers stay strings here)
//!
//! Validation/coercion follows the common layer:
//! - packages/twenty-server/src/engine/api/common/common-args-processors/filter-arg-processor/filter-arg-processor.service.ts
//!   (unknown field -> `Object X doesn't have any "k" field.`)
//! - .../filter-arg-processor/utils/validate-and-transform-value-by-field-type.util.ts and
//!   .../utils/parse-number-value.util.ts (NUMBER/NUMERIC/POSITION: `parseFloat` of the string)
//! - .../validator-utils/validate-number-field-or-throw.util.ts (NaN -> `Invalid number value NaN for field "k"`)
//! - .../validator-utils/validate-date-time-field-or-throw.util.ts (twentyhq/twenty `d1340b4`;
//!   DATE_TIME: `Invalid value 'x' for date-time field "k". Expected format: 'YYYY-MM-DDTHH:mm:ssZ'`,
//!   INVALID_ARGS_FILTER -> 400; accepted forms in [`super::timestamps::parse_filter_operand`])
//!
//! Evaluation mimics the SQL Twenty generates: comparisons against NULL are unknown, so
//! `neq`/`not(...)` never match a NULL column (three-valued logic).
//!
//! DATE_TIME comparisons run against the stored microsecond value. The newest
//! packages/twenty-server/src/engine/api/graphql/graphql-query-runner/utils/compute-where-condition-parts.ts
//! (twentyhq/twenty `04ebb83`) widens `eq`, `neq`, `gt` and `lte` by one millisecond so that a
//! value read from the API (truncated to ms) finds its row:
//!
//! | op    | SQL (newest)                           |
//! |-------|----------------------------------------|
//! | `eq`  | `f >= v AND f < v + 1ms`               |
//! | `neq` | `f < v OR f >= v + 1ms`                |
//! | `gt`  | `f >= v + 1ms`                         |
//! | `gte` | `f >= v`                               |
//! | `lt`  | `f < v`                                |
//! | `lte` | `f < v + 1ms`                          |
//!
//! Older versions (`d8c8500`) compare plainly (`=`, `>`, `<=`, ...): [`DateTimeFilterMode::Legacy`],
//! selected by `FakeConfig::legacy_datetime_filters`. `in` is a plain `IN` in both (the newest
//! file's `in` branch for DATE_TIME was not read: Unverified).

use std::cmp::Ordering;

use serde_json::Value;

use super::errors::TwentyError;
use super::metadata::ObjectMeta;
use super::profile::TwentyProfile;
use super::timestamps;

/// How DATE_TIME comparisons are evaluated (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DateTimeFilterMode {
    /// Newest Twenty: `eq`/`neq`/`gt`/`lte` widened by one millisecond.
    #[default]
    Newest,
    /// Older Twenty: plain comparisons against the stored microsecond value, so
    /// `updatedAt[eq]:<ms value from the API>` matches nothing.
    Legacy,
}

/// Comparators accepted by parse-base-filter.util.ts (`FilterComparators`), in its order.
pub const COMPARATORS: [&str; 13] = [
    "eq",
    "neq",
    "in",
    "containsAny",
    "is",
    "gt",
    "gte",
    "lt",
    "lte",
    "startsWith",
    "endsWith",
    "like",
    "ilike",
];

/// A parsed filter tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Leaf {
        /// `field` or `field.subField` split on '.'.
        path: Vec<String>,
        op: String,
        value: FilterValue,
    },
}

/// The value after format-field-values.util.ts: a string, or a list for `in`/`containsAny`.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    One(String),
    List(Vec<String>),
}

/// Parse the raw `filter` query value (already percent-decoded), newest grammar.
pub fn parse_filter_rest(query: &str) -> Result<Filter, TwentyError> {
    parse_filter_rest_for(query, TwentyProfile::Newest)
}

/// The comparators of a profile: June 2025 (7f19111) has no `endsWith`; checked on the real
/// server: `'filter' invalid for 'repEmail[endsWith]:x', comparator endsWith not in eq, neq, in,
/// containsAny, is, gt, gte, lt, lte, startsWith, like, ilike`.
fn comparators(profile: TwentyProfile) -> Vec<&'static str> {
    COMPARATORS
        .into_iter()
        .filter(|c| !(profile.is_june_2025() && *c == "endsWith"))
        .collect()
}

/// [`parse_filter_rest`] with the profile's comparators.
pub fn parse_filter_rest_for(query: &str, profile: TwentyProfile) -> Result<Filter, TwentyError> {
    check_filter_query(query)?;
    let wrapped = add_default_conjunction_if_missing(query);
    parse_filter(&wrapped, &comparators(profile))
}

fn invalid_filter(message: String) -> TwentyError {
    TwentyError::bad_request(&message)
}

fn check_filter_query(query: &str) -> Result<(), TwentyError> {
    let opened = query.matches('(').count() as i64;
    let closed = query.matches(')').count() as i64;
    let diff = opened - closed;
    if diff == 0 {
        return Ok(());
    }
    let hint = if diff > 0 {
        format!(
            "{diff} close bracket{}",
            if diff > 1 { "s are" } else { " is" }
        )
    } else {
        let d = diff.abs();
        format!("{d} open bracket{}", if d > 1 { "s are" } else { " is" })
    };
    Err(invalid_filter(format!(
        "'filter' invalid. {hint} missing in the query"
    )))
}

/// `^(and|or|not)\((.+)\)$`, the root conjunction test.
fn root_conjunction(query: &str) -> Option<&'static str> {
    for conj in ["and", "or", "not"] {
        if let Some(rest) = query.strip_prefix(conj) {
            if rest.len() >= 3 && rest.starts_with('(') && rest.ends_with(')') {
                return Some(conj);
            }
        }
    }
    None
}

fn add_default_conjunction_if_missing(query: &str) -> String {
    if root_conjunction(query).is_some() {
        query.to_string()
    } else {
        format!("and({query})")
    }
}

fn parse_filter(query: &str, allowed: &[&str]) -> Result<Filter, TwentyError> {
    if let Some(conj) = root_conjunction(query) {
        let mut sub = Vec::new();
        for part in parse_filter_content(query) {
            sub.push(parse_filter(&part, allowed)?);
        }
        return match conj {
            "not" => {
                if sub.len() > 1 {
                    return Err(invalid_filter(
                        "'filter' invalid. 'not' conjunction should contain only 1 condition. eg: not(field[eq]:1)".to_string(),
                    ));
                }
                match sub.pop() {
                    Some(only) => Ok(Filter::Not(Box::new(only))),
                    None => Err(invalid_filter(format!(
                        "'filter' invalid for '{query}'. eg: price[gte]:10"
                    ))),
                }
            }
            "or" => Ok(Filter::Or(sub)),
            _ => Ok(Filter::And(sub)),
        };
    }
    parse_base_filter(query, allowed)
}

/// Port of parse-filter-content.util.ts: split the inside of `conj(...)` on top-level commas.
fn parse_filter_content(query: &str) -> Vec<String> {
    let mut within_brackets = false;
    let mut within_double = false;
    let mut within_single = false;
    let mut depth: i64 = 0;
    let mut predicates = Vec::new();
    let mut current = String::new();
    for c in query.chars() {
        let mut persist = depth >= 1;
        if c == '(' {
            depth += 1;
        }
        if c == ')' {
            depth -= 1;
            persist = depth >= 1;
        }
        if c == '[' || c == ']' {
            within_brackets = !within_brackets;
        }
        if c == '"' {
            within_double = !within_double;
        }
        if c == '\'' {
            within_single = !within_single;
        }
        if c == ',' && depth == 1 && !within_brackets && !within_double && !within_single {
            predicates.push(std::mem::take(&mut current));
            persist = false;
        }
        if persist {
            current.push(c);
        }
    }
    predicates.push(current);
    predicates
}

/// `^(.+)\[(.+)\]:(.+)$`
fn base_filter_shape_ok(s: &str) -> bool {
    let b = s.as_bytes();
    (1..b.len()).any(|i| {
        b[i] == b'['
            && (i + 2..b.len()).any(|j| b[j] == b']' && j + 2 < b.len() && b[j + 1] == b':')
    })
}

fn parse_base_filter(base: &str, allowed: &[&str]) -> Result<Filter, TwentyError> {
    if !base_filter_shape_ok(base) {
        return Err(invalid_filter(format!(
            "'filter' invalid for '{base}'. eg: price[gte]:10"
        )));
    }
    let (mut fields, mut comparator, mut value) = (String::new(), String::new(), String::new());
    let (mut fill_fields, mut fill_comparator, mut fill_value) = (true, false, false);
    for c in base.chars() {
        if fill_value {
            value.push(c);
        }
        if c == ']' && !fill_value {
            fill_comparator = false;
        }
        if c == ':' && !fill_comparator {
            fill_value = true;
        }
        if fill_comparator {
            comparator.push(c);
        }
        if c == '[' && fill_fields {
            fill_fields = false;
            fill_comparator = true;
        }
        if fill_fields {
            fields.push(c);
        }
    }
    if !allowed.contains(&comparator.as_str()) {
        return Err(invalid_filter(format!(
            "'filter' invalid for '{base}', comparator {comparator} not in {}",
            allowed.join(", ")
        )));
    }
    let value = format_field_value(&value, &comparator)?;
    Ok(Filter::Leaf {
        path: fields.split('.').map(str::to_string).collect(),
        op: comparator,
        value,
    })
}

fn strip_quotes(value: &str) -> String {
    let b = value.as_bytes();
    if b.len() >= 2
        && (b[0] == b'"' || b[0] == b'\'')
        && (b[b.len() - 1] == b'"' || b[b.len() - 1] == b'\'')
    {
        value[1..value.len() - 1].to_string()
    } else {
        value.to_string()
    }
}

fn format_field_value(value: &str, comparator: &str) -> Result<FilterValue, TwentyError> {
    if comparator == "in" || comparator == "containsAny" {
        if !(value.starts_with('[') && value.ends_with(']') && !value.is_empty()) {
            return Err(invalid_filter(format!(
                "'filter' invalid for '{comparator}' operator. Received '{value}' but array value expected eg: 'field[{comparator}]:[value_1,value_2]'"
            )));
        }
        let inner = if value.len() >= 2 {
            &value[1..value.len() - 1]
        } else {
            ""
        };
        return Ok(FilterValue::List(
            inner.split(',').map(strip_quotes).collect(),
        ));
    }
    if comparator == "is" {
        return Ok(FilterValue::One(value.to_string()));
    }
    Ok(FilterValue::One(strip_quotes(value)))
}

/// JavaScript `parseFloat`: the longest numeric prefix after leading whitespace, else NaN.
pub fn js_parse_float(s: &str) -> f64 {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if t[i..].starts_with("Infinity") {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut mantissa_digits = i - digits_start;
    if i < b.len() && b[i] == b'.' {
        let dot = i;
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        mantissa_digits += i - frac_start;
        if mantissa_digits == 0 {
            i = dot;
        }
    }
    if mantissa_digits == 0 {
        return f64::NAN;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    t[..i].parse::<f64>().unwrap_or(f64::NAN)
}

fn is_numeric_type(ty: &str) -> bool {
    matches!(ty, "NUMBER" | "NUMERIC" | "POSITION")
}

/// Sub-fields of the EMAILS composite
/// (packages/twenty-shared/src/types/composite-types/emails.composite-type.ts, `41d24255`).
pub const EMAILS_SUB_FIELDS: [&str; 2] = ["primaryEmail", "additionalEmails"];

/// Validate a parsed filter against the object's fields, as the newest common layer does before
/// SQL ([`validate_for`] with [`TwentyProfile::Newest`]).
pub fn validate(filter: &Filter, object: &ObjectMeta) -> Result<(), TwentyError> {
    validate_for(filter, object, TwentyProfile::Newest)
}

/// [`validate`] with the profile's wording for a composite (EMAILS) condition that does not name
/// a sub-field: `repEmail[eq]:x` parses to `{repEmail: {eq: x}}` (parse-filter.util.ts
/// `0849483d` nests `field.subField`), and `eq` is then looked up as a sub-field
/// (filter-arg-processor.service.ts `0c49deef`, `validateAndTransformCompositeFieldFilter`) ->
/// 400 (`TwentyProfile::composite_sub_field_not_found`). `is` gets the same answer there.
/// Operators on a sub-field are not checked against its type (the fake's simplification).
pub fn validate_for(
    filter: &Filter,
    object: &ObjectMeta,
    profile: TwentyProfile,
) -> Result<(), TwentyError> {
    match filter {
        Filter::And(items) | Filter::Or(items) => items
            .iter()
            .try_for_each(|f| validate_for(f, object, profile)),
        Filter::Not(inner) => validate_for(inner, object, profile),
        Filter::Leaf { path, op, value } => {
            let key = path.first().map(String::as_str).unwrap_or_default();
            let Some(field) = object.field(key) else {
                if profile.is_june_2025() {
                    // Checked on the real 7f19111 server.
                    return Err(TwentyError::bad_request(&format!(
                        "field '{key}' does not exist in '_{}' object",
                        object.name_singular
                    )));
                }
                return Err(TwentyError::unknown_field(&object.name_singular, key));
            };
            if field.ty == "EMAILS" {
                let sub = path.get(1).map_or(op.as_str(), String::as_str);
                if !EMAILS_SUB_FIELDS.contains(&sub) {
                    return Err(profile.composite_sub_field_not_found(sub, "EMAILS"));
                }
            }
            if op == "is" {
                // June 2025 reads anything but NULL as NOT NULL (`repEmail[is]:maybe` listed every
                // record on the real server).
                let ok = profile.is_june_2025()
                    || matches!(value, FilterValue::One(v) if v == "NULL" || v == "NOT_NULL");
                if !ok {
                    // Message text not read from source (validate-is-operator-filter-value-or-throw.util.ts).
                    return Err(TwentyError::bad_request(&format!(
                        "Invalid value for \"is\" operator on field \"{key}\": expected NULL or NOT_NULL"
                    )));
                }
                return Ok(());
            }
            // June 2025 sends a number that does not parse to SQL as NaN, which matches nothing
            // (`totalXp[eq]:abc` answered an empty list on the real server).
            if is_numeric_type(&field.ty) && path.len() == 1 && !profile.is_june_2025() {
                let items: Vec<&String> = match value {
                    FilterValue::One(v) => vec![v],
                    FilterValue::List(vs) => vs.iter().collect(),
                };
                for v in items {
                    let n = js_parse_float(v);
                    if !n.is_finite() {
                        let shown = if n.is_nan() {
                            "NaN".to_string()
                        } else if n > 0.0 {
                            "Infinity".to_string()
                        } else {
                            "-Infinity".to_string()
                        };
                        return Err(TwentyError::bad_request(&format!(
                            "Invalid number value {shown} for field \"{key}\""
                        )));
                    }
                }
            }
            if field.ty == "DATE_TIME" && path.len() == 1 {
                let items: Vec<&String> = match value {
                    FilterValue::One(v) => vec![v],
                    FilterValue::List(vs) => vs.iter().collect(),
                };
                for v in items {
                    if timestamps::parse_filter_operand(v).is_none() {
                        // validate-date-time-field-or-throw.util.ts (filter-arg-processor,
                        // `d1340b4`): `inspect(value)` puts a string in single quotes.
                        return Err(TwentyError::bad_request(&format!(
                            "Invalid value {} for date-time field \"{key}\". Expected format: 'YYYY-MM-DDTHH:mm:ssZ'",
                            timestamps::js_inspect(&Value::String(v.clone()))
                        )));
                    }
                }
            }
            Ok(())
        }
    }
}

/// The newest server lower-cases `eq`, `neq` and `in` values on an EMAILS field's `primaryEmail`
/// before SQL (packages/twenty-server/src/engine/api/common/common-args-processors/filter-arg-processor/utils/canonicalize-emails-filter-value.util.ts,
/// `0ea80165`); `ilike` and the rest are left raw. Older servers send every value as is, so
/// `repEmail.primaryEmail[eq]:"A@B.C"` misses the stored `a@b.c` (research pass 11 §2).
pub fn canonicalize_emails(filter: Filter, object: &ObjectMeta, profile: TwentyProfile) -> Filter {
    if profile.is_june_2025() {
        return filter;
    }
    match filter {
        Filter::And(items) => Filter::And(
            items
                .into_iter()
                .map(|f| canonicalize_emails(f, object, profile))
                .collect(),
        ),
        Filter::Or(items) => Filter::Or(
            items
                .into_iter()
                .map(|f| canonicalize_emails(f, object, profile))
                .collect(),
        ),
        Filter::Not(inner) => Filter::Not(Box::new(canonicalize_emails(*inner, object, profile))),
        Filter::Leaf { path, op, value } => {
            let on_primary = path.len() == 2
                && path[1] == "primaryEmail"
                && object.field(&path[0]).is_some_and(|f| f.ty == "EMAILS")
                && matches!(op.as_str(), "eq" | "neq" | "in");
            let value = match value {
                FilterValue::One(v) if on_primary => FilterValue::One(v.to_lowercase()),
                FilterValue::List(vs) if on_primary => {
                    FilterValue::List(vs.iter().map(|v| v.to_lowercase()).collect())
                }
                other => other,
            };
            Filter::Leaf { path, op, value }
        }
    }
}

/// Does `record` match? Only a definite `true` matches (SQL WHERE semantics).
/// DATE_TIME comparisons follow the newest Twenty ([`DateTimeFilterMode::Newest`]).
pub fn matches(filter: &Filter, record: &Value, object: &ObjectMeta) -> bool {
    matches_in(filter, record, object, DateTimeFilterMode::Newest)
}

/// [`matches()`] with an explicit DATE_TIME comparison mode.
pub fn matches_in(
    filter: &Filter,
    record: &Value,
    object: &ObjectMeta,
    mode: DateTimeFilterMode,
) -> bool {
    eval(filter, record, object, mode) == Some(true)
}

/// Does any condition of the filter name `field` (as its first path segment)? Twenty's
/// `applyDeletedAtToBuilder` lifts the implicit `deletedAt IS NULL` of reads when the filter
/// mentions `deletedAt` anywhere.
pub fn mentions_field(filter: &Filter, field: &str) -> bool {
    match filter {
        Filter::And(items) | Filter::Or(items) => items.iter().any(|f| mentions_field(f, field)),
        Filter::Not(inner) => mentions_field(inner, field),
        Filter::Leaf { path, .. } => path.first().is_some_and(|p| p == field),
    }
}

fn eval(
    filter: &Filter,
    record: &Value,
    object: &ObjectMeta,
    mode: DateTimeFilterMode,
) -> Option<bool> {
    match filter {
        Filter::And(items) => {
            let mut unknown = false;
            for f in items {
                match eval(f, record, object, mode) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(true)
            }
        }
        Filter::Or(items) => {
            let mut unknown = false;
            for f in items {
                match eval(f, record, object, mode) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown {
                None
            } else {
                Some(false)
            }
        }
        Filter::Not(inner) => eval(inner, record, object, mode).map(|b| !b),
        Filter::Leaf { path, op, value } => eval_leaf(path, op, value, record, object, mode),
    }
}

fn lookup<'a>(record: &'a Value, path: &[String]) -> &'a Value {
    let mut cur = record;
    for seg in path {
        cur = cur.get(seg).unwrap_or(&Value::Null);
    }
    cur
}

fn field_type<'a>(object: &'a ObjectMeta, path: &[String]) -> &'a str {
    if path.len() != 1 {
        return "TEXT";
    }
    path.first()
        .and_then(|k| object.field(k))
        .map(|f| f.ty.as_str())
        .unwrap_or("TEXT")
}

fn compare(actual: &Value, operand: &str, ty: &str) -> Option<Ordering> {
    if is_numeric_type(ty) {
        let a = match actual {
            Value::String(s) => s
                .parse::<f64>()
                .ok()
                .or_else(|| (s == "NaN").then_some(f64::NAN))?,
            other => other.as_f64()?,
        };
        return Some(pg_float_cmp(a, js_parse_float(operand)));
    }
    let a = match actual {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        other => other.to_string(),
    };
    if ty == "DATE_TIME" {
        if let (Some(x), Some(y)) = (
            timestamps::parse_stored(&a),
            timestamps::parse_stored(operand),
        ) {
            return Some(x.cmp(&y));
        }
    }
    if ty == "DATE" {
        if let (Ok(x), Ok(y)) = (
            chrono::DateTime::parse_from_rfc3339(&a),
            chrono::DateTime::parse_from_rfc3339(operand),
        ) {
            return Some(x.cmp(&y));
        }
    }
    if ty == "UUID" {
        return Some(a.to_ascii_lowercase().cmp(&operand.to_ascii_lowercase()));
    }
    Some(a.as_str().cmp(operand))
}

/// Postgres' float order: `NaN` equals `NaN` and sorts above every number
/// (`records::stored_float` keeps what a REST write of `"lots"` stores).
fn pg_float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// SQL LIKE with `%` and `_`.
fn like(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    let (mut ti, mut pi) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || (p[pi] != '%' && p[pi] == t[ti])) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// Newest DATE_TIME comparison (compute-where-condition-parts.ts `04ebb83`): the stored value
/// `x` against the window `[v, v + 1ms)`. `None` when either side does not parse.
fn eval_datetime_newest(actual: &Value, op: &str, operand: &str) -> Option<bool> {
    const MS: i128 = 1_000_000;
    let x = timestamps::parse_stored(actual.as_str()?)?;
    let v = timestamps::parse_stored(operand)?;
    Some(match op {
        "eq" => v <= x && x < v + MS,
        "neq" => x < v || x >= v + MS,
        "gt" => x >= v + MS,
        "gte" => x >= v,
        "lt" => x < v,
        "lte" => x < v + MS,
        _ => return None,
    })
}

fn eval_leaf(
    path: &[String],
    op: &str,
    value: &FilterValue,
    record: &Value,
    object: &ObjectMeta,
    mode: DateTimeFilterMode,
) -> Option<bool> {
    let actual = lookup(record, path);
    let ty = field_type(object, path);
    if op == "is" {
        let is_null = actual.is_null();
        return Some(match value {
            FilterValue::One(v) if v == "NULL" => is_null,
            _ => !is_null,
        });
    }
    if actual.is_null() {
        return None;
    }
    let one = match value {
        FilterValue::One(v) => v.as_str(),
        FilterValue::List(_) => "",
    };
    let text = || match actual {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if ty == "DATE_TIME"
        && mode == DateTimeFilterMode::Newest
        && matches!(op, "eq" | "neq" | "gt" | "gte" | "lt" | "lte")
    {
        if let Some(hit) = eval_datetime_newest(actual, op, one) {
            return Some(hit);
        }
    }
    match op {
        "eq" => Some(compare(actual, one, ty)? == Ordering::Equal),
        "neq" => Some(compare(actual, one, ty)? != Ordering::Equal),
        "gt" => Some(compare(actual, one, ty)? == Ordering::Greater),
        "gte" => Some(compare(actual, one, ty)? != Ordering::Less),
        "lt" => Some(compare(actual, one, ty)? == Ordering::Less),
        "lte" => Some(compare(actual, one, ty)? != Ordering::Greater),
        "in" => {
            let FilterValue::List(items) = value else {
                return Some(false);
            };
            let mut unknown = false;
            for item in items {
                match compare(actual, item, ty) {
                    Some(Ordering::Equal) => return Some(true),
                    None => unknown = true,
                    _ => {}
                }
            }
            if unknown {
                None
            } else {
                Some(false)
            }
        }
        "containsAny" => {
            let FilterValue::List(items) = value else {
                return Some(false);
            };
            let arr = actual.as_array()?;
            Some(arr.iter().any(|v| {
                let s = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                items.contains(&s)
            }))
        }
        "like" => Some(like(&text(), one, false)),
        "ilike" => Some(like(&text(), one, true)),
        // Implemented as case-sensitive prefix/suffix tests (LIKE 'v%' / LIKE '%v').
        "startsWith" => Some(text().starts_with(one)),
        "endsWith" => Some(text().ends_with(one)),
        _ => Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::metadata::{ObjectMeta, SchemaPreset};
    use serde_json::json;

    fn leaf(path: &str, op: &str, v: &str) -> Filter {
        Filter::Leaf {
            path: path.split('.').map(str::to_string).collect(),
            op: op.to_string(),
            value: FilterValue::One(v.to_string()),
        }
    }

    fn object() -> ObjectMeta {
        ObjectMeta::rep_progression(&SchemaPreset::Full, 0)
    }

    #[test]
    fn single_condition_gets_default_and() {
        let f = parse_filter_rest("repEmail[eq]:\"a@b.c\"").unwrap();
        assert_eq!(f, Filter::And(vec![leaf("repEmail", "eq", "a@b.c")]));
    }

    #[test]
    fn nested_conjunctions_and_quotes() {
        let f =
            parse_filter_rest("or(and(id[eq]:x,syncRevision[eq]:3),not(name[eq]:'a,b'))").unwrap();
        assert_eq!(
            f,
            Filter::Or(vec![
                Filter::And(vec![leaf("id", "eq", "x"), leaf("syncRevision", "eq", "3")]),
                Filter::Not(Box::new(leaf("name", "eq", "a,b"))),
            ])
        );
    }

    #[test]
    fn in_lists_split_on_commas() {
        let f = parse_filter_rest("level[in]:[1,2,\"3\"]").unwrap();
        assert_eq!(
            f,
            Filter::And(vec![Filter::Leaf {
                path: vec!["level".into()],
                op: "in".into(),
                value: FilterValue::List(vec!["1".into(), "2".into(), "3".into()]),
            }])
        );
    }

    #[test]
    fn bad_filters_have_twenty_messages() {
        let e = parse_filter_rest("and(a[eq]:1").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(
            e.body.contains("1 close bracket is missing in the query"),
            "{}",
            e.body
        );
        let e = parse_filter_rest("totalXp=3").unwrap_err();
        assert!(e
            .body
            .contains("'filter' invalid for 'totalXp=3'. eg: price[gte]:10"));
        let e = parse_filter_rest("totalXp[foo]:3").unwrap_err();
        assert!(e.body.contains("comparator foo not in eq, neq, in"));
        let e = parse_filter_rest("not(a[eq]:1,b[eq]:2)").unwrap_err();
        assert!(e
            .body
            .contains("'not' conjunction should contain only 1 condition"));
        let e = parse_filter_rest("level[in]:3").unwrap_err();
        assert!(e.body.contains("array value expected"));
    }

    #[test]
    fn validation_rejects_unknown_fields_and_nan() {
        let o = object();
        let f = parse_filter_rest("nope[eq]:1").unwrap();
        let e = validate(&f, &o).unwrap_err();
        assert!(e
            .body
            .contains(r#"Object repProgression doesn't have any \"nope\" field."#));
        let f = parse_filter_rest("totalXp[eq]:abc").unwrap();
        let e = validate(&f, &o).unwrap_err();
        assert!(e
            .body
            .contains(r#"Invalid number value NaN for field \"totalXp\""#));
        let f = parse_filter_rest("totalXp[eq]:12abc").unwrap();
        assert!(
            validate(&f, &o).is_ok(),
            "parseFloat keeps the numeric prefix"
        );
    }

    #[test]
    fn numeric_eq_on_number_fields() {
        let o = object();
        let r = json!({"id":"A","syncRevision": 3, "totalXp": 120.0, "repEmail": "a@b.c"});
        let hit = parse_filter_rest("and(id[eq]:A,syncRevision[eq]:3)").unwrap();
        let miss = parse_filter_rest("and(id[eq]:A,syncRevision[eq]:4)").unwrap();
        assert!(matches(&hit, &r, &o));
        assert!(!matches(&miss, &r, &o));
        assert!(matches(
            &parse_filter_rest("totalXp[gte]:120").unwrap(),
            &r,
            &o
        ));
        assert!(!matches(
            &parse_filter_rest("totalXp[gt]:120").unwrap(),
            &r,
            &o
        ));
        assert!(matches(
            &parse_filter_rest("repEmail[like]:%@b.c").unwrap(),
            &r,
            &o
        ));
        assert!(matches(
            &parse_filter_rest("repEmail[ilike]:A@%").unwrap(),
            &r,
            &o
        ));
        assert!(!matches(
            &parse_filter_rest("repEmail[like]:A@%").unwrap(),
            &r,
            &o
        ));
    }

    #[test]
    fn null_columns_never_match_neq_or_not() {
        let o = object();
        let r = json!({"id":"A","syncRevision": null});
        assert!(!matches(
            &parse_filter_rest("syncRevision[neq]:1").unwrap(),
            &r,
            &o
        ));
        assert!(!matches(
            &parse_filter_rest("not(syncRevision[eq]:1)").unwrap(),
            &r,
            &o
        ));
        assert!(matches(
            &parse_filter_rest("syncRevision[is]:NULL").unwrap(),
            &r,
            &o
        ));
    }

    /// compute-where-condition-parts.ts: newest (`04ebb83`) one-millisecond windows vs older
    /// (`d8c8500`) plain comparisons, against a stored microsecond value.
    #[test]
    fn datetime_windows_newest_and_legacy() {
        let o = object();
        let r = json!({"id": "A", "updatedAt": "2026-11-25T14:57:22.278391Z"});
        let check = |f: &str, mode| matches_in(&parse_filter_rest(f).unwrap(), &r, &o, mode);
        use DateTimeFilterMode::{Legacy, Newest};
        let t = "2026-11-25T14:57:22.278Z";
        for (op, newest, legacy) in [
            ("eq", true, false),
            ("neq", false, true),
            ("gt", false, true),
            ("gte", true, true),
            ("lt", false, false),
            ("lte", true, false),
        ] {
            let f = format!("updatedAt[{op}]:{t}");
            assert_eq!(check(&f, Newest), newest, "newest {op}");
            assert_eq!(check(&f, Legacy), legacy, "legacy {op}");
        }
        let bracket =
            "and(updatedAt[gte]:2026-11-25T14:57:22.278Z,updatedAt[lt]:2026-11-25T14:57:22.279Z)";
        assert!(check(bracket, Newest) && check(bracket, Legacy));
    }

    /// validate-date-time-field-or-throw.util.ts (filter-arg-processor, `d1340b4`).
    #[test]
    fn datetime_operands_are_validated() {
        let o = object();
        let f = parse_filter_rest("updatedAt[gte]:yesterday").unwrap();
        let e = validate(&f, &o).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.body.contains(
            r#"Invalid value 'yesterday' for date-time field \"updatedAt\". Expected format: 'YYYY-MM-DDTHH:mm:ssZ'"#
        ), "{}", e.body);
        // date-fns `SSS` reads at most three digits: a microsecond operand is refused.
        let f = parse_filter_rest("updatedAt[eq]:2026-11-25T14:57:22.278391Z").unwrap();
        assert!(validate(&f, &o).is_err());
        let f =
            parse_filter_rest("and(updatedAt[lt]:\"2026-11-25T14:57:22.278Z\",deletedAt[is]:NULL)")
                .unwrap();
        assert!(validate(&f, &o).is_ok());
        assert!(mentions_field(&f, "deletedAt"));
        assert!(!mentions_field(
            &parse_filter_rest("not(totalXp[eq]:1)").unwrap(),
            "deletedAt"
        ));
    }

    #[test]
    fn js_parse_float_matches_javascript() {
        assert_eq!(js_parse_float("42"), 42.0);
        assert_eq!(js_parse_float(" -1.5e3x"), -1500.0);
        assert_eq!(js_parse_float(".5"), 0.5);
        assert!(js_parse_float("abc").is_nan());
        assert!(js_parse_float("").is_nan());
        assert_eq!(js_parse_float("7."), 7.0);
    }
}
