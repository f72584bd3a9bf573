//! The tray process's control socket: how a second launch (`repxp`, or `repxp-open` from the
//! desktop entry) reaches the running one (single instance) and how the panel process talks to
//! the tray process. No Tauri here: `repxp-open` links this crate and not WebKit.
//!
//! The panel runs in its own process so that closing it gives every byte WebKit touched back to the
//! system: a webview in the tray process leaves the WebKit network process and ~100 MB of GTK/WebKit
//! state behind for the app's lifetime (BENCHMARKS.md). The tray process never loads a webview.
//!
//! One JSON object per line over a local socket private to this user (transport.rs: a Unix socket
//! or a Windows named pipe, the peer's user checked on both). An advisory lock on `app.lock`
//! ([`repxp_engine::instance`]), held for the tray's lifetime, decides which launch is the tray;
//! the lock dies with the process, so a crash never leaves a stale "already running". The panel
//! process's end of a connection is [`link::PanelLink`]; the tray's is panel_host.rs.

pub mod link;
mod transport;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

pub use transport::{ClientStream, Endpoint, Listener, ServerStream};

use repxp_engine::instance::{self, Claimed, Holder, InstanceError, InstanceLock, Role};
use repxp_engine::settings::Setting;

/// What a client asks of the tray process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// A second launch: show the panel (start it, or raise the running one).
    OpenPanel,
    /// The panel process: send me every new overview (the current one first) and focus requests.
    Subscribe,
    /// The panel process relays one of the page's commands.
    Call { id: u64, command: PanelCommand },
}

/// One of the page's commands as the panel process relays it: its name and its arguments by name,
/// `{"name": "set_paused", "args": {"paused": true}}` (no `args` when it takes none). Both ends
/// are generated from the one list in commands/list.rs, which gives each argument its type:
/// [`encode`](PanelCommand::encode) in the panel process, [`decode`](PanelCommand::decode) in the
/// tray.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelCommand {
    pub name: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub args: Map<String, Value>,
}

impl PanelCommand {
    /// `args`: a struct of the command's arguments, named as in the list.
    pub fn encode(name: &str, args: &impl Serialize) -> Result<PanelCommand, String> {
        match serde_json::to_value(args) {
            Ok(Value::Object(args)) => Ok(PanelCommand {
                name: name.to_string(),
                args,
            }),
            Ok(other) => Err(format!(
                "internal error: {name}'s arguments are not an object: {other}"
            )),
            Err(e) => Err(format!("internal error: {name}'s arguments: {e}")),
        }
    }

    /// The arguments as the struct `T` (which refuses unknown names).
    pub fn decode<T: DeserializeOwned>(self) -> Result<T, String> {
        serde_json::from_value(Value::Object(self.args))
            .map_err(|e| format!("{}: bad arguments: {e}", self.name))
    }
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

/// Where the tray for `data_dir` listens.
pub fn endpoint(data_dir: &Path) -> Endpoint {
    transport::endpoint(data_dir)
}

/// Which launch this is.
pub enum Claim {
    /// No tray process runs for this data directory: this one is it. Keep the lock for the
    /// process's lifetime; the listener is bound and private.
    Tray {
        lock: InstanceLock,
        listener: Listener,
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
    #[error(transparent)]
    Instance(#[from] InstanceError),
    #[error("cannot ask `repxp-cli run` to hand over: {0}")]
    Store(#[from] repxp_engine::StoreError),
    #[error(
        "`repxp-cli run` (pid {pid}) syncs RepXP's data and did not hand over within {secs} s; \
         stop it (`systemctl --user stop repxp-sync`, or Ctrl-C where it runs) and start RepXP again"
    )]
    RunnerStays { pid: u32, secs: u64 },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ControlError + '_ {
    move |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Takes the tray role for `data_dir` if it is free. A headless `repxp-cli run` holding it is
/// asked to hand over: the rep's visible app wins.
pub fn claim(data_dir: &Path) -> Result<Claim, ControlError> {
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let lock = match instance::try_claim(data_dir, Role::Tray)? {
        Claimed::Mine(lock) => lock,
        Claimed::Held(Some(Holder {
            role: Role::Headless,
            pid,
        })) => take_over_from_runner(data_dir, pid)?,
        Claimed::Held(_) => return Ok(Claim::AlreadyRunning),
    };
    let endpoint = endpoint(data_dir);
    let listener = transport::bind(&endpoint).map_err(|source| ControlError::Io {
        path: PathBuf::from(endpoint.to_string()),
        source,
    })?;
    Ok(Claim::Tray { lock, listener })
}

/// How long a starting tray waits for `repxp-cli run` to finish its sync in flight and quit.
const HANDOVER_WAIT: Duration = Duration::from_secs(40);

/// Asks the runner through the database (it watches it; no signals, so the same on every OS) and
/// waits for the lock.
fn take_over_from_runner(data_dir: &Path, pid: u32) -> Result<InstanceLock, ControlError> {
    tracing::info!(
        pid,
        "`repxp-cli run` syncs this data; asking it to hand over"
    );
    let mut store = repxp_engine::Store::open_dir(data_dir)?;
    store.set_setting(Setting::HandoverTo, Some(&std::process::id().to_string()))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = data_dir.to_path_buf();
    // The wait blocks in the kernel; after a timeout the thread is left behind and ends with us.
    let waiter = std::thread::Builder::new()
        .name("handover".into())
        .spawn(move || {
            let _ = tx.send(instance::claim_waiting(&dir, Role::Tray));
        });
    let got = waiter
        .map_err(io(data_dir))
        .map(|_| rx.recv_timeout(HANDOVER_WAIT));
    if let Err(e) = store.set_setting(Setting::HandoverTo, None) {
        tracing::warn!(error = %e, "cannot clear the handover request");
    }
    match got? {
        Ok(lock) => Ok(lock?),
        Err(_) => Err(ControlError::RunnerStays {
            pid,
            secs: HANDOVER_WAIT.as_secs(),
        }),
    }
}

/// Connects to the running tray process, waiting up to 5 s for one that is still starting.
pub async fn connect(data_dir: &Path) -> Result<ClientStream, ControlError> {
    let endpoint = endpoint(data_dir);
    transport::connect(&endpoint)
        .await
        .map_err(|source| ControlError::NoAnswer {
            path: PathBuf::from(endpoint.to_string()),
            source,
        })
}

/// A second launch's whole job: ask the tray to show the panel, and wait for its "done".
pub async fn ask_to_open_panel(data_dir: &Path) -> Result<(), ControlError> {
    let s = connect(data_dir).await?;
    open_panel_over(data_dir, s).await
}

/// `repxp-open`'s first step: if a tray listens for `data_dir` right now, ask it to show the
/// panel (true); if nobody does, say so at once (false) and leave starting one to `repxp`, whose
/// claim settles races and a tray still starting up.
pub async fn open_panel_if_running(data_dir: &Path) -> Result<bool, ControlError> {
    match transport::connect_once(&endpoint(data_dir)).await {
        Ok(s) => open_panel_over(data_dir, s).await.map(|()| true),
        Err(_) => Ok(false),
    }
}

async fn open_panel_over(data_dir: &Path, s: ClientStream) -> Result<(), ControlError> {
    let no_answer = |source| ControlError::NoAnswer {
        path: PathBuf::from(endpoint(data_dir).to_string()),
        source,
    };
    let (read, mut write) = tokio::io::split(s);
    let ask = format!("{}\n", line(&Request::OpenPanel));
    write.write_all(ask.as_bytes()).await.map_err(no_answer)?;
    let mut answer = String::new();
    tokio::time::timeout(
        Duration::from_secs(5),
        BufReader::new(read).read_line(&mut answer),
    )
    .await
    .map_err(|_| no_answer(std::io::ErrorKind::TimedOut.into()))?
    .map_err(no_answer)?;
    Ok(())
}

/// One protocol line (never fails: these types always serialize).
pub fn line<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"encode: {e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn only_one_launch_becomes_the_tray_and_the_lock_dies_with_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = claim(dir.path()).expect("claim");
        assert!(matches!(first, Claim::Tray { .. }));
        assert!(matches!(
            claim(dir.path()).expect("claim"),
            Claim::AlreadyRunning
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(endpoint(dir.path()).path())
                .expect("socket")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(first);
        // The socket file is still there (as after a crash); the next launch takes over.
        assert!(matches!(
            claim(dir.path()).expect("claim"),
            Claim::Tray { .. }
        ));
    }

    /// The tray side of one connection: reads one request, answers with `Focus`.
    async fn answer_one(incoming: &mut transport::Incoming) -> (Request, bool) {
        let (stream, same_user) = incoming.next().await.expect("accept");
        let (read, mut write) = tokio::io::split(stream);
        let mut got = String::new();
        BufReader::new(read)
            .read_line(&mut got)
            .await
            .expect("read");
        let answer = format!("{}\n", line(&Push::Focus));
        write.write_all(answer.as_bytes()).await.expect("answer");
        (serde_json::from_str(&got).expect("json"), same_user)
    }

    /// Claims the tray role for `dir` and runs `ask` against it; what `ask` returned and what the
    /// tray received (with its peer check).
    fn ask_the_tray<T>(
        dir: &Path,
        ask: impl std::future::Future<Output = T>,
    ) -> (T, (Request, bool)) {
        let Claim::Tray {
            listener,
            lock: _lock,
        } = claim(dir).expect("claim")
        else {
            panic!("first claim is the tray");
        };
        runtime().block_on(async {
            let mut incoming = listener.incoming().expect("incoming");
            tokio::join!(ask, answer_one(&mut incoming))
        })
    }

    #[test]
    fn a_second_launch_reaches_the_tray_and_is_known_as_the_same_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (asked, answered) = ask_the_tray(dir.path(), ask_to_open_panel(dir.path()));
        asked.expect("ask");
        assert_eq!(answered, (Request::OpenPanel, true));
    }

    #[test]
    fn a_launch_with_no_tray_says_so_after_waiting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = runtime()
            .block_on(ask_to_open_panel(dir.path()))
            .expect_err("nobody listens");
        assert!(matches!(err, ControlError::NoAnswer { .. }), "{err}");
    }

    #[test]
    fn the_launcher_asks_a_listening_tray_and_does_not_wait_when_none_listens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let started = std::time::Instant::now();
        let none = runtime()
            .block_on(open_panel_if_running(dir.path()))
            .expect("no tray is not an error");
        assert!(!none, "nobody listens");
        // Not the 5 s retry of a second `repxp`: the launcher starts the tray at once instead.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let (asked, answered) = ask_the_tray(dir.path(), open_panel_if_running(dir.path()));
        assert!(asked.expect("ask"), "a tray listens");
        assert_eq!(answered, (Request::OpenPanel, true));
        // The socket file a crashed tray leaves behind answers nothing: start a tray.
        #[cfg(unix)]
        assert!(endpoint(dir.path()).path().exists());
        let stale = runtime().block_on(open_panel_if_running(dir.path()));
        assert!(!stale.expect("a stale socket is not an error"));
    }

    #[cfg(unix)]
    #[test]
    fn a_data_directory_too_deep_for_a_socket_address_still_gets_one() {
        let base = tempfile::tempdir().expect("tempdir");
        let deep = base.path().join("d".repeat(60)).join("e".repeat(60));
        let path = endpoint(&deep);
        assert!(
            path.path().as_os_str().len() < transport::MAX_SOCKET_PATH + 40,
            "{path}"
        );
        assert_eq!(path, endpoint(&deep), "stable");
        assert_ne!(path, endpoint(&base.path().join("f".repeat(120))));
        let Claim::Tray {
            lock: _lock,
            listener,
        } = claim(&deep).expect("claim")
        else {
            panic!("first claim is the tray");
        };
        runtime().block_on(async {
            let _incoming = listener.incoming().expect("incoming");
            assert!(connect(&deep).await.is_ok(), "reachable at {path}");
        });
        let _ = std::fs::remove_file(path.path());
    }

    /// A process of another user that reaches the socket anyway (here the file mode is opened
    /// on purpose) is refused by the peer check. Needs root to start that process, as CI is.
    #[cfg(unix)]
    #[test]
    fn another_users_connection_is_refused() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().expect("tempdir");
        if std::fs::metadata(dir.path()).expect("dir").uid() != 0 {
            return eprintln!("skipped: starting a process as another user needs root");
        }
        let Claim::Tray {
            lock: _lock,
            listener,
        } = claim(dir.path()).expect("claim")
        else {
            panic!("first claim is the tray");
        };
        let sock = endpoint(dir.path());
        for p in [dir.path(), sock.path()] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        }
        runtime().block_on(async {
            let mut incoming = listener.incoming().expect("incoming");
            let mut nobody = std::process::Command::new("python3")
                .args(["-c", "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.recv(1)"])
                .arg(sock.path())
                .uid(65534)
                .spawn()
                .expect("python3 as nobody");
            let (_stream, same_user) = incoming.next().await.expect("accept");
            assert!(!same_user, "a process of uid 65534 passed the peer check");
            let _ = nobody.kill();
            let _ = nobody.wait();
        });
    }

    #[test]
    fn the_protocol_round_trips() {
        #[derive(Serialize)]
        struct Args {
            paused: bool,
        }
        let call = Request::Call {
            id: 7,
            command: PanelCommand::encode("set_paused", &Args { paused: true }).expect("encode"),
        };
        let text = line(&call);
        assert_eq!(
            text,
            r#"{"op":"call","id":7,"command":{"name":"set_paused","args":{"paused":true}}}"#
        );
        assert_eq!(serde_json::from_str::<Request>(&text).expect("json"), call);
        // A command without arguments has no `args`, either way.
        #[derive(Serialize)]
        struct NoArgs {}
        let bare = PanelCommand::encode("sync_now", &NoArgs {}).expect("encode");
        assert_eq!(line(&bare), r#"{"name":"sync_now"}"#);
        assert_eq!(
            serde_json::from_str::<PanelCommand>(r#"{"name":"sync_now"}"#).expect("json"),
            bare
        );
        let reply = Push::Reply {
            id: 7,
            result: Err("no".into()),
        };
        assert_eq!(
            serde_json::from_str::<Push>(&line(&reply)).expect("json"),
            reply
        );
    }
}
