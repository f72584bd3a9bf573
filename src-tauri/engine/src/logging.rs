//! Logs: `tracing` to stderr and to a size-capped file in the data directory's `logs/`, so
//! "send me your log" has one answer (`doctor` shows the directory). The API key is never logged:
//! it only ever sits in an [`crate::secrets::ApiKey`], whose `Debug` is redacted.
//!
//! One writer per file. Each process role has its own file (`tray.log`, `panel.log`, `cli.log`,
//! `run.log`), and a process writes a file only while it holds the file's lock (`tray.lock`, …,
//! [`std::fs::File::try_lock`], released by the OS when the process ends, however it ends). Two
//! processes of one role at once (two CLI calls from a script, a second launch of the app while
//! the tray runs, a `run` waiting for the tray) are normal, so a role has [`SLOTS`] files: the
//! second takes `cli-2.log`, and so on; with every slot taken a process logs to stderr only. So
//! the writer's byte count is the file's size, and the cap holds: at most [`SLOTS`] × 2 files of
//! [`MAX_LOG_BYTES`] a role, where per-pid files would pile up one per call.
//!
//! The cap holds when rotation fails too: a file that cannot be moved to `<name>.1` (on Windows,
//! another program has it open) is truncated in place instead, and one that cannot be truncated
//! either is no longer written (retried a minute later). Either is said once on stderr, and a
//! truncated file starts with a line saying why.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// A log file's size cap; past it the file moves to `<name>.1` (the one kept old file).
pub const MAX_LOG_BYTES: u64 = 1024 * 1024;

/// Files a role may have at once: one per process of that role running at the same time.
pub const SLOTS: u32 = 4;

/// How long a file that could neither be rotated nor truncated goes unwritten before a new try.
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// What a process is, and so which log file it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The desktop app's tray process (also a second launch, which only asks it to open the panel).
    Tray,
    /// The desktop app's panel window process (`--panel-process`).
    Panel,
    /// One command of `repxp-cli` or `repxp <command>`, `run` aside.
    Cli,
    /// `repxp-cli run` / `repxp run`: the sync without the tray.
    Run,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Tray => "tray",
            Role::Panel => "panel",
            Role::Cli => "cli",
            Role::Run => "run",
        }
    }

    /// The stem of slot `slot` (1-based): `cli`, `cli-2`, ….
    fn stem(self, slot: u32) -> String {
        match slot {
            1 => self.name().to_string(),
            n => format!("{}-{n}", self.name()),
        }
    }
}

/// Where the first log file of `role` is (`logs/cli.log`); a process that found it taken writes
/// `cli-2.log` and so on ([`init`] returns the one it took).
pub fn log_file(data_dir: &Path, role: Role) -> PathBuf {
    crate::paths::log_dir(data_dir).join(format!("{}.log", role.stem(1)))
}

/// `<path>.1`: where a full log file moves.
fn rotated(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".1");
    path.with_file_name(name)
}

/// A log file this process alone writes, for as long as the value (and its lock) lives.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
    /// Locked; the lock goes with it.
    _lock: File,
}

impl Claim {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the first free slot of `role` in `log_dir`: `Ok(None)` when other processes hold all
/// [`SLOTS`].
pub fn claim(log_dir: &Path, role: Role) -> std::io::Result<Option<Claim>> {
    std::fs::create_dir_all(log_dir)?;
    for slot in 1..=SLOTS {
        let stem = role.stem(slot);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(log_dir.join(format!("{stem}.lock")))?;
        match lock.try_lock() {
            Ok(()) => {
                return Ok(Some(Claim {
                    path: log_dir.join(format!("{stem}.log")),
                    _lock: lock,
                }))
            }
            Err(std::fs::TryLockError::WouldBlock) => continue,
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    Ok(None)
}

struct State {
    path: PathBuf,
    /// `None` while the file could be neither rotated nor truncated.
    file: Option<File>,
    /// Bytes in the file: this process is its only writer, so the count is the size.
    len: u64,
    cap: u64,
    retry_after: Duration,
    /// When a file that was given up on is tried again.
    retry_at: Option<Instant>,
    /// What went wrong with rotation was said on stderr (once a process).
    told_truncated: bool,
    told_stopped: bool,
    /// How often rotation fell back to truncating or stopping (for tests and curiosity).
    fallbacks: u64,
    /// Held for as long as the file is written.
    _claim: Option<Claim>,
}

/// A file that rolls over to `<name>.1` before it would pass its cap ([`MAX_LOG_BYTES`]): at most
/// twice the cap on disk, plus one line when a single line is longer than the cap.
#[derive(Clone)]
pub struct CappedFile {
    inner: Arc<Mutex<State>>,
}

impl CappedFile {
    /// The log file of `claim`, capped at [`MAX_LOG_BYTES`].
    pub fn open_claimed(claim: Claim) -> std::io::Result<CappedFile> {
        let path = claim.path.clone();
        CappedFile::open_with(&path, MAX_LOG_BYTES, RETRY_AFTER, Some(claim))
    }

    /// `path` capped at `cap`, for a caller that knows it is the file's only writer.
    pub fn open(path: &Path, cap: u64) -> std::io::Result<CappedFile> {
        CappedFile::open_with(path, cap, RETRY_AFTER, None)
    }

    fn open_with(
        path: &Path,
        cap: u64,
        retry_after: Duration,
        claim: Option<Claim>,
    ) -> std::io::Result<CappedFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        let len = f.metadata()?.len();
        Ok(CappedFile {
            inner: Arc::new(Mutex::new(State {
                path: path.to_path_buf(),
                file: Some(f),
                len,
                cap,
                retry_after,
                retry_at: None,
                told_truncated: false,
                told_stopped: false,
                fallbacks: 0,
                _claim: claim,
            })),
        })
    }

    /// How many times rotation could not move the file and truncated it or stopped writing it.
    pub fn fallbacks(&self) -> u64 {
        self.inner.lock().map_or(0, |s| s.fallbacks)
    }
}

impl State {
    /// Makes room: `<name>` moves to `<name>.1`, or, if it cannot, is emptied in place, or, if
    /// that fails too, is left alone and not written until [`State::retry_after`] has passed.
    /// Never anything that lets the file grow past the cap. No `tracing` in here: this runs
    /// inside the subscriber.
    fn rotate(&mut self) {
        // Closed first: Windows renames a file another handle has open only with sharing.
        self.file = None;
        let old = rotated(&self.path);
        let moved = match std::fs::rename(&self.path, &old) {
            // Gone (deleted by hand): nothing to keep, a new file is all it takes.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            moved => moved,
        };
        let Err(rename_error) = moved else {
            match OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
            {
                Ok(f) => {
                    self.file = Some(f);
                    self.len = 0;
                    self.retry_at = None;
                }
                Err(e) => {
                    self.fallbacks += 1;
                    self.stop(&format!("cannot reopen it after rotation: {e}"));
                }
            }
            return;
        };
        self.fallbacks += 1;
        let truncated = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&self.path)
            .and_then(|f| {
                drop(f);
                OpenOptions::new().append(true).open(&self.path)
            });
        match truncated {
            Ok(mut f) => {
                let note = format!(
                    "[repxp logging] could not move this file to {} ({rename_error}); emptied it \
                     in place to keep it under {} bytes: older lines are gone\n",
                    old.display(),
                    self.cap
                );
                self.len = match f.write_all(note.as_bytes()) {
                    Ok(()) => note.len() as u64,
                    Err(_) => 0,
                };
                self.file = Some(f);
                self.retry_at = None;
                if !self.told_truncated {
                    self.told_truncated = true;
                    eprintln!(
                        "repxp: log file {} reached {} bytes and could not be moved to {} \
                         ({rename_error}); it was emptied in place instead (said once)",
                        self.path.display(),
                        self.cap,
                        old.display()
                    );
                }
            }
            Err(e) => self.stop(&format!(
                "cannot move it to {} ({rename_error}) nor empty it ({e})",
                old.display()
            )),
        }
    }

    fn stop(&mut self, why: &str) {
        self.file = None;
        self.retry_at = Some(Instant::now() + self.retry_after);
        if !self.told_stopped {
            self.told_stopped = true;
            eprintln!(
                "repxp: log file {} is full and {why}; not writing it for now (said once)",
                self.path.display()
            );
        }
    }
}

impl Write for CappedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| std::io::Error::other("log lock poisoned"))?;
        let s = &mut *guard;
        let n = buf.len() as u64;
        match s.retry_at {
            // Given up on for now: the line goes to stderr's layer only.
            Some(at) if Instant::now() < at => return Ok(buf.len()),
            Some(_) => s.rotate(),
            None if s.len > 0 && s.len + n > s.cap => s.rotate(),
            None => {}
        }
        let Some(f) = s.file.as_mut() else {
            return Ok(buf.len());
        };
        f.write_all(buf)?;
        s.len += n;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CappedFile {
    type Writer = CappedFile;
    fn make_writer(&'a self) -> CappedFile {
        self.clone()
    }
}

/// The file's levels: info for RepXP's crates, warn for libraries.
const FILE_FILTER: &str = "warn,repxp=info,repxp_engine=info,repxp_cli=info,repxp_award_api=info";

/// What the first [`init`] of this process returned.
static INITIALISED: OnceLock<Result<PathBuf, (std::io::ErrorKind, String)>> = OnceLock::new();

/// Installs the subscriber: stderr at `stderr_default` (RUST_LOG overrides), the file of `role`
/// at info for RepXP and warn for libraries. Returns the file written. If no file can be written
/// (read-only or full disk, every slot of the role taken), logging goes on to stderr only and the
/// error is returned for the caller to mention or not. Once a process: a later call changes
/// nothing and returns what the first did.
pub fn init(data_dir: &Path, role: Role, stderr_default: &str) -> std::io::Result<PathBuf> {
    let first = INITIALISED.get_or_init(|| {
        let stderr_filter =
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(stderr_default));
        let stderr = fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(stderr_filter);
        let dir = crate::paths::log_dir(data_dir);
        let file = claim(&dir, role).and_then(|c| {
            let c = c.ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    format!(
                        "{SLOTS} other {} processes write every {} log file in {}",
                        role.name(),
                        role.name(),
                        dir.display()
                    ),
                )
            })?;
            let path = c.path.clone();
            CappedFile::open_claimed(c).map(|f| (path, f))
        });
        let layer = file.as_ref().ok().map(|(_, f)| {
            fmt::layer()
                .with_ansi(false)
                .with_writer(f.clone())
                .with_filter(EnvFilter::new(FILE_FILTER))
        });
        let installed = tracing_subscriber::registry()
            .with(stderr)
            .with(layer)
            .try_init();
        // Someone else's subscriber (a test harness): the file, and its lock, are let go.
        let file = match installed {
            Ok(()) => file,
            Err(e) => Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, e)),
        };
        file.map(|(path, _)| path)
            .map_err(|e| (e.kind(), e.to_string()))
    });
    first
        .clone()
        .map_err(|(kind, msg)| std::io::Error::new(kind, msg))
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    fn size(p: &Path) -> u64 {
        std::fs::metadata(p).map_or(0, |m| m.len())
    }

    /// Lines of 1 to 300 bytes, as varied as log lines.
    fn line(i: usize) -> Vec<u8> {
        let mut l = vec![b'x'; 1 + (i * 37) % 300];
        *l.last_mut().expect("one byte") = b'\n';
        l
    }

    #[test]
    fn the_cap_holds_over_many_writes_and_the_file_rolls_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("logs").join("cli.log");
        let cap = 10_000;
        let mut f = CappedFile::open(&path, cap).expect("open");
        let mut written = 0u64;
        for i in 0..5_000 {
            let l = line(i);
            f.write_all(&l).expect("write");
            written += l.len() as u64;
            let main = size(&path);
            assert!(main <= cap, "write {i}: {main} bytes");
        }
        let old = size(&rotated(&path));
        assert!(
            old > cap - 300 && old <= cap,
            "rolled file holds {old} bytes"
        );
        assert!(written > 10 * cap);
        assert_eq!(f.fallbacks(), 0);
        // The newest line is in the file, whole.
        let text = std::fs::read(&path).expect("read");
        assert!(text.ends_with(&line(4_999)));
    }

    #[test]
    fn a_line_longer_than_the_cap_is_the_only_excess() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("run.log");
        let cap = 1_000;
        let mut f = CappedFile::open(&path, cap).expect("open");
        f.write_all(&[b'a'; 600]).expect("write");
        f.write_all(&[b'b'; 2_500]).expect("write");
        assert_eq!(size(&path), 2_500, "the long line alone");
        f.write_all(&[b'c'; 10]).expect("write");
        assert_eq!(size(&path), 10);
        assert_eq!(size(&rotated(&path)), 2_500);
    }

    /// `.1` a non-empty directory: the rename fails on every platform.
    fn block_rotation(path: &Path) {
        let old = rotated(path);
        std::fs::create_dir_all(&old).expect("dir");
        std::fs::write(old.join("keep"), b"x").expect("file");
    }

    #[test]
    fn a_failed_rename_truncates_under_the_cap_and_says_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tray.log");
        block_rotation(&path);
        let cap = 4_000;
        let mut f = CappedFile::open(&path, cap).expect("open");
        for i in 0..3_000 {
            f.write_all(&line(i)).expect("write");
            let main = size(&path);
            assert!(main <= cap, "write {i}: {main} bytes");
        }
        assert!(f.fallbacks() > 10, "truncated {} times", f.fallbacks());
        assert!(rotated(&path).join("keep").exists());
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.starts_with("[repxp logging] could not move this file to "),
            "{}",
            text.chars().take(80).collect::<String>()
        );
    }

    // Unix only: on Windows a file open for writing cannot become a directory (its name stays
    // taken while the handle lives; Wine 8 answers "File already exists"), so this cannot happen.
    #[cfg(unix)]
    #[test]
    fn a_file_neither_moved_nor_emptied_is_no_longer_written_then_retried() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("panel.log");
        let cap = 1_000;
        let mut f = CappedFile::open_with(&path, cap, Duration::ZERO, None).expect("open");
        f.write_all(&[b'a'; 900]).expect("write");
        // The file becomes a directory: no rename onto the blocked `.1`, no truncating it.
        std::fs::remove_file(&path).expect("rm");
        block_rotation(&path);
        std::fs::create_dir(&path).expect("dir");
        std::fs::write(path.join("inside"), b"x").expect("file");
        f.write_all(&[b'b'; 200]).expect("swallowed, not an error");
        assert_eq!(f.fallbacks(), 1);
        f.write_all(&[b'b'; 200]).expect("swallowed, not an error");
        assert_eq!(
            f.fallbacks(),
            2,
            "retried (at once: the test's retry delay is 0)"
        );
        // Once the way is clear again, the file is written again.
        std::fs::remove_dir_all(&path).expect("rm");
        std::fs::remove_dir_all(rotated(&path)).expect("rm");
        f.write_all(&[b'c'; 10]).expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), vec![b'c'; 10]);
    }

    #[test]
    fn a_role_has_one_writer_per_file_in_a_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let claims: Vec<Claim> = (0..SLOTS)
            .map(|_| {
                claim(dir.path(), Role::Cli)
                    .expect("claim")
                    .expect("a slot")
            })
            .collect();
        let names: Vec<_> = claims
            .iter()
            .map(|c| c.path().file_name().expect("name").to_owned())
            .collect();
        assert_eq!(names, ["cli.log", "cli-2.log", "cli-3.log", "cli-4.log"]);
        assert!(claim(dir.path(), Role::Cli).expect("claim").is_none());
        // Other roles have their own files.
        let tray = claim(dir.path(), Role::Tray).expect("claim").expect("slot");
        assert!(tray.path().ends_with("tray.log"));
        assert_eq!(
            log_file(Path::new("data"), Role::Tray),
            Path::new("data").join("logs").join("tray.log")
        );
        drop(claims);
        let again = claim(dir.path(), Role::Cli)
            .expect("claim")
            .expect("a slot");
        assert!(
            again.path().ends_with("cli.log"),
            "a freed slot is taken again"
        );
    }

    const CHILD_DIR: &str = "REPXP_LOGGING_TEST_CHILD_DIR";
    const CHILD_MODE: &str = "REPXP_LOGGING_TEST_CHILD_MODE";

    /// This test binary again, running only `test` with `mode` and `dir` in its environment.
    fn child(test: &str, mode: &str, dir: &Path) -> Command {
        let mut c = Command::new(std::env::current_exe().expect("test binary"));
        c.args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir)
            .env(CHILD_MODE, mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// As a child: claims a CLI slot, prints it, and holds it until stdin closes.
    #[test]
    fn concurrent_processes_of_one_role_never_share_a_file() {
        const TEST: &str = "logging::tests::concurrent_processes_of_one_role_never_share_a_file";
        if let Some(dir) = std::env::var_os(CHILD_DIR) {
            if std::env::var(CHILD_MODE).as_deref() == Ok("claim") {
                let c = claim(Path::new(&dir), Role::Cli).expect("claim");
                let name = c.as_ref().map_or("none".into(), |c| {
                    c.path()
                        .file_name()
                        .expect("name")
                        .to_string_lossy()
                        .into_owned()
                });
                // A file, not stdout: the parent's read must not depend on libtest's output.
                let said = Path::new(&dir).join(format!("claimed-{}", std::process::id()));
                let tmp = said.with_extension("tmp");
                std::fs::write(&tmp, name).expect("say what was claimed");
                std::fs::rename(&tmp, &said).expect("say it at once");
                let _ = std::io::stdin().read_line(&mut String::new());
            }
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mine = claim(dir.path(), Role::Cli).expect("claim").expect("slot");
        let mut children = Vec::new();
        let mut got = vec![mine
            .path()
            .file_name()
            .expect("n")
            .to_string_lossy()
            .into_owned()];
        for _ in 0..SLOTS {
            let mut c = child(TEST, "claim", dir.path())
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn");
            let said = dir.path().join(format!("claimed-{}", c.id()));
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            let claimed = loop {
                if let Ok(name) = std::fs::read_to_string(&said) {
                    break name;
                }
                if std::time::Instant::now() > deadline || c.try_wait().ok().flatten().is_some() {
                    let _ = c.kill();
                    panic!("the child did not say what it claimed");
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            };
            got.push(claimed);
            children.push(c);
        }
        for mut c in children {
            drop(c.stdin.take());
            let status = c.wait().expect("wait");
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(&mut c.stderr.take().expect("e"), &mut err);
            assert!(status.success(), "{err}");
        }
        assert_eq!(
            got,
            ["cli.log", "cli-2.log", "cli-3.log", "cli-4.log", "none"]
        );
        // The children are gone, and their slots with them.
        let next = claim(dir.path(), Role::Cli).expect("claim").expect("slot");
        assert!(next.path().ends_with("cli-2.log"));
    }

    /// As a child: writes past the cap of a file whose rotation is blocked.
    #[test]
    fn a_failed_rotation_is_said_once_on_stderr() {
        const TEST: &str = "logging::tests::a_failed_rotation_is_said_once_on_stderr";
        if let Some(dir) = std::env::var_os(CHILD_DIR) {
            if std::env::var(CHILD_MODE).as_deref() == Ok("blocked") {
                let path = Path::new(&dir).join("cli.log");
                block_rotation(&path);
                let mut f = CappedFile::open(&path, 2_000).expect("open");
                for i in 0..1_000 {
                    f.write_all(&line(i)).expect("write");
                }
            }
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = child(TEST, "blocked", dir.path());
        c.stdin(Stdio::null());
        let out = c.output().expect("run");
        assert!(out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let said: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("repxp: log file"))
            .collect();
        assert_eq!(said.len(), 1, "{stderr}");
        assert!(said[0].contains("could not be moved to"), "{}", said[0]);
        assert!(size(&dir.path().join("cli.log")) <= 2_000);
    }
}
