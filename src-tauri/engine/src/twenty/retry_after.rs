//! How long a rate-limited Twenty asks RepXP to wait (docs/twenty-api.md §5).
//!
//! - `Retry-After` (RFC 9110 §10.2.3) is delta-seconds or an HTTP-date. Twenty's modern 429 sends
//!   whole seconds, at least 1 (`get-retry-after-seconds.util.ts`); no version sends a date, but a
//!   proxy in front of Twenty may, so both are read: IMF-fixdate and the obsolete RFC 850 and
//!   asctime forms (the `httpdate` crate, already in the graph through hyper).
//! - `X-RateLimit-Reset` (modern 429 only, Unix epoch seconds) is read only when `Retry-After` is
//!   missing or unreadable.
//! - The legacy 429 has neither header; its message names the bucket's window
//!   (`Limit reached (100 tokens per 60000 ms)`), and [`window_in_message`] reads it.
//!
//! A date in the past means no wait; anything over a day is clamped to a day (a misconfigured
//! proxy must not park a rep's sync for a week). What these return is a floor: the scheduler adds
//! its own spread on top, so a team told "1 s" does not come back in step.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The longest wait taken from a server's word.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// Numbers at least this large in `X-RateLimit-Reset` are epoch seconds (2001-09-09 on);
/// smaller ones are taken as delta-seconds, as some servers send.
const EPOCH_SECONDS_FROM: u64 = 1_000_000_000;

/// A `Retry-After` value: delta-seconds or an HTTP-date, relative to `now` (the client's clock).
/// `None` if it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        // 1*DIGIT; more digits than a u64 holds is still "very long".
        let secs = v.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_WAIT));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(until(at, now))
}

/// `X-RateLimit-Reset`: epoch seconds (Twenty: `ceil(now) + retryAfterSeconds`), or
/// delta-seconds if the number is too small to be a date.
pub fn parse_reset(value: &str, now: SystemTime) -> Option<Duration> {
    let n = value.trim().parse::<u64>().ok()?;
    if n < EPOCH_SECONDS_FROM {
        return Some(Duration::from_secs(n).min(MAX_WAIT));
    }
    Some(until(UNIX_EPOCH + Duration::from_secs(n), now))
}

/// The wait a response asks for: `Retry-After`, else `X-RateLimit-Reset`.
pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    text(RETRY_AFTER.as_str())
        .and_then(|v| parse_retry_after(v, now))
        .or_else(|| text("x-ratelimit-reset").and_then(|v| parse_reset(v, now)))
}

/// The rate window a 429's message names: legacy `Limit reached (100 tokens per 60000 ms)`,
/// modern `Rate limit exceeded for apiKey: 100 requests per 60s.` (the modern form prints
/// `windowMs / 1000`, which may have a fraction). `None` if the message names none.
pub fn window_in_message(message: &str) -> Option<Duration> {
    let lower = message.to_ascii_lowercase();
    let (_, rest) = lower.rsplit_once(" per ")?;
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let n: f64 = rest[..end].parse().ok()?;
    let unit = rest[end..].trim_start();
    let secs = if unit.starts_with("ms") {
        n / 1000.0
    } else if unit.starts_with('s') {
        n
    } else {
        return None;
    };
    (secs.is_finite() && secs > 0.0)
        .then(|| Duration::from_secs_f64(secs.min(MAX_WAIT.as_secs_f64())))
}

fn until(at: SystemTime, now: SystemTime) -> Duration {
    at.duration_since(now)
        .unwrap_or(Duration::ZERO)
        .min(MAX_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// 2024-06-01T12:00:00Z, the fixed "now" of these tests.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_717_243_200)
    }

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(parse_retry_after("1", now()), secs(1));
        assert_eq!(parse_retry_after(" 120 ", now()), secs(120));
        assert_eq!(parse_retry_after("0", now()), secs(0));
        assert_eq!(parse_retry_after("86400", now()), secs(86_400));
    }

    #[test]
    fn more_than_a_day_is_a_day() {
        assert_eq!(parse_retry_after("86401", now()), Some(MAX_WAIT));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now()),
            Some(MAX_WAIT)
        );
        assert_eq!(
            parse_retry_after("Sat, 08 Jun 2024 12:00:00 GMT", now()),
            Some(MAX_WAIT)
        );
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        // IMF-fixdate, then the obsolete RFC 850 and asctime forms RFC 9110 says to accept.
        assert_eq!(
            parse_retry_after("Sat, 01 Jun 2024 12:01:30 GMT", now()),
            secs(90)
        );
        assert_eq!(
            parse_retry_after("Saturday, 01-Jun-24 12:01:30 GMT", now()),
            secs(90)
        );
        assert_eq!(
            parse_retry_after("Sat Jun  1 12:01:30 2024", now()),
            secs(90)
        );
    }

    #[test]
    fn a_date_in_the_past_is_no_wait() {
        assert_eq!(
            parse_retry_after("Sat, 01 Jun 2024 11:59:00 GMT", now()),
            secs(0)
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now()),
            secs(0)
        );
    }

    #[rstest::rstest]
    #[case::empty("")]
    #[case::blank("  ")]
    #[case::negative("-1")]
    #[case::fraction("1.5")]
    #[case::word("soon")]
    #[case::hour_25("Sat, 01 Jun 2024 25:00:00 GMT")]
    #[case::june_32("Sat, 32 Jun 2024 12:00:00 GMT")]
    #[case::rfc3339_not_http_date("2024-06-01T12:01:30Z")]
    fn garbage_is_no_answer(#[case] v: &str) {
        assert_eq!(parse_retry_after(v, now()), None, "{v:?}");
    }

    #[test]
    fn reset_is_epoch_seconds_or_a_delta() {
        assert_eq!(parse_reset("1717243205", now()), secs(5));
        assert_eq!(parse_reset("1717243100", now()), secs(0), "in the past");
        assert_eq!(parse_reset("30", now()), secs(30));
        assert_eq!(parse_reset("9999999999", now()), Some(MAX_WAIT));
        assert_eq!(parse_reset("x", now()), None);
    }

    #[test]
    fn headers_prefer_retry_after_then_reset() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h, now()), None);
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1717243207"));
        assert_eq!(from_headers(&h, now()), secs(7));
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(from_headers(&h, now()), secs(2));
        h.insert(RETRY_AFTER, HeaderValue::from_static("later"));
        assert_eq!(
            from_headers(&h, now()),
            secs(7),
            "an unreadable Retry-After falls back to the reset"
        );
    }

    #[test]
    fn windows_named_in_429_messages() {
        assert_eq!(
            window_in_message("Limit reached (100 tokens per 60000 ms)"),
            secs(60)
        );
        assert_eq!(
            window_in_message("Limit reached (100 tokens per 1000 ms)"),
            secs(1)
        );
        assert_eq!(
            window_in_message("Rate limit exceeded for apiKey: 100 requests per 60s."),
            secs(60)
        );
        assert_eq!(
            window_in_message("Rate limit exceeded for apiKey: 5 requests per 0.5s."),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            window_in_message("Limit reached (1 tokens per 999999999999 ms)"),
            Some(MAX_WAIT)
        );
    }

    #[rstest::rstest]
    #[case::empty("")]
    #[case::no_window("Too Many Requests")]
    #[case::zero_window("Limit reached (100 tokens per 0 ms)")]
    #[case::other_wording("100 per minute")]
    fn a_message_without_a_window_is_none(#[case] m: &str) {
        assert_eq!(window_in_message(m), None, "{m:?}");
    }
}
