//! The tray process's control socket: how a second `repxp` launch reaches the running one (single
//! instance) and how the panel process talks to the tray process.
//!
//! The panel runs in its own process so that closing it gives every byte WebKit touched back to the
//! system: a webview in the tray process leaves the WebKit network process and ~100 MB of GTK/WebKit
//! state behind for the app's lifetime (BENCHMARKS.md). The tray process never loads a webview.
//!
//! One JSON object per line over a Unix socket in the data directory, readable by this user only
//! (mode 0600, and the peer's uid is checked). An advisory lock on `app.lock`, held for the tray's
//! lifetime, decides which launch is the tray; the lock dies with the process, so a crash never
//! leaves a stale "already running".

#[cfg(not(unix))]
compile_error!("the desktop shell's control channel uses Unix sockets; a Windows build needs a named-pipe transport");

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const SOCKET_FILE: &str = "app.sock";
pub const LOCK_FILE: &str = "app.lock";

/// What a client asks of the tray process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// A second launch: show the panel (start it, or raise the running one).
    OpenPanel,
    /// The panel process: send me every new overview (the current one first) and focus requests.
    Subscribe,
    /// The panel process relays one of the page's commands.
    Call { id: u64, command: Command },
}

/// The page's commands, with their arguments (capabilities/default.json grants exactly these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", content = "args", rename_all = "snake_case")]
pub enum Command {
    GetOverview,
    SaveSettings {
        url: String,
        email: String,
        api_key: Option<String>,
    },
    TestConnection {
        url: String,
        email: String,
        api_key: Option<String>,
    },
    SyncNow,
    SetPaused {
        paused: bool,
    },
    SetNotifications {
        enabled: bool,
    },
    SetAutostart {
        enabled: bool,
    },
    /// "retry" or "discard" the events held back for the rep's decision.
    ResolveHeld {
        action: String,
    },
}

/// What the tray process sends to the panel process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Push {
    Overview {
        overview: Value,
    },
    Focus,
    Reply {
        id: u64,
        result: Result<Value, String>,
    },
}

/// `app.sock` in the data directory; if that path is too long for a Unix socket address (about
/// 100 bytes), a name derived from the data directory in `$XDG_RUNTIME_DIR` (else the temp dir).
pub fn socket_path(data_dir: &Path) -> PathBuf {
    let inside = data_dir.join(SOCKET_FILE);
    if inside.as_os_str().len() < MAX_SOCKET_PATH {
        return inside;
    }
    let hash = repxp_engine::paths::stable_hash(data_dir.as_os_str().as_encoded_bytes());
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("repxp-{hash:016x}.sock"))
}

/// sockaddr_un holds 108 bytes on Linux (104 on macOS), NUL included.
const MAX_SOCKET_PATH: usize = 100;

/// Which launch this is.
pub enum Claim {
    /// No tray process runs for this data directory: this one is it. Keep the lock for the
    /// process's lifetime; the listener is bound and private.
    Tray {
        lock: std::fs::File,
        listener: UnixListener,
    },
    /// Another process holds the lock: it is the tray.
    AlreadyRunning,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("RepXP is running but did not answer on {path}: {source}")]
    NoAnswer {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ControlError + '_ {
    move |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Takes the tray role for `data_dir` if it is free.
pub fn claim(data_dir: &Path) -> Result<Claim, ControlError> {
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let lock_path = data_dir.join(LOCK_FILE);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(Claim::AlreadyRunning),
        Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
    }
    // We hold the lock, so a socket file left here is from a process that died.
    let sock = socket_path(data_dir);
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).map_err(io(&sock))?;
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).map_err(io(&sock))?;
    listener.set_nonblocking(true).map_err(io(&sock))?;
    Ok(Claim::Tray { lock, listener })
}

/// Connects to the running tray process, waiting up to 5 s for one that is still starting.
pub fn connect(data_dir: &Path) -> Result<UnixStream, ControlError> {
    let path = socket_path(data_dir);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match UnixStream::connect(&path) {
            Ok(s) => return Ok(s),
            Err(source) if Instant::now() >= deadline => {
                return Err(ControlError::NoAnswer { path, source })
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A second launch's whole job: ask the tray to show the panel, and wait for its "done".
pub fn ask_to_open_panel(data_dir: &Path) -> Result<(), ControlError> {
    let path = socket_path(data_dir);
    let no_answer = |source| ControlError::NoAnswer {
        path: path.clone(),
        source,
    };
    let mut s = connect(data_dir)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(no_answer)?;
    writeln!(s, "{}", line(&Request::OpenPanel)).map_err(no_answer)?;
    let mut answer = String::new();
    BufReader::new(s)
        .read_line(&mut answer)
        .map_err(no_answer)?;
    Ok(())
}

/// One protocol line (never fails: these types always serialize).
pub fn line<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"encode: {e}\"}}"))
}

/// Only processes of the user running the tray may use the socket (the file mode says so too;
/// this holds even if the data directory's permissions are loose).
pub fn same_user(peer_uid: u32) -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == peer_uid)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_launch_becomes_the_tray_and_the_lock_dies_with_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = claim(dir.path()).expect("claim");
        assert!(matches!(first, Claim::Tray { .. }));
        assert!(matches!(
            claim(dir.path()).expect("claim"),
            Claim::AlreadyRunning
        ));
        let mode = std::fs::metadata(socket_path(dir.path()))
            .expect("socket")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        drop(first);
        // The socket file is still there (as after a crash); the next launch takes over.
        assert!(matches!(
            claim(dir.path()).expect("claim"),
            Claim::Tray { .. }
        ));
    }

    #[test]
    fn a_second_launch_reaches_the_tray_over_the_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Claim::Tray {
            listener,
            lock: _lock,
        } = claim(dir.path()).expect("claim")
        else {
            panic!("first claim is the tray");
        };
        listener.set_nonblocking(false).expect("blocking");
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().expect("accept");
            let mut got = String::new();
            BufReader::new(&s).read_line(&mut got).expect("read");
            writeln!(&s, "{}", line(&Push::Focus)).expect("answer");
            got
        });
        ask_to_open_panel(dir.path()).expect("ask");
        let got: Request = serde_json::from_str(&server.join().expect("join")).expect("json");
        assert_eq!(got, Request::OpenPanel);
    }

    #[test]
    fn a_data_directory_too_deep_for_a_socket_address_still_gets_one() {
        let base = tempfile::tempdir().expect("tempdir");
        let deep = base.path().join("d".repeat(60)).join("e".repeat(60));
        let path = socket_path(&deep);
        assert!(path.as_os_str().len() < MAX_SOCKET_PATH + 40, "{path:?}");
        assert_eq!(path, socket_path(&deep), "stable");
        assert_ne!(path, socket_path(&base.path().join("f".repeat(120))));
        let Claim::Tray {
            lock: _lock,
            listener: _listener,
        } = claim(&deep).expect("claim")
        else {
            panic!("first claim is the tray");
        };
        assert!(connect(&deep).is_ok(), "reachable at {path:?}");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_protocol_round_trips() {
        let call = Request::Call {
            id: 7,
            command: Command::SaveSettings {
                url: "https://crm.acme.com".into(),
                email: "ana@acme.com".into(),
                api_key: None,
            },
        };
        assert_eq!(
            serde_json::from_str::<Request>(&line(&call)).expect("json"),
            call
        );
        let reply = Push::Reply {
            id: 7,
            result: Err("no".into()),
        };
        assert_eq!(
            serde_json::from_str::<Push>(&line(&reply)).expect("json"),
            reply
        );
        assert!(same_user(
            std::fs::metadata("/proc/self").expect("proc").uid()
        ));
    }
}
