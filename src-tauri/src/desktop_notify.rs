//! Desktop notifications. A failure episode shows one notification, re-used if it is announced
//! again and withdrawn on recovery before the one "Back in sync", where the OS lets us.
//!
//! Linux: the freedesktop Notifications D-Bus interface, called directly with the `dbus` crate
//! (libdbus, already linked for the keychain). Not tauri-plugin-notification: it goes through
//! zbus's async-io runtime, whose `blocking` worker thread woke the idle app 120 times a minute
//! (BENCHMARKS.md), and it can neither replace nor withdraw a notification on Linux. Here the
//! failure notification is replaced (`replaces_id`) and closed (`CloseNotification`).
//!
//! Windows and macOS: tauri-plugin-notification (notify-rust: a WinRT toast, a macOS user
//! notification), driven from Rust, so no capability grants it to the webview. It gives no id
//! back and its `remove_active` does nothing on these two OSes, so a failure notification can be
//! neither replaced nor withdrawn: it stays in the Action Center / Notification Center until the
//! rep clears it, and "Back in sync" follows it there. Notices announces a failure once per
//! episode, so no duplicate piles up.

use std::sync::Mutex;

use crate::notices::{Notice, NoticeKind};

pub struct Notifier {
    /// The server's id of the failure notification on screen, if any (only Linux has ids).
    failure_id: Mutex<Option<u32>>,
    backend: imp::Backend,
}

impl Notifier {
    /// `app` is where the notification plugin lives on Windows and macOS; Linux does not need it.
    pub fn new(app: &tauri::AppHandle) -> Notifier {
        Notifier {
            failure_id: Mutex::new(None),
            backend: imp::Backend::new(app),
        }
    }

    /// Shows `n` (a blocking D-Bus round trip of a few ms on Linux: call from a blocking task).
    pub fn show(&self, n: &Notice) {
        let previous = self.failure_id.lock().ok().and_then(|mut f| match n.kind {
            NoticeKind::Failure => *f,
            NoticeKind::Recovery => f.take(),
            NoticeKind::LevelUp | NoticeKind::Question => None,
        });
        if let (NoticeKind::Recovery, Some(id)) = (n.kind, previous) {
            if let Err(e) = self.backend.close(id) {
                tracing::warn!(error = %e, "cannot withdraw the failure notification");
            }
        }
        let replaces = match n.kind {
            NoticeKind::Failure => previous.unwrap_or(0),
            _ => 0,
        };
        tracing::info!(title = %n.title, "notification");
        match self.backend.notify(n, replaces) {
            Ok(Some(id)) if n.kind == NoticeKind::Failure => {
                if let Ok(mut f) = self.failure_id.lock() {
                    *f = Some(id);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot show a notification"),
        }
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::time::Duration;

    use dbus::arg::{PropMap, RefArg, Variant};
    use dbus::blocking::Connection;

    use crate::notices::{Notice, NoticeKind};

    const DEST: &str = "org.freedesktop.Notifications";
    const PATH: &str = "/org/freedesktop/Notifications";
    const TIMEOUT: Duration = Duration::from_secs(3);

    /// Stateless: each call opens its own session-bus connection (notifications are rare).
    pub struct Backend;

    impl Backend {
        pub fn new(_app: &tauri::AppHandle) -> Backend {
            Backend
        }

        /// Returns the server's id of the notification shown.
        pub fn notify(&self, n: &Notice, replaces: u32) -> Result<Option<u32>, dbus::Error> {
            let conn = Connection::new_session()?;
            let proxy = conn.with_proxy(DEST, PATH, TIMEOUT);
            let mut hints = PropMap::new();
            hints.insert(
                "desktop-entry".into(),
                Variant(Box::new("repxp".to_string()) as Box<dyn RefArg>),
            );
            // 0 low, 1 normal: a failure matters, but nothing is lost, so never "critical".
            let urgency: u8 = if n.kind == NoticeKind::Failure { 1 } else { 0 };
            hints.insert(
                "urgency".into(),
                Variant(Box::new(urgency) as Box<dyn RefArg>),
            );
            if n.kind == NoticeKind::Recovery {
                // Good news need not stay in the notification history.
                hints.insert(
                    "transient".into(),
                    Variant(Box::new(true) as Box<dyn RefArg>),
                );
            }
            let (id,): (u32,) = proxy.method_call(
                DEST,
                "Notify",
                (
                    "RepXP",
                    replaces,
                    "app.repxp.desktop",
                    n.title.as_str(),
                    n.body.as_str(),
                    Vec::<String>::new(),
                    hints,
                    -1i32,
                ),
            )?;
            Ok(Some(id))
        }

        pub fn close(&self, id: u32) -> Result<(), dbus::Error> {
            let conn = Connection::new_session()?;
            conn.with_proxy(DEST, PATH, TIMEOUT)
                .method_call(DEST, "CloseNotification", (id,))
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use tauri::Manager as _;
    use tauri_plugin_notification::NotificationExt as _;

    use crate::notices::Notice;

    #[derive(Debug, thiserror::Error)]
    pub enum Error {
        // `.plugin(tauri_plugin_notification::init())` missing from the builder: the plugin's own
        // accessor would panic.
        #[error("the notification plugin is not registered")]
        NoPlugin,
        #[error(transparent)]
        Plugin(#[from] tauri_plugin_notification::Error),
    }

    pub struct Backend {
        app: tauri::AppHandle,
    }

    impl Backend {
        pub fn new(app: &tauri::AppHandle) -> Backend {
            Backend { app: app.clone() }
        }

        /// Shows `n` without waiting (the plugin sends it from a task of its own). No id comes
        /// back, so `replaces` is never set: there is nothing to replace.
        pub fn notify(&self, n: &Notice, _replaces: u32) -> Result<Option<u32>, Error> {
            if self
                .app
                .try_state::<tauri_plugin_notification::Notification<tauri::Wry>>()
                .is_none()
            {
                return Err(Error::NoPlugin);
            }
            self.app
                .notification()
                .builder()
                .title(n.title.as_str())
                .body(n.body.as_str())
                .show()?;
            Ok(None)
        }

        /// Never called: without an id there is nothing to withdraw (the plugin's
        /// `remove_active` does nothing on Windows and macOS anyway).
        pub fn close(&self, _id: u32) -> Result<(), Error> {
            Ok(())
        }
    }
}
