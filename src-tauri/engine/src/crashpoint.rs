//! Named points in the sync where the fault-matrix test stops this process to kill it with
//! SIGKILL (src-tauri/cli/tests/fault_matrix.rs). Inert unless `REPXP_CRASHPOINT` names the point:
//! then the process announces it on stderr and waits to be killed, so the kill lands exactly there.

use std::sync::OnceLock;

pub const ENV: &str = "REPXP_CRASHPOINT";

/// After the record was read for a push (and kept as the snapshot), before the write.
pub const AFTER_READ: &str = "after_read";
/// After the claim is recorded, before the write request goes out.
pub const BEFORE_SEND: &str = "before_send";
/// After Twenty answered a write (applied), before the acknowledgement is committed.
pub const AFTER_REPLY: &str = "after_reply";
/// After a pull read the record, before the snapshot is written.
pub const BEFORE_PULL_SAVE: &str = "before_pull_save";

pub fn hit(point: &str) {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var(ENV).ok());
    if wanted.as_deref() == Some(point) {
        eprintln!("repxp-crashpoint: {point}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
