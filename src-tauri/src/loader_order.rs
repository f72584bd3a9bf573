//! Which shared libraries the panel process (and the WebKit processes it starts, which inherit its
//! environment) gets through `LD_PRELOAD`: only libraries that the tray process, or the last panel
//! process, had loaded, so the panel loads nothing it would not load anyway; preloading changes
//! only their place in the dynamic loader's search order.
//!
//! Why: the loader resolves a library's symbol relocations by walking the process's libraries in
//! order until one defines the symbol. Some libraries' relocations mostly point at their own
//! symbols, so each one walks every library loaded before them. Debian's WebKitGTK 2.50 links the
//! flite speech voices: `libflite_cmu_time_awb`, 79th of 167 libraries, holds 31,279 relocations
//! to its own 31,290 symbols (`perf`: `do_lookup_x`, half of `repxp --version`). Mesa's GL
//! drivers link LLVM (19,279), which WebKit's EGL set-up loads into the panel and web processes,
//! after all 167. Put first, each walk ends at once: a WebKit-linked process starts in 52 instead
//! of 70 ms, and EGL's set-up is shorter too (BENCHMARKS.md "Opening the panel: the loader's
//! order and the page's font").
//! Neither defines a symbol any other library here defines (`nm -D`), so being first changes no
//! lookup's answer.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const VAR: &str = "LD_PRELOAD";

/// File-name prefixes of libraries whose symbol relocations mostly point into themselves:
/// WebKitGTK's flite voice; LLVM as Debian (`libLLVM-15.so.1`) and others (`libLLVM.so.19`) name it.
const SELF_RELOCATING: &[&str] = &["libflite_cmu_time_awb.so", "libLLVM-", "libLLVM.so"];

/// Sets `LD_PRELOAD` for a new panel process: whatever the rep had, then the self-relocating
/// libraries this process has loaded, then those `last_panel` (a panel's maps) had.
pub fn apply(command: &mut std::process::Command, last_panel: &[PathBuf]) {
    // The tray's libraries are those it started with: read once.
    static OWN: OnceLock<Vec<PathBuf>> = OnceLock::new();
    let mut ours = OWN.get_or_init(|| read_maps("/proc/self/maps")).clone();
    for p in last_panel {
        // A library an upgrade removed since: the loader would print an error for it.
        if !ours.contains(p) && p.exists() {
            ours.push(p.clone());
        }
    }
    if let Some(value) = preload_value(&ours, std::env::var_os(VAR).as_deref()) {
        command.env(VAR, value);
    }
}

/// The self-relocating libraries a running process has loaded (read from /proc/PID/maps once
/// its panel is up, so the next panel can have them first).
pub fn loaded_by(pid: u32) -> Vec<PathBuf> {
    read_maps(&format!("/proc/{pid}/maps"))
}

/// Whether process `pid` runs this very binary (as a panel process does).
pub fn runs_this_binary(pid: u32) -> bool {
    let exe = |p: &str| std::fs::read_link(format!("/proc/{p}/exe")).ok();
    exe(&pid.to_string()).is_some_and(|e| Some(e) == exe("self"))
}

/// Line by line: a maps file is ~100 kB, and a tray that kept a buffer that size in a worker
/// thread's heap would not be back at its tray-only memory after the panel closes.
fn read_maps(path: &str) -> Vec<PathBuf> {
    match std::fs::File::open(path) {
        Ok(f) => loaded_self_relocating(BufReader::new(f)),
        Err(e) => {
            tracing::debug!(error = %e, path, "cannot read the loaded libraries");
            Vec::new()
        }
    }
}

/// The new `LD_PRELOAD`, or None when there is nothing of ours to add.
fn preload_value(ours: &[PathBuf], existing: Option<&OsStr>) -> Option<OsString> {
    if ours.is_empty() {
        return None;
    }
    let mut value = OsString::new();
    // The rep's own preloads keep their place in front.
    if let Some(e) = existing.filter(|e| !e.is_empty()) {
        value.push(e);
        value.push(":");
    }
    for (i, p) in ours.iter().enumerate() {
        if i > 0 {
            value.push(":");
        }
        value.push(p);
    }
    Some(value)
}

/// The libraries of [`SELF_RELOCATING`] in a `/proc/<pid>/maps` text, each once, by full path.
fn loaded_self_relocating(mut maps: impl BufRead) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut line = String::new();
    // A line: address perms offset dev inode path; the path is the sixth field, if any. A
    // path with a space or a colon, or one that is "(deleted)", cannot go in LD_PRELOAD as is.
    while matches!(maps.read_line(&mut line), Ok(n) if n > 0) {
        let mut fields = line.split_whitespace();
        if let (Some(path), None) = (fields.nth(5), fields.next()) {
            let path = Path::new(path);
            let named = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| SELF_RELOCATING.iter().any(|p| n.starts_with(p)));
            let listable =
                path.is_absolute() && !path.as_os_str().as_encoded_bytes().contains(&b':');
            if named && listable && !found.iter().any(|f| f == path) {
                found.push(path.to_path_buf());
            }
        }
        line.clear();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLITE: &str = "/usr/lib/x86_64-linux-gnu/libflite_cmu_time_awb.so.2.2";
    const LLVM: &str = "/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1";

    fn maps_with(lines: &[&str]) -> String {
        let mut m = String::from(
            "55d0c0a00000-55d0c0a10000 r--p 00000000 08:01 1234 /usr/bin/repxp\n\
             7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n\
             7ffd1b5a2000-7ffd1b5c3000 rw-p 00000000 00:00 0 [stack]\n",
        );
        for l in lines {
            m.push_str(l);
            m.push('\n');
        }
        m
    }

    #[test]
    fn loaded_flite_and_llvm_are_found_once_each_and_nothing_else() {
        let maps = maps_with(&[
            &format!("7f1000000000-7f1000100000 r--p 00000000 08:01 99 {FLITE}"),
            &format!("7f1000100000-7f1000200000 r-xp 00100000 08:01 99 {FLITE}"),
            "7f2000000000-7f2000100000 r--p 00000000 08:01 98 /usr/lib/x86_64-linux-gnu/libflite.so.2.2",
            &format!("7f3000000000-7f3000100000 r--p 00000000 08:01 97 {LLVM}"),
            "7f4000000000-7f4000100000 r--p 00000000 08:01 96 /usr/lib64/libLLVM.so.19.1",
            "7f5000000000-7f5000100000 r--p 00000000 08:01 95 /usr/lib/libLLVMSPIRVLib.so.15",
        ]);
        let found = loaded_self_relocating(maps.as_bytes());
        let want: Vec<PathBuf> = [FLITE, LLVM, "/usr/lib64/libLLVM.so.19.1"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(found, want);
        assert_eq!(
            preload_value(&found[..2], None),
            Some(OsString::from(format!("{FLITE}:{LLVM}")))
        );
    }

    #[test]
    fn the_reps_own_preload_stays_in_front() {
        let ours = [PathBuf::from(FLITE)];
        let v = preload_value(&ours, Some(OsStr::new("/opt/a.so")));
        assert_eq!(v, Some(OsString::from(format!("/opt/a.so:{FLITE}"))));
        let v = preload_value(&ours, Some(OsStr::new("")));
        assert_eq!(v, Some(OsString::from(FLITE)));
    }

    #[test]
    fn nothing_changes_where_none_is_loaded_or_the_file_is_gone() {
        assert!(loaded_self_relocating(maps_with(&[]).as_bytes()).is_empty());
        assert_eq!(preload_value(&[], Some(OsStr::new("/opt/a.so"))), None);
        let gone = maps_with(&[&format!("7f10-7f11 r--p 0 08:01 99 {FLITE} (deleted)")]);
        assert!(loaded_self_relocating(gone.as_bytes()).is_empty());
    }

    /// A real process: this test's own maps, read as the tray reads a panel's.
    #[test]
    fn a_process_maps_are_read_by_pid() {
        let own = std::fs::read_to_string("/proc/self/maps").expect("maps");
        assert_eq!(
            loaded_by(std::process::id()),
            loaded_self_relocating(own.as_bytes())
        );
        assert!(loaded_by(u32::MAX).is_empty(), "no such process: nothing");
    }

    #[test]
    fn only_a_process_of_this_binary_counts_as_a_panel() {
        assert!(runs_this_binary(std::process::id()));
        let mut other = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        assert!(!runs_this_binary(other.id()));
        let _ = other.kill();
        let _ = other.wait();
        assert!(!runs_this_binary(u32::MAX));
    }
}
