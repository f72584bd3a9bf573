//! Storage faults on real filesystems: a full disk and a read-only data directory, each on a
//! small tmpfs this test mounts (CI runs as root). Clear errors, and nothing acknowledged is lost.

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
