//! Notices when the network comes back, so a sync waiting out its backoff (up to 5 minutes)
//! retries at once instead of when its timer fires. One thread per process sleeps in a blocking
//! wait for the OS to say something changed: no polling, no wake-up while the network is quiet.
//!
//! - Linux: a netlink route socket subscribed to link, address and route changes (no
//!   NetworkManager needed).
//! - macOS: a `PF_ROUTE` routing socket, read exactly like the netlink one (`RTM_IFINFO` for a
//!   link coming up, `RTM_NEWADDR`, `RTM_ADD` of a non-cloned route).
//! - Windows: `NotifyIpInterfaceChange` and `NotifyUnicastIpAddressChange`; their callbacks run
//!   on a system thread pool and only poke a channel that our thread sleeps on.
//! - Elsewhere it does nothing and the backoff timer alone retries.
//!
//! Hand-written rather than the `netwatcher` crate: on Windows that crate brings the `windows`
//! crate with its IpHelper/Ndis/WinSock modules, `aligned-vec` with the `equator` proc macro and
//! an `android-build` build dependency, into the engine and the CLI too, and it re-lists every
//! interface (GetAdaptersAddresses, getifaddrs) on each event to diff them, which we do not need:
//! "something new appeared" is enough to retry a sync. Here Windows needs only `windows-sys` 0.61
//! (declarations only, already in the engine's tree there) and macOS the `nix` Linux already uses.

use std::time::Duration;

/// Bursts (an interface going up brings a link, addresses and routes) become one call, made once
/// no change has come for `settle`, which also gives DHCP and DNS a moment.
pub fn watch(settle: Duration, on_change: impl Fn() + Send + 'static) -> std::io::Result<()> {
    imp::watch(settle, on_change)
}

/// How one wait for the OS's next word ended.
#[cfg_attr(
    not(any(target_os = "linux", target_os = "macos", windows)),
    allow(dead_code)
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// The network configuration gained something (a link, an address, a route).
    Change,
    /// The timeout passed with nothing new.
    Quiet,
    /// The source is gone or broken: the watch ends (the backoff timer still retries).
    Stop,
}

/// The burst folding shared by every OS: `wait(None)` must block until the next change,
/// `wait(Some(settle))` at most `settle`; `on_change` runs once a change was followed by `settle`
/// of quiet. Separate from the sockets so the policy is tested on every OS.
#[cfg_attr(
    not(any(target_os = "linux", target_os = "macos", windows)),
    allow(dead_code)
)]
fn fold(settle: Duration, mut wait: impl FnMut(Option<Duration>) -> Wait, on_change: impl Fn()) {
    let mut pending = false;
    loop {
        match wait(pending.then_some(settle)) {
            Wait::Change => pending = true,
            Wait::Quiet if pending => {
                pending = false;
                tracing::info!("network configuration changed");
                on_change();
            }
            Wait::Quiet => {}
            Wait::Stop => return,
        }
    }
}

/// Linux's netlink messages. Pure, so tested on every OS.
#[cfg(any(target_os = "linux", test))]
mod netlink {
    // rtnetlink message types (linux/rtnetlink.h).
    const RTM_NEWLINK: u16 = 16;
    const RTM_NEWADDR: u16 = 20;
    const RTM_NEWROUTE: u16 = 24;

    /// Whether a netlink datagram announces a new link state, address or route (deletions are
    /// the network going away: nothing to retry for).
    pub fn has_new_config(mut b: &[u8]) -> bool {
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

/// macOS's routing socket messages. Pure, so tested on every OS; the values are checked against
/// the SDK's (through `libc`) at compile time in the macOS `imp`.
#[cfg(any(target_os = "macos", test))]
mod route {
    // net/route.h and net/if.h.
    pub const RTM_VERSION: u8 = 5;
    pub const RTM_ADD: u8 = 0x1;
    pub const RTM_NEWADDR: u8 = 0xc;
    pub const RTM_IFINFO: u8 = 0xe;
    pub const RTF_LLINFO: i32 = 0x400;
    pub const RTF_WASCLONED: i32 = 0x20000;
    pub const IFF_UP: i32 = 0x1;
    pub const IFF_RUNNING: i32 = 0x40;
    /// Offset of `rtm_flags` in `rt_msghdr` and of `ifm_flags` in `if_msghdr`.
    pub const FLAGS_AT: usize = 8;
    /// Offset of `rtm_errno` in `rt_msghdr`.
    pub const ERRNO_AT: usize = 24;

    /// Whether routing messages announce an interface up and running, a new address or a new
    /// route. Not route clones (ARP/NDP entries and per-destination host routes come and go with
    /// ordinary traffic), failed requests echoed back, or anything going away.
    pub fn has_new_config(mut b: &[u8]) -> bool {
        while b.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
            if len < 4 {
                return false;
            }
            // A message cut short by the buffer is judged on what arrived.
            let msg = &b[..len.min(b.len())];
            if msg[2] == RTM_VERSION && is_new(msg[3], msg) {
                return true;
            }
            b = b.get(len..).unwrap_or(&[]);
        }
        false
    }

    fn is_new(kind: u8, msg: &[u8]) -> bool {
        let int_at = |at: usize| {
            msg.get(at..at + 4)
                .map(|s| i32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
        };
        match kind {
            RTM_NEWADDR => true,
            RTM_IFINFO => {
                int_at(FLAGS_AT).is_some_and(|f| f & (IFF_UP | IFF_RUNNING) == IFF_UP | IFF_RUNNING)
            }
            RTM_ADD => {
                int_at(ERRNO_AT) == Some(0)
                    && int_at(FLAGS_AT).is_some_and(|f| f & (RTF_WASCLONED | RTF_LLINFO) == 0)
            }
            _ => false,
        }
    }
}

/// The blocking socket reader Linux and macOS share: one thread in `recv`, with a receive
/// timeout only while a burst is settling.
#[cfg(any(target_os = "linux", target_os = "macos"))]
mod socket_reader {
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::time::Duration;

    use nix::errno::Errno;
    use nix::sys::socket::{recv, setsockopt, sockopt, MsgFlags};
    use nix::sys::time::TimeVal;

    use super::Wait;

    pub fn spawn(
        fd: OwnedFd,
        settle: Duration,
        on_change: impl Fn() + Send + 'static,
        has_new_config: fn(&[u8]) -> bool,
    ) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("netwatch".into())
            .spawn(move || {
                let mut buf = vec![0u8; 16 * 1024];
                super::fold(
                    settle,
                    |timeout| wait(&fd, &mut buf, timeout, has_new_config),
                    on_change,
                )
            })?;
        Ok(())
    }

    fn wait(
        fd: &OwnedFd,
        buf: &mut [u8],
        timeout: Option<Duration>,
        has_new_config: fn(&[u8]) -> bool,
    ) -> Wait {
        // SO_RCVTIMEO of zero means none: `recv` blocks for good while nothing is pending, so a
        // zero `settle` is rounded up to stay a timeout.
        let tv = match timeout {
            None => TimeVal::new(0, 0),
            Some(d) => {
                let d = d.max(Duration::from_millis(1));
                TimeVal::new(d.as_secs() as _, d.subsec_micros() as _)
            }
        };
        if let Err(e) = setsockopt(fd, sockopt::ReceiveTimeout, &tv) {
            tracing::warn!(error = %e, "network watch stopped");
            return Wait::Stop;
        }
        loop {
            match recv(fd.as_raw_fd(), buf, MsgFlags::empty()) {
                Ok(n) if has_new_config(&buf[..n]) => return Wait::Change,
                // Deletions and unrelated messages neither count nor end the wait early; the
                // next `recv` starts the settle time afresh, as any traffic on the socket does.
                Ok(_) | Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Wait::Quiet,
                // The kernel dropped messages for us: something changed.
                Err(Errno::ENOBUFS) => return Wait::Change,
                Err(e) => {
                    tracing::warn!(error = %e, "network watch stopped");
                    return Wait::Stop;
                }
            }
        }
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    use nix::sys::socket::{
        bind, socket, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType,
    };

    // rtnetlink multicast groups (linux/rtnetlink.h).
    const RTMGRP_LINK: u32 = 0x1;
    const RTMGRP_IPV4_IFADDR: u32 = 0x10;
    const RTMGRP_IPV4_ROUTE: u32 = 0x40;
    const RTMGRP_IPV6_IFADDR: u32 = 0x100;
    const RTMGRP_IPV6_ROUTE: u32 = 0x400;

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
        super::socket_reader::spawn(fd, settle, on_change, super::netlink::has_new_config)
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use std::time::Duration;

    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    use nix::libc;
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};

    use super::route;

    // The hand-copied values the parser (tested on every OS) relies on, against the SDK's.
    const _: () = {
        assert!(route::RTM_VERSION as i32 == libc::RTM_VERSION);
        assert!(route::RTM_ADD as i32 == libc::RTM_ADD);
        assert!(route::RTM_NEWADDR as i32 == libc::RTM_NEWADDR);
        assert!(route::RTM_IFINFO as i32 == libc::RTM_IFINFO);
        assert!(route::RTF_LLINFO == libc::RTF_LLINFO);
        assert!(route::RTF_WASCLONED == libc::RTF_WASCLONED);
        assert!(route::IFF_UP == libc::IFF_UP);
        assert!(route::IFF_RUNNING == libc::IFF_RUNNING);
        assert!(std::mem::offset_of!(libc::rt_msghdr, rtm_type) == 3);
        assert!(std::mem::offset_of!(libc::if_msghdr, ifm_type) == 3);
        assert!(std::mem::offset_of!(libc::ifa_msghdr, ifam_type) == 3);
        assert!(std::mem::offset_of!(libc::rt_msghdr, rtm_flags) == route::FLAGS_AT);
        assert!(std::mem::offset_of!(libc::if_msghdr, ifm_flags) == route::FLAGS_AT);
        assert!(std::mem::offset_of!(libc::rt_msghdr, rtm_errno) == route::ERRNO_AT);
    };

    pub fn watch(settle: Duration, on_change: impl Fn() + Send + 'static) -> std::io::Result<()> {
        // Every routing message of every family comes to a PF_ROUTE socket (macOS has no
        // ROUTE_MSGFILTER): the parser keeps what matters.
        let fd = socket(AddressFamily::Route, SockType::Raw, SockFlag::empty(), None)?;
        // No SOCK_CLOEXEC on macOS; the app starts the panel as a child process, which must not
        // inherit the socket.
        fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        super::socket_reader::spawn(fd, settle, on_change, route::has_new_config)
    }
}

#[cfg(windows)]
mod imp {
    use std::ffi::c_void;
    use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
    use std::time::Duration;

    use windows_sys::Win32::Foundation::{HANDLE, NO_ERROR};
    use windows_sys::Win32::NetworkManagement::IpHelper::{
        MibAddInstance, MibParameterNotification, NotifyIpInterfaceChange,
        NotifyUnicastIpAddressChange, MIB_IPINTERFACE_ROW, MIB_NOTIFICATION_TYPE,
        MIB_UNICASTIPADDRESS_ROW,
    };
    use windows_sys::Win32::Networking::WinSock::AF_UNSPEC;

    use super::Wait;

    pub fn watch(settle: Duration, on_change: impl Fn() + Send + 'static) -> std::io::Result<()> {
        // One slot: a change not yet seen already says all that a second one would.
        let (tx, rx) = mpsc::sync_channel::<()>(1);
        // The callbacks' context. The registrations are never cancelled (they last as long as
        // the process), so it is freed only if none was made.
        let ctx = Box::into_raw(Box::new(tx)).cast::<c_void>().cast_const();
        let mut interfaces: HANDLE = std::ptr::null_mut();
        // SAFETY: `on_interface` has the callback type the API declares; `ctx` points to a
        // `SyncSender`, which is `Sync` (the callback runs on system threads) and outlives the
        // registration; `interfaces` is a valid place for the handle.
        let err = unsafe {
            NotifyIpInterfaceChange(AF_UNSPEC, Some(on_interface), ctx, false, &mut interfaces)
        };
        if err != NO_ERROR {
            // SAFETY: `ctx` came from `Box::into_raw` above, and no registration refers to it.
            drop(unsafe { Box::from_raw(ctx.cast_mut().cast::<SyncSender<()>>()) });
            return Err(std::io::Error::from_raw_os_error(err as i32));
        }
        let mut addresses: HANDLE = std::ptr::null_mut();
        // SAFETY: as above, with `on_address` and `addresses`.
        let err = unsafe {
            NotifyUnicastIpAddressChange(AF_UNSPEC, Some(on_address), ctx, false, &mut addresses)
        };
        if err != NO_ERROR {
            // Interface changes alone (a cable, a Wi-Fi association) still cover most comebacks.
            tracing::warn!(
                error = %std::io::Error::from_raw_os_error(err as i32),
                "network watch sees no address changes"
            );
        }
        std::thread::Builder::new()
            .name("netwatch".into())
            .spawn(move || super::fold(settle, |timeout| wait(&rx, timeout), on_change))?;
        Ok(())
    }

    fn wait(rx: &Receiver<()>, timeout: Option<Duration>) -> Wait {
        match timeout {
            None => rx.recv().map_or(Wait::Stop, |()| Wait::Change),
            Some(d) => match rx.recv_timeout(d) {
                Ok(()) => Wait::Change,
                Err(RecvTimeoutError::Timeout) => Wait::Quiet,
                Err(RecvTimeoutError::Disconnected) => Wait::Stop,
            },
        }
    }

    /// Additions and changes (an interface connecting, an address becoming usable) count;
    /// deletions are the network going away: nothing to retry for.
    fn signal(tx: &SyncSender<()>, kind: MIB_NOTIFICATION_TYPE) {
        if kind == MibAddInstance || kind == MibParameterNotification {
            // Full: a change is already waiting. Disconnected: the watch thread is gone.
            let _ = tx.try_send(());
        }
    }

    unsafe extern "system" fn on_interface(
        ctx: *const c_void,
        _row: *const MIB_IPINTERFACE_ROW,
        kind: MIB_NOTIFICATION_TYPE,
    ) {
        // SAFETY: `ctx` is the `SyncSender` given at registration, which is never freed while
        // a registration exists.
        signal(unsafe { &*ctx.cast::<SyncSender<()>>() }, kind);
    }

    unsafe extern "system" fn on_address(
        ctx: *const c_void,
        _row: *const MIB_UNICASTIPADDRESS_ROW,
        kind: MIB_NOTIFICATION_TYPE,
    ) {
        // SAFETY: as in `on_interface`.
        signal(unsafe { &*ctx.cast::<SyncSender<()>>() }, kind);
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod imp {
    pub fn watch(
        _settle: std::time::Duration,
        _on_change: impl Fn() + Send + 'static,
    ) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::time::Duration;

    use super::{fold, netlink, route, Wait};

    #[test]
    fn a_burst_makes_one_call_after_the_quiet_and_idle_waits_block() {
        let settle = Duration::from_secs(2);
        let script = [
            Wait::Change,
            Wait::Change,
            Wait::Change,
            Wait::Quiet,
            Wait::Quiet, // a spurious wake-up with nothing pending
            Wait::Change,
            Wait::Quiet,
            Wait::Stop,
        ];
        let log = RefCell::new(Vec::new());
        let mut next = script.iter();
        fold(
            settle,
            |timeout| {
                log.borrow_mut().push(format!("wait {timeout:?}"));
                *next.next().expect("fold stops at Stop")
            },
            || log.borrow_mut().push("call".into()),
        );
        let s = format!("wait {:?}", Some(settle));
        let idle = format!("wait {:?}", None::<Duration>);
        let (s, idle) = (s.as_str(), idle.as_str());
        assert_eq!(
            log.into_inner(),
            [idle, s, s, s, "call", idle, idle, s, "call", idle]
        );
    }

    fn nlmsg(kind: u16, len: u32) -> Vec<u8> {
        let mut m = len.to_ne_bytes().to_vec();
        m.extend(kind.to_ne_bytes());
        m.extend([0u8; 10]);
        m.resize(len as usize, 0);
        m
    }

    #[test]
    fn new_addresses_and_routes_count_deletions_and_garbage_do_not() {
        use netlink::has_new_config;
        assert!(has_new_config(&nlmsg(20, 24)));
        assert!(has_new_config(&[nlmsg(21, 20), nlmsg(24, 28)].concat()));
        assert!(!has_new_config(&nlmsg(21, 24))); // RTM_DELADDR
        assert!(!has_new_config(&nlmsg(25, 16))); // RTM_DELROUTE
        assert!(!has_new_config(&[1, 2, 3]));
        // A header claiming length 0 must not loop forever or read past the buffer.
        let mut zero_len = nlmsg(20, 16);
        zero_len[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert!(has_new_config(&zero_len), "its type is still read");
        let mut bogus = nlmsg(21, 16);
        bogus[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert!(
            !has_new_config(&[bogus, nlmsg(20, 16)].concat()),
            "stops at a bad length"
        );
    }

    /// A routing message of `len` bytes with `flags` (rtm_flags/ifm_flags) and `errno`.
    fn rtmsg(kind: u8, len: u16, flags: i32, errno: i32) -> Vec<u8> {
        let mut m = vec![0u8; usize::from(len)];
        m[..2].copy_from_slice(&len.to_ne_bytes());
        m[2] = route::RTM_VERSION;
        m[3] = kind;
        if let Some(f) = m.get_mut(route::FLAGS_AT..route::FLAGS_AT + 4) {
            f.copy_from_slice(&flags.to_ne_bytes());
        }
        if let Some(e) = m.get_mut(route::ERRNO_AT..route::ERRNO_AT + 4) {
            e.copy_from_slice(&errno.to_ne_bytes());
        }
        m
    }

    #[test]
    fn routing_socket_counts_links_up_new_addresses_and_real_routes_only() {
        use route::*;
        const RTM_DELADDR: u8 = 0xd;
        const RTM_DELETE: u8 = 0x2;
        const RTF_UP: i32 = 0x1;
        const RTF_GATEWAY: i32 = 0x2;
        const RTF_HOST: i32 = 0x4;
        let up = IFF_UP | IFF_RUNNING;

        assert!(has_new_config(&rtmsg(RTM_NEWADDR, 20, 0, 0)));
        assert!(has_new_config(&rtmsg(RTM_IFINFO, 112, up, 0)));
        assert!(
            !has_new_config(&rtmsg(RTM_IFINFO, 112, IFF_UP, 0)),
            "no link yet"
        );
        assert!(has_new_config(&rtmsg(RTM_ADD, 92, RTF_UP | RTF_GATEWAY, 0)));
        let arp = RTF_UP | RTF_HOST | RTF_LLINFO | RTF_WASCLONED;
        assert!(!has_new_config(&rtmsg(RTM_ADD, 92, arp, 0)), "ARP entry");
        assert!(
            !has_new_config(&rtmsg(RTM_ADD, 92, RTF_UP, 17)),
            "EEXIST echo"
        );
        assert!(!has_new_config(&rtmsg(RTM_DELADDR, 20, 0, 0)));
        assert!(!has_new_config(&rtmsg(RTM_DELETE, 92, RTF_UP, 0)));
        assert!(has_new_config(
            &[
                rtmsg(RTM_DELETE, 92, RTF_UP, 0),
                rtmsg(RTM_NEWADDR, 20, 0, 0)
            ]
            .concat()
        ));
        let mut old = rtmsg(RTM_NEWADDR, 20, 0, 0);
        old[2] = 4;
        assert!(!has_new_config(&old), "another RTM_VERSION");
        // Cut short: an RTM_ADD without its flags cannot be judged; garbage ends the walk.
        assert!(!has_new_config(&rtmsg(RTM_ADD, 92, RTF_UP, 0)[..10]));
        assert!(!has_new_config(&[1, 2, 3]));
        let mut zero_len = rtmsg(RTM_NEWADDR, 20, 0, 0);
        zero_len[..2].copy_from_slice(&0u16.to_ne_bytes());
        assert!(!has_new_config(&zero_len), "a bad length stops the walk");
    }
}
