//! One timestamp format everywhere: RFC 3339 in UTC with milliseconds, as Twenty returns its
//! DATE_TIME fields, so local and remote values compare as strings and as times.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::ValidationError;

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Always three fraction digits (Twenty writes `.000Z`, time's RFC 3339 writer would drop them).
pub fn format(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

pub fn parse(s: &str) -> Result<OffsetDateTime, ValidationError> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| ValidationError::Time {
            given: s.to_string(),
        })
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
}
