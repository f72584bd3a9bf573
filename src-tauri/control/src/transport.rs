//! The control channel's transport, one per OS, behind one small API: a Unix domain socket
//! (Linux, macOS) or a named pipe (Windows), both from tokio, which the app already runs on.
//! Not the `interprocess` crate: tokio has both transports and Unix peer credentials already,
//! and neither crate gives a Windows peer's user, which we read from the client's process token.
//!
//! Both ends are private to the user who runs the tray: the socket file is mode 0600 and every
//! connection's peer uid is compared with the socket's owner; the pipe refuses remote clients and
//! every connection's client process must run as the tray's user (its token's SID).

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where the tray listens for `data_dir`: a socket path, or a pipe name on Windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(PathBuf);

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.display().fmt(f)
    }
}

/// Gives up on a tray that is not answering after this long (it may still be starting).
const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// Connects until it works or `CONNECT_WAIT` passes; "not there yet" and "busy" retry.
pub async fn connect(endpoint: &Endpoint) -> io::Result<ClientStream> {
    let deadline = Instant::now() + CONNECT_WAIT;
    loop {
        match connect_once(endpoint).await {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};

    use super::Endpoint;

    pub type ServerStream = tokio::net::UnixStream;
    pub type ClientStream = tokio::net::UnixStream;

    const SOCKET_FILE: &str = "app.sock";
    /// sockaddr_un holds 108 bytes on Linux, 104 on macOS, NUL included.
    pub(crate) const MAX_SOCKET_PATH: usize = 100;

    /// `app.sock` in the data directory; if that path is too long for a socket address, a name
    /// derived from the data directory in `$XDG_RUNTIME_DIR` (else the temp dir).
    pub fn endpoint(data_dir: &Path) -> Endpoint {
        let inside = data_dir.join(SOCKET_FILE);
        if inside.as_os_str().len() < MAX_SOCKET_PATH {
            return Endpoint(inside);
        }
        let hash = repxp_engine::paths::stable_hash(data_dir.as_os_str().as_encoded_bytes());
        Endpoint(
            std::env::var_os("XDG_RUNTIME_DIR")
                .map(PathBuf::from)
                .filter(|d| d.is_dir())
                .unwrap_or_else(std::env::temp_dir)
                .join(format!("repxp-{hash:016x}.sock")),
        )
    }

    /// A bound, private socket that is not yet registered with a runtime (the claim happens
    /// before Tauri starts its own).
    pub struct Listener {
        socket: std::os::unix::net::UnixListener,
        owner_uid: u32,
    }

    /// Binds the socket. Call only while holding the instance lock: a file left at the path is
    /// then from a process that died, and is replaced.
    pub fn bind(endpoint: &Endpoint) -> io::Result<Listener> {
        let path = &endpoint.0;
        let _ = std::fs::remove_file(path);
        let socket = std::os::unix::net::UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        socket.set_nonblocking(true)?;
        // The file's owner is this process's effective uid: no /proc, no libc call.
        let owner_uid = std::fs::metadata(path)?.uid();
        Ok(Listener { socket, owner_uid })
    }

    /// Accepts connections; yields only peers of the tray's own user.
    pub struct Incoming {
        listener: tokio::net::UnixListener,
        owner_uid: u32,
    }

    impl Listener {
        pub fn incoming(self) -> io::Result<Incoming> {
            Ok(Incoming {
                listener: tokio::net::UnixListener::from_std(self.socket)?,
                owner_uid: self.owner_uid,
            })
        }
    }

    impl Incoming {
        /// The next connection, with whether its peer is the tray's user.
        pub async fn next(&mut self) -> io::Result<(ServerStream, bool)> {
            let (stream, _) = self.listener.accept().await?;
            let same = stream
                .peer_cred()
                .map(|c| c.uid() == self.owner_uid)
                .unwrap_or(false);
            Ok((stream, same))
        }
    }

    pub async fn connect_once(endpoint: &Endpoint) -> io::Result<ClientStream> {
        tokio::net::UnixStream::connect(&endpoint.0).await
    }
}

#[cfg(windows)]
pub use windows::*;

#[cfg(windows)]
mod windows {
    use std::io;
    use std::path::{Path, PathBuf};

    use tokio::net::windows::named_pipe::{
        ClientOptions, NamedPipeClient, NamedPipeServer, ServerOptions,
    };

    use super::Endpoint;

    pub type ServerStream = NamedPipeServer;
    pub type ClientStream = NamedPipeClient;

    /// `\\.\pipe\repxp-<hash of the data directory>`: one tray per data directory, as on Unix.
    pub fn endpoint(data_dir: &Path) -> Endpoint {
        let hash = repxp_engine::paths::stable_hash(data_dir.as_os_str().as_encoded_bytes());
        Endpoint(PathBuf::from(format!(r"\\.\pipe\repxp-{hash:016x}")))
    }

    /// The pipe's name; its first instance is created by [`Listener::incoming`], inside the
    /// runtime (tokio registers pipe handles with its reactor at creation).
    pub struct Listener {
        name: PathBuf,
    }

    pub fn bind(endpoint: &Endpoint) -> io::Result<Listener> {
        Ok(Listener {
            name: endpoint.0.clone(),
        })
    }

    pub struct Incoming {
        name: PathBuf,
        next: NamedPipeServer,
    }

    fn create(name: &Path, first: bool) -> io::Result<NamedPipeServer> {
        // The first instance fails if anyone else already owns the name (a squatter), and no
        // instance accepts clients from other machines.
        ServerOptions::new()
            .first_pipe_instance(first)
            .reject_remote_clients(true)
            .create(name)
    }

    impl Listener {
        pub fn incoming(self) -> io::Result<Incoming> {
            let next = create(&self.name, true)?;
            Ok(Incoming {
                name: self.name,
                next,
            })
        }
    }

    impl Incoming {
        pub async fn next(&mut self) -> io::Result<(ServerStream, bool)> {
            self.next.connect().await?;
            // A new instance before handing this one out, so a client never finds no pipe.
            let connected = std::mem::replace(&mut self.next, create(&self.name, false)?);
            let same = peer_user::same_user(&connected).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "control pipe: cannot read the client's user");
                false
            });
            Ok((connected, same))
        }
    }

    /// NotFound while the tray starts, ERROR_PIPE_BUSY between two instances.
    pub async fn connect_once(endpoint: &Endpoint) -> io::Result<ClientStream> {
        ClientOptions::new().open(&endpoint.0)
    }

    /// Whether the pipe's client process runs as this process's user (their tokens' SIDs).
    mod peer_user {
        use std::io;
        use std::os::windows::io::AsRawHandle;
        use std::ptr;

        use tokio::net::windows::named_pipe::NamedPipeServer;
        use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
        use windows_sys::Win32::Security::{
            EqualSid, GetTokenInformation, TokenUser, TOKEN_QUERY, TOKEN_USER,
        };
        use windows_sys::Win32::System::Pipes::GetNamedPipeClientProcessId;
        use windows_sys::Win32::System::Threading::{
            GetCurrentProcess, OpenProcess, OpenProcessToken, PROCESS_QUERY_LIMITED_INFORMATION,
        };

        struct Owned(HANDLE);
        impl Drop for Owned {
            fn drop(&mut self) {
                // SAFETY: the handle was opened by us, is valid, and is closed exactly once.
                unsafe { CloseHandle(self.0) };
            }
        }

        /// The process's TOKEN_USER, in a u64 buffer so the struct's pointers are aligned.
        fn token_user(process: HANDLE) -> io::Result<Vec<u64>> {
            let mut token: HANDLE = ptr::null_mut();
            // SAFETY: `process` is a valid process handle; `token` receives a new handle.
            if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) } == 0 {
                return Err(io::Error::last_os_error());
            }
            let token = Owned(token);
            let mut len = 0u32;
            // SAFETY: a size query with no buffer; it fails with the size needed in `len`.
            unsafe { GetTokenInformation(token.0, TokenUser, ptr::null_mut(), 0, &mut len) };
            let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
            // SAFETY: `buf` holds at least `len` bytes, aligned for TOKEN_USER.
            let ok = unsafe {
                GetTokenInformation(
                    token.0,
                    TokenUser,
                    buf.as_mut_ptr().cast(),
                    (buf.len() * 8) as u32,
                    &mut len,
                )
            };
            if ok == 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(buf)
        }

        pub fn same_user(pipe: &NamedPipeServer) -> io::Result<bool> {
            let mut pid = 0u32;
            // SAFETY: the pipe handle is valid for the lifetime of `pipe`.
            if unsafe { GetNamedPipeClientProcessId(pipe.as_raw_handle() as HANDLE, &mut pid) } == 0
            {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: OpenProcess returns a new handle or null.
            let client = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
            if client.is_null() {
                return Err(io::Error::last_os_error());
            }
            let client = Owned(client);
            let theirs = token_user(client.0)?;
            // SAFETY: the pseudo-handle of the current process needs no closing.
            let ours = token_user(unsafe { GetCurrentProcess() })?;
            let (theirs, ours) = (
                theirs.as_ptr().cast::<TOKEN_USER>(),
                ours.as_ptr().cast::<TOKEN_USER>(),
            );
            // SAFETY: both buffers hold a TOKEN_USER filled by Windows, whose SID pointers
            // point into the same, still living, buffers.
            Ok(unsafe { EqualSid((*theirs).User.Sid, (*ours).User.Sid) } != 0)
        }
    }
}

#[cfg(all(test, unix))]
impl Endpoint {
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }
}
