//! One timestamp format everywhere: RFC 3339 in UTC with milliseconds, as Twenty returns its
//! DATE_TIME fields, so local and remote values compare as strings and as times.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

use crate::error::ValidationError;

/// A point in time, in UTC.
pub type Timestamp = DateTime<Utc>;

pub fn now() -> Timestamp {
    Utc::now()
}

/// Always three fraction digits, truncated (Twenty writes `.000Z`), and `Z`.
pub fn format(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// RFC 3339 with any offset and any number of fraction digits; `T`, `t` or a space between date
/// and time. A leap second (`:60`) is taken only where one can be, 23:59:60 UTC on the last day of
/// a month, and reads as the last instant before the next day, so it never prints as `:60`.
pub fn parse(s: &str) -> Result<Timestamp, ValidationError> {
    let invalid = || ValidationError::Time {
        given: s.to_string(),
    };
    let t = DateTime::parse_from_rfc3339(s.trim())
        .map_err(|_| invalid())?
        .with_timezone(&Utc);
    if t.nanosecond() < 1_000_000_000 {
        return Ok(t);
    }
    let month_ends = t.date_naive().succ_opt().is_some_and(|d| d.day() == 1);
    if (t.hour(), t.minute(), t.second()) != (23, 59, 59) || !month_ends {
        return Err(invalid());
    }
    t.with_nanosecond(999_999_999).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_milliseconds_in_utc() {
        let t = parse("2026-11-25T15:00:00.123456+01:00").expect("valid time");
        assert_eq!(format(t), "2026-11-25T14:00:00.123Z");
        assert_eq!(
            format(parse("2026-01-02T03:04:05Z").expect("valid")),
            "2026-01-02T03:04:05.000Z"
        );
        assert!(parse("yesterday").is_err());
    }

    #[test]
    fn prints_and_reads_as_before() {
        // Fractions truncate to milliseconds, offsets become Z, lower-case t and z are read, and
        // so is a space between date and time (SQLite's own format).
        for (given, printed) in [
            ("2026-11-25 14:00:00Z", "2026-11-25T14:00:00.000Z"),
            ("2026-11-25T14:00:00.9999Z", "2026-11-25T14:00:00.999Z"),
            ("2026-11-25t14:00:00.1z", "2026-11-25T14:00:00.100Z"),
            (" 2026-11-25T23:30:00-01:00 ", "2026-11-26T00:30:00.000Z"),
            ("2026-12-31T23:59:60Z", "2026-12-31T23:59:59.999Z"),
            ("2026-12-31T23:59:60.5Z", "2026-12-31T23:59:59.999Z"),
            ("2026-07-01T01:59:60+02:00", "2026-06-30T23:59:59.999Z"),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
            ("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999Z"),
        ] {
            assert_eq!(format(parse(given).expect(given)), printed, "{given}");
        }
        for bad in [
            "",
            "2026-11-25",
            "2026-11-25T14:00:00",
            "2026-11-25T14:00:60Z",
            "2026-11-25T23:59:60Z",
            "2026-12-31T23:59:60+01:00",
            "2026-02-30T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T14:00:00+24:00",
            "2026-11-25T14:00:00.Z",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let now = now();
        assert_eq!(parse(&format(now)).map(format), Ok(format(now)));
    }
}
