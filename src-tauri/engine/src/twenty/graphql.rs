//! Twenty's GraphQL API (`POST /graphql`, the same API key as REST), for what the REST API of
//! the servers customers run lacks: the compare-and-set write (update-many with a filter) and a
//! look into the trash. Twenty of June and July 2025 has neither in REST (PATCH without an id is
//! update-one: 400 "Record ID not found"; REST cannot see soft-deleted records), while its
//! GraphQL has both, as does every later version (docs/twenty-api.md, "Versions"). RepXP uses
//! GraphQL for these on every version: one path, and the same one request per write.
//!
//! The queries name the object's generated types (`RepProgressionFilterInput`,
//! `RepProgressionUpdateInput`), pass every value as a variable (nothing from a record or an
//! email is ever spliced into query text) and select the fields RepXP reads.

use serde_json::{json, Map, Value};

use super::client::EmailField;
use super::error::TwentyError;
use crate::snapshot::Snapshot;

/// Fields of the record RepXP reads back from a GraphQL answer: Twenty's system fields that
/// matter to it and RepXP's own. `repEmail` is added per its type ([`selection`]).
const READ_FIELDS: [&str; 13] = [
    "id",
    "name",
    "createdAt",
    "updatedAt",
    "deletedAt",
    "totalXp",
    "level",
    "defeatedBosses",
    "passedExams",
    "efficiencyMetrics",
    "lastActivityDate",
    "syncWatermarks",
    "syncRevision",
];

/// The selection set of one record, `repEmail` as a TEXT scalar or an EMAILS composite.
pub fn selection(email: EmailField) -> String {
    format!("{{ {} {} }}", READ_FIELDS.join(" "), rep_email(email))
}

fn rep_email(email: EmailField) -> &'static str {
    match email {
        EmailField::Text => "repEmail",
        EmailField::Emails => "repEmail { primaryEmail additionalEmails }",
    }
}

/// The object's names in GraphQL (`namePlural` and `nameSingular` of `repProgression`).
pub const PLURAL: &str = "repProgressions";
pub const SINGULAR: &str = "repProgression";

/// The compare-and-set write: update-many filtered on the record as RepXP read it.
pub fn update_many(email: EmailField) -> String {
    format!(
        "mutation RepXPWrite($filter: RepProgressionFilterInput!, $data: RepProgressionUpdateInput!) \
         {{ updateRepProgressions(filter: $filter, data: $data) {} }}",
        selection(email)
    )
}

/// Records matching a filter (up to 200: the rep's email padded with spaces is looked for as a
/// substring, so others that contain it come too), trashed ones included when the filter names
/// `deletedAt`.
pub fn find_many(email: EmailField) -> String {
    format!(
        "query RepXPFind($filter: RepProgressionFilterInput!) \
         {{ repProgressions(filter: $filter, first: 200) {{ edges {{ node {} }} }} }}",
        selection(email)
    )
}

/// The rep's records in the trash: only what tells whose they are (a trashed record's numbers
/// are no business of RepXP's, and need not be representable).
pub fn find_trash(email: EmailField) -> String {
    format!(
        "query RepXPTrash($filter: RepProgressionFilterInput!) \
         {{ repProgressions(filter: $filter, first: 200) {{ edges {{ node \
         {{ id deletedAt updatedAt {} }} }} }} }}",
        rep_email(email)
    )
}

/// One record by a filter on its id (NOT_FOUND when none, or trashed).
pub fn find_one(email: EmailField) -> String {
    format!(
        "query RepXPGet($filter: RepProgressionFilterInput!) \
         {{ repProgression(filter: $filter) {} }}",
        selection(email)
    )
}

/// A new record.
pub fn create_one(email: EmailField) -> String {
    format!(
        "mutation RepXPCreate($data: RepProgressionCreateInput!) \
         {{ createRepProgression(data: $data) {} }}",
        selection(email)
    )
}

/// One page of every live record (the team), with where the next page starts.
pub fn team_page(email: EmailField) -> String {
    format!(
        "query RepXPTeam($first: Int!, $after: String) \
         {{ repProgressions(first: $first, after: $after) {{ edges {{ node {} }} \
         pageInfo {{ hasNextPage endCursor }} }} }}",
        selection(email)
    )
}

/// `{field: {op: value}}`, one condition of a GraphQL filter.
pub fn cond(field: &str, op: &str, value: Value) -> Value {
    json!({ field: { op: value } })
}

/// The pattern that finds the rep's email however another writer padded it (`"ana@acme.test "`
/// from a CSV import): `ILIKE` with the address inside `%…%`, any case; the exact, trimmed
/// comparison happens after.
pub fn padded(email: &str) -> String {
    format!("%{email}%")
}

/// A condition on the rep's email, whatever the field's type.
pub fn email_cond(email_field: EmailField, op: &str, email: &str) -> Value {
    match email_field {
        EmailField::Text => cond("repEmail", op, json!(email)),
        EmailField::Emails => json!({"repEmail": {"primaryEmail": {op: email}}}),
    }
}

/// The compare-and-set as a GraphQL filter: the record `id`, out of the trash, `updatedAt` within
/// the millisecond RepXP read, the same `syncRevision` and `totalXp`.
///
/// Twenty stamps `updatedAt` with `CURRENT_TIMESTAMP` (microseconds) on every update by anyone
/// and returns it truncated to milliseconds, so the bracket `[T, T+1ms)` matches exactly the
/// record RepXP read, whatever precision the column keeps and on servers whose `eq` on a date is
/// a plain `=` (docs/twenty-api.md §3a). `deletedAt IS NULL` keeps the write out of the trash
/// (update-many matches trashed rows). The two numbers also catch a writer that sets
/// `updatedAt` itself. A number another tool left empty is matched with `is: NULL`, since
/// `eq: 0` does not match null; a field RepXP cannot read is left out.
pub fn cas_filter(id: &str, expected: &Snapshot) -> Value {
    let mut conds = vec![
        cond("id", "eq", json!(id)),
        cond("deletedAt", "is", json!("NULL")),
    ];
    if let Some((from, to)) = expected.updated_at.as_deref().and_then(millisecond_bracket) {
        conds.push(cond("updatedAt", "gte", json!(from)));
        conds.push(cond("updatedAt", "lt", json!(to)));
    }
    let mut number = |field: &str, v: i64, was_null: bool| {
        if !expected.is_readable(field) {
            return;
        }
        conds.push(if was_null {
            cond(field, "is", json!("NULL"))
        } else {
            cond(field, "eq", json!(v))
        });
    };
    number(
        "syncRevision",
        expected.sync_revision,
        expected.null_fields.sync_revision,
    );
    number("totalXp", expected.total_xp, expected.null_fields.total_xp);
    json!({ "and": conds })
}

/// `T` and `T + 1 ms`, both as Twenty prints times.
fn millisecond_bracket(t: &str) -> Option<(String, String)> {
    let at = crate::timefmt::parse(t).ok()?;
    Some((
        crate::timefmt::format(at),
        crate::timefmt::format(at + chrono::TimeDelta::milliseconds(1)),
    ))
}

/// What a GraphQL answer says: its `data`, or its first error, classified.
pub enum Answer {
    Data(Value),
    /// `NOT_FOUND`: nothing matched (the old servers' update-many says so instead of `[]`).
    NotFound,
    /// Twenty could not put a stored value into the answer: another writer put a fraction or
    /// `NaN` into a NUMBER field RepXP made an integer ("Int cannot represent non-integer
    /// value", the field blanked). The statement itself ran.
    Unrepresentable(String),
    Failed(TwentyError),
}

/// Reads a GraphQL answer (HTTP 200 whether it worked or not; `errors[].extensions.code` says
/// what went wrong, docs/twenty-api.md §3c).
pub fn answer(body: Value) -> Answer {
    let errors = body.get("errors").and_then(Value::as_array);
    if let Some(first) = errors.and_then(|e| e.first()) {
        let message = first
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let code = first
            .pointer("/extensions/code")
            .and_then(Value::as_str)
            .unwrap_or("");
        if code == "INTERNAL_SERVER_ERROR" && message.contains("cannot represent") {
            return Answer::Unrepresentable(message);
        }
        let retry_after = first
            .pointer("/extensions/retryAfterMs")
            .and_then(Value::as_u64)
            .map(std::time::Duration::from_millis);
        return match classify(code, message, retry_after) {
            Some(e) => Answer::Failed(e),
            None => Answer::NotFound,
        };
    }
    match body {
        Value::Object(mut o) => match o.remove("data") {
            Some(Value::Object(d)) => Answer::Data(Value::Object(d)),
            _ => Answer::Failed(TwentyError::Malformed {
                detail: "a GraphQL answer with neither data nor errors".into(),
            }),
        },
        other => Answer::Failed(TwentyError::Malformed {
            detail: format!(
                "a GraphQL answer that is not an object: {}",
                super::progression_json::short(&other)
            ),
        }),
    }
}

/// A GraphQL error as the rep's kind of failure; `None` for `NOT_FOUND`. `retry_after`: the
/// newest servers' `extensions.retryAfterMs` on a rate-limit error.
fn classify(
    code: &str,
    message: String,
    retry_after: Option<std::time::Duration>,
) -> Option<TwentyError> {
    let lower = message.to_lowercase();
    let rate_limited = || TwentyError::RateLimited {
        retry_after,
        window: super::retry_after::window_in_message(&message),
    };
    Some(match code {
        "NOT_FOUND" => return None,
        _ if lower.contains("does not have permission") || code == "PERMISSION_DENIED" => {
            TwentyError::Forbidden { detail: message }
        }
        "UNAUTHENTICATED" => TwentyError::Auth { status: 401 },
        "FORBIDDEN" => TwentyError::Auth { status: 403 },
        "RATE_LIMITED" | "TOO_MANY_REQUESTS" => rate_limited(),
        // The 2025 servers' GraphQL throttle: `Error('Too many requests.')`, which Twenty
        // reports as INTERNAL_SERVER_ERROR (run on 7f19111, docs/twenty-api.md §11).
        _ if lower.contains("too many requests")
            || lower.contains("limit reached")
            || lower.contains("rate limit") =>
        {
            rate_limited()
        }
        // The object or one of its fields is missing: the schema's generated types lack it.
        _ if lower.contains("cannot query field")
            || lower.contains("is not defined by type")
            || lower.contains("unknown type")
            || lower.contains("unknown argument") =>
        {
            TwentyError::SchemaMissing { detail: message }
        }
        "INTERNAL_SERVER_ERROR" => TwentyError::Server {
            status: 500,
            detail: message,
        },
        // BAD_USER_INPUT, a value the types refuse, a record rule: the same request would always
        // get it. Reported like REST's 400.
        _ => TwentyError::Rejected {
            status: 400,
            detail: message,
        },
    })
}

/// Whether a GraphQL error says `repEmail` has another shape than the selection assumed: an
/// EMAILS composite selected as a scalar, or a TEXT field selected with sub-fields.
pub fn is_email_shape_error(e: &TwentyError) -> bool {
    matches!(e, TwentyError::Rejected { detail, .. } | TwentyError::SchemaMissing { detail }
        if (detail.contains("repEmail") && (detail.contains("selection of subfields")
            || detail.contains("must not have a selection")))
            // A filter in the other shape: `ilike` on EmailsFilter, `primaryEmail` on a string's.
            || detail.contains("\"EmailsFilter\"")
            || (detail.contains("\"primaryEmail\"") && detail.contains("is not defined by type")))
}

/// The records of a find-many answer (`data.repProgressions.edges[].node`); none when the
/// answer was NOT_FOUND (`Null`).
pub fn nodes(data: &Value) -> Result<Vec<Value>, TwentyError> {
    if data.is_null() {
        return Ok(Vec::new());
    }
    let edges = data
        .get(PLURAL)
        .and_then(|p| p.get("edges"))
        .and_then(Value::as_array)
        .ok_or_else(|| TwentyError::Malformed {
            detail: "no repProgressions.edges list in a GraphQL answer".into(),
        })?;
    edges
        .iter()
        .map(|e| {
            e.get("node")
                .cloned()
                .ok_or_else(|| TwentyError::Malformed {
                    detail: "a GraphQL edge without node".into(),
                })
        })
        .collect()
}

/// The body of one GraphQL request.
pub fn request(query: &str, variables: Map<String, Value>) -> Value {
    json!({ "query": query, "variables": variables })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_kind::ErrorKind;

    #[test]
    fn the_compare_and_set_names_everything_that_must_be_as_read() {
        let s = Snapshot {
            remote_id: Some("r".into()),
            total_xp: 40,
            sync_revision: 3,
            updated_at: Some("2026-11-25T10:00:00.123Z".into()),
            ..Snapshot::default()
        };
        let f = cas_filter("r", &s);
        assert_eq!(
            f,
            json!({"and": [
                {"id": {"eq": "r"}}, {"deletedAt": {"is": "NULL"}},
                {"updatedAt": {"gte": "2026-11-25T10:00:00.123Z"}},
                {"updatedAt": {"lt": "2026-11-25T10:00:00.124Z"}},
                {"syncRevision": {"eq": 3}}, {"totalXp": {"eq": 40}},
            ]})
        );
        let mut nulls = s.clone();
        nulls.null_fields.total_xp = true;
        nulls.unreadable.insert("syncRevision".into(), "x".into());
        let f = cas_filter("r", &nulls).to_string();
        assert!(f.contains(r#"{"totalXp":{"is":"NULL"}}"#), "{f}");
        assert!(!f.contains("syncRevision"), "unreadable: left out: {f}");
    }

    #[test]
    fn errors_say_what_the_rep_can_do() {
        let kind = |code: &str, msg: &str| match answer(
            json!({"errors": [{"message": msg, "extensions": {"code": code}}], "data": null}),
        ) {
            Answer::Failed(e) => Some(e.kind()),
            Answer::NotFound => None,
            Answer::Data(_) | Answer::Unrepresentable(_) => panic!("not an error"),
        };
        assert_eq!(kind("NOT_FOUND", "Records not found"), None);
        assert_eq!(
            kind("UNAUTHENTICATED", "Token invalid."),
            Some(ErrorKind::Auth)
        );
        assert_eq!(
            kind("FORBIDDEN", "User does not have permission"),
            Some(ErrorKind::Permission)
        );
        assert_eq!(
            kind(
                "GRAPHQL_VALIDATION_FAILED",
                "Cannot query field \"syncRevision\" on type \"RepProgression\"."
            ),
            Some(ErrorKind::SchemaMissing)
        );
        assert_eq!(
            kind("BAD_USER_INPUT", "Invalid value"),
            Some(ErrorKind::Rejected)
        );
        assert_eq!(
            kind("INTERNAL_SERVER_ERROR", "boom"),
            Some(ErrorKind::Server)
        );
        // The 2025 throttle, and the newest one with its wait.
        assert_eq!(
            kind("INTERNAL_SERVER_ERROR", "Too many requests."),
            Some(ErrorKind::RateLimited)
        );
        let Answer::Failed(e) = answer(json!({"errors": [{"message": "Rate limit exceeded",
            "extensions": {"code": "RATE_LIMITED", "retryAfterMs": 7000}}]}))
        else {
            panic!("a failure")
        };
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
        assert!(matches!(
            answer(
                json!({"errors": [{"message": "Int cannot represent non-integer value: 12.5",
                "extensions": {"code": "INTERNAL_SERVER_ERROR"}}], "data": {"x": null}})
            ),
            Answer::Unrepresentable(_)
        ));
        assert!(matches!(answer(json!([1])), Answer::Failed(_)));
        assert!(matches!(answer(json!({"data": {"x": 1}})), Answer::Data(_)));
    }

    #[test]
    fn twenty_saying_the_email_has_the_other_shape_is_recognised() {
        let shape = |detail: &str| {
            is_email_shape_error(&TwentyError::Rejected {
                status: 400,
                detail: detail.into(),
            })
        };
        // Run on 7f19111: a TEXT repEmail asked as an Emails composite.
        assert!(shape(
            "Field \"repEmail\" must not have a selection since type \"String\" has no subfields."
        ));
        // An Emails repEmail asked as text: in the selection, or in the filter.
        assert!(shape("Field \"repEmail\" of type \"Emails\" must have a selection of subfields. Did you mean \"repEmail { ... }\"?"));
        assert!(shape(
            "Field \"ilike\" is not defined by type \"EmailsFilter\"."
        ));
        assert!(shape(
            "Field \"primaryEmail\" is not defined by type \"StringFilter\"."
        ));
        assert!(!shape(
            "Field \"nope\" is not defined by type \"RepProgressionFilterInput\"."
        ));
        assert!(!shape("Int cannot represent non-integer value: \"lots\""));
    }

    #[test]
    fn the_email_is_selected_in_its_shape() {
        assert!(selection(EmailField::Text).contains(" repEmail }"));
        assert!(
            selection(EmailField::Emails).contains("repEmail { primaryEmail additionalEmails }")
        );
    }
}
