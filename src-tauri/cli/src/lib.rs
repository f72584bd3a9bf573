//! The command line (DESIGN.md §5). `repxp-cli` runs it; the desktop `repxp` binary accepts the
//! same subcommands. Scripts and the dialer depend on it: keep it stable.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::display::{relative, thousands};
use crate::error::{StoreError, ValidationError};
use crate::event_input::{EventInput, EventInputError};
use crate::model::{EventId, Progress};
use crate::outbox::{ParkedKind, QueuedEvent};
use crate::record::Recorded;
use crate::store::Store;
use crate::sync::Mode;
use crate::sync_status::{Attention, SyncRecord, SyncState};
use crate::view::Progression;
use crate::{paths, timefmt};

#[derive(Debug, Parser)]
#[command(
    name = "repxp-cli",
    version,
    about = "RepXP: a sales rep's progression, synced with Twenty CRM"
)]
pub struct Cli {
    /// Data directory (default: $REPXP_DATA_DIR, else the OS data directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// XP, level, queue depth, last sync and sync state.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Record XP (idempotent on --id).
    Award {
        #[arg(value_parser = parse_xp, value_name = "XP", allow_hyphen_values = true)]
        xp: i64,
        /// Where the XP comes from (dialer, academy, …).
        #[arg(long)]
        source: Option<String>,
        #[command(flatten)]
        event: EventArgs,
    },
    /// Record a defeated boss.
    Boss {
        boss_id: String,
        #[command(flatten)]
        event: EventArgs,
    },
    /// Record a passed exam.
    Exam {
        exam_id: String,
        /// Score from 0 to 100.
        #[arg(long, value_parser = parse_number)]
        score: Option<f64>,
        #[command(flatten)]
        event: EventArgs,
    },
    /// Record an efficiency metric's current value.
    Metric {
        name: String,
        #[arg(value_parser = parse_number, allow_hyphen_values = true)]
        value: f64,
        #[command(flatten)]
        event: EventArgs,
    },
    /// Record many events from stdin, one JSON object a line (for the dialer): each line is
    /// answered with one JSON line once it is durable, so a caller knows exactly what landed.
    /// Lines: {"kind":"xp","amount":50,"source":"dialer","id":"<uuid>"}, {"kind":"boss","boss_id":".."},
    /// {"kind":"exam","exam_id":"..","score":90}, {"kind":"metric","name":"..","value":0.4}.
    Stream,
    /// Sync with Twenty now; exit 0 when in sync, non-zero with a one-line reason.
    Sync {
        /// Only push queued events.
        #[arg(long, conflicts_with = "pull")]
        push: bool,
        /// Only pull the record from Twenty.
        #[arg(long)]
        pull: bool,
    },
    /// Events waiting for Twenty, oldest first, then those held back with the reason.
    Queue {
        #[arg(long)]
        json: bool,
        /// Show at most this many.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Save the Twenty URL and rep email; the API key is read from stdin into the OS keychain.
    Connect {
        #[arg(long)]
        url: String,
        #[arg(long)]
        email: String,
    },
    /// Check the database, keychain, Twenty (version, key, permissions, schema, the rep's
    /// record). Changes nothing in Twenty unless --fix is given.
    Doctor {
        /// Create the Rep progressions object and the fields that are missing (needs a key whose
        /// role may change the data model).
        #[arg(long)]
        fix: bool,
    },
    /// Sync without the tray app (a server, a rep who quit the tray) until Ctrl-C or SIGTERM:
    /// pushes awards from any process ~2 s after they are recorded, pulls every 5 minutes, serves
    /// the award API. While the tray app runs for the same data, waits for it to quit.
    Run,
    /// Send again events held back (refused by Twenty, "may already be on Twenty", or earned
    /// under an earlier email whose record cannot be reached: those go to the current one): the
    /// given event ids, or all of them.
    Retry {
        #[arg(value_name = "ID")]
        ids: Vec<String>,
    },
    /// Drop held-back events for good (only those refused by Twenty or "may already be on
    /// Twenty"): the given event ids, or --all.
    Discard {
        #[arg(value_name = "ID", required_unless_present = "all")]
        ids: Vec<String>,
        #[arg(long)]
        all: bool,
    },
}

/// Options every recording command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct EventArgs {
    /// Event id (UUID) that makes a retried call count once.
    #[arg(long, value_parser = parse_event_id)]
    pub id: Option<EventId>,
    /// When it happened (RFC 3339); default now.
    #[arg(long, value_parser = parse_time)]
    pub at: Option<time::OffsetDateTime>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_xp(s: &str) -> Result<i64, ValidationError> {
    Progress::parse_xp_amount(s)
}

fn parse_number(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{s:?} is not a finite number"))
}

fn parse_event_id(s: &str) -> Result<EventId, ValidationError> {
    EventId::parse(s)
}

fn parse_time(s: &str) -> Result<time::OffsetDateTime, ValidationError> {
    timefmt::parse(s)
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    Sync(String),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Headless(#[from] crate::headless::HeadlessError),
}

/// `status --json`, documented in the README. Add fields; never rename or remove one.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    #[serde(flatten)]
    pub progression: Progression,
    pub state: SyncState,
    pub sync: SyncRecord,
    /// What the rep or their Twenty admin should know (duplicates, unreadable fields, held
    /// events), worst first; empty when all is well.
    pub attention: Vec<Attention>,
    /// The rep's record in Twenty, once found or created.
    pub record_id: Option<String>,
    pub data_file: String,
}

/// Runs one subcommand against the store in `cli.data_dir`, writing what a person or script reads
/// to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<(), CliError> {
    let dir = paths::data_dir(cli.data_dir);
    let mut store = Store::open_dir(&dir)?;
    match cli.command {
        Command::Status { json } => status(&store, json, out),
        Command::Award { xp, source, event } => {
            let p = Progress::xp(xp, source.as_deref())?;
            record(&mut store, p, event, out)
        }
        Command::Boss { boss_id, event } => {
            let p = Progress::boss(&boss_id)?;
            record(&mut store, p, event, out)
        }
        Command::Exam {
            exam_id,
            score,
            event,
        } => {
            let p = Progress::exam(&exam_id, score)?;
            record(&mut store, p, event, out)
        }
        Command::Metric { name, value, event } => {
            let p = Progress::metric(&name, value)?;
            record(&mut store, p, event, out)
        }
        Command::Queue { json, limit } => queue(&store, json, limit, out),
        Command::Stream => stream(&mut store, &mut std::io::stdin().lock(), out),
        Command::Sync { push, pull } => {
            drop(store);
            let mode = match (push, pull) {
                (true, _) => Mode::PushOnly,
                (_, true) => Mode::PullOnly,
                _ => Mode::Both,
            };
            crate::cli_sync::sync(&dir, mode, out)
        }
        Command::Connect { url, email } => {
            crate::cli_sync::connect(&mut store, &url, &email, &mut std::io::stdin().lock(), out)
        }
        Command::Doctor { fix } => crate::cli_sync::doctor(&mut store, fix, out),
        Command::Run => {
            // The runner keeps its own connections; this one would only sit open for hours.
            drop(store);
            Ok(crate::headless::run(&dir, out)?)
        }
        Command::Retry { ids } => {
            let mut n = store.release(&[ParkedKind::Rejected, ParkedKind::Unverified], &ids)?;
            if let Some(current) = crate::sync::config::current_identity(&store)? {
                n += store.move_to_identity(&current, None, &ids)?;
            }
            if n == 0 {
                return Err(CliError::Sync("nothing held back matches".into()));
            }
            writeln!(out, "{n} event(s) will be sent with the next sync")?;
            Ok(())
        }
        Command::Discard { ids, all } => {
            let ids = if all { Vec::new() } else { ids };
            let n = store.discard(&ids)?;
            if n == 0 {
                return Err(CliError::Sync(
                    "nothing to discard: only events refused by Twenty or held as \"may already be on Twenty\" can be".into(),
                ));
            }
            writeln!(out, "{n} event(s) dropped; they will never be sent")?;
            Ok(())
        }
    }
}

fn record(
    store: &mut Store,
    p: Progress,
    args: EventArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let res = store.record(&p, args.id, args.at)?;
    let view = store.progression()?;
    if args.json {
        #[derive(Serialize)]
        struct Out<'a> {
            id: String,
            new: bool,
            #[serde(flatten)]
            progression: &'a Progression,
        }
        let o = Out {
            id: res.id().to_string(),
            new: matches!(res, Recorded::New(_)),
            progression: &view,
        };
        writeln!(out, "{}", serde_json::to_string(&o)?)?;
        return Ok(());
    }
    let what = match &p {
        Progress::Xp { amount, .. } => format!("{} XP", thousands(*amount)),
        Progress::Boss { boss_id } => format!("boss {boss_id}"),
        Progress::Exam {
            exam_id,
            score: Some(s),
        } => format!("exam {exam_id} ({s})"),
        Progress::Exam {
            exam_id,
            score: None,
        } => format!("exam {exam_id}"),
        Progress::Metric { name, value } => format!("metric {name} = {value}"),
    };
    let verb = match res {
        Recorded::New(_) => "recorded",
        Recorded::AlreadyRecorded(_) => "already recorded",
    };
    writeln!(
        out,
        "{verb} {what} (event {}); now {} XP · Level {} · {} pending",
        res.id(),
        thousands(view.xp),
        view.level.level,
        view.pending
    )?;
    Ok(())
}

fn stream_one(store: &mut Store, line: &str) -> Result<Recorded, CliError> {
    let e = EventInput::from_json(line).map_err(|e| match e {
        EventInputError::Json(e) => CliError::Sync(format!("not a valid event line: {e}")),
        EventInputError::Invalid(e) => CliError::Invalid(e),
    })?;
    Ok(store.record(&e.progress, e.id, e.at)?)
}

/// Answers every input line, in order, with `{"ok":true,"id":..,"new":..}` or
/// `{"ok":false,"error":..}`; a bad line never stops the stream.
fn stream(
    store: &mut Store,
    input: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        let answer = match stream_one(store, &line) {
            Ok(r) => {
                serde_json::json!({"ok": true, "id": r.id().to_string(), "new": matches!(r, Recorded::New(_))})
            }
            Err(CliError::Store(
                e @ (StoreError::Corrupt { .. }
                | StoreError::ReadOnly { .. }
                | StoreError::DiskFull { .. }),
            )) => {
                return Err(e.into());
            }
            Err(e) => serde_json::json!({"ok": false, "error": e.to_string()}),
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
}

fn status(store: &Store, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let progression = store.progression()?;
    let configured = store.is_configured()?;
    let state = store.sync_state(configured, progression.pending)?;
    let report = StatusReport {
        state,
        sync: store.sync_record()?,
        attention: store.attention()?,
        record_id: store.snapshot()?.remote_id,
        data_file: store.path().display().to_string(),
        progression,
    };
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    let p = &report.progression;
    let now = timefmt::now();
    writeln!(
        out,
        "{} XP · Level {} ({} XP to level {})",
        thousands(p.xp),
        p.level.level,
        thousands(p.level.next_level_xp - p.xp),
        p.level.level + 1
    )?;
    writeln!(
        out,
        "queue:      {} pending ({} XP)",
        p.pending,
        thousands(p.pending_xp)
    )?;
    writeln!(
        out,
        "sync:       {} · last sync {}",
        state.label(),
        relative(report.sync.last_success_at.as_deref(), now)
    )?;
    if p.held > 0 {
        writeln!(
            out,
            "held back:  {} ({} XP): see `repxp-cli queue`",
            p.held,
            thousands(p.held_xp)
        )?;
    }
    if let Some(err) = &report.sync.last_error {
        writeln!(out, "last error: {err}")?;
        if let Some(next) = report.sync.next_step {
            writeln!(out, "next:       {next}")?;
        }
    }
    for a in &report.attention {
        writeln!(out, "attention:  {}", a.message)?;
        if let Some(h) = a.cli_hint {
            writeln!(out, "            → {h}")?;
        }
    }
    if !p.defeated_bosses.is_empty() {
        let list: Vec<&str> = p.defeated_bosses.iter().map(String::as_str).collect();
        writeln!(out, "bosses:     {}", list.join(", "))?;
    }
    if !p.passed_exams.is_empty() {
        let list: Vec<String> = p
            .passed_exams
            .iter()
            .map(|(id, r)| match r.score {
                Some(s) => format!("{id} ({s})"),
                None => id.clone(),
            })
            .collect();
        writeln!(out, "exams:      {}", list.join(", "))?;
    }
    if !p.efficiency_metrics.is_empty() {
        let list: Vec<String> = p
            .efficiency_metrics
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(out, "metrics:    {}", list.join(", "))?;
    }
    writeln!(
        out,
        "last active: {}",
        relative(p.last_activity.as_deref(), now)
    )?;
    writeln!(out, "data:       {}", report.data_file)?;
    Ok(())
}

fn queue(store: &Store, json: bool, limit: usize, out: &mut dyn Write) -> Result<(), CliError> {
    let items: Vec<QueuedEvent> = store.queue(limit)?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&items)?)?;
        return Ok(());
    }
    if items.is_empty() {
        writeln!(
            out,
            "queue is empty: everything recorded here is on Twenty (or nothing was recorded yet)"
        )?;
        return Ok(());
    }
    for e in &items {
        let what = match &e.progress {
            Progress::Xp { amount, source } => format!(
                "+{} XP{}",
                thousands(*amount),
                source
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ),
            Progress::Boss { boss_id } => format!("boss {boss_id}"),
            Progress::Exam { exam_id, score } => match score {
                Some(s) => format!("exam {exam_id} ({s})"),
                None => format!("exam {exam_id}"),
            },
            Progress::Metric { name, value } => format!("metric {name} = {value}"),
        };
        let held = match (&e.parked, &e.reason) {
            (Some(k), Some(r)) => format!("  [held: {}: {r}]", k.as_str()),
            (Some(k), None) => format!("  [held: {}]", k.as_str()),
            _ => String::new(),
        };
        writeln!(out, "{}  {}  {what}{held}", e.occurred_at, e.id)?;
    }
    Ok(())
}
