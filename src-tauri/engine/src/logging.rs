//! Logs: `tracing` to stderr and to a size-capped file in the data directory's `logs/`, so
//! "send me your log" has one answer (`doctor` and the panel's About show the path). The API key
//! is never logged: it only ever sits in an [`crate::secrets::ApiKey`], whose `Debug` is redacted.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// The log file's size cap; past it the file moves to `repxp.log.1` (the one kept old file).
pub const MAX_LOG_BYTES: u64 = 1024 * 1024;
pub const LOG_FILE: &str = "repxp.log";

/// A file that rolls over to `<name>.1` when it passes [`MAX_LOG_BYTES`]: at most 2 MiB on disk.
#[derive(Clone)]
pub struct CappedFile {
    inner: Arc<Mutex<(PathBuf, Option<File>, u64)>>,
}

impl CappedFile {
    pub fn open(path: &Path) -> std::io::Result<CappedFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        let len = f.metadata()?.len();
        Ok(CappedFile {
            inner: Arc::new(Mutex::new((path.to_path_buf(), Some(f), len))),
        })
    }
}

impl Write for CappedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut g = self
            .inner
            .lock()
            .map_err(|_| std::io::Error::other("log lock poisoned"))?;
        let (path, file, len) = &mut *g;
        if *len + buf.len() as u64 > MAX_LOG_BYTES {
            *file = None;
            let _ = std::fs::rename(&*path, path.with_extension("log.1"));
            *file = Some(OpenOptions::new().create(true).append(true).open(&*path)?);
            *len = 0;
        }
        let f = file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("log file closed"))?;
        f.write_all(buf)?;
        *len += buf.len() as u64;
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

/// Where the log file of `data_dir` is.
pub fn log_file(data_dir: &Path) -> PathBuf {
    crate::paths::log_dir(data_dir).join(LOG_FILE)
}

/// Installs the subscriber: stderr at `stderr_default` (RUST_LOG overrides), the file at info for
/// RepXP and warn for libraries. If the log file cannot be opened (read-only or full disk),
/// logging goes on to stderr only and the error is returned for the caller to mention or not.
pub fn init(data_dir: &Path, stderr_default: &str) -> std::io::Result<PathBuf> {
    let stderr_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(stderr_default));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(stderr_filter);
    let path = log_file(data_dir);
    let file = CappedFile::open(&path);
    let layer = file.as_ref().ok().map(|f| {
        fmt::layer()
            .with_ansi(false)
            .with_writer(f.clone())
            .with_filter(EnvFilter::new("warn,repxp=info,repxp_engine=info"))
    });
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(layer)
        .try_init();
    file.map(|_| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_file_rolls_over_at_the_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("repxp.log");
        let mut f = CappedFile::open(&path).expect("open");
        let line = vec![b'x'; 1000];
        for _ in 0..2_500 {
            f.write_all(&line).expect("write");
        }
        let main = std::fs::metadata(&path).expect("main").len();
        let old = std::fs::metadata(path.with_extension("log.1"))
            .expect("rolled")
            .len();
        assert!(
            main <= MAX_LOG_BYTES && old <= MAX_LOG_BYTES,
            "{main} {old}"
        );
        assert!(main + old >= 1_000_000);
    }
}
