//! One sync as the CLI and the app run it: open the store, load the settings and key, sync,
//! record the outcome where `status`, the tray and the panel read it.

use std::path::PathBuf;
use std::sync::Arc;

use super::config::{self, ConfigError};
use super::run::{sync_once, Mode, SyncError, SyncReport};
use super::scheduler::{Failure, SyncTask};
use crate::settings::Setting;
use crate::store::Store;
use crate::twenty::client::EmailField;
use crate::twenty::{Timeouts, TwentyClient};

pub struct SyncService {
    data_dir: PathBuf,
    timeouts: Timeouts,
    /// Reused while URL and key stay the same, so connections are kept alive between syncs.
    client: Option<(String, String, Arc<TwentyClient>)>,
}

impl SyncService {
    /// `REPXP_HTTP_TIMEOUT_MS`, if set, bounds each request (slow links, tests); default 20 s.
    pub fn new(data_dir: PathBuf) -> SyncService {
        let mut timeouts = Timeouts::default();
        if let Some(ms) = std::env::var("REPXP_HTTP_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
        {
            timeouts.request = std::time::Duration::from_millis(ms);
            timeouts.connect = timeouts.connect.min(timeouts.request);
        }
        SyncService {
            data_dir,
            timeouts,
            client: None,
        }
    }

    pub fn with_timeouts(mut self, t: Timeouts) -> SyncService {
        self.timeouts = t;
        self
    }

    fn client(&mut self, cfg: &config::SyncConfig) -> Result<Arc<TwentyClient>, Failure> {
        if let Some((url, key, c)) = &self.client {
            if url == &cfg.target.url && key == cfg.key.expose() {
                return Ok(c.clone());
            }
        }
        let c = Arc::new(
            TwentyClient::new(&cfg.target.url, cfg.key.clone(), self.timeouts)
                .map_err(|e| failure_of(&SyncError::Twenty(e)))?,
        );
        self.client = Some((
            cfg.target.url.clone(),
            cfg.key.expose().to_string(),
            c.clone(),
        ));
        Ok(c)
    }

    /// Runs one sync and records its outcome in the store.
    pub async fn sync(&mut self, mode: Mode) -> Result<SyncReport, Failure> {
        let mut store =
            Store::open_dir(&self.data_dir).map_err(|e| failure_of(&SyncError::Store(e)))?;
        let outcome = match config::load(&store) {
            Err(e) => Err(config_failure(&e)),
            Ok(cfg) => {
                let client = self.client(&cfg)?;
                let known = store
                    .setting(Setting::RepEmailField)
                    .ok()
                    .flatten()
                    .and_then(|v| EmailField::parse(&v));
                if let Some(f) = known {
                    client.set_email_field(f);
                }
                let out = sync_once(&mut store, &client, &cfg.target.email, mode)
                    .await
                    .map_err(|e| failure_of(&e));
                // Remember what Twenty taught us about repEmail, so the next run asks right away.
                if known != Some(client.email_field()) {
                    let value = client.email_field().as_str();
                    if let Err(e) = store.set_setting(Setting::RepEmailField, Some(value)) {
                        tracing::warn!(error = %e, "could not remember the repEmail field type");
                    }
                }
                out
            }
        };
        let recorded = match &outcome {
            Ok(_) => store.record_sync_success(),
            Err(f) => store.record_sync_failure(&f.kind, &f.message, None),
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record the sync outcome");
        }
        outcome
    }
}

impl SyncTask for SyncService {
    async fn sync(&mut self) -> Result<(), Failure> {
        SyncService::sync(self, Mode::Both).await.map(|_| ())
    }
}

pub fn failure_of(e: &SyncError) -> Failure {
    Failure {
        kind: e.kind().to_string(),
        message: e.to_string(),
        transient: e.is_transient(),
        retry_after: e.retry_after(),
    }
}

fn config_failure(e: &ConfigError) -> Failure {
    let kind = match e {
        ConfigError::NotConnected => "not_connected",
        ConfigError::NoKey => "no_key",
        ConfigError::Secret(_) => "keychain",
        ConfigError::Store(_) => "local_database",
    };
    Failure {
        kind: kind.into(),
        message: e.to_string(),
        transient: false,
        retry_after: None,
    }
}
