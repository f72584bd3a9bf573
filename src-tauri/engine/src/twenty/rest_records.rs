//! Reading the rep's records through REST, when GraphQL cannot show them: a NUMBER field that
//! RepXP created as an integer and another writer filled with a fraction (`12.5`) or `NaN`
//! makes Twenty's GraphQL answer "Int cannot represent non-integer value" (and blank the
//! field), where REST passes the value as it is, so RepXP can name the field and leave it
//! alone (docs/twenty-api.md §3c). Costs nothing until that happens.

use reqwest::Method;
use serde_json::Value;

use super::client::{at, next_page, EmailField, TwentyClient, OBJECT_PLURAL, OBJECT_SINGULAR};
use super::error::TwentyError;
use super::progression_json::{is_trashed, parse_record};
use crate::snapshot::Snapshot;

impl TwentyClient {
    /// The records whose `repEmail` matches the `ilike` `pattern`, one page of 200.
    pub(super) async fn rest_by_email(&self, pattern: &str) -> Result<Vec<Value>, TwentyError> {
        let filter = match self.email_field() {
            EmailField::Text => format!("repEmail[ilike]:\"{pattern}\""),
            EmailField::Emails => format!("repEmail.primaryEmail[ilike]:\"{pattern}\""),
        };
        let url = self.url(
            &format!("rest/{OBJECT_PLURAL}"),
            &[("filter", &filter), ("limit", "200"), ("depth", "0")],
        );
        let body = self.call(Method::GET, url, None).await?;
        record_list(&body).cloned()
    }

    /// One record by id; `None` when there is none or it is in the trash (newer servers answer
    /// 404, older ones 400 "Record not found" or "Could not find any entity").
    pub(super) async fn rest_get(&self, id: &str) -> Result<Option<Snapshot>, TwentyError> {
        let url = self.url(&format!("rest/{OBJECT_PLURAL}/{id}"), &[("depth", "0")]);
        match self.call(Method::GET, url, None).await {
            Ok(body) => parse_record(at(&body, &["data", OBJECT_SINGULAR])?).map(Some),
            Err(TwentyError::Rejected { status: 404, .. }) => Ok(None),
            Err(TwentyError::Rejected {
                status: 400,
                detail,
            }) if detail.contains("Record not found")
                || detail.contains("Could not find any entity") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Every live record, `page` records a request through `pageInfo.endCursor` (REST's
    /// `starting_after`), at most `max_pages` requests. Returns the records and the requests.
    pub(super) async fn rest_team(
        &self,
        page: usize,
        max_pages: u64,
    ) -> Result<(Vec<Snapshot>, u64), TwentyError> {
        let limit = page.to_string();
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for n in 1..=max_pages {
            let mut query = vec![("limit", limit.as_str()), ("depth", "0")];
            if let Some(c) = after.as_deref() {
                query.push(("starting_after", c));
            }
            let url = self.url(&format!("rest/{OBJECT_PLURAL}"), &query);
            let body = self.call(Method::GET, url, None).await?;
            let list = record_list(&body)?;
            out.extend(
                list.iter()
                    .filter(|v| !is_trashed(v))
                    .filter_map(|v| parse_record(v).ok()),
            );
            match next_page(&body, after.as_deref()) {
                Some(c) if !list.is_empty() => after = Some(c),
                _ => return Ok((out, n)),
            }
        }
        Err(TwentyError::Malformed {
            detail: format!("the rep list did not end after {max_pages} pages"),
        })
    }
}

/// The records of a REST find-many answer, `data.repProgressions`.
fn record_list(body: &Value) -> Result<&Vec<Value>, TwentyError> {
    at(body, &["data", OBJECT_PLURAL])?
        .as_array()
        .ok_or_else(|| TwentyError::Malformed {
            detail: format!("data.{OBJECT_PLURAL} is not a list"),
        })
}
