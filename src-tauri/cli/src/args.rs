//! What clap parses: the subcommands and their options. Their names, flags and help text are the
//! CLI's stable surface (README, DESIGN.md §5).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use repxp_engine::error::ValidationError;
use repxp_engine::model::{EventId, Progress};
use repxp_engine::timefmt;

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
    /// The team's ranking: every rep's XP and level in the same Twenty workspace, with the change
    /// since an earlier day's reading. One request per 200 reps.
    Team {
        #[arg(long)]
        json: bool,
    },
    /// Which web pages may award XP: `list`, `allow`/`deny` the page asking to pair, `revoke`.
    Web {
        #[command(subcommand)]
        command: crate::web::WebCommand,
    },
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
    pub at: Option<timefmt::Timestamp>,
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

fn parse_time(s: &str) -> Result<timefmt::Timestamp, ValidationError> {
    timefmt::parse(s)
}
