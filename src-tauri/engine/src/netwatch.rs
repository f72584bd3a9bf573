//! Notices when the network comes back, so a sync waiting out its backoff (up to 5 minutes)
//! retries at once instead of when its timer fires. Linux: a netlink route socket subscribed to
//! link, address and route changes, read by one thread that sleeps in `recv` (no idle wake-ups,
//! no NetworkManager needed). Elsewhere it does nothing and the backoff timer alone retries.

use std::time::Duration;

/// Bursts (an interface going up brings a link, addresses and routes) become one call, made once
/// no change has come for `settle`, which also gives DHCP and DNS a moment.
pub fn watch(settle: Duration, on_change: impl Fn() + Send + 'static) -> std::io::Result<()> {
    imp::watch(settle, on_change)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::time::Duration;

    use nix::errno::Errno;
    use nix::sys::socket::{
        bind, recv, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
        SockProtocol, SockType,
    };
    use nix::sys::time::TimeVal;

    // rtnetlink multicast groups and message types (linux/rtnetlink.h).
    const RTMGRP_LINK: u32 = 0x1;
    const RTMGRP_IPV4_IFADDR: u32 = 0x10;
    const RTMGRP_IPV4_ROUTE: u32 = 0x40;
    const RTMGRP_IPV6_IFADDR: u32 = 0x100;
    const RTMGRP_IPV6_ROUTE: u32 = 0x400;
    const RTM_NEWLINK: u16 = 16;
    const RTM_NEWADDR: u16 = 20;
    const RTM_NEWROUTE: u16 = 24;

    pub fn watch(settle: Duration, on_change: impl Fn() + Send + 'static) -> std::io::Result<()> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        let groups = RTMGRP_LINK
            | RTMGRP_IPV4_IFADDR
            | RTMGRP_IPV4_ROUTE
            | RTMGRP_IPV6_IFADDR
            | RTMGRP_IPV6_ROUTE;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
        std::thread::Builder::new()
            .name("netwatch".into())
            .spawn(move || run(fd, settle, on_change))?;
        Ok(())
    }

    fn run(fd: OwnedFd, settle: Duration, on_change: impl Fn()) {
        let mut buf = vec![0u8; 16 * 1024];
        let mut pending = false;
        loop {
            // Block forever while nothing is pending; wait at most `settle` for more of a burst.
            let timeout = if pending {
                TimeVal::new(settle.as_secs() as _, settle.subsec_micros() as _)
            } else {
                TimeVal::new(0, 0)
            };
            if let Err(e) = setsockopt(&fd, sockopt::ReceiveTimeout, &timeout) {
                return tracing::warn!(error = %e, "network watch stopped");
            }
            match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) => pending |= has_new_config(&buf[..n]),
                Err(Errno::EAGAIN) if pending => {
                    pending = false;
                    tracing::info!("network configuration changed");
                    on_change();
                }
                // ENOBUFS: the kernel dropped messages for us: something changed.
                Err(Errno::ENOBUFS) => pending = true,
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(e) => return tracing::warn!(error = %e, "network watch stopped"),
            }
        }
    }

    /// Whether a netlink datagram announces a new link state, address or route (deletions are
    /// the network going away: nothing to retry for).
    pub(super) fn has_new_config(mut b: &[u8]) -> bool {
        while b.len() >= 16 {
            let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
            let kind = u16::from_ne_bytes([b[4], b[5]]);
            if matches!(kind, RTM_NEWLINK | RTM_NEWADDR | RTM_NEWROUTE) {
                return true;
            }
            if len < 16 {
                return false;
            }
            let next = (len + 3) & !3;
            b = b.get(next..).unwrap_or(&[]);
        }
        false
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn watch(
        _settle: std::time::Duration,
        _on_change: impl Fn() + Send + 'static,
    ) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::imp::has_new_config;

    fn msg(kind: u16, len: u32) -> Vec<u8> {
        let mut m = len.to_ne_bytes().to_vec();
        m.extend(kind.to_ne_bytes());
        m.extend([0u8; 10]);
        m.resize(len as usize, 0);
        m
    }

    #[test]
    fn new_addresses_and_routes_count_deletions_and_garbage_do_not() {
        assert!(has_new_config(&msg(20, 24)));
        assert!(has_new_config(&[msg(21, 20), msg(24, 28)].concat()));
        assert!(!has_new_config(&msg(21, 24))); // RTM_DELADDR
        assert!(!has_new_config(&msg(25, 16))); // RTM_DELROUTE
        assert!(!has_new_config(&[1, 2, 3]));
        // A header claiming length 0 must not loop forever or read past the buffer.
        let mut zero_len = msg(20, 16);
        zero_len[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert!(has_new_config(&zero_len), "its type is still read");
        let mut bogus = msg(21, 16);
        bogus[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert!(
            !has_new_config(&[bogus, msg(20, 16)].concat()),
            "stops at a bad length"
        );
    }
}
