//! Storage faults on real filesystems: a full disk and a read-only data directory, each on a
//! small tmpfs this test mounts (CI runs as root). Clear errors, and nothing acknowledged is lost.
//! Linux only: a tmpfs mount is how a full disk is made here (Windows has neither; under Wine the
//! same files live on this Linux filesystem anyway).
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CLI: &str = env!("CARGO_BIN_EXE_repxp-cli");

/// A tmpfs of `size`, unmounted on drop (then its mount point, a temp dir, is removed).
struct Tmpfs {
    path: PathBuf,
    _mount_point: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a tmpfs and needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            path: dir.path().to_path_buf(),
            _mount_point: dir,
        }
    }

    fn remount(&self, opt: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{opt}")])
            .arg(&self.path)
            .status()
            .expect("remount");
        assert!(st.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(CLI)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run repxp-cli")
}

fn xp(dir: &Path) -> i64 {
    let out = cli(dir, &["status", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["xp"].as_i64().expect("xp")
}

#[test]
fn a_full_disk_is_a_clear_error_and_loses_no_acknowledged_award() {
    let fs = Tmpfs::mount("400k");
    let data = fs.path.join("data");
    let mut acked = 0i64;
    let mut error = None;
    // Long sources make each row big so the disk fills in a few hundred awards.
    let source = "s".repeat(120);
    for i in 0..20_000 {
        let out = cli(&data, &["award", "3", "--source", &format!("{source}{i}")]);
        if out.status.success() {
            acked += 3;
        } else {
            error = Some(String::from_utf8_lossy(&out.stderr).to_string());
            break;
        }
    }
    let error = error.expect("the disk filled up");
    assert!(error.contains("full") || error.contains("disk"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(!error.contains("panicked"), "{error}");
    // Make room (as a rep would) and everything acknowledged is still there.
    fs.remount("size=4m");
    assert_eq!(xp(&data), acked);
    assert!(cli(&data, &["award", "5"]).status.success());
    assert_eq!(xp(&data), acked + 5);
}

#[test]
fn a_read_only_data_directory_is_a_clear_error_and_keeps_the_data() {
    let fs = Tmpfs::mount("4m");
    let data = fs.path.join("data");
    assert!(cli(&data, &["award", "40"]).status.success());
    fs.remount("ro");
    let out = cli(&data, &["award", "2"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("read-only") || err.contains("not writable"),
        "{err}"
    );
    assert!(err.contains("repxp.db"), "names the file: {err}");
    fs.remount("rw");
    assert_eq!(xp(&data), 40);
}

/// A sync whose acknowledgement cannot be written (the disk filled while Twenty applied the
/// batch) must not diverge for good: once there is room, the next sync recognises the applied
/// batch and Twenty's total stays exact, neither lost nor counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_cut_short_by_a_full_disk_converges_exactly_once_there_is_room() {
    use fake_twenty::{FakeConfig, FakeTwenty, Fault, FaultKind};

    let fake = FakeTwenty::start(FakeConfig::default())
        .await
        .expect("fake");
    let fs = Tmpfs::mount("1m");
    let data = fs.path.join("data");
    let env = [
        ("REPXP_TWENTY_URL", fake.url()),
        ("REPXP_REP_EMAIL", "disk.full@acme.test".to_string()),
        ("REPXP_TWENTY_API_KEY", fake.api_key()),
        ("REPXP_HTTP_TIMEOUT_MS", "20000".to_string()),
    ];
    let run = move |dir: PathBuf, args: &[&str]| {
        let env = env.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            Command::new(CLI)
                .arg("--data-dir")
                .arg(&dir)
                .args(&args)
                .env_remove("REPXP_DATA_DIR")
                .envs(env)
                .output()
                .expect("run repxp-cli")
        })
    };
    // `ok(args)`: runs repxp-cli and insists it succeeded.
    let ok = |args: &[&str]| {
        let running = run(data.clone(), args);
        async move {
            let out = running.await.expect("join");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        }
    };
    // A first sync creates the record; the one cut short below updates it (a record write).
    ok(&["award", "1"]).await;
    ok(&["sync"]).await;
    let mut awarded = 1;
    for amount in [100, 250, 40, 7, 3] {
        ok(&["award", &amount.to_string()]).await;
        awarded += amount;
    }
    // The write is held for 2 s: time to fill the disk between "sent" and "reply arrives".
    fake.set_fault(Fault {
        kind: FaultKind::Delay { ms: 2000 },
        times: Some(1),
        method: Some("WRITE".into()),
    });
    let syncing = run(data.clone(), &["sync"]);
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    let filler = fs.path.join("filler");
    fill(&filler);
    let out = syncing.await.expect("join");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "the acknowledgement could not be written, yet sync succeeded"
    );
    assert!(err.contains("full"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let twenty = |f: &FakeTwenty| f.records()[0]["totalXp"].as_i64().expect("totalXp");
    assert_eq!(
        twenty(&fake),
        awarded,
        "Twenty applied the batch before the disk filled"
    );

    std::fs::remove_file(&filler).expect("make room");
    for _ in 0..2 {
        ok(&["sync"]).await;
        assert_eq!(twenty(&fake), awarded, "counted once, not twice");
    }
    assert_eq!(xp(&data), awarded);
    let status = ok(&["status", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(v["pending"], 0, "the queue drained: {v}");
    // And it keeps working: a new award lands on top, once.
    ok(&["award", "5"]).await;
    ok(&["sync"]).await;
    assert_eq!(twenty(&fake), awarded + 5);
}

/// Writes page-sized blocks until the filesystem refuses.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).expect("filler");
    let block = [0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}
