//! What the page's commands do, run in the tray process (which owns the scheduler and the
//! store) when the panel process relays them over the control socket. Each returns one human line
//! on failure. The API key only travels page -> panel process -> here -> keychain; nothing here
//! returns it, logs it or puts it in an error.

use std::time::Duration;

use repxp_engine::display::thousands;
use repxp_engine::outbox::ParkedKind;
use repxp_engine::secrets::{self, ApiKey};
use repxp_engine::settings::Setting;
use repxp_engine::sync::config::{self, EMAIL_ENV, URL_ENV};
use repxp_engine::sync::scheduler::Trigger;
use repxp_engine::twenty::client::check_rep_email;
use repxp_engine::twenty::url::parse_base_url;
use repxp_engine::twenty::{Timeouts, TwentyClient};
use serde_json::Value;
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt as _;

use crate::app::{msg, AppState};
use crate::control::Command;
use crate::overview::Overview;

/// Runs one relayed command; the answer goes back to the page as is.
pub async fn run(app: &AppHandle, command: Command) -> Result<Value, String> {
    fn json<T: serde::Serialize>(r: Result<T, String>) -> Result<Value, String> {
        r.and_then(|v| serde_json::to_value(v).map_err(msg))
    }
    match command {
        Command::GetOverview => json(get_overview(app).await),
        Command::SaveSettings {
            url,
            email,
            api_key,
        } => json(save_settings(app, url, email, api_key).await),
        Command::TestConnection {
            url,
            email,
            api_key,
        } => json(test_connection(url, email, api_key).await),
        Command::SyncNow => json(sync_now(app)),
        Command::SetPaused { paused } => json(set_paused(app, paused)),
        Command::SetNotifications { enabled } => json(set_notifications(app, enabled)),
        Command::SetAutostart { enabled } => json(set_autostart(app, enabled)),
        Command::ResolveHeld { action } => json(resolve_held(app, &action)),
    }
}

/// The panel's answer to events held back (refused by Twenty, or "may already be on Twenty"):
/// "retry" sends them again with the next sync, "discard" drops them for good.
fn resolve_held(app: &AppHandle, action: &str) -> Result<String, String> {
    let s = state(app);
    let n = {
        let mut store = s.store.lock().map_err(|_| "internal error: store lock")?;
        match action {
            "retry" => {
                let mut n = store
                    .release(&[ParkedKind::Rejected, ParkedKind::Unverified], &[])
                    .map_err(msg)?;
                if let Some(current) = config::current_identity(&store).map_err(msg)? {
                    n += store.move_to_identity(&current, None, &[]).map_err(msg)?;
                }
                n
            }
            "discard" => store.discard(&[]).map_err(msg)?,
            other => return Err(format!("unknown action {other:?}")),
        }
    };
    s.kick();
    if action == "retry" {
        s.scheduler.trigger(Trigger::SyncNow);
        Ok(format!("{n} event(s) sent again."))
    } else {
        Ok(format!("{n} event(s) dropped."))
    }
}

fn state(app: &AppHandle) -> tauri::State<'_, AppState> {
    app.state::<AppState>()
}

/// Runs blocking keychain work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| format!("internal error: {e}"))
}

/// Everything the panel shows. Re-checks the keychain first, so opening the panel tells the
/// truth about it.
async fn get_overview(app: &AppHandle) -> Result<Overview, String> {
    let s = state(app);
    s.refresh_key().await;
    s.overview(app)
}

/// "https://crm.acme.com/" -> "https://crm.acme.com"; refuses what the engine would refuse.
fn clean_url(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("Enter your Twenty address, like https://crm.example.com".into());
    }
    parse_base_url(t).map_err(msg)?;
    Ok(t.trim_end_matches('/').to_string())
}

fn clean_email(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        return Err("Enter the email Twenty knows you by".into());
    }
    check_rep_email(raw).map_err(|_| format!("{:?} is not a valid email address", raw.trim()))
}

/// Saves the URL and email, and the API key when one is given (write-only: an empty field keeps
/// the stored key). Then syncs with the new credentials.
async fn save_settings(
    app: &AppHandle,
    url: String,
    email: String,
    api_key: Option<String>,
) -> Result<String, String> {
    let url = clean_url(&url)?;
    let email = clean_email(&email)?;
    let s = state(app);
    let mut note = String::new();
    {
        let mut store = s.store.lock().map_err(|_| "internal error: store lock")?;
        let before = config::identity(&store).map_err(msg)?;
        store
            .set_setting(Setting::TwentyUrl, Some(&url))
            .map_err(msg)?;
        store
            .set_setting(Setting::RepEmail, Some(&email))
            .map_err(msg)?;
        if let Some(change) =
            config::identity_change_note(&store, before.as_deref(), &url, &email).map_err(msg)?
        {
            let mut c = change.chars();
            let first = c
                .next()
                .map(|f| f.to_uppercase().collect::<String>())
                .unwrap_or_default();
            note = format!(" {first}{}.", c.as_str());
        }
    }
    if let Some(key) = api_key.as_deref().and_then(ApiKey::new) {
        let stored = blocking(move || secrets::store_api_key(&key)).await?;
        if let Err(e) = stored {
            s.refresh_key().await;
            return Err(format!(
                "Saved the address and email, but not the API key: {e}"
            ));
        }
        note.push_str(" API key stored in the keychain.");
    }
    if std::env::var_os(URL_ENV).is_some() || std::env::var_os(EMAIL_ENV).is_some() {
        note.push_str(&format!(
            " Note: {URL_ENV}/{EMAIL_ENV} are set and take precedence."
        ));
    }
    s.refresh_key().await;
    s.scheduler.trigger(Trigger::CredentialsChanged);
    s.kick();
    tracing::info!("settings saved");
    Ok(format!("Saved.{note} Syncing now…"))
}

/// Tries the given settings without saving them: one read of the rep's record. Uses the typed
/// key if any, else the stored one.
async fn test_connection(
    url: String,
    email: String,
    api_key: Option<String>,
) -> Result<String, String> {
    let url = clean_url(&url)?;
    let email = clean_email(&email)?;
    let key = match api_key.as_deref().and_then(ApiKey::new) {
        Some(k) => k,
        None => blocking(secrets::load_api_key)
            .await?
            .map_err(msg)?
            .map(|(k, _)| k)
            .ok_or("Paste your Twenty API key first (Settings → APIs & Webhooks in Twenty)")?,
    };
    let timeouts = Timeouts {
        connect: Duration::from_secs(5),
        request: Duration::from_secs(10),
    };
    let client = TwentyClient::new(&url, key, timeouts).map_err(msg)?;
    match client.find_by_email(&email).await {
        Ok(found) if found.len() > 1 => Ok(format!(
            "Connected. Twenty has {} XP for {email}, but {} records answer to that email: RepXP uses the oldest; ask your Twenty admin to merge them.",
            thousands(found[0].total_xp),
            found.len()
        )),
        Ok(found) if !found.is_empty() => Ok(format!(
            "Connected. Twenty has {} XP for {email}.",
            thousands(found[0].total_xp)
        )),
        Ok(_) => Ok(format!(
            "Connected. No record for {email} yet: the first sync creates it."
        )),
        Err(e) => Err(e.to_string()),
    }
}

fn sync_now(app: &AppHandle) -> Result<(), String> {
    let s = state(app);
    if !s.scheduler.trigger(Trigger::SyncNow) {
        return Err("the sync service has stopped; restart RepXP".into());
    }
    Ok(())
}

fn set_paused(app: &AppHandle, paused: bool) -> Result<(), String> {
    state(app).set_paused(paused)
}

fn set_notifications(app: &AppHandle, enabled: bool) -> Result<(), String> {
    let s = state(app);
    s.set_flag(Setting::Notifications, enabled)?;
    s.kick();
    Ok(())
}

/// Starts RepXP at login (an XDG autostart entry on Linux, a launch agent on macOS, the Run key
/// on Windows).
fn set_autostart(app: &AppHandle, enabled: bool) -> Result<(), String> {
    let launcher = app.autolaunch();
    let done = if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    done.map_err(|e| format!("cannot change start at login: {e}"))?;
    let s = state(app);
    s.set_flag(Setting::Autostart, enabled)?;
    s.kick();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_emails_are_checked_before_saving() {
        assert_eq!(
            clean_url(" https://crm.acme.com/ ").as_deref(),
            Ok("https://crm.acme.com")
        );
        assert!(clean_url("http://crm.acme.com").is_err());
        assert!(clean_url("").is_err());
        assert_eq!(clean_email(" ana@acme.com ").as_deref(), Ok("ana@acme.com"));
        assert!(clean_email("ana").is_err());
        assert!(clean_email("a\"@b.c").is_err());
    }
}
