//! The network watch on a real netlink socket: adding addresses (what DHCP does when a laptop
//! rejoins a network) is noticed, and a burst of changes becomes one call. Adds two test addresses
//! to the loopback interface, so it needs root (CI runs as root), like storage_faults.rs.
#![cfg(target_os = "linux")]

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Removes the test addresses even if an assertion fails.
struct Addresses(&'static [&'static str]);

impl Drop for Addresses {
    fn drop(&mut self) {
        for a in self.0 {
            ip(&["addr", "del", a, "dev", "lo"]);
        }
    }
}

#[test]
fn a_new_address_is_noticed_once_per_burst() {
    let (tx, rx) = mpsc::channel();
    repxp_engine::netwatch::watch(Duration::from_millis(300), move || {
        let _ = tx.send(());
    })
    .expect("netlink socket");
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "nothing changed yet"
    );
    let added = Addresses(&["10.254.254.1/32", "10.254.254.2/32"]);
    for a in added.0 {
        assert!(
            ip(&["addr", "add", a, "dev", "lo"]),
            "this test adds an address to lo and needs root (iproute2's ip)"
        );
    }
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the new addresses were noticed");
    assert!(
        rx.recv_timeout(Duration::from_millis(900)).is_err(),
        "two addresses and their routes are one burst, so one call"
    );
    drop(added);
    assert!(
        rx.recv_timeout(Duration::from_millis(900)).is_err(),
        "removing addresses is not a reason to retry"
    );
}
