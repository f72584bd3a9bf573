//! Desktop notifications over the freedesktop Notifications D-Bus interface, called directly with
//! the `dbus` crate (libdbus, already linked for the keychain). Not tauri-plugin-notification: it
//! goes through zbus's async-io runtime, whose `blocking` worker thread woke the idle app 120 times
//! a minute (BENCHMARKS.md), and it can neither replace nor withdraw a notification on Linux.
//! A failure episode shows one notification, re-used (replaces_id) if it is announced again, and
//! closed on recovery before the one "Back in sync".

use std::sync::Mutex;

use crate::notices::{Notice, NoticeKind};

#[derive(Default)]
pub struct Notifier {
    /// The server's id of the failure notification on screen, if any.
    failure_id: Mutex<Option<u32>>,
}

impl Notifier {
    /// Shows `n` (a blocking D-Bus round trip of a few ms: call from a blocking task).
    pub fn show(&self, n: &Notice) {
        let previous = self.failure_id.lock().ok().and_then(|mut f| match n.kind {
            NoticeKind::Failure => *f,
            NoticeKind::Recovery => f.take(),
            NoticeKind::LevelUp => None,
        });
        if let (NoticeKind::Recovery, Some(id)) = (n.kind, previous) {
            if let Err(e) = imp::close(id) {
                tracing::warn!(error = %e, "cannot withdraw the failure notification");
            }
        }
        let replaces = match n.kind {
            NoticeKind::Failure => previous.unwrap_or(0),
            _ => 0,
        };
        tracing::info!(title = %n.title, "notification");
        match imp::notify(n, replaces) {
            Ok(id) if n.kind == NoticeKind::Failure => {
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

    pub fn notify(n: &Notice, replaces: u32) -> Result<u32, dbus::Error> {
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
        Ok(id)
    }

    pub fn close(id: u32) -> Result<(), dbus::Error> {
        let conn = Connection::new_session()?;
        conn.with_proxy(DEST, PATH, TIMEOUT)
            .method_call(DEST, "CloseNotification", (id,))
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use crate::notices::Notice;

    pub fn notify(n: &Notice, _replaces: u32) -> Result<u32, String> {
        tracing::info!(title = %n.title, "desktop notifications are implemented for Linux only");
        Ok(0)
    }

    pub fn close(_id: u32) -> Result<(), String> {
        Ok(())
    }
}
