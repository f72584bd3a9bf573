//! What the tray needs from the desktop, checked before Tauri starts, so a missing piece is one
//! line that says what to do instead of a panic with a backtrace deep in GTK.

/// The display is required: without it there is nothing to show, and GTK would panic.
pub fn require_display() -> Result<(), String> {
    imp::require_display()
}

/// The tray host is not: without one the app still syncs and the panel still opens, but the rep
/// must know why no icon shows. Returns the line to print, if any.
pub fn tray_host_warning() -> Option<String> {
    imp::tray_host_warning()
}

const NO_DISPLAY: &str = "no desktop display to show RepXP on (DISPLAY and WAYLAND_DISPLAY are \
     empty or unreachable): start it from a desktop session, or sync without the tray with \
     `repxp-cli run` (`make run` starts a virtual display by itself)";

#[cfg(target_os = "linux")]
mod imp {
    use std::time::Duration;

    pub fn require_display() -> Result<(), String> {
        // GTK would panic in Tauri's builder; its own init answers with an error instead, and a
        // second init (Tauri's) is then a no-op.
        gtk::init().map_err(|e| format!("{} ({e})", super::NO_DISPLAY))
    }

    /// The tray icon is an AppIndicator, shown by whoever owns the StatusNotifierWatcher name
    /// (KDE, most panels; GNOME only with the AppIndicator extension).
    pub fn tray_host_warning() -> Option<String> {
        const WATCHER: &str = "org.kde.StatusNotifierWatcher";
        let owned = dbus::blocking::Connection::new_session().and_then(|c| {
            let bus = c.with_proxy(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                Duration::from_secs(2),
            );
            let (owned,): (bool,) =
                bus.method_call("org.freedesktop.DBus", "NameHasOwner", (WATCHER,))?;
            Ok(owned)
        });
        match owned {
            Ok(true) => None,
            Ok(false) => Some(
                "no system tray on this desktop (nothing owns org.kde.StatusNotifierWatcher): \
                 RepXP syncs, but its icon will not show; on GNOME install the \"AppIndicator \
                 and KStatusNotifierItem Support\" extension; `repxp` opens the panel meanwhile"
                    .into(),
            ),
            Err(e) => Some(format!(
                "no D-Bus session bus ({e}): the tray icon, notifications and the keychain \
                 need one; start RepXP from a desktop session"
            )),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    /// Windows and macOS always have a display and a tray (notification area, menu bar) for a
    /// logged-in user; a process started with none fails in the OS's own clear way.
    pub fn require_display() -> Result<(), String> {
        let _ = super::NO_DISPLAY;
        Ok(())
    }

    pub fn tray_host_warning() -> Option<String> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// Run in a child process (GTK may be initialised only once per process): with no display
    /// at all the check is one line that names the way out, not a panic.
    #[test]
    fn no_display_is_one_line_that_says_what_to_do() {
        if std::env::var_os("REPXP_DISPLAY_CHILD").is_some() {
            let e = super::require_display().expect_err("there is no display");
            println!("LINE<{e}>");
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "desktop_check::tests::no_display_is_one_line_that_says_what_to_do",
                "--nocapture",
            ])
            .env("REPXP_DISPLAY_CHILD", "1")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .expect("child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        let line = stdout
            .split("LINE<")
            .nth(1)
            .and_then(|l| l.split('>').next())
            .expect("the child printed the line");
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("repxp-cli run"), "{line}");
    }
}
