//! The command line (DESIGN.md §5). `repxp-cli` runs it; the desktop `repxp` binary accepts the
//! same subcommands. Scripts and the dialer depend on it: keep it stable.
//!
//! This root dispatches a subcommand and holds those that only touch the local store. Its modules
//! form a tree: `args` (what clap parses), `remote` (`sync`, `connect`, `doctor`: the commands
//! that talk to Twenty), [`headless`] (`run`), and `error`, the one error type all of them return.

mod args;
mod error;
pub mod headless;
mod remote;
pub mod web;

use std::io::Write;

use repxp_engine::display::{relative, thousands};
use repxp_engine::error::StoreError;
use repxp_engine::event_input::{EventInput, EventInputError};
use repxp_engine::intake::Intake;
use repxp_engine::model::Progress;
use repxp_engine::outbox::{ParkedKind, QueuedEvent};
use repxp_engine::pace::Pace;
use repxp_engine::progression::Progression;
use repxp_engine::store::Store;
use repxp_engine::sync::Mode;
use repxp_engine::sync_status::{Attention, SyncHistory, SyncState};
use repxp_engine::{paths, timefmt};
use serde::Serialize;

pub use args::{Cli, Command, EventArgs};
pub use error::CliError;

/// `status --json`, documented in the README. Add fields; never rename or remove one.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    #[serde(flatten)]
    pub progression: Progression,
    pub state: SyncState,
    pub sync: SyncHistory,
    /// What the rep or their Twenty admin should know (duplicates, unreadable fields, held
    /// events), worst first; empty when all is well.
    pub attention: Vec<Attention>,
    /// XP today and this week and the run of days with XP, in this computer's time zone.
    pub pace: Pace,
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
            remote::sync(&dir, mode, out)
        }
        Command::Connect { url, email } => {
            remote::connect(&mut store, &url, &email, &mut std::io::stdin().lock(), out)
        }
        Command::Doctor { fix } => remote::doctor(&mut store, fix, out),
        Command::Team { json } => {
            drop(store);
            remote::team(&dir, json, out)
        }
        Command::Web { command } => {
            drop(store);
            web::run(&dir, command, out)
        }
        Command::Run => {
            // The runner keeps its own connections; this one would only sit open for hours.
            drop(store);
            Ok(headless::run(&dir, out)?)
        }
        Command::Retry { ids } => {
            let mut n = store.release(&[ParkedKind::Rejected, ParkedKind::Unverified], &ids)?;
            if let Some(current) = repxp_engine::sync::config::current_identity(&store)? {
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
            new: matches!(res, Intake::New(_)),
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
        Intake::New(_) => "recorded",
        Intake::Duplicate(_) => "already recorded",
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

fn stream_one(store: &mut Store, line: &str) -> Result<Intake, CliError> {
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
                serde_json::json!({"ok": true, "id": r.id().to_string(), "new": matches!(r, Intake::New(_))})
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

/// "3-day streak", "3-day streak (earn XP today to keep it)", "no streak".
pub fn streak_text(p: &Pace) -> String {
    match (p.streak_days, p.streak_today) {
        (0, _) => "no streak".to_string(),
        (n, true) => format!("{n}-day streak"),
        (n, false) => format!("{n}-day streak (earn XP today to keep it)"),
    }
}

fn status(store: &Store, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let progression = store.progression()?;
    let configured = store.is_configured()?;
    let state = store.sync_state(configured, progression.pending)?;
    let report = StatusReport {
        state,
        sync: store.sync_history()?,
        attention: store.attention()?,
        pace: store.pace()?,
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
        p.level.next_level
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
    let pace = &report.pace;
    writeln!(
        out,
        "pace:       +{} XP today · +{} XP this week · {}",
        thousands(pace.xp_today),
        thousands(pace.xp_this_week),
        streak_text(pace)
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
