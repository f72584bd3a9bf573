//! The CLI commands that talk to Twenty: `sync`, `connect`, `doctor`.

use std::io::{BufRead, Write};
use std::path::Path;

use repxp_engine::display::thousands;
use repxp_engine::secrets::{self, ApiKey, KeySource};
use repxp_engine::settings::Setting;
use repxp_engine::store::{supported_schema_version, Store};
use repxp_engine::sync::config;
use repxp_engine::sync::service::SyncService;
use repxp_engine::sync::Mode;
use repxp_engine::sync_status::with_next_step;
use repxp_engine::twenty::client::{check_rep_email, EmailField, OBJECT_PLURAL};
use repxp_engine::twenty::schema::{self, FieldStatus};
use repxp_engine::twenty::url::parse_base_url;
use repxp_engine::twenty::{Timeouts, TwentyClient, TwentyError};

use crate::error::CliError;

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Output)
}

/// `sync`: one sync now; one line out, exit status says whether we are in sync.
pub fn sync(dir: &Path, mode: Mode, out: &mut dyn Write) -> Result<(), CliError> {
    let mut service = SyncService::new(dir.to_path_buf());
    let result = runtime()?.block_on(service.sync(mode));
    let store = Store::open_dir(dir)?;
    let view = store.progression()?;
    match result {
        Ok(r) => {
            let pushed = if r.pushed_events > 0 {
                format!(
                    "pushed {} events (+{} XP)",
                    r.pushed_events,
                    thousands(r.pushed_xp)
                )
            } else {
                "nothing to push".to_string()
            };
            writeln!(
                out,
                "synced: {pushed}; {} XP · Level {} · {} pending",
                thousands(view.xp),
                view.level.level,
                view.pending
            )?;
            Ok(())
        }
        Err(f) => {
            let queued = if view.pending > 0 {
                format!(
                    " ({} events wait in the queue; nothing is lost)",
                    view.pending
                )
            } else {
                String::new()
            };
            // One line (scripts read it): what happened, then what to do.
            Err(CliError::Sync(with_next_step(
                &format!("{}{queued}", f.message),
                f.kind,
            )))
        }
    }
}

/// `team`: the ranking, one line a rep (or JSON); the rep's own row marked.
pub fn team(dir: &Path, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let mut service = SyncService::new(dir.to_path_buf());
    let team = runtime()?
        .block_on(service.team())
        .map_err(|f| CliError::Sync(with_next_step(&f.message, f.kind)))?;
    // The rep's own row as this computer knows it (awards not pushed yet included).
    let team = Store::open_dir(dir)?.with_my_row(&team)?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&team)?)?;
        return Ok(());
    }
    let since = team.since.as_deref().unwrap_or("no earlier reading");
    writeln!(out, "rank  XP         level  since {since:<10}  rep")?;
    for m in &team.members {
        let change = match m.xp_change {
            Some(c) if c >= 0 => format!("+{}", thousands(c)),
            Some(c) => format!("-{}", thousands(c.saturating_abs())),
            None => "new".to_string(),
        };
        let who = match &m.name {
            Some(n) => format!("{n} <{}>", m.email),
            None => m.email.clone(),
        };
        let me = if m.me { "  ← you" } else { "" };
        writeln!(
            out,
            "{:>4}  {:<9}  {:>5}  {:<16}  {who}{me}",
            m.rank,
            thousands(m.xp),
            m.level,
            change
        )?;
    }
    Ok(())
}

/// `connect`: checks and saves URL and email, reads the key from stdin into the keychain, then
/// tries the connection. Settings are kept even when Twenty is unreachable (local-first).
pub fn connect(
    store: &mut Store,
    url: &str,
    email: &str,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let base = parse_base_url(url).map_err(|e| CliError::Sync(e.to_string()))?;
    let email = check_rep_email(email).map_err(|e| CliError::Sync(e.to_string()))?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    let typed = ApiKey::new(&line);
    let key = match typed {
        Some(k) => {
            secrets::store_api_key(&k).map_err(|e| CliError::Sync(e.to_string()))?;
            config::note_key_stored(store)?;
            writeln!(out, "API key stored in the OS keychain")?;
            k
        }
        None => match secrets::load_api_key().map_err(|e| CliError::Sync(e.to_string()))? {
            Some((k, source)) => {
                let from = match source {
                    KeySource::Environment => secrets::API_KEY_ENV,
                    KeySource::Keychain => "the keychain",
                };
                writeln!(out, "no key on stdin; using the one from {from}")?;
                k
            }
            None => {
                return Err(CliError::Sync(
                    "no API key: pipe it on stdin, e.g. `repxp-cli connect --url URL --email EMAIL < key.txt`".into(),
                ))
            }
        },
    };
    let before = config::identity(store)?;
    store.set_setting(Setting::TwentyUrl, Some(base.as_str()))?;
    store.set_setting(Setting::RepEmail, Some(&email))?;
    writeln!(out, "saved: {} as {email}", base.as_str())?;
    if let Some(note) =
        config::identity_change_note(store, before.as_deref(), base.as_str(), &email)?
    {
        writeln!(out, "{note}")?;
    }
    let client = TwentyClient::new(base.as_str(), key, Timeouts::default())
        .map_err(|e| CliError::Sync(e.to_string()))?;
    match runtime()?.block_on(client.find_by_email(&email)) {
        Ok(found) if !found.is_empty() => {
            writeln!(
                out,
                "connected: found your record ({} XP)",
                thousands(found[0].total_xp)
            )?;
            if found.len() > 1 {
                writeln!(
                    out,
                    "note: {} records in Twenty answer to {email}; RepXP uses the oldest. Ask your Twenty admin to merge them",
                    found.len()
                )?;
            }
        }
        Ok(_) => writeln!(out, "connected: no record yet; the first sync creates it")?,
        Err(
            e @ (TwentyError::Auth { .. }
            | TwentyError::SchemaMissing { .. }
            | TwentyError::Unsupported { .. }),
        ) => return Err(CliError::Sync(with_next_step(&e.to_string(), e.kind()))),
        Err(e) => writeln!(out, "saved, but Twenty could not be checked now: {e}")?,
    }
    Ok(())
}

struct Checks<'a> {
    out: &'a mut dyn Write,
    failed: u32,
}

impl Checks<'_> {
    fn ok(&mut self, what: &str) -> Result<(), CliError> {
        writeln!(self.out, "ok    {what}")?;
        Ok(())
    }

    fn fail(&mut self, what: &str) -> Result<(), CliError> {
        self.failed += 1;
        writeln!(self.out, "FAIL  {what}")?;
        Ok(())
    }

    fn info(&mut self, what: &str) -> Result<(), CliError> {
        writeln!(self.out, "      {what}")?;
        Ok(())
    }
}

/// `doctor`: each check on its own line; exits non-zero if any failed.
pub fn doctor(store: &mut Store, fix: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let mut c = Checks { out, failed: 0 };
    match store.integrity_check() {
        Ok(()) => {
            let v = store.progression()?;
            c.ok(&format!(
                "database {} (schema v{}, {} XP, {} pending)",
                store.path().display(),
                supported_schema_version(),
                thousands(v.xp),
                v.pending
            ))?
        }
        Err(e) => c.fail(&e.to_string())?,
    }
    c.info(&format!(
        "logs: {}",
        repxp_engine::paths::log_dir(store.path().parent().unwrap_or(Path::new("."))).display()
    ))?;
    let env_key = std::env::var(secrets::API_KEY_ENV).is_ok_and(|v| !v.trim().is_empty());
    match secrets::keychain_available() {
        Ok(()) => c.ok("OS keychain available")?,
        Err(e) if env_key => c.info(&format!(
            "keychain not available, key taken from {}: {e}",
            secrets::API_KEY_ENV
        ))?,
        Err(e) => c.fail(&e.to_string())?,
    }
    let Some(target) = config::target(store)? else {
        c.fail("not connected: run `repxp-cli connect --url URL --email EMAIL` (the key is read from stdin)")?;
        return finish(c);
    };
    c.ok(&format!("Twenty {} as {}", target.url, target.email))?;
    let key = match secrets::load_api_key() {
        Ok(Some((k, src))) => {
            c.ok(&format!(
                "API key found ({})",
                if src == KeySource::Environment {
                    secrets::API_KEY_ENV
                } else {
                    "keychain"
                }
            ))?;
            k
        }
        Ok(None) => {
            c.fail("no API key stored: run `repxp-cli connect` again")?;
            return finish(c);
        }
        Err(e) => {
            c.fail(&e.to_string())?;
            return finish(c);
        }
    };
    let client = match TwentyClient::new(&target.url, key, Timeouts::default()) {
        Ok(cl) => cl,
        Err(e) => {
            c.fail(&with_next_step(&e.to_string(), e.kind()))?;
            return finish(c);
        }
    };
    let rt = runtime()?;
    match rt.block_on(client.server_version()) {
        Some(v) => c.info(&format!("Twenty {v}"))?,
        None => c.info("Twenty did not say its version (/client-config)")?,
    }
    if let Some(f) = store
        .setting(Setting::RepEmailField)?
        .and_then(|v| EmailField::parse(&v))
    {
        client.set_email_field(f);
    }
    // What this key may do: read and update Rep progressions (needed), anything else (not
    // needed: a key limited to Rep progressions is the safe one, README "Set up Twenty").
    match rt.block_on(client.can_read(OBJECT_PLURAL)) {
        Ok(true) => c.ok("the API key is accepted and may read Rep progressions")?,
        Ok(false) => c.fail("the API key's role may not read Rep progressions: in Twenty, give its role read and update on Rep progressions (README, \"Set up Twenty\")")?,
        Err(e @ TwentyError::SchemaMissing { .. }) => c.info(&format!("Rep progressions cannot be read yet: {e}"))?,
        Err(e) => {
            c.fail(&with_next_step(&e.to_string(), e.kind()))?;
            return finish(c);
        }
    }
    match rt.block_on(client.can_update()) {
        Ok(true) => c.ok("the API key may update Rep progressions")?,
        Ok(false) => c.fail(
            "the API key's role may read but not update Rep progressions: give its role update too",
        )?,
        Err(_) => {}
    }
    let schema_report = match rt.block_on(schema::ensure(&client, fix)) {
        Ok(report) => Some(report),
        Err(TwentyError::Forbidden { .. }) => {
            c.info("the API key may not read the data model (that is how a key limited to Rep progressions should be): the schema was not checked; an admin can run `repxp-cli doctor` with a key that may")?;
            // Without the object list, try Twenty's standard objects.
            let reach: Vec<&str> = ["companies", "people", "opportunities"]
                .into_iter()
                .filter(|o| rt.block_on(client.can_read(o)).unwrap_or(false))
                .collect();
            if !reach.is_empty() {
                c.info(&format!(
                    "the API key may also read {}: a key for reps needs only Rep progressions (README, \"Set up Twenty\")",
                    reach.join(", ")
                ))?;
            }
            None
        }
        Err(e) => {
            c.fail(&with_next_step(&e.to_string(), e.kind()))?;
            return finish(c);
        }
    };
    if let Some(report) = &schema_report {
        c.info(&format!(
            "metadata API: {}",
            if report.new_format {
                "current format"
            } else {
                "legacy format"
            }
        ))?;
        if report.object_created {
            c.ok("created the Rep progressions object (repProgression)")?;
        }
        if report.object_missing {
            c.fail("the Rep progressions object (repProgression) is missing: `repxp-cli doctor --fix` would create it with these fields:")?;
        }
        let mut missing = 0;
        for (name, status) in &report.fields {
            let ty = schema::FIELDS
                .iter()
                .find(|f| f.0 == *name)
                .map_or("", |f| f.2);
            match status {
                FieldStatus::Present => {}
                FieldStatus::Created => c.ok(&format!("created field {name} ({ty})"))?,
                FieldStatus::Missing if report.object_missing => {
                    missing += 1;
                    c.info(&format!("  would create field {name} ({ty})"))?
                }
                FieldStatus::Missing => {
                    missing += 1;
                    c.fail(&format!(
                        "field {name} ({ty}) is missing: `repxp-cli doctor --fix` would create it"
                    ))?
                }
                FieldStatus::WrongType { found, wanted } => c.fail(&format!(
                    "field {name} has type {found}; RepXP needs {wanted}: change it in Twenty (Settings → Data model → Rep progressions), or delete it and run `repxp-cli doctor --fix`"
                ))?,
                FieldStatus::NotUnique => c.fail(&format!(
                    "field {name} is not unique, so two records can answer to one rep: in Twenty, Settings → Data model → Rep progressions → {name} → turn on \"Unique\" (merge duplicates first)"
                ))?,
            }
        }
        if missing > 0 && !fix {
            c.info("nothing was changed in Twenty: run `repxp-cli doctor --fix` to create what is missing")?;
        }
        if let Some(f) = report.email_field {
            client.set_email_field(f);
            store.set_setting(Setting::RepEmailField, Some(f.as_str()))?;
            c.info(&format!(
                "repEmail is {} field",
                match f {
                    EmailField::Text => "a TEXT",
                    EmailField::Emails =>
                        "an EMAILS (composite) field: RepXP uses its primary email",
                }
            ))?;
        }
        if report.is_ready() {
            c.ok("schema: repProgression has every field RepXP needs")?;
        }
        // Least privilege: what else can this key read?
        let mut reach = Vec::new();
        for other in report.other_objects.iter().take(5) {
            if rt.block_on(client.can_read(other)).unwrap_or(false) {
                reach.push(other.clone());
            }
        }
        let model = if report.new_format {
            "read and change the data model"
        } else {
            "read the data model"
        };
        let others = if reach.is_empty() {
            String::new()
        } else {
            format!(", and read {}", reach.join(", "))
        };
        c.info(&format!(
            "the API key may {model}{others}: a key for reps needs neither (README, \"Set up Twenty\")"
        ))?;
    }
    // Without the object there is no record to look for (doctor --fix makes it).
    let no_object = schema_report
        .as_ref()
        .is_some_and(|r| r.object_missing && !r.object_created);
    if !no_object {
        record_checks(&mut c, &rt, &client, &target.email)?;
    }
    for a in store.attention()? {
        if a.kind.starts_with("held_") {
            c.info(&a.message)?;
            if let Some(h) = a.cli_hint {
                c.info(&format!("  → {h}"))?;
            }
        }
    }
    let rec = store.sync_history()?;
    if let Some(err) = rec.last_error {
        match rec.next_step {
            Some(next) => c.info(&format!("last sync error: {err} — next: {next}"))?,
            None => c.info(&format!("last sync error: {err}"))?,
        }
    }
    finish(c)
}

/// What Twenty holds for the rep: the record (duplicates, unreadable fields), or the trash.
fn record_checks(
    c: &mut Checks<'_>,
    rt: &tokio::runtime::Runtime,
    client: &TwentyClient,
    email: &str,
) -> Result<(), CliError> {
    match rt.block_on(client.find_by_email(email)) {
        Ok(found) if !found.is_empty() => {
            let rec = &found[0];
            c.ok(&format!(
                "record for {} found ({} XP, id {})",
                email,
                thousands(rec.total_xp),
                rec.remote_id.as_deref().unwrap_or("?")
            ))?;
            if found.len() > 1 {
                let others: Vec<String> = found[1..]
                    .iter()
                    .map(|r| {
                        format!(
                            "{} ({} XP)",
                            r.remote_id.as_deref().unwrap_or("?"),
                            thousands(r.total_xp)
                        )
                    })
                    .collect();
                c.fail(&format!(
                    "{} records answer to {} (emails compare trimmed and case-insensitively); RepXP uses the oldest and counts only its XP. Merge {} into it in Twenty",
                    found.len(),
                    email,
                    others.join(", ")
                ))?;
            }
            for padded in found.iter().filter_map(|r| r.rep_email.as_deref()) {
                if padded.trim() != padded {
                    c.fail(&format!(
                        "a record's email is {padded:?}, with spaces around it: RepXP matches it, other tools may not; fix it in Twenty"
                    ))?;
                }
            }
            for (field, why) in &rec.unreadable {
                c.fail(&format!(
                    "field {field} of the record {why}; RepXP will not overwrite it: fix or clear it in Twenty"
                ))?;
            }
        }
        Ok(_) => match rt.block_on(client.find_trashed(email, None)) {
            Ok(Some(t)) => c.fail(&format!(
                "the record for {} is in Twenty's trash (id {}): restore it in Twenty; RepXP never writes to a trashed record",
                email,
                t.remote_id.as_deref().unwrap_or("?")
            ))?,
            Ok(None) => c.info(&format!(
                "no record for {} yet; the first sync creates it",
                email
            ))?,
            Err(e) => c.fail(&with_next_step(&e.to_string(), e.kind()))?,
        },
        Err(e) => c.fail(&with_next_step(&e.to_string(), e.kind()))?,
    }
    Ok(())
}

fn finish(c: Checks<'_>) -> Result<(), CliError> {
    if c.failed == 0 {
        Ok(())
    } else {
        Err(CliError::Sync(format!(
            "doctor: {} check(s) failed",
            c.failed
        )))
    }
}
