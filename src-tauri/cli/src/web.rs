//! `repxp-cli web`: the rep decides which web pages may award XP (issue 24). The decisions are
//! kept by the process serving the award API (the tray or `repxp-cli run`), which also holds the
//! page waiting for an answer, so this talks to it over loopback with the award secret.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::CliError;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum WebCommand {
    /// Web pages allowed or denied, and the one asking to pair right now.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Let the page asking to pair award XP (it must be asking: open it first).
    Allow { origin: String },
    /// Refuse the page's pairing request; it is not asked about again for a day.
    Deny { origin: String },
    /// Take an allowed page's right to award XP away; its token stops working at once.
    Revoke { origin: String },
}

pub fn run(dir: &Path, command: WebCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let api = LocalApi::find(dir)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Output)?;
    match command {
        WebCommand::List { json } => {
            let list = rt.block_on(api.get("/v1/web"))?;
            if json {
                writeln!(out, "{list}")?;
                return Ok(());
            }
            if let Some(o) = list["waiting"].as_str() {
                writeln!(out, "asking to pair now: {o}  (repxp-cli web allow {o})")?;
            }
            let origins = list["origins"].as_array().cloned().unwrap_or_default();
            if origins.is_empty() {
                writeln!(out, "no web page may award XP")?;
            }
            for o in origins {
                writeln!(
                    out,
                    "{:<8} {}",
                    o["state"].as_str().unwrap_or("?"),
                    o["origin"].as_str().unwrap_or("?")
                )?;
            }
            Ok(())
        }
        WebCommand::Allow { origin } => decide(&rt, &api, "allow", &origin, out),
        WebCommand::Deny { origin } => decide(&rt, &api, "deny", &origin, out),
        WebCommand::Revoke { origin } => decide(&rt, &api, "revoke", &origin, out),
    }
}

fn decide(
    rt: &tokio::runtime::Runtime,
    api: &LocalApi,
    action: &str,
    origin: &str,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let said = rt.block_on(api.post(&format!("/v1/web/{action}"), json!({ "origin": origin })))?;
    writeln!(out, "{}", said["said"].as_str().unwrap_or("done"))?;
    Ok(())
}

const NOT_RUNNING: &str = "RepXP is not running (start the tray app or `repxp-cli run`): it keeps \
                           the pages' pairing requests";

/// The running award API of this data directory.
struct LocalApi {
    url: String,
    secret: String,
    http: reqwest::Client,
}

impl LocalApi {
    fn find(dir: &Path) -> Result<LocalApi, CliError> {
        let not_running = || CliError::Web(NOT_RUNNING.into());
        let endpoint = std::fs::read_to_string(repxp_award_api::endpoint_file(dir))
            .map_err(|_| not_running())?;
        let url = serde_json::from_str::<Value>(&endpoint)
            .ok()
            .and_then(|v| v["url"].as_str().map(str::to_string))
            .ok_or_else(not_running)?;
        let secret = std::fs::read_to_string(dir.join(repxp_award_api::SECRET_FILE))
            .map_err(|_| not_running())?
            .trim()
            .to_string();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .map_err(|e| CliError::Web(e.to_string()))?;
        Ok(LocalApi { url, secret, http })
    }

    async fn get(&self, path: &str) -> Result<Value, CliError> {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.secret);
        Self::answer(r).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, CliError> {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.secret)
            .json(&body);
        Self::answer(r).await
    }

    async fn answer(r: reqwest::RequestBuilder) -> Result<Value, CliError> {
        let r = r.send().await.map_err(|e| {
            CliError::Web(if e.is_connect() {
                NOT_RUNNING.into()
            } else {
                format!("the award API did not answer: {e}")
            })
        })?;
        let ok = r.status().is_success();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if ok {
            Ok(body)
        } else {
            Err(CliError::Web(
                body["said"]
                    .as_str()
                    .or(body["error"].as_str())
                    .unwrap_or("the award API refused")
                    .to_string(),
            ))
        }
    }
}
