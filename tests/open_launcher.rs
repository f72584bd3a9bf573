//! `repxp-open`, the desktop entry's launcher, as a real process: it asks a listening tray for
//! the panel, or becomes `repxp --open-panel` beside it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output};

use repxp_control::{claim, line, Claim, Push, Request};

const OPEN: &str = env!("CARGO_BIN_EXE_repxp-open");

fn open(binary: &Path, dir: &Path) -> Output {
    Command::new(binary)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("REPXP_DATA_DIR")
        .env_remove("RUST_LOG")
        .output()
        .expect("run repxp-open")
}

#[test]
fn with_a_tray_running_it_asks_for_the_panel_and_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Claim::Tray {
        listener,
        lock: _lock,
    } = claim(dir.path()).expect("claim")
    else {
        panic!("the test is the tray");
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut incoming = rt
        .block_on(async { listener.incoming() })
        .expect("incoming");
    // The tray's side, on a thread of its own while the launcher runs.
    let tray = std::thread::spawn(move || {
        rt.block_on(async {
            use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
            let (stream, same_user) = incoming.next().await.expect("accept");
            let (read, mut write) = tokio::io::split(stream);
            let mut asked = String::new();
            tokio::io::BufReader::new(read)
                .read_line(&mut asked)
                .await
                .expect("read");
            let done = format!("{}\n", line(&Push::Focus));
            write.write_all(done.as_bytes()).await.expect("answer");
            (
                serde_json::from_str::<Request>(&asked).expect("json"),
                same_user,
            )
        })
    });
    let out = open(Path::new(OPEN), dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "RepXP is already running; its panel is open."
    );
    assert_eq!(tray.join().expect("tray"), (Request::OpenPanel, true));
}

/// With no tray, the launcher turns into the `repxp` beside it (same process: the session sees
/// one app, not a launcher that waits), passing the data directory and asking for the panel.
#[cfg(unix)]
#[test]
fn with_no_tray_it_becomes_the_app_beside_it() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = tempfile::tempdir().expect("bin dir");
    let launcher = bin.path().join("repxp-open");
    std::fs::copy(OPEN, &launcher).expect("copy repxp-open");
    let seen = dir.path().join("seen");
    let app = bin.path().join("repxp");
    let mut script = std::fs::File::create(&app).expect("fake repxp");
    writeln!(
        script,
        "#!/bin/sh\necho \"$$ $*\" > '{}'\necho started",
        seen.display()
    )
    .expect("write");
    drop(script);
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let child = Command::new(&launcher)
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn repxp-open");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "started");
    let seen = std::fs::read_to_string(&seen).expect("the app ran");
    assert_eq!(
        seen.trim(),
        format!("{pid} --data-dir {} --open-panel", dir.path().display()),
        "exec'd in the launcher's own process, with its data directory"
    );
}

#[test]
fn with_no_tray_and_no_app_beside_it_it_says_so_in_the_log_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = tempfile::tempdir().expect("bin dir");
    let launcher = bin
        .path()
        .join(format!("repxp-open{}", std::env::consts::EXE_SUFFIX));
    std::fs::copy(OPEN, &launcher).expect("copy repxp-open");
    let out = open(&launcher, dir.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("RepXP's app is not installed beside"), "{err}");
    assert_eq!(
        err.matches("not installed beside").count(),
        1,
        "said once: {err}"
    );
    let log = std::fs::read_to_string(dir.path().join("logs").join("cli.log")).expect("cli.log");
    let last = BufReader::new(log.as_bytes())
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.contains("repxp-open"))
        .last();
    assert!(
        last.is_some_and(|l| l.contains("not installed beside")),
        "{log}"
    );
}
