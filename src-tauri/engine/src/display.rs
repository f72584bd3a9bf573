//! How numbers and times read to a rep, shared by the CLI, the tray menu and the panel.

use crate::timefmt::{self, Timestamp};

/// 1240 -> "1,240".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "just now", "2 min ago", "3 h ago", "5 days ago"; "never" for `None`; the raw text if it does
/// not parse.
pub fn relative(when: Option<&str>, now: Timestamp) -> String {
    let Some(s) = when else {
        return "never".into();
    };
    let Ok(t) = timefmt::parse(s) else {
        return s.to_string();
    };
    let secs = (now - t).num_seconds();
    match secs {
        s if s < 45 => "just now".into(),
        s if s < 3_600 => format!("{} min ago", (s + 30) / 60),
        s if s < 86_400 => format!("{} h ago", s / 3_600),
        s if s < 2 * 86_400 => "yesterday".into(),
        s => format!("{} days ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_240), "1,240");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = timefmt::parse("2026-11-25T12:00:00Z").expect("time");
        assert_eq!(relative(None, now), "never");
        assert_eq!(relative(Some("2026-11-25T11:59:50Z"), now), "just now");
        assert_eq!(relative(Some("2026-11-25T11:58:00Z"), now), "2 min ago");
        assert_eq!(relative(Some("2026-11-25T09:00:00Z"), now), "3 h ago");
        assert_eq!(relative(Some("2026-11-20T12:00:00Z"), now), "5 days ago");
    }
}
