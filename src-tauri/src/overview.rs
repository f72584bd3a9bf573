//! Everything the tray and the panel show, read from the engine in one place so the two never
//! disagree. Pure functions of the store, the scheduler's status and the cached keychain facts:
//! no Tauri types here, so it is tested without a display.

use std::path::Path;

use repxp_engine::display::{relative, thousands};
use repxp_engine::outbox::ActivityItem;
use repxp_engine::pace::Pace;
use repxp_engine::secrets::KeySource;
use repxp_engine::settings::Setting;
use repxp_engine::sync::config::{self, EMAIL_ENV, URL_ENV};
use repxp_engine::sync::scheduler::{Phase, SchedulerStatus};
use repxp_engine::sync_status::{next_step, Attention, SyncHistory, SyncState};
use repxp_engine::timefmt::{self, Timestamp};
use repxp_engine::{ErrorKind, Progression, Store, StoreError};
use serde::Serialize;

/// How many recent events the panel lists.
pub const RECENT: usize = 20;

/// The tray icon's state: one PNG per variant in icons/, worst state first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrayState {
    /// The last sync failed for a reason the rep must fix (key, URL, server).
    Error,
    /// Twenty cannot be reached (offline, timeout), or RepXP is not connected yet: work is kept
    /// locally.
    Offline,
    /// The rep paused sync.
    Paused,
    Syncing,
    /// Local events wait for the next push.
    Queued,
    Synced,
}

impl TrayState {
    pub fn icon_name(self) -> &'static str {
        match self {
            TrayState::Error => "error",
            TrayState::Offline => "offline",
            TrayState::Paused => "paused",
            TrayState::Syncing => "syncing",
            TrayState::Queued => "queued",
            TrayState::Synced => "synced",
        }
    }
}

/// Error kinds that mean "cannot reach Twenty" rather than "Twenty said no": the tray shows
/// offline, and the notice says RepXP can't reach Twenty.
pub fn is_offline_kind(kind: Option<ErrorKind>) -> bool {
    let Some(kind) = kind else {
        return false;
    };
    match kind {
        ErrorKind::Offline | ErrorKind::Timeout => true,
        ErrorKind::Interrupted
        | ErrorKind::Contended
        | ErrorKind::Server
        | ErrorKind::Malformed
        | ErrorKind::RateLimited
        | ErrorKind::Auth
        | ErrorKind::NoKey
        | ErrorKind::Permission
        | ErrorKind::PaymentRequired
        | ErrorKind::SchemaMissing
        | ErrorKind::UnsupportedServer
        | ErrorKind::Rejected
        | ErrorKind::BadUrl
        | ErrorKind::NotConnected
        | ErrorKind::Keychain
        | ErrorKind::LocalDatabase
        | ErrorKind::RecordTrashed
        | ErrorKind::EmailChanged
        | ErrorKind::FieldUnreadable
        | ErrorKind::WritesRejected
        | ErrorKind::Other => false,
    }
}

/// The icon for a moment: the worst thing that is true wins. Paused outranks a stale error (no
/// attempt is made while paused), like the engine's `sync_state`.
pub fn tray_state(
    configured: bool,
    paused: bool,
    phase: Phase,
    failing: bool,
    error_kind: Option<ErrorKind>,
    pending: u64,
) -> TrayState {
    if !configured {
        return TrayState::Offline;
    }
    if paused {
        return TrayState::Paused;
    }
    if failing {
        return if is_offline_kind(error_kind) {
            TrayState::Offline
        } else {
            TrayState::Error
        };
    }
    if phase == Phase::Syncing {
        return TrayState::Syncing;
    }
    if pending > 0 {
        TrayState::Queued
    } else {
        TrayState::Synced
    }
}

/// What the panel offers next to the current error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorAction {
    /// The key was refused, is missing, or the keychain failed: focus the API key field.
    ReenterKey,
    /// The URL or email is wrong or missing: focus the settings.
    Settings,
    /// Twenty lacks RepXP's fields: `repxp doctor` creates them.
    Doctor,
    /// Transient: retry now.
    Retry,
}

pub fn error_action(kind: Option<ErrorKind>) -> ErrorAction {
    let Some(kind) = kind else {
        return ErrorAction::Retry;
    };
    match kind {
        ErrorKind::Auth | ErrorKind::NoKey | ErrorKind::Keychain => ErrorAction::ReenterKey,
        ErrorKind::NotConnected
        | ErrorKind::BadUrl
        | ErrorKind::Rejected
        | ErrorKind::EmailChanged => ErrorAction::Settings,
        ErrorKind::SchemaMissing | ErrorKind::UnsupportedServer => ErrorAction::Doctor,
        // RepXP retries these by itself (an admin's fix or the network included): offer a retry
        // now.
        ErrorKind::Offline
        | ErrorKind::Timeout
        | ErrorKind::Interrupted
        | ErrorKind::Contended
        | ErrorKind::Server
        | ErrorKind::Malformed
        | ErrorKind::RateLimited
        | ErrorKind::Permission
        | ErrorKind::PaymentRequired
        | ErrorKind::LocalDatabase
        | ErrorKind::RecordTrashed
        | ErrorKind::FieldUnreadable
        | ErrorKind::WritesRejected
        | ErrorKind::Other => ErrorAction::Retry,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorView {
    pub kind: Option<ErrorKind>,
    pub message: String,
    /// What to do next, one short line (`sync_status::next_step`); the tray menu shows it.
    pub next_step: &'static str,
    pub action: ErrorAction,
    /// Milliseconds until the scheduler retries by itself, when it will.
    pub retry_in_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsView {
    pub twenty_url: Option<String>,
    pub rep_email: Option<String>,
    /// `REPXP_TWENTY_URL` / `REPXP_REP_EMAIL` override what is saved here.
    pub url_from_env: bool,
    pub email_from_env: bool,
    pub notifications: bool,
    pub autostart: bool,
    pub paused: bool,
    /// Whether the panel shows the team view (and reads it from Twenty).
    pub show_team: bool,
}

/// What the panel may know about the API key: whether there is one and where it lives. Never the
/// key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyView {
    pub stored: bool,
    pub source: Option<KeySource>,
    /// `None` when the keychain answers; otherwise one line telling the rep what to do.
    pub keychain_error: Option<String>,
}

/// Web pages and RepXP (README "Award XP from a web app"): the page asking to pair, which the
/// panel puts to the rep, and the origins the rep decided on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WebPages {
    pub asking: Option<String>,
    pub origins: Vec<repxp_award_api::OriginView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub progression: Progression,
    pub xp_text: String,
    /// XP today and this week and the streak, in this computer's time zone.
    pub pace: Pace,
    pub configured: bool,
    pub state: SyncState,
    pub state_label: &'static str,
    pub tray: TrayState,
    /// The tray menu's first line: "1,240 XP · Level 7 · synced 2 min ago".
    pub summary: String,
    /// The tray menu's second line: the queue, the error, or "Everything is on Twenty".
    pub detail: String,
    pub sync: SyncHistory,
    pub scheduler: SchedulerStatus,
    pub error: Option<ErrorView>,
    pub activity: Vec<ActivityItem>,
    /// What the rep or their Twenty admin should know while sync goes on (duplicate records, a
    /// field RepXP cannot read, events held back), worst first.
    pub attention: Vec<Attention>,
    pub settings: SettingsView,
    pub key: KeyView,
    pub data_dir: String,
    /// Filled by the tray from its award API (`AppState::overview`).
    pub web: WebPages,
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

/// "3 waiting to sync" / "1 waiting to sync".
pub fn waiting(pending: u64) -> String {
    format!("{pending} waiting to sync")
}

/// The first line of an error, short enough for a menu.
pub fn short_error(message: &str) -> String {
    let line = message.lines().next().unwrap_or("").trim();
    const MAX: usize = 70;
    if line.chars().count() <= MAX {
        line.to_string()
    } else {
        let cut: String = line.chars().take(MAX - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Builds the overview. `status` is the scheduler's latest; `key` comes from the cache kept by
/// the app (reading the keychain costs a D-Bus round trip).
pub fn build(
    store: &Store,
    data_dir: &Path,
    status: &SchedulerStatus,
    key: &KeyView,
    autostart: bool,
    now: Timestamp,
) -> Result<Overview, StoreError> {
    let progression = store.progression()?;
    let configured = config::target(store)?.is_some();
    let state = store.sync_state(configured, progression.pending)?;
    let sync = store.sync_history()?;
    let paused = store.flag(Setting::SyncPaused, false)?;
    let failing = configured && sync.failure_streak > 0;
    let tray = tray_state(
        configured,
        paused,
        status.phase,
        failing,
        sync.last_error_kind,
        progression.pending,
    );
    let when = if !configured {
        "not connected".to_string()
    } else if tray == TrayState::Syncing {
        "syncing…".to_string()
    } else {
        let last = relative(sync.last_success_at.as_deref(), now);
        match tray {
            TrayState::Paused => format!("paused, synced {last}"),
            _ => format!("synced {last}"),
        }
    };
    let summary = format!(
        "{} XP · Level {} · {}",
        thousands(progression.xp),
        progression.level.level,
        when
    );
    let error = failing.then(|| ErrorView {
        kind: sync.last_error_kind,
        message: sync
            .last_error
            .clone()
            .unwrap_or_else(|| "the last sync failed".into()),
        // A failure recorded without a kind gets the generic line, like a word we do not know.
        next_step: next_step(sync.last_error_kind.unwrap_or(ErrorKind::Other)),
        action: error_action(sync.last_error_kind),
        retry_in_ms: (status.phase == Phase::Backoff)
            .then_some(status.next_sync_in_ms)
            .flatten(),
    });
    let attention = store.attention()?;
    let detail = match (&error, progression.pending) {
        _ if !configured => "Not connected: open the panel to connect Twenty".to_string(),
        // Sync works, but something about the record or the queue needs a look.
        (None, 0) if !attention.is_empty() => short_error(&attention[0].message),
        _ if paused && progression.pending > 0 => {
            format!("Sync paused · {}", waiting(progression.pending))
        }
        _ if paused => "Sync paused".to_string(),
        // The tray says what to do; the panel and `status` say what happened too.
        (Some(e), 0) => short_error(e.next_step),
        (Some(e), n) => format!("{} · {}", short_error(e.next_step), waiting(n)),
        (None, 0) => "Everything is on Twenty".to_string(),
        (None, n) => waiting(n),
    };
    let settings = SettingsView {
        twenty_url: std::env::var(URL_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or(store.setting(Setting::TwentyUrl)?),
        rep_email: std::env::var(EMAIL_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or(store.setting(Setting::RepEmail)?),
        url_from_env: env_set(URL_ENV),
        email_from_env: env_set(EMAIL_ENV),
        notifications: store.flag(Setting::Notifications, true)?,
        autostart,
        paused,
        show_team: store.flag(Setting::ShowTeam, true)?,
    };
    Ok(Overview {
        xp_text: thousands(progression.xp),
        pace: store.pace()?,
        activity: store.recent_activity(RECENT)?,
        attention,
        progression,
        configured,
        state,
        state_label: state.label(),
        tray,
        summary,
        detail,
        sync,
        scheduler: status.clone(),
        error,
        settings,
        key: key.clone(),
        data_dir: data_dir.display().to_string(),
        web: WebPages::default(),
    })
}

/// When the summary's relative time next changes ("just now" → "1 min ago" → …), so the tray can
/// be refreshed then and not on a fixed tick. `None` when there is no time to show.
pub fn next_text_change(last_success: Option<&str>, now: Timestamp) -> Option<std::time::Duration> {
    let t = timefmt::parse(last_success?).ok()?;
    let age = (now - t).num_seconds().max(0);
    // Boundaries used by `display::relative`: 45 s, then every minute (rounded at :30) to 1 h,
    // then every hour to 2 days, then every day.
    let next = if age < 45 {
        45
    } else if age < 3_600 {
        // relative() rounds (s + 30) / 60: the text changes at 90, 150, 210… seconds.
        let k = (age + 30) / 60;
        (k * 60 + 30).min(3_600)
    } else if age < 2 * 86_400 {
        (age / 3_600 + 1) * 3_600
    } else {
        (age / 86_400 + 1) * 86_400
    };
    Some(std::time::Duration::from_secs((next - age).max(1) as u64))
}

/// The whole overview as JSON: what the panel was last sent, compared to tell "has anything the
/// panel shows changed?" (cheaper to reason about than deriving `Eq` on engine types).
pub fn overview_json(o: &Overview) -> String {
    serde_json::to_string(o).unwrap_or_default()
}

/// The id of the newest local event, to tell "someone recorded something" (push soon) from "a
/// sync wrote its bookkeeping" (just redraw).
pub fn newest_event(o: &Overview) -> Option<String> {
    o.activity.first().map(|a| a.id.clone())
}

pub fn now() -> Timestamp {
    timefmt::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_state_wins() {
        use TrayState::*;
        let t = |configured, paused, phase, failing, kind: Option<ErrorKind>, pending| {
            tray_state(configured, paused, phase, failing, kind, pending)
        };
        assert_eq!(t(false, false, Phase::Idle, false, None, 0), Offline);
        assert_eq!(
            t(true, true, Phase::Paused, true, Some(ErrorKind::Auth), 3),
            Paused
        );
        assert_eq!(
            t(
                true,
                false,
                Phase::Backoff,
                true,
                Some(ErrorKind::Offline),
                3
            ),
            Offline
        );
        assert_eq!(
            t(
                true,
                false,
                Phase::Syncing,
                true,
                Some(ErrorKind::Timeout),
                0
            ),
            Offline
        );
        assert_eq!(
            t(true, false, Phase::Blocked, true, Some(ErrorKind::Auth), 0),
            Error
        );
        assert_eq!(t(true, false, Phase::Syncing, false, None, 2), Syncing);
        assert_eq!(t(true, false, Phase::Idle, false, None, 2), Queued);
        assert_eq!(t(true, false, Phase::Idle, false, None, 0), Synced);
    }

    #[test]
    fn errors_map_to_the_action_that_fixes_them() {
        assert_eq!(error_action(Some(ErrorKind::Auth)), ErrorAction::ReenterKey);
        assert_eq!(
            error_action(Some(ErrorKind::NoKey)),
            ErrorAction::ReenterKey
        );
        assert_eq!(error_action(Some(ErrorKind::BadUrl)), ErrorAction::Settings);
        assert_eq!(
            error_action(Some(ErrorKind::SchemaMissing)),
            ErrorAction::Doctor
        );
        assert_eq!(error_action(Some(ErrorKind::Offline)), ErrorAction::Retry);
        assert_eq!(error_action(None), ErrorAction::Retry);
    }

    /// Every error a rep can meet leaves the tray menu saying what to do next, whole, and the
    /// panel the message and that same step.
    #[test]
    fn every_error_kind_tells_the_tray_and_the_panel_what_to_do_next() {
        if env_set(URL_ENV) || env_set(EMAIL_ENV) {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open_dir(dir.path()).expect("open");
        store
            .set_setting(Setting::TwentyUrl, Some("https://crm.acme.test"))
            .expect("url");
        store
            .set_setting(Setting::RepEmail, Some("ana@acme.test"))
            .expect("email");
        let key = KeyView {
            stored: true,
            source: None,
            keychain_error: None,
        };
        let mut steps = std::collections::BTreeSet::new();
        for &kind in ErrorKind::ALL {
            store
                .record_sync_failure(kind, &format!("the {kind} message"), None)
                .expect("failure");
            let o = build(
                &store,
                dir.path(),
                &SchedulerStatus::default(),
                &key,
                false,
                now(),
            )
            .expect("overview");
            let json = serde_json::to_value(&o).expect("json");
            assert_eq!(json["error"]["kind"], kind.as_str(), "the panel's word");
            assert_eq!(json["sync"]["last_error_kind"], kind.as_str());
            let e = o.error.expect("an error is shown");
            assert_eq!(o.detail, e.next_step, "{kind}: the tray's detail line");
            assert!(o.detail.chars().count() <= 70, "{kind}: fits the menu");
            assert!(!o.detail.ends_with('…'), "{kind}: not cut");
            assert_eq!(e.message, format!("the {kind} message"));
            steps.insert(e.next_step);
        }
        assert!(steps.len() >= 15, "each kind says its own thing: {steps:?}");
    }

    #[test]
    fn long_errors_are_cut_for_the_menu() {
        let long = "offline: cannot reach crm.example.com (error sending request for url (https://crm.example.com/rest/repProgressions))";
        let s = short_error(long);
        assert!(s.chars().count() <= 70, "{s}");
        assert!(s.ends_with('…'));
        assert_eq!(short_error("a\nb"), "a");
    }

    #[test]
    fn relative_text_is_refreshed_when_it_changes() {
        let now = timefmt::parse("2026-11-25T12:00:00Z").expect("time");
        let secs = |s: &str| next_text_change(Some(s), now).expect("some").as_secs();
        assert_eq!(secs("2026-11-25T11:59:50Z"), 35); // "just now" until 45 s
        assert_eq!(secs("2026-11-25T11:59:00Z"), 30); // "1 min ago" until 90 s
        assert_eq!(secs("2026-11-25T09:00:00Z"), 3_600);
        assert!(next_text_change(None, now).is_none());
    }

    #[test]
    fn overview_of_a_fresh_store_is_local_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open_dir(dir.path()).expect("open");
        store
            .record(
                &repxp_engine::Progress::xp(1_240, Some("test")).expect("valid"),
                None,
                None,
            )
            .expect("record");
        let status = SchedulerStatus::default();
        let key = KeyView {
            stored: false,
            source: None,
            keychain_error: None,
        };
        // Environment overrides would change the answer; this test sets none.
        if env_set(URL_ENV) || env_set(EMAIL_ENV) {
            return;
        }
        let o = build(&store, dir.path(), &status, &key, false, now()).expect("overview");
        assert_eq!(o.summary, "1,240 XP · Level 7 · not connected");
        assert_eq!(o.tray, TrayState::Offline);
        assert_eq!(o.activity.len(), 1);
        assert!(!o.activity[0].pushed);
        assert!(o.error.is_none());
        assert!(!overview_json(&o).is_empty());
    }
}
