//! HTTP to Twenty: one classified [`TwentyError`] for every way a request fails, the metadata
//! REST API (doctor's schema check) and `/client-config`. The records themselves go through
//! GraphQL (`records.rs`); shapes and sources in docs/twenty-api.md.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use super::error::TwentyError;
use super::progression_json::short;
use super::url::parse_base_url;
use crate::secrets::ApiKey;

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
    /// Twenty's clock minus this computer's, in ms, from the `Date` header of its last answer
    /// ([`NO_OFFSET`] until one came): a laptop whose clock runs days ahead never writes a
    /// `lastActivityDate` in Twenty's future.
    clock_offset_ms: AtomicI64,
}

const NO_OFFSET: i64 = i64::MIN;

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
            clock_offset_ms: AtomicI64::new(NO_OFFSET),
        })
    }

    /// Twenty's clock minus this computer's, as its last answer's `Date` header told (seconds
    /// precision), or as [`TwentyClient::set_clock_offset`] remembered it from an earlier run.
    pub fn clock_offset(&self) -> Option<chrono::TimeDelta> {
        match self.clock_offset_ms.load(Ordering::Relaxed) {
            NO_OFFSET => None,
            ms => Some(chrono::TimeDelta::milliseconds(ms)),
        }
    }

    pub fn set_clock_offset(&self, offset: chrono::TimeDelta) {
        self.clock_offset_ms
            .store(offset.num_milliseconds(), Ordering::Relaxed);
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

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// HTTP requests sent so far (benchmarks and the request-budget tests read it).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(super) fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
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
    pub(super) async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, TwentyError> {
        self.send(method, url, body, false).await
    }

    /// `POST /graphql`: the answer's body, errors included. GraphQL says what went wrong in
    /// `errors[]`, with HTTP 200 or, for a variable its types refuse, 400
    /// (docs/twenty-api.md §3c); anything else (a proxy's 502, a 429) is classified as REST's.
    pub(super) async fn call_graphql(&self, body: &Value) -> Result<Value, TwentyError> {
        let url = self.url("graphql", &[]);
        self.send(Method::POST, url, Some(body), true).await
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        graphql: bool,
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
        let received = std::time::SystemTime::now();
        let retry_after = super::retry_after::from_headers(resp.headers(), received);
        if let Some(server) = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
        {
            self.clock_offset_ms
                .store(offset_ms(server, received), Ordering::Relaxed);
        }
        let bytes = resp.bytes().await.map_err(|e| transport_error(&host, &e))?;
        tracing::debug!(%method, path, status = status.as_u16(), bytes = bytes.len(), "twenty");
        if graphql && matches!(status.as_u16(), 404 | 405) {
            return Err(TwentyError::Unsupported {
                path,
                status: status.as_u16(),
            });
        }
        let parsed: Result<Value, _> = serde_json::from_slice(&bytes);
        match parsed {
            Ok(v) if status.is_success() => return Ok(v),
            Ok(v)
                if graphql
                    && status == StatusCode::BAD_REQUEST
                    && v.get("errors").is_some_and(Value::is_array) =>
            {
                return Ok(v)
            }
            Err(e) if status.is_success() => {
                return Err(TwentyError::Malformed {
                    detail: format!(
                        "HTTP {} with a body that is not JSON ({e})",
                        status.as_u16()
                    ),
                })
            }
            _ => {}
        }
        let message = parsed.as_ref().ok().map(error_message).unwrap_or_else(|| {
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(120)
                .collect::<String>()
        });
        Err(classify(status, retry_after, message))
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
}

/// `server - local` in ms, both as `SystemTime`s.
fn offset_ms(server: std::time::SystemTime, local: std::time::SystemTime) -> i64 {
    match server.duration_since(local) {
        Ok(ahead) => i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX - 1),
        Err(behind) => -i64::try_from(behind.duration().as_millis()).unwrap_or(i64::MAX - 1),
    }
}

/// Pages of metadata a list may span before RepXP calls the answer broken.
const MAX_METADATA_PAGES: usize = 100;

/// The objects of a workspace, as listed.
#[derive(Debug, Clone, Default)]
pub struct MetadataList {
    pub items: Vec<Value>,
    /// The dedicated metadata controllers' envelope (`{data:[…]}`), the default on new workspaces.
    pub new_format: bool,
    pub pages: usize,
}

/// The cursor of the next page of a list answer: `pageInfo.endCursor` while
/// `pageInfo.hasNextPage`, unless it repeats the cursor just used (a server that does not move on).
pub(super) fn next_page(body: &Value, after: Option<&str>) -> Option<String> {
    let info = body.get("pageInfo")?;
    if !info.get("hasNextPage").and_then(Value::as_bool)? {
        return None;
    }
    let cursor = info.get("endCursor").and_then(Value::as_str)?;
    (Some(cursor) != after).then(|| cursor.to_string())
}

/// What a metadata create answers: the new object or field, bare (new format) or under
/// `data.<key>` (legacy).
fn created(body: &Value, key: &str) -> Result<Value, TwentyError> {
    if body.get("id").is_some() {
        return Ok(body.clone());
    }
    at(body, &["data", key]).cloned()
}

/// The shape Twenty's REST metadata layer itself sends for one object with its fields
/// (find-one-metadata-query.factory.ts + fetch-metadata-fields.utils.ts, docs/twenty-api.md §7).
const OBJECT_FIELDS_QUERY: &str = "query RepXPObjectFields($id: UUID!) { object(id: $id) { id fields(paging: { first: 1000 }) { edges { node { id name type isNullable isUnique } } } } }";

pub(super) fn at<'a>(body: &'a Value, path: &[&str]) -> Result<&'a Value, TwentyError> {
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
