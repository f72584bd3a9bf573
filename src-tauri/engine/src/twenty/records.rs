//! The rep's records, through Twenty's GraphQL API on every version (docs/twenty-api.md,
//! "Versions"): find by email, find by id, the trash, create, the compare-and-set write, the
//! team, and what a key may do. The REST API of the 2025 servers customers run has no
//! update-many, cannot see the trash, and refuses REST reads to a role limited to Rep
//! progressions ("User does not have permission": its REST reads select every relation), while
//! GraphQL does all of it, in the same one request each. REST stays for the metadata (doctor).

use serde_json::{json, Map, Value};

use super::client::{check_rep_email, EmailField, TwentyClient};
use super::error::TwentyError;
use super::graphql;
use super::progression_json::{create_fields, is_trashed, parse_record, short};
use crate::snapshot::Snapshot;

/// Records per team page: one request for a team of up to 200 reps where the server serves
/// that many a page (docs/twenty-api.md §2; pages are followed whatever it serves).
pub const TEAM_PAGE: usize = 200;
/// 50 pages: 10,000 reps at 200 a page, far beyond a sales team; a server that never ends is
/// an error.
const MAX_TEAM_PAGES: u64 = 50;

/// A GraphQL answer about records that did not fail.
enum Got {
    Data(Value),
    /// Nothing matched (NOT_FOUND).
    NotFound,
    /// A stored value GraphQL cannot show (see [`graphql::Answer::Unrepresentable`]).
    Unrepresentable(String),
}

/// The variables of one operation.
fn vars<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

impl TwentyClient {
    /// Every live record whose `repEmail` equals `email` once trimmed and case-folded, oldest
    /// first (`createdAt`, then id): the first is the rep's record, the others are duplicates.
    /// One request. `ilike` with `%address%` as the pattern finds every case variant and every
    /// padding (`_` in an address only widens the match), so the exact comparison happens here.
    pub async fn find_by_email(&self, email: &str) -> Result<Vec<Snapshot>, TwentyError> {
        let email = check_rep_email(email)?;
        let got = self
            .graphql_records(graphql::find_many, |field| {
                vars([(
                    "filter",
                    graphql::email_cond(field, "ilike", &graphql::padded(&email)),
                )])
            })
            .await?;
        let list = match got {
            Got::Data(data) => graphql::nodes(&data)?,
            Got::NotFound => Vec::new(),
            Got::Unrepresentable(why) => {
                tracing::info!(%why, "GraphQL cannot show the rep's record; reading it through REST");
                self.rest_by_email(&graphql::padded(&email)).await?
            }
        };
        let wanted = email.to_lowercase();
        let mut found = Vec::new();
        for v in list.iter().filter(|v| !is_trashed(v)) {
            let rec = parse_record(v)?;
            if rec.rep_email.as_deref().map(|e| e.trim().to_lowercase()) == Some(wanted.clone()) {
                found.push(rec);
            }
        }
        found.sort_by(|a, b| (&a.created_at, &a.remote_id).cmp(&(&b.created_at, &b.remote_id)));
        if found.len() > 1 {
            tracing::warn!(
                count = found.len(),
                "several records answer to this rep email; using the oldest"
            );
        }
        Ok(found)
    }

    /// One record by id (`None` if there is none, or it is in the trash: find-one leaves the
    /// trash out and answers NOT_FOUND).
    pub async fn get(&self, id: &str) -> Result<Option<Snapshot>, TwentyError> {
        let got = self
            .graphql_records(graphql::find_one, |_| {
                vars([("filter", graphql::cond("id", "eq", json!(id)))])
            })
            .await?;
        match got {
            Got::Data(d) => match d.get(graphql::SINGULAR) {
                None | Some(Value::Null) => Ok(None),
                Some(rec) => parse_record(rec).map(Some),
            },
            Got::NotFound => Ok(None),
            Got::Unrepresentable(why) => {
                tracing::info!(%why, "GraphQL cannot show the record; reading it through REST");
                self.rest_get(id).await
            }
        }
    }

    /// A record in Twenty's trash that is the rep's: the one with `id`, or one with the rep's
    /// email. Find-many lists trashed records when its filter names `deletedAt` (GraphQL, on
    /// every version; the REST API of 2025 servers cannot see the trash at all, §3b).
    pub async fn find_trashed(
        &self,
        email: &str,
        id: Option<&str>,
    ) -> Result<Option<Snapshot>, TwentyError> {
        let email = check_rep_email(email)?;
        let got = self
            .graphql_records(graphql::find_trash, |field| {
                let by_email = graphql::email_cond(field, "ilike", &graphql::padded(&email));
                let who = match id {
                    Some(id) => json!({"or": [graphql::cond("id", "eq", json!(id)), by_email]}),
                    None => by_email,
                };
                let trashed = graphql::cond("deletedAt", "is", json!("NOT_NULL"));
                vars([("filter", json!({"and": [trashed, who]}))])
            })
            .await?;
        let list = match got {
            Got::Data(data) => graphql::nodes(&data)?,
            Got::NotFound => Vec::new(),
            Got::Unrepresentable(why) => return Err(TwentyError::Malformed { detail: why }),
        };
        let wanted = email.to_lowercase();
        for v in list.iter().filter(|v| is_trashed(v)) {
            let rec = parse_record(v)?;
            let mine = id.is_some_and(|id| rec.remote_id.as_deref() == Some(id))
                || rec.rep_email.as_deref().map(|e| e.trim().to_lowercase())
                    == Some(wanted.clone());
            if mine {
                return Ok(Some(rec));
            }
        }
        Ok(None)
    }

    /// Creates the rep's record holding `initial`, the email lower-cased (where Twenty enforces
    /// the field's uniqueness, two devices creating it at once collide instead of making two
    /// records; the 2025 servers do not enforce it, docs/twenty-api.md §3b).
    pub async fn create(&self, email: &str, initial: &Snapshot) -> Result<Snapshot, TwentyError> {
        let email = check_rep_email(email)?.to_lowercase();
        let got = self
            .graphql_records(graphql::create_one, |field| {
                let mut fields = create_fields(initial);
                fields["repEmail"] = match field {
                    EmailField::Text => json!(email),
                    EmailField::Emails => json!({"primaryEmail": email, "additionalEmails": null}),
                };
                fields["name"] = json!(email);
                vars([("data", fields)])
            })
            .await?;
        match got {
            Got::Data(d) => match d.get("createRepProgression") {
                Some(rec) if !rec.is_null() => parse_record(rec),
                _ => Err(TwentyError::Malformed {
                    detail: "a create that answered no record".into(),
                }),
            },
            // Made, but not shown: the next sync finds it by email, and its watermark says what
            // it holds.
            Got::Unrepresentable(why) => Err(TwentyError::Interrupted { detail: why }),
            Got::NotFound => Err(TwentyError::Malformed {
                detail: "a create answered NOT_FOUND".into(),
            }),
        }
    }

    /// Writes `fields` only if the record is still exactly `expected`, live, and not in the
    /// trash: one atomic update-many whose filter is the compare-and-set
    /// ([`graphql::cas_filter`]). `Ok(None)`: someone wrote in between, or the record went to
    /// the trash.
    pub async fn update_if(
        &self,
        id: &str,
        expected: &Snapshot,
        fields: &Value,
    ) -> Result<Option<Snapshot>, TwentyError> {
        let got = self
            .graphql_records(graphql::update_many, |_| {
                vars([
                    ("filter", graphql::cas_filter(id, expected)),
                    ("data", fields.clone()),
                ])
            })
            .await?;
        let data = match got {
            Got::Data(d) => d,
            // The 2025 servers answer NOT_FOUND when the filter matches nothing; newer ones `[]`.
            Got::NotFound => return Ok(None),
            // Written or not, the answer cannot show the record: like a lost compare-and-set,
            // the re-read (through REST if need be) and the watermark in it tell.
            Got::Unrepresentable(why) => {
                tracing::info!(%why, "the write's answer cannot show the record; re-reading");
                return Ok(None);
            }
        };
        let rows = data
            .get("updateRepProgressions")
            .and_then(Value::as_array)
            .ok_or_else(|| TwentyError::Malformed {
                detail: format!("no updateRepProgressions list in {}", short(&data)),
            })?;
        match rows.as_slice() {
            [] => Ok(None),
            [row] => parse_record(row).map(Some),
            more => Err(TwentyError::Malformed {
                detail: format!(
                    "a conditional update on one id changed {} records",
                    more.len()
                ),
            }),
        }
    }

    /// Every live record of the workspace (the team), paged through `pageInfo.endCursor`. A
    /// record RepXP cannot read (no id) is left out rather than failing the whole list. Returns
    /// the records and the requests spent.
    pub async fn list_team(&self) -> Result<(Vec<Snapshot>, u64), TwentyError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for page in 1..=MAX_TEAM_PAGES {
            let got = self
                .graphql_records(graphql::team_page, |_| {
                    vars([("first", json!(TEAM_PAGE)), ("after", json!(after))])
                })
                .await?;
            let data = match got {
                Got::Data(d) => d,
                Got::NotFound => Value::Null,
                Got::Unrepresentable(why) => {
                    tracing::info!(%why, "GraphQL cannot show a rep's record; listing through REST");
                    let (team, pages) = self.rest_team(TEAM_PAGE, MAX_TEAM_PAGES).await?;
                    return Ok((team, page + pages));
                }
            };
            let list = graphql::nodes(&data)?;
            out.extend(
                list.iter()
                    .filter(|v| !is_trashed(v))
                    .filter_map(|v| parse_record(v).ok()),
            );
            let info = data.pointer(&format!("/{}/pageInfo", graphql::PLURAL));
            let next = info
                .filter(|i| i.get("hasNextPage").and_then(Value::as_bool) == Some(true))
                .and_then(|i| i.get("endCursor").and_then(Value::as_str))
                .filter(|c| Some(*c) != after.as_deref());
            match next {
                Some(c) if !list.is_empty() => after = Some(c.to_string()),
                _ => return Ok((out, page)),
            }
        }
        Err(TwentyError::Malformed {
            detail: format!("the rep list did not end after {MAX_TEAM_PAGES} pages"),
        })
    }

    /// Whether this key may read the records of `plural` (one record asked for).
    pub async fn can_read(&self, plural: &str) -> Result<bool, TwentyError> {
        let query =
            format!("query RepXPCanRead {{ {plural}(first: 1) {{ edges {{ node {{ id }} }} }} }}");
        let body = graphql::request(&query, Map::new());
        match graphql::answer(self.call_graphql(&body).await?) {
            graphql::Answer::Data(_)
            | graphql::Answer::NotFound
            | graphql::Answer::Unrepresentable(_) => Ok(true),
            graphql::Answer::Failed(TwentyError::Forbidden { .. }) => Ok(false),
            graphql::Answer::Failed(e) => Err(e),
        }
    }

    /// Whether this key may update Rep progressions, changing nothing in Twenty.
    ///
    /// First an update-many whose filter matches no record: the newest servers check the role
    /// before they look for rows (`FORBIDDEN`, or `[]`). The 2025 servers look for rows first
    /// when the role's limits are per object (`IS_PERMISSIONS_V2_ENABLED`) and answer
    /// `NOT_FOUND` either way; there, a create whose email is a NUL character tells: Twenty
    /// checks the role when the statement runs, and PostgreSQL refuses the value itself
    /// ("invalid byte sequence"), so nothing is ever created (run on `7f19111`,
    /// docs/twenty-api.md §3c).
    pub async fn can_update(&self) -> Result<bool, TwentyError> {
        let probe = self
            .graphql_records(graphql::update_many, |_| {
                vars([
                    (
                        "filter",
                        graphql::cond("id", "eq", json!("00000000-0000-4000-8000-000000000000")),
                    ),
                    ("data", json!({})),
                ])
            })
            .await;
        match probe {
            Ok(Got::NotFound) => {}
            Ok(_) => return Ok(true),
            Err(TwentyError::Forbidden { .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
        let nul = self
            .graphql_records(graphql::create_one, |_| {
                vars([("data", json!({"repEmail": "\u{0}", "name": "\u{0}"}))])
            })
            .await;
        match nul {
            Err(TwentyError::Forbidden { .. }) => Ok(false),
            Err(TwentyError::Server { detail, .. }) if detail.contains("byte sequence") => Ok(true),
            Ok(Got::Data(_)) => Err(TwentyError::Malformed {
                detail: "Twenty stored an email that is a NUL character".into(),
            }),
            Ok(_) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// One GraphQL request about records, its query built for how `repEmail` is stored (a TEXT
    /// scalar or an EMAILS composite: an admin may pick either). If Twenty says the field has
    /// the other shape, the client learns it and asks once more.
    async fn graphql_records(
        &self,
        query: fn(EmailField) -> String,
        variables: impl Fn(EmailField) -> Map<String, Value>,
    ) -> Result<Got, TwentyError> {
        let mut field = self.email_field();
        for attempt in 0..2 {
            let body = graphql::request(&query(field), variables(field));
            match graphql::answer(self.call_graphql(&body).await?) {
                graphql::Answer::Data(d) => return Ok(Got::Data(d)),
                graphql::Answer::NotFound => return Ok(Got::NotFound),
                graphql::Answer::Unrepresentable(why) => return Ok(Got::Unrepresentable(why)),
                graphql::Answer::Failed(e) if attempt == 0 && graphql::is_email_shape_error(&e) => {
                    field = match field {
                        EmailField::Text => EmailField::Emails,
                        EmailField::Emails => EmailField::Text,
                    };
                    tracing::info!(
                        field = field.as_str(),
                        "repEmail has the other type; asking again"
                    );
                    self.set_email_field(field);
                }
                graphql::Answer::Failed(e) => return Err(e),
            }
        }
        Err(TwentyError::Malformed {
            detail: "Twenty refused repEmail both as text and as an Emails field".into(),
        })
    }
}
