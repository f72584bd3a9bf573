//! Web apps the rep let award XP (issue 24): an origin asks to pair, the rep allows or denies it,
//! an allowed origin gets a token of its own. Decisions live in `web-origins.json` (readable by
//! this user only, like the award secret), written by the process serving the API alone; the one
//! pairing request waiting for the rep lives in memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::secret::{random_hex, write_private, Secret};
use crate::AwardApiError;

/// Inside the data directory.
pub const ORIGINS_FILE: &str = "web-origins.json";

/// After a Deny, the origin's pairing requests are refused without asking the rep again.
pub const DENY_COOL_DOWN: Duration = Duration::from_secs(24 * 3600);
/// A pairing request the rep has not answered by then is dropped (the page may ask again).
pub const PAIRING_EXPIRES: Duration = Duration::from_secs(10 * 60);

/// `scheme://host[:port]`, lower-cased; a page's Origin header as browsers send it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Origin(String);

impl Origin {
    /// `None` for anything a browser would not send as a page's origin (`null`, a path, a
    /// scheme other than http and https).
    pub fn parse(text: &str) -> Option<Origin> {
        let text = text.trim().to_ascii_lowercase();
        let (scheme, rest) = text.split_once("://")?;
        if !matches!(scheme, "http" | "https") || rest.is_empty() {
            return None;
        }
        let host_ok = rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        host_ok.then_some(Origin(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the rep decided for an origin. `at`: seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Decision {
    Allowed { token: String, at: u64 },
    Denied { at: u64 },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OriginsFile {
    origins: BTreeMap<Origin, Decision>,
}

/// The pairing request waiting for the rep.
#[derive(Debug, Clone)]
pub struct Pending {
    pub origin: Origin,
    request: String,
    since: Instant,
    answer: Option<Answer>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Allowed(String),
    Denied,
}

/// What a page asking to pair is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairAsked {
    /// Waiting for the rep: poll with this request id (only the asking page has it).
    Waiting { request: String },
    /// This origin already waits for the rep; the page that asked first holds the request id.
    AlreadyWaiting,
    /// Another origin waits for the rep: one prompt at a time.
    Busy,
    /// The rep denied this origin lately.
    Denied,
}

/// What a page polling its pairing request is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairPolled {
    Waiting,
    Allowed {
        token: String,
    },
    Denied,
    /// No such request (expired, answered already, or never made).
    Unknown,
}

/// The registry: decisions from the file, the one pending request in memory.
pub struct WebOrigins {
    path: PathBuf,
    origins: BTreeMap<Origin, Decision>,
    pending: Option<Pending>,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl WebOrigins {
    /// Reads `web-origins.json`; a missing file is no origin allowed. An unreadable one is an
    /// error (never silently "nothing allowed", which would then be written back over it).
    pub fn load(data_dir: &Path) -> Result<WebOrigins, AwardApiError> {
        let path = data_dir.join(ORIGINS_FILE);
        let origins = match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str::<OriginsFile>(&text)
                    .map_err(|e| AwardApiError::Corrupt {
                        path: path.clone(),
                        why: e.to_string(),
                    })?
                    .origins
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(AwardApiError::Read { path, source }),
        };
        Ok(WebOrigins {
            path,
            origins,
            pending: None,
        })
    }

    fn save(&self) -> Result<(), AwardApiError> {
        let file = OriginsFile {
            origins: self.origins.clone(),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| AwardApiError::Corrupt {
            path: self.path.clone(),
            why: e.to_string(),
        })?;
        write_private(&self.path, &format!("{text}\n"))
    }

    fn expire(&mut self) {
        if self
            .pending
            .as_ref()
            .is_some_and(|p| p.since.elapsed() > PAIRING_EXPIRES)
        {
            self.pending = None;
        }
    }

    /// Whether `origin` is allowed and `token` is its token.
    pub fn admits(&self, origin: &Origin, token: &str) -> bool {
        match self.origins.get(origin) {
            Some(Decision::Allowed { token: t, .. }) => Secret::from_text(t).matches(token),
            _ => false,
        }
    }

    pub fn is_allowed(&self, origin: &Origin) -> bool {
        matches!(self.origins.get(origin), Some(Decision::Allowed { .. }))
    }

    /// A page on `origin` asks to pair.
    pub fn ask(&mut self, origin: &Origin) -> PairAsked {
        self.expire();
        if let Some(Decision::Denied { at }) = self.origins.get(origin) {
            if now_secs().saturating_sub(*at) < DENY_COOL_DOWN.as_secs() {
                return PairAsked::Denied;
            }
        }
        match &self.pending {
            Some(p) if p.answer.is_none() && &p.origin == origin => PairAsked::AlreadyWaiting,
            Some(p) if p.answer.is_none() => PairAsked::Busy,
            _ => {
                let request = random_hex(16);
                self.pending = Some(Pending {
                    origin: origin.clone(),
                    request: request.clone(),
                    since: Instant::now(),
                    answer: None,
                });
                PairAsked::Waiting { request }
            }
        }
    }

    /// The page that asked polls its request.
    pub fn poll(&mut self, origin: &Origin, request: &str) -> PairPolled {
        self.expire();
        let Some(p) = &self.pending else {
            return PairPolled::Unknown;
        };
        if &p.origin != origin || !Secret::from_text(&p.request).matches(request) {
            return PairPolled::Unknown;
        }
        let polled = match &p.answer {
            None => return PairPolled::Waiting,
            Some(Answer::Allowed(token)) => PairPolled::Allowed {
                token: token.clone(),
            },
            Some(Answer::Denied) => PairPolled::Denied,
        };
        // Told once: the token is not handed out again.
        self.pending = None;
        polled
    }

    /// The origin waiting for the rep, if any.
    pub fn waiting(&mut self) -> Option<&Origin> {
        self.expire();
        self.pending
            .as_ref()
            .filter(|p| p.answer.is_none())
            .map(|p| &p.origin)
    }

    /// The rep allows `origin`'s waiting request: a new token, kept in the file. `false` if
    /// `origin` is not waiting (an origin is only ever allowed for a page that asked).
    pub fn allow(&mut self, origin: &Origin) -> Result<bool, AwardApiError> {
        self.expire();
        let Some(p) = self
            .pending
            .as_mut()
            .filter(|p| &p.origin == origin && p.answer.is_none())
        else {
            return Ok(false);
        };
        let token = random_hex(32);
        p.answer = Some(Answer::Allowed(token.clone()));
        self.origins.insert(
            origin.clone(),
            Decision::Allowed {
                token,
                at: now_secs(),
            },
        );
        self.save()?;
        Ok(true)
    }

    /// The rep denies `origin`: its waiting request is answered so, its token (if any) revoked,
    /// and its pairing requests refused without a prompt for [`DENY_COOL_DOWN`].
    pub fn deny(&mut self, origin: &Origin) -> Result<(), AwardApiError> {
        if let Some(p) = self.pending.as_mut().filter(|p| &p.origin == origin) {
            p.answer = Some(Answer::Denied);
        }
        self.origins
            .insert(origin.clone(), Decision::Denied { at: now_secs() });
        self.save()
    }

    /// Forgets `origin`: its token stops working at once; it may ask again. `false` if unknown.
    pub fn revoke(&mut self, origin: &Origin) -> Result<bool, AwardApiError> {
        let known = self.origins.remove(origin).is_some();
        if known {
            self.save()?;
        }
        Ok(known)
    }

    /// Every origin with the rep's decision, tokens left out.
    pub fn list(&self) -> Vec<(Origin, &'static str, u64)> {
        self.origins
            .iter()
            .map(|(o, d)| match d {
                Decision::Allowed { at, .. } => (o.clone(), "allowed", *at),
                Decision::Denied { at } => (o.clone(), "denied", *at),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> Origin {
        Origin::parse(s).expect("origin")
    }

    #[test]
    fn only_what_a_browser_sends_as_a_pages_origin_parses() {
        assert_eq!(
            Origin::parse("HTTPS://Dialer.Example.com").map(|o| o.0),
            Some("https://dialer.example.com".into())
        );
        assert!(Origin::parse("http://127.0.0.1:8080").is_some());
        for bad in [
            "null",
            "",
            "file://",
            "https://a.com/path",
            "javascript://x",
            "https://",
        ] {
            assert!(Origin::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_token_is_given_once_to_the_page_that_asked_and_only_after_the_rep_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = WebOrigins::load(dir.path()).expect("load");
        let dialer = origin("https://dialer.example.com");
        let PairAsked::Waiting { request } = w.ask(&dialer) else {
            panic!("waiting");
        };
        assert_eq!(w.ask(&dialer), PairAsked::AlreadyWaiting);
        assert_eq!(w.ask(&origin("https://other.example")), PairAsked::Busy);
        assert_eq!(w.poll(&dialer, &request), PairPolled::Waiting);
        assert_eq!(w.poll(&dialer, "guess"), PairPolled::Unknown);
        assert!(!w.allow(&origin("https://other.example")).expect("allow"));
        assert!(w.allow(&dialer).expect("allow"));
        let PairPolled::Allowed { token } = w.poll(&dialer, &request) else {
            panic!("allowed");
        };
        assert_eq!(w.poll(&dialer, &request), PairPolled::Unknown, "once");
        assert!(w.admits(&dialer, &token));
        assert!(!w.admits(&origin("https://other.example"), &token));
        // Kept across a restart, without the pending request.
        let mut again = WebOrigins::load(dir.path()).expect("reload");
        assert!(again.admits(&dialer, &token));
        assert!(again.waiting().is_none());
        assert!(again.revoke(&dialer).expect("revoke"));
        assert!(!again.admits(&dialer, &token));
    }

    #[test]
    fn a_denied_origin_is_not_asked_about_again_for_a_day() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = WebOrigins::load(dir.path()).expect("load");
        let spam = origin("https://spam.example");
        let PairAsked::Waiting { request } = w.ask(&spam) else {
            panic!("waiting");
        };
        w.deny(&spam).expect("deny");
        assert_eq!(w.poll(&spam, &request), PairPolled::Denied);
        assert_eq!(w.ask(&spam), PairAsked::Denied);
        assert!(w.waiting().is_none(), "no prompt");
        let reloaded = WebOrigins::load(dir.path()).expect("reload").ask(&spam);
        assert_eq!(reloaded, PairAsked::Denied, "across a restart too");
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(ORIGINS_FILE), "{not json").expect("write");
        assert!(matches!(
            WebOrigins::load(dir.path()),
            Err(AwardApiError::Corrupt { .. })
        ));
    }
}
