//! What a rep can earn, validated at the door. Anything that reaches the store through these
//! constructors is within bounds, so the sync never has to reject a queued item later (one
//! rejected item must never wedge the queue behind it).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationError;

/// Largest single award. A dialer bug that sends 10^9 XP must not reach Twenty.
pub const MAX_XP_PER_AWARD: i64 = 100_000;
/// Longest boss id, exam id, metric name or source label.
pub const MAX_ID_LEN: usize = 128;

/// The id of one recorded event: a UUID (v7 when we make it, so ids sort by creation). Callers
/// that may retry pass their own id to make recording idempotent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventId(pub Uuid);

impl EventId {
    pub fn new() -> EventId {
        EventId(Uuid::now_v7())
    }

    pub fn parse(s: &str) -> Result<EventId, ValidationError> {
        Uuid::parse_str(s.trim())
            .map(EventId)
            .map_err(|_| ValidationError::EventId {
                given: s.to_string(),
            })
    }
}

impl Default for EventId {
    fn default() -> Self {
        EventId::new()
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One thing the rep achieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Progress {
    Xp { amount: i64, source: Option<String> },
    Boss { boss_id: String },
    Exam { exam_id: String, score: Option<f64> },
    Metric { name: String, value: f64 },
}

impl Progress {
    pub fn xp(amount: i64, source: Option<&str>) -> Result<Progress, ValidationError> {
        if !(1..=MAX_XP_PER_AWARD).contains(&amount) {
            return Err(ValidationError::XpAmount {
                given: amount.to_string(),
                max: MAX_XP_PER_AWARD,
            });
        }
        let source = source.map(|s| bounded_id("source", s)).transpose()?;
        Ok(Progress::Xp { amount, source })
    }

    /// Parses an amount as typed by a person or a script: digits only, no sign, no fraction.
    pub fn parse_xp_amount(s: &str) -> Result<i64, ValidationError> {
        let t = s.trim();
        let bad = || ValidationError::XpAmount {
            given: s.to_string(),
            max: MAX_XP_PER_AWARD,
        };
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: i64 = t.parse().map_err(|_| bad())?;
        if !(1..=MAX_XP_PER_AWARD).contains(&n) {
            return Err(bad());
        }
        Ok(n)
    }

    pub fn boss(boss_id: &str) -> Result<Progress, ValidationError> {
        Ok(Progress::Boss {
            boss_id: bounded_id("boss id", boss_id)?,
        })
    }

    pub fn exam(exam_id: &str, score: Option<f64>) -> Result<Progress, ValidationError> {
        let exam_id = bounded_id("exam id", exam_id)?;
        if let Some(s) = score {
            if !s.is_finite() || !(0.0..=100.0).contains(&s) {
                return Err(ValidationError::Number {
                    what: "exam score",
                    given: s.to_string(),
                    range: " from 0 to 100",
                });
            }
        }
        Ok(Progress::Exam { exam_id, score })
    }

    pub fn metric(name: &str, value: f64) -> Result<Progress, ValidationError> {
        let name = bounded_id("metric name", name)?;
        if !value.is_finite() || value.abs() > 1e12 {
            return Err(ValidationError::Number {
                what: "metric value",
                given: value.to_string(),
                range: " within ±1e12",
            });
        }
        Ok(Progress::Metric { name, value })
    }

    /// The XP this event adds to the total.
    pub fn xp_delta(&self) -> i64 {
        match self {
            Progress::Xp { amount, .. } => *amount,
            _ => 0,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Progress::Xp { .. } => "xp",
            Progress::Boss { .. } => "boss",
            Progress::Exam { .. } => "exam",
            Progress::Metric { .. } => "metric",
        }
    }

    /// The event's subject column: source for XP, otherwise the boss/exam/metric id.
    pub(crate) fn subject(&self) -> Option<&str> {
        match self {
            Progress::Xp { source, .. } => source.as_deref(),
            Progress::Boss { boss_id } => Some(boss_id),
            Progress::Exam { exam_id, .. } => Some(exam_id),
            Progress::Metric { name, .. } => Some(name),
        }
    }

    /// The event's value column: exam score or metric value.
    pub(crate) fn value(&self) -> Option<f64> {
        match self {
            Progress::Exam { score, .. } => *score,
            Progress::Metric { value, .. } => Some(*value),
            _ => None,
        }
    }

    /// Rebuilds an event from its stored columns; `None` if the row does not make sense.
    pub(crate) fn from_columns(
        kind: &str,
        xp: i64,
        subject: Option<String>,
        value: Option<f64>,
    ) -> Option<Progress> {
        match kind {
            "xp" => Some(Progress::Xp {
                amount: xp,
                source: subject,
            }),
            "boss" => Some(Progress::Boss { boss_id: subject? }),
            "exam" => Some(Progress::Exam {
                exam_id: subject?,
                score: value,
            }),
            "metric" => Some(Progress::Metric {
                name: subject?,
                value: value?,
            }),
            _ => None,
        }
    }
}

/// Trims and checks an id-like string: non-empty, at most [`MAX_ID_LEN`] characters, printable.
pub fn bounded_id(what: &'static str, s: &str) -> Result<String, ValidationError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ValidationError::EmptyId { what });
    }
    let len = t.chars().count();
    if len > MAX_ID_LEN {
        return Err(ValidationError::IdTooLong {
            what,
            len,
            max: MAX_ID_LEN,
        });
    }
    if t.chars().any(char::is_control) {
        return Err(ValidationError::IdControlChars { what });
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn xp_amount_bounds() {
        assert!(Progress::xp(0, None).is_err());
        assert!(Progress::xp(-3, None).is_err());
        assert!(Progress::xp(MAX_XP_PER_AWARD + 1, None).is_err());
        assert_eq!(
            Progress::xp(5, Some(" dialer ")).map(|p| p.xp_delta()),
            Ok(5)
        );
    }

    #[rstest::rstest]
    #[case::empty("")]
    #[case::blank(" ")]
    #[case::negative("-5")]
    #[case::signed("+5")]
    #[case::fraction("1.5")]
    #[case::exponent("1e3")]
    #[case::word("abc")]
    #[case::zero("0")]
    #[case::over_the_cap("100001")]
    #[case::over_i64("99999999999999999999")]
    fn parse_xp_amount_rejects_what_is_not_a_plain_count(#[case] bad: &str) {
        let err = Progress::parse_xp_amount(bad).expect_err(bad);
        assert!(
            err.to_string().contains("whole number from 1 to 100000"),
            "{err}"
        );
    }

    #[test]
    fn parse_xp_amount_takes_a_padded_count() {
        assert_eq!(Progress::parse_xp_amount(" 250 "), Ok(250));
    }

    #[test]
    fn ids_are_trimmed_bounded_and_printable() {
        assert_eq!(bounded_id("boss id", "  dragon "), Ok("dragon".to_string()));
        assert!(matches!(
            bounded_id("boss id", "   "),
            Err(ValidationError::EmptyId { .. })
        ));
        assert!(matches!(
            bounded_id("boss id", &"x".repeat(129)),
            Err(ValidationError::IdTooLong { len: 129, .. })
        ));
        assert!(matches!(
            bounded_id("boss id", "a\u{0}b"),
            Err(ValidationError::IdControlChars { .. })
        ));
    }

    #[test]
    fn numbers_must_be_finite_and_in_range() {
        assert!(Progress::metric("talk_ratio", f64::NAN).is_err());
        assert!(Progress::metric("talk_ratio", f64::INFINITY).is_err());
        assert!(Progress::exam("cold-calls-101", Some(101.0)).is_err());
        assert!(Progress::exam("cold-calls-101", Some(-1.0)).is_err());
        assert!(Progress::exam("cold-calls-101", None).is_ok());
    }

    proptest! {
        #[test]
        fn columns_round_trip(amount in 1i64..=MAX_XP_PER_AWARD, id in "[a-z][a-z0-9-]{0,20}", v in -1e6f64..1e6) {
            for p in [
                Progress::xp(amount, Some(&id)).expect("valid"),
                Progress::boss(&id).expect("valid"),
                Progress::exam(&id, Some(v.abs() % 100.0)).expect("valid"),
                Progress::metric(&id, v).expect("valid"),
            ] {
                let back = Progress::from_columns(p.kind(), p.xp_delta(), p.subject().map(str::to_string), p.value());
                prop_assert_eq!(back, Some(p));
            }
        }

        #[test]
        fn parse_xp_amount_never_panics(s in "\\PC{0,30}") {
            let _ = Progress::parse_xp_amount(&s);
        }
    }
}
