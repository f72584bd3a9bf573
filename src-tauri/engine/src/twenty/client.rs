//! HTTP to Twenty's REST API (shapes and sources in docs/twenty-api.md). One method per call
//! RepXP makes; every failure comes back as a classified [`TwentyError`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use url::Url;

use super::error::TwentyError;
use super::progression_json::{create_fields, is_trashed, parse_record, short};
use super::url::parse_base_url;
use crate::secrets::ApiKey;
use crate::snapshot::Snapshot;

/// REST path of RepXP's custom object (`namePlural` of `repProgression`).
pub const OBJECT_PLURAL: &str = "repProgressions";
pub const OBJECT_SINGULAR: &str = "repProgression";

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(20),
        }
    }
}

pub struct TwentyClient {
    http: reqwest::Client,
    base: Url,
    key: ApiKey,
    requests: AtomicU64,
    /// Whether `repEmail` is a TEXT field or an EMAILS composite (an admin may pick either).
    /// Learnt from `doctor`, or from Twenty's answer to a TEXT filter on a composite field.
    emails_field: AtomicBool,
}

/// How the workspace stores `repEmail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailField {
    /// A TEXT field: filter `repEmail[ilike]:…`, write a string.
    Text,
    /// An EMAILS composite: filter `repEmail.primaryEmail[ilike]:…`, write
    /// `{"primaryEmail":…,"additionalEmails":null}` (docs/twenty-api.md §2a).
    Emails,
}

impl EmailField {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailField::Text => "text",
            EmailField::Emails => "emails",
        }
    }

    pub fn parse(s: &str) -> Option<EmailField> {
        match s {
            "text" => Some(EmailField::Text),
            "emails" => Some(EmailField::Emails),
            _ => None,
        }
    }
}

/// A rep email goes into a filter string between double quotes; refuse what would break out.
pub fn check_rep_email(email: &str) -> Result<String, TwentyError> {
    let e = email.trim();
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.ends_with('.'))
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"',()[]\\:".contains(c));
    if ok {
        Ok(e.to_string())
    } else {
        Err(TwentyError::Rejected {
            status: 0,
            detail: format!("{email:?} is not a valid rep email"),
        })
    }
}

impl TwentyClient {
    pub fn new(
        base_url: &str,
        key: ApiKey,
        timeouts: Timeouts,
    ) -> Result<TwentyClient, TwentyError> {
        let base = parse_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .user_agent(concat!("RepXP/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TwentyError::BadUrl {
                url: base_url.to_string(),
                reason: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(TwentyClient {
            http,
            base,
            key,
            requests: AtomicU64::new(0),
            emails_field: AtomicBool::new(false),
        })
    }

    /// How `repEmail` is stored, as far as this client knows.
    pub fn email_field(&self) -> EmailField {
        if self.emails_field.load(Ordering::Relaxed) {
            EmailField::Emails
        } else {
            EmailField::Text
        }
    }

    pub fn set_email_field(&self, f: EmailField) {
        self.emails_field
            .store(f == EmailField::Emails, Ordering::Relaxed);
    }

    /// A filter on the rep's email, whatever the field's type.
    fn email_filter(&self, op: &str, email: &str) -> String {
        match self.email_field() {
            EmailField::Text => format!("repEmail[{op}]:\"{email}\""),
            EmailField::Emails => format!("repEmail.primaryEmail[{op}]:\"{email}\""),
        }
    }

    /// One page of records matching a filter on the rep's email. A TEXT filter on an EMAILS
    /// field is refused ("… not found for composite type: EMAILS", wording by version): then
    /// the field is an EMAILS composite, and the same request goes again with the sub-field.
    async fn list_by_email(
        &self,
        email: &str,
        filter: impl Fn(&str) -> String,
    ) -> Result<Vec<Value>, TwentyError> {
        match self
            .list_records(&filter(&self.email_filter("ilike", email)))
            .await
        {
            Err(TwentyError::Rejected { detail, .. })
                if self.email_field() == EmailField::Text
                    && detail.contains("not found for composite type") =>
            {
                tracing::info!("repEmail is an EMAILS field; filtering on its primary email");
                self.set_email_field(EmailField::Emails);
                self.list_records(&filter(&self.email_filter("ilike", email)))
                    .await
            }
            // Remembered as EMAILS, but an admin turned it back into TEXT.
            Err(TwentyError::Rejected { detail, .. } | TwentyError::SchemaMissing { detail })
                if self.email_field() == EmailField::Emails && detail.contains("primaryEmail") =>
            {
                tracing::info!("repEmail is a TEXT field again");
                self.set_email_field(EmailField::Text);
                self.list_records(&filter(&self.email_filter("ilike", email)))
                    .await
            }
            other => other,
        }
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// HTTP requests sent so far (benchmarks and the request-budget tests read it).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut u = self.base.clone();
        let joined = format!(
            "{}/{}",
            u.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        u.set_path(&joined);
        if !query.is_empty() {
            u.query_pairs_mut().extend_pairs(query);
        }
        u
    }

    /// Sends one request and returns the parsed JSON body of a 2xx answer.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, TwentyError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let host = url.host_str().unwrap_or("?").to_string();
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(self.key.expose());
        if let Some(b) = body {
            req = req.json(b);
        }
        let path = url.path().to_string();
        let resp = req.send().await.map_err(|e| transport_error(&host, &e))?;
        let status = resp.status();
        let retry_after =
            super::retry_after::from_headers(resp.headers(), std::time::SystemTime::now());
        let bytes = resp.bytes().await.map_err(|e| transport_error(&host, &e))?;
        tracing::debug!(%method, path, status = status.as_u16(), bytes = bytes.len(), "twenty");
        let parsed: Result<Value, _> = serde_json::from_slice(&bytes);
        if status.is_success() {
            return parsed.map_err(|e| TwentyError::Malformed {
                detail: format!(
                    "HTTP {} with a body that is not JSON ({e})",
                    status.as_u16()
                ),
            });
        }
        let message = parsed.as_ref().ok().map(error_message).unwrap_or_else(|| {
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(120)
                .collect::<String>()
        });
        Err(classify(status, retry_after, message))
    }

    /// One page (60, Twenty's default) of records matching `filter`, as JSON.
    async fn list_records(&self, filter: &str) -> Result<Vec<Value>, TwentyError> {
        let url = self.url(
            &format!("rest/{OBJECT_PLURAL}"),
            &[("filter", filter), ("limit", "60"), ("depth", "0")],
        );
        let body = self.call(Method::GET, url, None).await?;
        record_list(&body).cloned()
    }

    /// Every live record whose `repEmail` equals `email` case-insensitively, oldest first
    /// (`createdAt`, then id): the first is the rep's record, the others are duplicates. One
    /// request. `ilike` with the address as the pattern (Twenty passes it raw, adding no `%`)
    /// finds every case variant; `_` and `%` in an address only widen the match, so the exact
    /// comparison happens here.
    pub async fn find_by_email(&self, email: &str) -> Result<Vec<Snapshot>, TwentyError> {
        let email = check_rep_email(email)?;
        let list = self
            .list_by_email(&email, |by_email| by_email.to_string())
            .await?;
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

    /// Every live record of the workspace (the team), paged at [`TEAM_PAGE`] records a request
    /// through `pageInfo.endCursor`, so a team of up to 200 reps costs one request. A record
    /// RepXP cannot read (no id) is left out rather than failing the whole list. Returns the
    /// records and the requests spent.
    pub async fn list_team(&self) -> Result<(Vec<Snapshot>, u64), TwentyError> {
        let limit = TEAM_PAGE.to_string();
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for page in 1..=MAX_TEAM_PAGES {
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
                _ => return Ok((out, page)),
            }
        }
        Err(TwentyError::Malformed {
            detail: format!("the rep list did not end after {MAX_TEAM_PAGES} pages"),
        })
    }

    /// One record by id (`None` if there is none, or it is in the trash). Newer servers answer
    /// 404, older ones 400 "Record not found" or "Could not find any entity" (docs/twenty-api.md).
    pub async fn get(&self, id: &str) -> Result<Option<Snapshot>, TwentyError> {
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

    /// A record in Twenty's trash that is the rep's: the one with `id`, or one with the rep's
    /// email. Find-many leaves the trash out unless the filter names `deletedAt`.
    pub async fn find_trashed(
        &self,
        email: &str,
        id: Option<&str>,
    ) -> Result<Option<Snapshot>, TwentyError> {
        let email = check_rep_email(email)?;
        let list = self
            .list_by_email(&email, |by_email| {
                let who = match id {
                    Some(id) => format!("or(id[eq]:\"{id}\",{by_email})"),
                    None => by_email.to_string(),
                };
                format!("and(deletedAt[is]:NOT_NULL,{who})")
            })
            .await?;
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

    /// Creates the rep's record holding `initial` (the email stored lower-cased, so two devices
    /// creating it at once collide on Twenty's unique index instead of making two records).
    pub async fn create(&self, email: &str, initial: &Snapshot) -> Result<Snapshot, TwentyError> {
        let email = check_rep_email(email)?.to_lowercase();
        let mut fields = create_fields(initial);
        fields["repEmail"] = match self.email_field() {
            EmailField::Text => json!(email),
            EmailField::Emails => json!({"primaryEmail": email, "additionalEmails": null}),
        };
        fields["name"] = json!(email);
        let url = self.url(&format!("rest/{OBJECT_PLURAL}"), &[]);
        let body = self.call(Method::POST, url, Some(&fields)).await?;
        parse_record(at(&body, &["data", "createRepProgression"])?)
    }

    /// Writes `fields` only if the record is still exactly `expected`, live, and not in the
    /// trash: one atomic update-many whose filter is the compare-and-set (see [`cas_filter`]).
    /// `Ok(None)`: someone wrote in between, or the record went to the trash.
    pub async fn update_if(
        &self,
        id: &str,
        expected: &Snapshot,
        fields: &Value,
    ) -> Result<Option<Snapshot>, TwentyError> {
        let filter = cas_filter(id, expected);
        let url = self.url(&format!("rest/{OBJECT_PLURAL}"), &[("filter", &filter)]);
        let body = self.call(Method::PATCH, url, Some(fields)).await?;
        let rows = at(&body, &["data", "updateRepProgressions"])?
            .as_array()
            .ok_or_else(|| TwentyError::Malformed {
                detail: "data.updateRepProgressions is not a list".into(),
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

    /// GET `/rest/metadata/objects`, every page: every object (with its fields, except on older
    /// servers). Both envelopes are read, whatever the server's version: the legacy
    /// `{data:{objects:[…]}}` and the new `{data:[…]}` (docs/twenty-api.md §7), and pages are
    /// followed through `pageInfo` (some versions list 60 objects a page).
    pub async fn list_objects(&self) -> Result<MetadataList, TwentyError> {
        let mut out = MetadataList::default();
        let mut after: Option<String> = None;
        for _ in 0..MAX_METADATA_PAGES {
            let query: Vec<(&str, &str)> = match after.as_deref() {
                Some(c) => vec![("starting_after", c)],
                None => Vec::new(),
            };
            let url = self.url("rest/metadata/objects", &query);
            let body = self.call(Method::GET, url, None).await?;
            let (items, new_format) = match body.get("data") {
                Some(Value::Array(a)) => (a, true),
                Some(d) => (
                    d.get("objects").and_then(Value::as_array).ok_or_else(|| {
                        TwentyError::Malformed {
                            detail: format!("no data.objects list in {}", short(&body)),
                        }
                    })?,
                    false,
                ),
                None => {
                    return Err(TwentyError::Malformed {
                        detail: format!("no data in {}", short(&body)),
                    })
                }
            };
            out.new_format = new_format;
            out.items.extend(items.iter().cloned());
            out.pages += 1;
            match next_page(&body, after.as_deref()) {
                Some(c) => after = Some(c),
                None => return Ok(out),
            }
        }
        Err(TwentyError::Malformed {
            detail: format!("the object list did not end after {MAX_METADATA_PAGES} pages"),
        })
    }

    /// The fields of one object, through the metadata GraphQL endpoint (`POST /metadata`, the
    /// endpoint Twenty's own REST metadata layer forwards to, with the same API key). Needed
    /// because newer servers list objects without fields and list fields without their object.
    pub async fn object_fields(&self, object_id: &str) -> Result<Vec<Value>, TwentyError> {
        let url = self.url("metadata", &[]);
        let query = serde_json::json!({
            "query": OBJECT_FIELDS_QUERY,
            "variables": { "id": object_id },
        });
        let body = self.call(Method::POST, url, Some(&query)).await?;
        if let Some(errors) = body.get("errors").and_then(Value::as_array) {
            let detail = errors
                .iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(TwentyError::Rejected {
                status: 200,
                detail: format!("metadata query failed: {detail}"),
            });
        }
        let edges = at(&body, &["data", "object", "fields", "edges"])?
            .as_array()
            .ok_or_else(|| TwentyError::Malformed {
                detail: "data.object.fields.edges is not a list".into(),
            })?;
        edges
            .iter()
            .map(|e| {
                e.get("node")
                    .cloned()
                    .ok_or_else(|| TwentyError::Malformed {
                        detail: "a field edge without node".into(),
                    })
            })
            .collect()
    }

    /// POST `/rest/metadata/objects`; returns the new object.
    pub async fn create_object(&self, body: &Value) -> Result<Value, TwentyError> {
        let url = self.url("rest/metadata/objects", &[]);
        let out = self.call(Method::POST, url, Some(body)).await?;
        created(&out, "createOneObject")
    }

    /// POST `/rest/metadata/fields`; returns the new field.
    pub async fn create_field(&self, body: &Value) -> Result<Value, TwentyError> {
        let url = self.url("rest/metadata/fields", &[]);
        let out = self.call(Method::POST, url, Some(body)).await?;
        created(&out, "createOneField")
    }

    /// GET `/client-config` (no key needed): the server's version, `appVersion` on current
    /// servers, `sentry.release` on older ones (docs/twenty-api.md §7a). `None`: not told.
    pub async fn server_version(&self) -> Option<String> {
        let url = self.url("client-config", &[]);
        let resp = self.http.get(url).send().await.ok()?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let body: Value = resp.json().await.ok()?;
        let version = body
            .get("appVersion")
            .and_then(Value::as_str)
            .or_else(|| body.pointer("/sentry/release").and_then(Value::as_str))?;
        Some(version.to_string()).filter(|v| !v.trim().is_empty())
    }

    /// Whether this key may read the records of `plural` (one record asked for).
    pub async fn can_read(&self, plural: &str) -> Result<bool, TwentyError> {
        let url = self.url(&format!("rest/{plural}"), &[("limit", "1"), ("depth", "0")]);
        match self.call(Method::GET, url, None).await {
            Ok(_) => Ok(true),
            Err(TwentyError::Forbidden { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether this key may update the records of `plural`: an update-many whose filter matches
    /// no record (Twenty checks the role before it runs the statement), so nothing changes.
    pub async fn can_update(&self, plural: &str) -> Result<bool, TwentyError> {
        let url = self.url(
            &format!("rest/{plural}"),
            &[("filter", "id[eq]:\"00000000-0000-4000-8000-000000000000\"")],
        );
        match self.call(Method::PATCH, url, Some(&json!({}))).await {
            Ok(_) => Ok(true),
            Err(TwentyError::Forbidden { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Pages of metadata a list may span before RepXP calls the answer broken.
const MAX_METADATA_PAGES: usize = 100;
/// Records per team page: the most every Twenty version answers in one page (newer ones allow
/// more; docs/twenty-api.md §2).
pub const TEAM_PAGE: usize = 200;
/// 50 pages of 200: 10,000 reps, far beyond a sales team; a server that never ends is an error.
const MAX_TEAM_PAGES: u64 = 50;

/// The objects of a workspace, as listed.
#[derive(Debug, Clone, Default)]
pub struct MetadataList {
    pub items: Vec<Value>,
    /// The dedicated metadata controllers' envelope (`{data:[…]}`), the default on new workspaces.
    pub new_format: bool,
    pub pages: usize,
}

/// What a metadata create answers: the new object or field, bare (new format) or under
/// `data.<key>` (legacy).
/// The records of a find-many answer, `data.repProgressions`.
fn record_list(body: &Value) -> Result<&Vec<Value>, TwentyError> {
    at(body, &["data", OBJECT_PLURAL])?
        .as_array()
        .ok_or_else(|| TwentyError::Malformed {
            detail: format!("data.{OBJECT_PLURAL} is not a list"),
        })
}

/// The cursor of the next page of a list answer: `pageInfo.endCursor` while
/// `pageInfo.hasNextPage`, unless it repeats the cursor just used (a server that does not move on).
fn next_page(body: &Value, after: Option<&str>) -> Option<String> {
    let info = body.get("pageInfo")?;
    if !info.get("hasNextPage").and_then(Value::as_bool)? {
        return None;
    }
    let cursor = info.get("endCursor").and_then(Value::as_str)?;
    (Some(cursor) != after).then(|| cursor.to_string())
}

fn created(body: &Value, key: &str) -> Result<Value, TwentyError> {
    if body.get("id").is_some() {
        return Ok(body.clone());
    }
    at(body, &["data", key]).cloned()
}

/// The shape Twenty's REST metadata layer itself sends for one object with its fields
/// (find-one-metadata-query.factory.ts + fetch-metadata-fields.utils.ts, docs/twenty-api.md §7).
const OBJECT_FIELDS_QUERY: &str = "query RepXPObjectFields($id: UUID!) { object(id: $id) { id fields(paging: { first: 1000 }) { edges { node { id name type isNullable isUnique } } } } }";

/// The compare-and-set: `and(id[eq]:"<id>",deletedAt[is]:NULL,updatedAt[gte]:"T",
/// updatedAt[lt]:"T+1ms",syncRevision[eq]:<rev>,totalXp[eq]:<xp>)`.
///
/// Twenty stamps `updatedAt` with `CURRENT_TIMESTAMP` (microseconds) on every update by anyone
/// and returns it truncated to milliseconds, so the bracket `[T, T+1ms)` matches exactly the
/// record we read, whatever precision the column keeps and on servers whose `eq` on a date is
/// a plain `=` (docs/twenty-api.md §3a). `deletedAt[is]:NULL` keeps the write out of the trash
/// (update-many matches trashed rows). The two numbers also catch a writer that sets
/// `updatedAt` itself. A number another tool left empty is matched with `[is]:NULL`, since
/// `[eq]:0` does not match null; a field RepXP cannot read is left out.
pub fn cas_filter(id: &str, expected: &Snapshot) -> String {
    let mut conds = vec![format!("id[eq]:\"{id}\""), "deletedAt[is]:NULL".to_string()];
    if let Some((from, to)) = expected.updated_at.as_deref().and_then(millisecond_bracket) {
        conds.push(format!("updatedAt[gte]:\"{from}\""));
        conds.push(format!("updatedAt[lt]:\"{to}\""));
    }
    let mut number = |field: &str, v: i64, was_null: bool| {
        if !expected.is_readable(field) {
            return;
        }
        conds.push(if was_null {
            format!("{field}[is]:NULL")
        } else {
            format!("{field}[eq]:{v}")
        });
    };
    number(
        "syncRevision",
        expected.sync_revision,
        expected.null_fields.sync_revision,
    );
    number("totalXp", expected.total_xp, expected.null_fields.total_xp);
    format!("and({})", conds.join(","))
}

/// `T` and `T + 1 ms`, both as Twenty prints times.
fn millisecond_bracket(t: &str) -> Option<(String, String)> {
    let at = crate::timefmt::parse(t).ok()?;
    Some((
        crate::timefmt::format(at),
        crate::timefmt::format(at + chrono::TimeDelta::milliseconds(1)),
    ))
}

fn at<'a>(body: &'a Value, path: &[&str]) -> Result<&'a Value, TwentyError> {
    let mut v = body;
    for key in path {
        v = v.get(key).ok_or_else(|| TwentyError::Malformed {
            detail: format!("no {} in {}", path.join("."), short(body)),
        })?;
    }
    Ok(v)
}

/// Twenty's error body is `{"statusCode":n,"error":"Name","messages":["..."]}`.
fn error_message(body: &Value) -> String {
    let messages = body.get("messages").and_then(Value::as_array).map(|m| {
        m.iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; ")
    });
    messages
        .filter(|m| !m.is_empty())
        .or_else(|| {
            body.get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .or_else(|| {
            body.get("error")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| short(body))
}

fn classify(status: StatusCode, retry_after: Option<Duration>, message: String) -> TwentyError {
    let code = status.as_u16();
    let lower = message.to_lowercase();
    match code {
        // The key is valid but its role may not do this: 400 on the records API, 403 on the
        // metadata API and on newer servers (docs/twenty-api.md §6a).
        400 | 403
            if lower.contains("does not have permission")
                || lower.contains("permission_denied") =>
        {
            TwentyError::Forbidden { detail: message }
        }
        401 | 403 => TwentyError::Auth { status: code },
        // A spent usage allowance, or a workspace without a plan (docs/twenty-api.md §5a).
        402 => TwentyError::PaymentRequired { detail: message },
        429 => TwentyError::RateLimited {
            retry_after,
            window: super::retry_after::window_in_message(&message),
        },
        400 | 404
            if lower.contains("doesn't have any")
                || (lower.contains("object") && lower.contains("not found"))
                || lower.contains("unknown field") =>
        {
            TwentyError::SchemaMissing { detail: message }
        }
        // Servers without REST update-many route our PATCH to update-one, which wants an id.
        400 if lower.contains("record id not found") => TwentyError::Unsupported,
        500..=599 => TwentyError::Server {
            status: code,
            detail: message,
        },
        _ => TwentyError::Rejected {
            status: code,
            detail: message,
        },
    }
}

fn transport_error(host: &str, e: &reqwest::Error) -> TwentyError {
    // reqwest's messages can carry the URL (never the headers); keep only the cause chain.
    let mut detail = String::new();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    if detail.is_empty() {
        detail = "connection failed".into();
    }
    if e.is_timeout() {
        TwentyError::Timeout { detail }
    } else if e.is_connect() {
        TwentyError::Offline {
            host: host.to_string(),
            detail,
        }
    } else if e.is_decode() || e.is_body() {
        TwentyError::Malformed { detail }
    } else {
        // A connection closed before the answer (the write may have landed): like a timeout,
        // the outcome is unknown and the watermark will tell.
        TwentyError::Interrupted { detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_kind::ErrorKind;

    #[test]
    fn rep_emails_that_could_break_a_filter_are_refused() {
        assert!(check_rep_email("ana@acme.com").is_ok());
        for bad in [
            "",
            "ana",
            "ana@",
            "a\"b@acme.com",
            "a,b@acme.com",
            "a b@acme.com",
            "a@acme",
            "x@y)z.com",
        ] {
            assert!(check_rep_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_codes_map_to_what_the_rep_can_do() {
        assert_eq!(
            classify(StatusCode::FORBIDDEN, None, "Forbidden resource".into()).kind(),
            ErrorKind::Auth
        );
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, None, String::new()).kind(),
            ErrorKind::Auth
        );
        let rl = classify(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(7)),
            String::new(),
        );
        assert_eq!(rl.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(
            classify(
                StatusCode::BAD_REQUEST,
                None,
                "Object repProgression doesn't have any \"syncRevision\" field.".into()
            )
            .kind(),
            ErrorKind::SchemaMissing
        );
        assert_eq!(
            classify(
                StatusCode::BAD_REQUEST,
                None,
                "object 'repProgressions' not found. eg: companies".into()
            )
            .kind(),
            ErrorKind::SchemaMissing
        );
        assert_eq!(
            classify(StatusCode::BAD_GATEWAY, None, "x".into()).kind(),
            ErrorKind::Server
        );
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, None, "invalid uuid".into()).kind(),
            ErrorKind::Rejected
        );
    }
}
