//! UDP: per-worker SO_REUSEPORT sockets, each served by one OS thread.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use socket2::{Protocol, Type};
use tracing::debug;

use super::rrl::{self, Rrl, Verdict};
use super::{BindError, new_socket};
use crate::answer::{AnswerConfig, Responder};
use crate::metrics::Metrics;
use crate::parse::Transport;
use crate::zone::SharedCatalog;

/// Binds `workers` sockets to `addr`. Before sharing the port with
/// SO_REUSEPORT, a plain bind checks that no other process holds it, so a
/// second server on the same port fails loudly instead of splitting traffic.
/// Returns the sockets and the bound address (the port is resolved if 0).
pub fn bind(addr: SocketAddr, workers: usize) -> Result<(Vec<UdpSocket>, SocketAddr), BindError> {
    let fail = |source| BindError {
        addr,
        transport: "udp",
        source,
    };
    let probe = new_socket(addr, Type::DGRAM, Protocol::UDP).map_err(fail)?;
    probe.bind(&addr.into()).map_err(fail)?;
    let bound = probe
        .local_addr()
        .map_err(fail)?
        .as_socket()
        .unwrap_or(addr);
    drop(probe);
    let mut sockets = Vec::with_capacity(workers);
    for _ in 0..workers {
        let socket = new_socket(bound, Type::DGRAM, Protocol::UDP).map_err(fail)?;
        socket.set_reuse_port(true).map_err(fail)?;
        // Bursts queue in the kernel rather than being dropped.
        let _ = socket.set_recv_buffer_size(4 << 20);
        socket.bind(&bound.into()).map_err(fail)?;
        sockets.push(socket.into());
    }
    Ok((sockets, bound))
}

/// Starts one thread per socket.
pub fn spawn_workers(
    sockets: Vec<UdpSocket>,
    catalog: &SharedCatalog,
    config: &AnswerConfig,
    metrics: &Metrics,
    rrl: Option<&Arc<Rrl>>,
) -> Vec<JoinHandle<()>> {
    sockets
        .into_iter()
        .enumerate()
        .map(|(index, socket)| {
            let catalog = catalog.clone();
            let config = config.clone();
            let stats = metrics.worker(Transport::Udp);
            let rrl = rrl.cloned();
            std::thread::Builder::new()
                .name(format!("udp-{index}"))
                .spawn(move || {
                    let responder = Responder::with_stats(config, stats).with_templates();
                    serve(socket, catalog, responder, rrl)
                })
                .expect("spawning a thread at startup")
        })
        .collect()
}

/// The worker loop: receive a batch, answer each, send the replies as a
/// batch; forever.
fn serve(
    socket: UdpSocket,
    catalog: SharedCatalog,
    mut responder: Responder,
    rrl: Option<Arc<Rrl>>,
) {
    let mut cache = arc_swap::Cache::new(catalog);
    let mut batch = Batch::new();
    let fd = socket.as_raw_fd();
    loop {
        let received = match batch.receive(fd) {
            Ok(n) => n,
            Err(err) => {
                // Transient (e.g. ICMP errors surfacing as ECONNREFUSED); keep serving.
                debug!(%err, "udp receive error");
                continue;
            }
        };
        let started = Instant::now();
        let second = rrl.as_ref().map_or(0, |rrl| rrl.second(started));
        let catalog = cache.load();
        // A lone query would only hash its name twice: its probe comes next.
        if received > 1 {
            for i in 0..received {
                if let Some(packet) = batch.packet(i) {
                    responder.prefetch(packet);
                }
            }
        }
        let mut replies = 0;
        for i in 0..received {
            let peer = batch.peer(i);
            let Some((packet, reply)) = batch.packet_and_reply(i, replies) else {
                continue;
            };
            if responder.answer(packet, catalog, Transport::Udp, peer, reply) {
                // A client that returned a valid server cookie proved its
                // address: it cannot be a spoofed victim.
                if let Some(rrl) = &rrl
                    && !responder.client_proved_address()
                {
                    match rrl.check(peer, reply, second) {
                        Verdict::Send => {}
                        Verdict::Drop => continue,
                        Verdict::Slip => rrl::truncate(reply),
                    }
                }
                batch.queue_reply(i, replies);
                replies += 1;
            }
        }
        responder.finish_batch(started, replies);
        if let Err(err) = batch.send(fd, replies) {
            debug!(%err, "udp send error");
        }
    }
}

/// The IP address in a `sockaddr_storage` filled by the kernel.
fn peer_ip(storage: &libc::sockaddr_storage) -> IpAddr {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: ss_family says the storage holds a sockaddr_in, which
            // is smaller than sockaddr_storage and less strictly aligned.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
        }
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

/// How many datagrams one system call moves.
const BATCH: usize = 64;
/// Receive buffer per datagram. Queries are small; a longer datagram is
/// cut (MSG_TRUNC) and dropped rather than answered from partial bytes.
const RECV_SIZE: usize = 4096;

/// Buffers and headers for `recvmmsg`/`sendmmsg`, allocated once per worker.
///
/// The headers hold raw pointers into the buffers, so a `Batch` lives in a
/// `Box` and its vectors are never resized after `new` (reply vectors may
/// grow; their pointers are refreshed before each send).
struct Batch {
    buffers: Vec<u8>,
    peers: Vec<libc::sockaddr_storage>,
    recv_iov: Vec<libc::iovec>,
    recv_hdrs: Vec<libc::mmsghdr>,
    replies: Vec<Vec<u8>>,
    send_iov: Vec<libc::iovec>,
    send_hdrs: Vec<libc::mmsghdr>,
}

impl Batch {
    fn new() -> Box<Batch> {
        // SAFETY: all-zero is a valid value for these plain C structs.
        let zero_hdr: libc::mmsghdr = unsafe { std::mem::zeroed() };
        let zero_addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let zero_iov = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        let mut batch = Box::new(Batch {
            buffers: vec![0u8; BATCH * RECV_SIZE],
            peers: vec![zero_addr; BATCH],
            recv_iov: vec![zero_iov; BATCH],
            recv_hdrs: vec![zero_hdr; BATCH],
            replies: (0..BATCH).map(|_| Vec::with_capacity(1232)).collect(),
            send_iov: vec![zero_iov; BATCH],
            send_hdrs: vec![zero_hdr; BATCH],
        });
        let b = &mut *batch;
        for i in 0..BATCH {
            b.recv_iov[i].iov_base = b.buffers[i * RECV_SIZE..].as_mut_ptr().cast();
            b.recv_iov[i].iov_len = RECV_SIZE;
            let hdr = &mut b.recv_hdrs[i].msg_hdr;
            hdr.msg_iov = &mut b.recv_iov[i];
            hdr.msg_iovlen = 1;
            hdr.msg_name = (&mut b.peers[i] as *mut libc::sockaddr_storage).cast();
        }
        batch
    }

    /// Blocks until at least one datagram is there; returns how many arrived.
    fn receive(&mut self, fd: RawFd) -> std::io::Result<usize> {
        for hdr in &mut self.recv_hdrs {
            hdr.msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdr.msg_hdr.msg_flags = 0;
            hdr.msg_len = 0;
        }
        // SAFETY: the headers point into buffers owned by self, valid and
        // not moved for the duration of the call; BATCH matches their count.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.recv_hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// The bytes of received datagram `i`, unless it was cut short.
    fn packet(&self, i: usize) -> Option<&[u8]> {
        Batch::packet_of(&self.recv_hdrs, &self.buffers, i)
    }

    /// [`Batch::packet`] on the fields, so a reply buffer can be borrowed
    /// mutably at the same time.
    fn packet_of<'b>(hdrs: &[libc::mmsghdr], buffers: &'b [u8], i: usize) -> Option<&'b [u8]> {
        let hdr = &hdrs[i];
        if hdr.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
            return None;
        }
        let len = (hdr.msg_len as usize).min(RECV_SIZE);
        Some(&buffers[i * RECV_SIZE..i * RECV_SIZE + len])
    }

    /// Received datagram `i` (see [`Batch::packet`]) and the buffer for
    /// the `slot`-th reply of this batch.
    fn packet_and_reply(&mut self, i: usize, slot: usize) -> Option<(&[u8], &mut Vec<u8>)> {
        let reply = &mut self.replies[slot];
        let packet = Batch::packet_of(&self.recv_hdrs, &self.buffers, i)?;
        Some((packet, reply))
    }

    /// The source address of received datagram `i` (unspecified if the
    /// kernel gave an address of another family, which a UDP socket of
    /// ours never receives).
    fn peer(&self, i: usize) -> IpAddr {
        peer_ip(&self.peers[i])
    }

    /// Addresses reply `slot` to the sender of datagram `i`.
    fn queue_reply(&mut self, i: usize, slot: usize) {
        let reply = &mut self.replies[slot];
        self.send_iov[slot].iov_base = reply.as_mut_ptr().cast();
        self.send_iov[slot].iov_len = reply.len();
        let hdr = &mut self.send_hdrs[slot].msg_hdr;
        hdr.msg_iov = &mut self.send_iov[slot];
        hdr.msg_iovlen = 1;
        hdr.msg_name = (&mut self.peers[i] as *mut libc::sockaddr_storage).cast();
        hdr.msg_namelen = self.recv_hdrs[i].msg_hdr.msg_namelen;
    }

    /// Sends the first `count` queued replies; a reply the kernel refuses
    /// is skipped so the rest still go out.
    fn send(&mut self, fd: RawFd, count: usize) -> std::io::Result<()> {
        let mut sent = 0;
        let mut last_error = None;
        while sent < count {
            // SAFETY: headers [sent, count) were filled by queue_reply and point
            // at buffers and addresses owned by self, unchanged since.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    self.send_hdrs[sent..].as_mut_ptr(),
                    (count - sent) as libc::c_uint,
                    0,
                )
            };
            if n <= 0 {
                last_error = Some(std::io::Error::last_os_error());
                sent += 1;
            } else {
                sent += n as usize;
            }
        }
        for reply in &mut self.replies[..count] {
            if reply.capacity() > 65536 {
                reply.shrink_to(4096);
            }
        }
        last_error.map_or(Ok(()), Err)
    }
}
