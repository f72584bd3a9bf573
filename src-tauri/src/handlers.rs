//! What the page's commands do, in the tray process (which owns the scheduler and the store):
//! [`TrayHandlers`] implements commands.rs's [`Handlers`], one method per entry of
//! commands/list.rs, and the panel process relays the page's calls to it over the control socket.
//! Each returns one human line on failure. The API key only travels page -> panel process -> here
//! -> keychain; nothing here returns it, logs it or puts it in an error.

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
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt as _;

use crate::commands::Handlers;
use crate::overview::Overview;
use crate::state::AppState;
use repxp_engine::team::Team;

/// The page's commands as the tray process runs them.
pub struct TrayHandlers {
    app: AppHandle,
}

impl TrayHandlers {
    pub fn new(app: AppHandle) -> TrayHandlers {
        TrayHandlers { app }
    }

    fn state(&self) -> tauri::State<'_, AppState> {
        self.app.state::<AppState>()
    }
}

/// Runs blocking keychain work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| format!("internal error: {e}"))
}

impl Handlers for TrayHandlers {
    async fn get_overview(&self) -> Result<Overview, String> {
        let s = self.state();
        s.refresh_key().await;
        s.overview(&self.app)
    }

    async fn save_settings(
        &self,
        url: String,
        email: String,
        api_key: Option<String>,
    ) -> Result<String, String> {
        let url = clean_url(&url)?;
        let email = clean_email(&email)?;
        let s = self.state();
        let mut note = String::new();
        {
            let mut store = s.store.lock().map_err(|_| "internal error: store lock")?;
            let before = config::identity(&store).map_err(|e| e.to_string())?;
            store
                .set_setting(Setting::TwentyUrl, Some(&url))
                .map_err(|e| e.to_string())?;
            store
                .set_setting(Setting::RepEmail, Some(&email))
                .map_err(|e| e.to_string())?;
            if let Some(change) =
                config::identity_change_note(&store, before.as_deref(), &url, &email)
                    .map_err(|e| e.to_string())?
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

    async fn test_connection(
        &self,
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
                .map_err(|e| e.to_string())?
                .map(|(k, _)| k)
                .ok_or("Paste your Twenty API key first (Settings → APIs & Webhooks in Twenty)")?,
        };
        let timeouts = Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(10),
        };
        let client = TwentyClient::new(&url, key, timeouts).map_err(|e| e.to_string())?;
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

    async fn sync_now(&self) -> Result<(), String> {
        if !self.state().scheduler.trigger(Trigger::SyncNow) {
            return Err("the sync service has stopped; restart RepXP".into());
        }
        Ok(())
    }

    async fn set_paused(&self, paused: bool) -> Result<(), String> {
        self.state().set_paused(paused)
    }

    async fn set_notifications(&self, enabled: bool) -> Result<(), String> {
        let s = self.state();
        s.set_flag(Setting::Notifications, enabled)?;
        s.kick();
        Ok(())
    }

    /// An XDG autostart entry on Linux, a launch agent on macOS, the Run key on Windows.
    async fn set_autostart(&self, enabled: bool) -> Result<(), String> {
        let launcher = self.app.autolaunch();
        let done = if enabled {
            launcher.enable()
        } else {
            launcher.disable()
        };
        done.map_err(|e| format!("cannot change start at login: {e}"))?;
        let s = self.state();
        s.set_flag(Setting::Autostart, enabled)?;
        s.kick();
        Ok(())
    }

    async fn get_team(&self) -> Result<Team, String> {
        self.state().team().await
    }

    async fn set_show_team(&self, enabled: bool) -> Result<(), String> {
        let s = self.state();
        s.set_flag(Setting::ShowTeam, enabled)?;
        s.kick();
        Ok(())
    }

    async fn resolve_held(&self, action: String) -> Result<String, String> {
        let s = self.state();
        let n = {
            let mut store = s.store.lock().map_err(|_| "internal error: store lock")?;
            match action.as_str() {
                "retry" => {
                    let mut n = store
                        .release(&[ParkedKind::Rejected, ParkedKind::Unverified], &[])
                        .map_err(|e| e.to_string())?;
                    if let Some(current) =
                        config::current_identity(&store).map_err(|e| e.to_string())?
                    {
                        n += store
                            .move_to_identity(&current, None, &[])
                            .map_err(|e| e.to_string())?;
                    }
                    n
                }
                "discard" => store.discard(&[]).map_err(|e| e.to_string())?,
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

    async fn answer_web_page(&self, origin: String, action: String) -> Result<String, String> {
        let s = self.state();
        let desk = s
            .web
            .get()
            .ok_or("the award API is not running, so no web page can ask (REPXP_AWARD_PORT)")?;
        // The desk's change wakes the tray's redraw, which sends the panel its new overview.
        desk.decide(&action, &origin).map_err(|e| e.to_string())
    }
}

/// "https://crm.acme.com/" -> "https://crm.acme.com"; refuses what the engine would refuse.
fn clean_url(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("Enter your Twenty address, like https://crm.example.com".into());
    }
    parse_base_url(t).map_err(|e| e.to_string())?;
    Ok(t.trim_end_matches('/').to_string())
}

fn clean_email(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        return Err("Enter the email Twenty knows you by".into());
    }
    check_rep_email(raw).map_err(|_| format!("{:?} is not a valid email address", raw.trim()))
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
