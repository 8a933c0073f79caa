//! Batched UDP I/O over `recvmmsg`/`sendmmsg` (Linux), with the buffers,
//! iovecs and headers allocated once and reused for every batch.
//!
//! The only `unsafe` in the crate is here: the kernel calls and the raw
//! pointers they need into [`Batch`]'s own heap buffers.

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Room for one datagram (queries and the answers measured here are small;
/// a longer datagram is truncated, which only the length shows).
pub const SLOT: usize = 4096;

/// `n` message slots for one `recvmmsg`/`sendmmsg` call.
pub struct Batch {
    data: Vec<u8>,
    /// Peer addresses; read and written only by the kernel, through `msg_name`.
    #[allow(dead_code)]
    addrs: Vec<libc::sockaddr_storage>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers in `iovs` and `hdrs` point into this struct's own
// heap allocations, which move with it and are never shared.
unsafe impl Send for Batch {}

impl Batch {
    /// A batch of `n` slots (`n >= 1`).
    pub fn new(n: usize) -> Batch {
        let n = n.max(1);
        let mut data = vec![0u8; n * SLOT];
        // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
        let mut addrs: Vec<libc::sockaddr_storage> = vec![unsafe { mem::zeroed() }; n];
        let mut iovs: Vec<libc::iovec> = (0..n)
            .map(|i| libc::iovec {
                // In bounds: i < n and data holds n * SLOT octets.
                iov_base: data[i * SLOT..].as_mut_ptr().cast(),
                iov_len: SLOT,
            })
            .collect();
        let hdrs = (0..n)
            .map(|i| {
                // SAFETY: mmsghdr is plain old data; all-zero is valid.
                let mut h: libc::mmsghdr = unsafe { mem::zeroed() };
                h.msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
                h.msg_hdr.msg_namelen = 0;
                h.msg_hdr.msg_iov = &mut iovs[i];
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        // The vectors are never resized, so the pointers above stay valid.
        Batch {
            data,
            addrs,
            iovs,
            hdrs,
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.hdrs.len()
    }

    /// Slot `i`'s whole buffer, for building a message to send.
    pub fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.data[i * SLOT..(i + 1) * SLOT]
    }

    /// Sets the length to send from slot `i`.
    pub fn set_len(&mut self, i: usize, len: usize) {
        self.iovs[i].iov_len = len.min(SLOT);
    }

    /// The message received into slot `i` by the last [`Batch::recv`].
    pub fn received(&self, i: usize) -> &[u8] {
        let len = (self.hdrs[i].msg_len as usize).min(SLOT);
        &self.data[i * SLOT..i * SLOT + len]
    }

    /// Received message `i` and its whole slot, for answering in place.
    pub fn received_mut(&mut self, i: usize) -> (usize, &mut [u8]) {
        let len = (self.hdrs[i].msg_len as usize).min(SLOT);
        (len, &mut self.data[i * SLOT..(i + 1) * SLOT])
    }

    /// Receives up to `max` datagrams. With `keep_source`, each sender's
    /// address is kept so [`Batch::send`] can reply to it. `flags` as for
    /// `recvmmsg` (`MSG_DONTWAIT`, `MSG_WAITFORONE`).
    pub fn recv(
        &mut self,
        fd: RawFd,
        max: usize,
        keep_source: bool,
        flags: i32,
    ) -> io::Result<usize> {
        let max = max.min(self.capacity());
        for i in 0..max {
            self.iovs[i].iov_len = SLOT;
            self.hdrs[i].msg_hdr.msg_namelen = if keep_source {
                mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t
            } else {
                0
            };
            self.hdrs[i].msg_len = 0;
        }
        // SAFETY: `hdrs[..max]` are initialised headers whose pointers refer
        // to live buffers of the advertised sizes.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                max as u32,
                flags,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Sends slots `0..count`; see [`Batch::send_range`].
    pub fn send(&mut self, fd: RawFd, count: usize, to_source: bool) -> io::Result<usize> {
        self.send_range(fd, 0, count, to_source)
    }

    /// Sends slots `start..start + count` (lengths set by
    /// [`Batch::set_len`]; addresses as left by the last receive, or none on
    /// a connected socket when `to_source` is false). Returns how many were
    /// sent.
    pub fn send_range(
        &mut self,
        fd: RawFd,
        start: usize,
        count: usize,
        to_source: bool,
    ) -> io::Result<usize> {
        let start = start.min(self.capacity());
        let count = count.min(self.capacity() - start);
        if count == 0 {
            return Ok(0);
        }
        let hdrs = &mut self.hdrs[start..start + count];
        if !to_source {
            for h in hdrs.iter_mut() {
                h.msg_hdr.msg_namelen = 0;
            }
        }
        // SAFETY: as in `recv`; lengths never exceed the slot size.
        let n = unsafe { libc::sendmmsg(fd, hdrs.as_mut_ptr(), count as u32, 0) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// The length set for slot `i`.
    pub fn len_of(&self, i: usize) -> usize {
        self.iovs[i].iov_len
    }
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn set_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int of the stated size.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// Asks for `bytes` of socket buffer each way, forcing past `rmem_max` when
/// running as root. Best effort.
pub fn set_buffers(fd: RawFd, bytes: usize) {
    let bytes = bytes.min(i32::MAX as usize) as libc::c_int;
    for (force, plain) in [
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
    ] {
        if set_int(fd, libc::SOL_SOCKET, force, bytes).is_err() {
            let _ = set_int(fd, libc::SOL_SOCKET, plain, bytes);
        }
    }
}

/// Sets a receive timeout, so blocking receives wake up to check a deadline.
pub fn set_recv_timeout(fd: RawFd, timeout: std::time::Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: passes a pointer to a live timeval of the stated size.
    check(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// A UDP socket bound to `addr` with `SO_REUSEPORT`, so several threads can
/// each own one socket on the same port.
pub fn udp_reuseport(addr: SocketAddr) -> io::Result<OwnedFd> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2); the descriptor is owned right away.
    let fd = unsafe {
        OwnedFd::from_raw_fd(check(libc::socket(
            domain,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            0,
        ))?)
    };
    set_int(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_in.
            let sin = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    // SAFETY: `storage` holds a valid address of `len` octets.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&storage as *const libc::sockaddr_storage).cast(),
            len as libc::socklen_t,
        )
    })?;
    Ok(fd)
}

/// Waits until one of `fds` is ready for `events` or `timeout` passes.
/// Returns the number of ready descriptors (0 on timeout or signal).
pub fn wait(fds: &mut [libc::pollfd], timeout: std::time::Duration) -> usize {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `fds` is a live slice of pollfd; `ts` outlives the call.
    let n = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            &ts,
            std::ptr::null(),
        )
    };
    n.max(0) as usize
}
