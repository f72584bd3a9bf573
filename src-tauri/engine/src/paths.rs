//! Where RepXP keeps its files. The CLI and the desktop app resolve the same directory, so both
//! write the same database.

use std::path::PathBuf;

/// Environment variable naming the data directory (overrides the OS default).
pub const DATA_DIR_ENV: &str = "REPXP_DATA_DIR";

/// `explicit` (from `--data-dir`) if given, else `$REPXP_DATA_DIR`, else the OS's local data
/// directory (`~/.local/share/repxp` on Linux, `~/Library/Application Support/repxp` on macOS,
/// `%LOCALAPPDATA%\repxp` on Windows), else `./repxp-data` as a last resort. Local, not
/// Windows' roaming profile (`%APPDATA%`), which is copied to a server at every sign-out: no place
/// for a live SQLite database and its WAL; Linux and macOS have one directory for both.
pub fn data_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| {
            std::env::var_os(DATA_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| dirs::data_local_dir().map(|d| d.join("repxp")))
        .unwrap_or_else(|| PathBuf::from("repxp-data"))
}

/// Where the log file goes: `logs/` inside the data directory, so "send me your log" and "back up
/// your data" point at one place.
pub fn log_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("logs")
}

/// FNV-1a of `bytes`: stable across runs, builds and platforms (std's hasher is not), for file
/// names derived from a path.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
