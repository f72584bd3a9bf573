//! DATE_TIME values: microseconds inside, milliseconds outside.
//!
//! - Column type: packages/twenty-server/src/engine/metadata-modules/workspace-migration/utils/field-metadata-type-to-column-type.util.ts
//!   (`DATE_TIME` -> `timestamptz`), with no precision in the DDL
//!   (packages/twenty-server/src/engine/twenty-orm/workspace-schema-manager/utils/build-sql-column-definition.util.ts),
//!   so Postgres keeps microseconds.
//! - Stamps: packages/twenty-server/src/engine/twenty-orm/query-builder/workspace-mutation-query-builder.ts
//!   appends `"updatedAt" = CURRENT_TIMESTAMP` unless the caller sets `updatedAt` itself; soft delete
//!   and restore stamp it too. `CURRENT_TIMESTAMP` has microsecond resolution.
//! - Output: packages/twenty-server/src/engine/twenty-orm/utils/format-result.util.ts passes the
//!   node-postgres `Date` through, and `Date.toJSON()` prints milliseconds: the API shows the stored
//!   value truncated to ms, e.g. `2026-11-25T14:57:22.278Z` for `…22.278391`. (Inferred for the
//!   ORM-v2 executor: Unverified that it has no custom type parser.)
//!
//! The fake stores every DATE_TIME as `2026-11-25T14:57:22.278391Z` (always six digits) and renders
//! records with [`render_record`] in every API answer.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Timelike, Utc};
use serde_json::{Map, Value};

use super::metadata::ObjectMeta;

const NS_PER_US: i128 = 1_000;
const NS_PER_MS: i128 = 1_000_000;

fn datetime_from_ns(ns: i128) -> DateTime<Utc> {
    let secs = ns.div_euclid(1_000_000_000);
    let sub = ns.rem_euclid(1_000_000_000) as u32;
    i64::try_from(secs)
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, sub))
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn ymd_hms(t: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}

/// Stored form: ISO 8601, six fractional digits, `Z` (`2026-11-25T14:57:22.278391Z`).
pub fn iso_us(us: i64) -> String {
    let ns = i128::from(us) * NS_PER_US;
    let t = datetime_from_ns(ns);
    format!("{}.{:06}Z", ymd_hms(t), t.nanosecond() / 1_000)
}

/// API form of an instant given in nanoseconds: truncated (floored) to milliseconds, as
/// `Date.toISOString()` prints a node-postgres `Date`.
pub fn iso_ms_of_ns(ns: i128) -> String {
    let floored = ns.div_euclid(NS_PER_MS) * NS_PER_MS;
    let t = datetime_from_ns(floored);
    format!("{}.{:03}Z", ymd_hms(t), t.nanosecond() / 1_000_000)
}

/// Postgres rounds input beyond microseconds to the nearest microsecond.
fn round_to_us(ns: i128) -> i128 {
    (ns + NS_PER_US / 2).div_euclid(NS_PER_US) * NS_PER_US
}

/// Which inputs a parser takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grammar {
    /// Written data (data-arg processor): `Temporal.Instant.from` (ISO with offset, up to nine
    /// fractional digits, `T` or space) or one of the zoneless date-fns formats, read as UTC.
    Write,
    /// Filter values (filter-arg processor): only date-fns `ACCEPTED_DATE_TIME_FORMATS`, whose
    /// `SSS` takes one to three digits; a `T` form needs seconds, a space form takes no zone.
    Filter,
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(part).ok()?.parse().ok()
}

/// `Z`, `±HH`, `±HHMM` or `±HH:MM` (date-fns `X`/`xxx`; Temporal takes the same).
fn parse_zone(z: &[u8]) -> Option<FixedOffset> {
    if z == b"Z" || z == b"z" {
        return FixedOffset::east_opt(0);
    }
    let sign: i32 = match z.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours = digits(z, 1, 2)? as i32;
    let minutes = match z.len() {
        3 => 0,
        5 => digits(z, 3, 2)? as i32,
        6 if z[3] == b':' => digits(z, 4, 2)? as i32,
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// Parse the ISO-like forms both validators accept into Unix nanoseconds.
///
/// Not supported (Twenty's date-fns list also takes them; the fake answers 400):
/// `yyyyMMdd`, `yyyy.MM.dd`, `yyyy/MM/dd`, `MM-dd-yyyy`, `MM/dd/yyyy`, `MM.dd.yyyy`, month names.
fn parse_instant(s: &str, grammar: Grammar) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(b, 0, 4)? as i32;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    if b.len() == 10 {
        // `yyyy-MM-dd`: midnight UTC.
        return unix_nanos(date.and_time(NaiveTime::MIN).and_utc());
    }
    let t_sep = match b[10] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    let hour = digits(b, 11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let minute = digits(b, 14, 2)?;
    let mut i = 16;
    let mut second = 0u32;
    let has_seconds = b.get(i) == Some(&b':');
    if has_seconds {
        second = digits(b, i + 1, 2)?;
        i += 3;
    }
    let mut nanos = 0u32;
    let mut frac_digits = 0usize;
    if matches!(b.get(i), Some(b'.') | Some(b',')) && has_seconds {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - start;
        if frac_digits == 0 || frac_digits > 9 {
            return None;
        }
        let text = format!("{:0<9}", &s[start..i]);
        nanos = text.parse().ok()?;
    }
    let zone = &b[i..];
    let offset = if zone.is_empty() {
        FixedOffset::east_opt(0)?
    } else {
        parse_zone(zone)?
    };
    if grammar == Grammar::Filter {
        // date-fns formats: `T` forms always have seconds; space forms carry no zone;
        // `SSS` reads one to three digits.
        if (t_sep && !has_seconds) || (!t_sep && !zone.is_empty()) || frac_digits > 3 {
            return None;
        }
        if !has_seconds && frac_digits > 0 {
            return None;
        }
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let local = date.and_time(time);
    let utc = local.checked_sub_offset(offset)?;
    unix_nanos(utc.and_utc())
}

fn unix_nanos(t: DateTime<Utc>) -> Option<i128> {
    Some(i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos()))
}

/// A written DATE_TIME value, as stored: rounded to microseconds, six digits.
/// Follows packages/twenty-server/src/engine/api/common/common-args-processors/data-arg-processor/validator-utils/validate-date-time-field-or-throw.util.ts
/// (twentyhq/twenty `8d24ebb`): strict ISO instants via `Temporal.Instant.from`, else zoneless
/// date-fns formats read as UTC.
pub fn normalize_written(s: &str) -> Option<String> {
    let ns = round_to_us(parse_instant(s, Grammar::Write)?);
    Some(iso_us((ns / NS_PER_US) as i64))
}

/// A DATE_TIME filter operand in nanoseconds, or `None` when Twenty's filter validator rejects it.
/// Follows packages/twenty-server/src/engine/api/common/common-args-processors/filter-arg-processor/validator-utils/validate-date-time-field-or-throw.util.ts
/// (twentyhq/twenty `d1340b4`): the string must match one of date-fns `ACCEPTED_DATE_TIME_FORMATS`;
/// Postgres then reads a zoneless value in the session time zone (UTC assumed: Unverified).
pub fn parse_filter_operand(s: &str) -> Option<i128> {
    parse_instant(s, Grammar::Filter)
}

/// A stored (or seeded) DATE_TIME text in nanoseconds; lenient, for comparisons.
pub fn parse_stored(s: &str) -> Option<i128> {
    parse_instant(s, Grammar::Write)
}

/// Node's `util.inspect` of a JSON value, as Twenty's validators put it in messages:
/// strings in single quotes (`'abc'`), numbers and booleans bare. Objects and arrays use
/// Node's `{ a: 1 }` / `[ 1, 2 ]` layout (approximate for nested values: Unverified).
pub fn js_inspect(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => (f as i64).to_string(),
            _ => n.to_string(),
        },
        Value::Array(items) if items.is_empty() => "[]".to_string(),
        Value::Array(items) => format!(
            "[ {} ]",
            items.iter().map(js_inspect).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) if map.is_empty() => "{}".to_string(),
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{k}: {}", js_inspect(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The record as the API prints it: every DATE_TIME field truncated to milliseconds.
/// Text that does not parse as a date-time (only possible for seeded values) is left as is.
pub fn render_record(object: &ObjectMeta, record: &Value) -> Value {
    render_record_with(object, record, false)
}

/// [`render_record`]; `keep_non_finite`: a float column's `NaN` / `Infinity` stays as its text
/// (for GraphQL, which refuses to serialize it) instead of becoming null (REST's
/// `JSON.stringify`; see `records::stored_float`).
pub fn render_record_with(object: &ObjectMeta, record: &Value, keep_non_finite: bool) -> Value {
    let Some(map) = record.as_object() else {
        return record.clone();
    };
    let mut out = Map::with_capacity(map.len());
    for (k, v) in map {
        let ty = object.field(k).map(|f| f.ty.as_str());
        let is_datetime = ty == Some("DATE_TIME");
        let is_float = matches!(ty, Some("NUMBER" | "NUMERIC" | "POSITION"));
        let rendered = match v {
            Value::String(s) if is_datetime => match parse_stored(s) {
                Some(ns) => Value::String(iso_ms_of_ns(ns)),
                None => v.clone(),
            },
            Value::String(_) if is_float && !keep_non_finite => Value::Null,
            _ => v.clone(),
        };
        out.insert(k.clone(), rendered);
    }
    Value::Object(out)
}

/// Microsecond stamps for `CURRENT_TIMESTAMP`, derived from the fake's millisecond [`super::Clock`]
/// and a per-server counter.
///
/// Each stamp is `now_ms * 1000 + jitter`, the jitter (1..=499 µs) coming from the counter, so
/// a stamp's microseconds are almost never zero (a value read back from the API, in ms, then
/// differs from the stored one, as on a real server). Two stamps in the same millisecond are
/// still strictly increasing: the later one is at least the earlier plus 1 µs (a burst of more
/// than ~500 writes in one ms spills into the next ms). If the clock goes back by less than a
/// second, stamps keep increasing from the last one; a larger step back is followed.
/// Deterministic for a given sequence of clock readings (e.g. a `ManualClock`).
#[derive(Debug, Default, Clone)]
pub struct Stamper {
    last_us: i64,
    seq: u64,
}

impl Stamper {
    /// The next stamp in microseconds since the Unix epoch.
    pub fn next_us(&mut self, now_ms: u64) -> i64 {
        let base = (now_ms as i64).saturating_mul(1000);
        self.seq = self.seq.wrapping_add(1);
        let jitter = 1 + (self.seq.wrapping_mul(389) % 499) as i64;
        let from_clock = base + jitter;
        let us = if self.last_us >= from_clock && self.last_us < base + 1_000_000 {
            self.last_us + 1
        } else {
            from_clock
        };
        self.last_us = us;
        us
    }

    /// The next stamp in stored form.
    pub fn next(&mut self, now_ms: u64) -> String {
        iso_us(self.next_us(now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_and_rendered_forms() {
        let us = 1_795_100_242_278_391i64;
        let stored = iso_us(us);
        assert!(stored.ends_with(".278391Z"), "{stored}");
        let ns = parse_stored(&stored).unwrap();
        assert_eq!(ns, i128::from(us) * 1000);
        assert!(iso_ms_of_ns(ns).ends_with(".278Z"));
        assert_eq!(
            normalize_written("2026-11-25T10:00:00Z").as_deref(),
            Some("2026-11-25T10:00:00.000000Z")
        );
        assert_eq!(
            normalize_written("2026-11-25T11:00:00.1234567+01:00").as_deref(),
            Some("2026-11-25T10:00:00.123457Z"),
            "rounded to microseconds, converted to UTC"
        );
        assert_eq!(
            normalize_written("2026-11-25").as_deref(),
            Some("2026-11-25T00:00:00.000000Z")
        );
        assert!(normalize_written("yesterday").is_none());
        assert!(normalize_written("2026-13-01T00:00:00Z").is_none());
    }

    #[test]
    fn filter_operands_follow_the_date_fns_formats() {
        for ok in [
            "2026-11-25T14:57:22.278Z",
            "2026-11-25T14:57:22Z",
            "2026-11-25T14:57:22.278+01:00",
            "2026-11-25T14:57:22+0100",
            "2026-11-25T14:57:22.278",
            "2026-11-25 14:57:22",
            "2026-11-25 14:57",
            "2026-11-25",
        ] {
            assert!(parse_filter_operand(ok).is_some(), "{ok}");
        }
        for bad in [
            "2026-11-25T14:57:22.278391Z",
            "2026-11-25T14:57Z",
            "2026-11-25 14:57:22Z",
            "abc",
            "",
        ] {
            assert!(parse_filter_operand(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn stamps_increase_within_one_millisecond() {
        let mut s = Stamper::default();
        let a = s.next_us(1_000);
        let b = s.next_us(1_000);
        let c = s.next_us(1_000);
        assert!(a < b && b < c);
        assert_eq!(a / 1000, 1_000, "stays in the clock's millisecond");
        assert_ne!(a % 1000, 0, "microseconds are not zero");
        let d = s.next_us(1_001);
        assert!(d > c && d / 1000 == 1_001);
        let mut again = Stamper::default();
        assert_eq!(again.next_us(1_000), a, "deterministic");
    }

    #[test]
    fn inspect_like_node() {
        assert_eq!(js_inspect(&json!("abc")), "'abc'");
        assert_eq!(js_inspect(&json!(5)), "5");
        assert_eq!(js_inspect(&json!({"a": 1})), "{ a: 1 }");
    }
}
