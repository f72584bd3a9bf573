//! One event as JSON: the shape `repxp-cli stream` reads line by line and the local award API
//! reads as a request body, e.g. `{"kind":"xp","amount":50,"source":"dialer","id":"…"}`.
//! Both callers are outside programs, so everything is re-validated here.

use crate::error::ValidationError;
use crate::model::{EventId, Progress};
use crate::timefmt;

#[derive(Debug, thiserror::Error)]
pub enum EventInputError {
    #[error("not a valid event: {0}")]
    Json(String),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// A validated event with its optional caller-chosen id (for idempotent retries) and time.
#[derive(Debug, Clone, PartialEq)]
pub struct EventInput {
    pub progress: Progress,
    pub id: Option<EventId>,
    pub at: Option<timefmt::Timestamp>,
}

#[derive(Debug, serde::Deserialize)]
struct Raw {
    #[serde(flatten)]
    progress: Progress,
    id: Option<String>,
    at: Option<String>,
}

impl EventInput {
    pub fn from_json(text: &str) -> Result<EventInput, EventInputError> {
        let raw: Raw =
            serde_json::from_str(text).map_err(|e| EventInputError::Json(e.to_string()))?;
        // Serde only checked the shape; the constructors check the values.
        let progress = match raw.progress {
            Progress::Xp { amount, source } => Progress::xp(amount, source.as_deref())?,
            Progress::Boss { boss_id } => Progress::boss(&boss_id)?,
            Progress::Exam { exam_id, score } => Progress::exam(&exam_id, score)?,
            Progress::Metric { name, value } => Progress::metric(&name, value)?,
        };
        Ok(EventInput {
            progress,
            id: raw.id.as_deref().map(EventId::parse).transpose()?,
            at: raw.at.as_deref().map(timefmt::parse).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_an_award_with_id_and_time() {
        let e = EventInput::from_json(
            r#"{"kind":"xp","amount":50,"source":"dialer","id":"0193a7c0-0000-7000-8000-000000000001","at":"2026-11-25T14:00:00Z"}"#,
        )
        .expect("valid");
        assert_eq!(e.progress, Progress::xp(50, Some("dialer")).expect("xp"));
        assert_eq!(
            e.id.map(|i| i.to_string()).as_deref(),
            Some("0193a7c0-0000-7000-8000-000000000001")
        );
        assert!(e.at.is_some());
    }

    #[rstest::rstest]
    #[case::empty("")]
    #[case::unclosed("{")]
    #[case::xp_without_amount(r#"{"kind":"xp"}"#)]
    #[case::unknown_kind(r#"{"kind":"gold","amount":5}"#)]
    #[case::zero_xp(r#"{"kind":"xp","amount":0}"#)]
    #[case::huge_number(r#"{"kind":"xp","amount":1e400}"#)]
    #[case::bad_id(r#"{"kind":"xp","amount":10,"id":"nope"}"#)]
    #[case::empty_boss(r#"{"kind":"boss","boss_id":""}"#)]
    #[case::score_over_100(r#"{"kind":"exam","exam_id":"e","score":101}"#)]
    fn rejects_bad_shapes_and_values_with_one_line(#[case] bad: &str) {
        let err = EventInput::from_json(bad).expect_err(bad).to_string();
        assert!(!err.contains('\n'), "{bad}: {err}");
    }

    proptest::proptest! {
        /// Any text, and any JSON object with our field names and arbitrary values, is an event or
        /// a one-line error: never a panic (the stream and the award API feed it outside input).
        #[test]
        fn from_json_never_panics(
            text in ".{0,200}",
            kind in proptest::prop_oneof!["xp", "boss", "exam", "metric", ".{0,8}"],
            amount in proptest::num::f64::ANY,
            id in ".{0,40}",
            at in ".{0,40}",
        ) {
            let _ = EventInput::from_json(&text);
            let obj = serde_json::json!({
                "kind": kind, "amount": amount, "boss_id": id, "exam_id": id, "name": id,
                "value": amount, "score": amount, "id": id, "at": at,
            });
            if let Err(e) = EventInput::from_json(&obj.to_string()) {
                proptest::prop_assert!(!e.to_string().contains('\n'));
            }
        }
    }
}
