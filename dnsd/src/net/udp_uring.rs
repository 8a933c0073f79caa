//! UDP on io_uring, the alternative to `recvmmsg`/`sendmmsg` (experimental,
//! chosen with `DNSD_UDP_IO=uring`): one multishot `recvmsg` per worker
//! takes datagrams into buffers from a ring the worker refills, and the
//! replies leave as `sendmsg` requests submitted with the next wait, so a
//! busy worker makes one system call per pass instead of two.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

use io_uring::{IoUring, cqueue, opcode, types};

use super::udp::peer_ip;
use crate::answer::{Responder, Transport};
use crate::server::SharedCatalog;

/// Receive buffers in the provided-buffer ring (a power of two).
const BUFFERS: u16 = 256;
/// The kernel's `io_uring_recvmsg_out` header that starts each buffer.
const RECVMSG_OUT: usize = 16;
const SOCKADDR: usize = std::mem::size_of::<libc::sockaddr_storage>();
/// Queries are small; a longer datagram is cut and dropped, as in `udp`.
const RECV_SIZE: usize = 4096;
const BUFFER_SIZE: usize = RECVMSG_OUT + SOCKADDR + RECV_SIZE;
const GROUP: u16 = 0;
/// Replies in flight at most: every send of a pass completes before the
/// next pass, so one per receive buffer is enough.
const SEND_SLOTS: usize = BUFFERS as usize;
/// `user_data` of the multishot receive; sends carry their slot index.
const RECV_TAG: u64 = u64::MAX;

/// One reply and the headers that point at it while the kernel sends it.
struct SendSlot {
    hdr: libc::msghdr,
    iov: libc::iovec,
    peer: libc::sockaddr_storage,
    reply: Vec<u8>,
}

/// The provided-buffer ring: entries the kernel takes buffers from, and
/// the buffers.
struct BufferRing {
    entries: *mut types::BufRingEntry,
    layout: std::alloc::Layout,
    buffers: Vec<u8>,
    tail: u16,
}

impl BufferRing {
    fn new() -> BufferRing {
        let layout = std::alloc::Layout::from_size_align(
            usize::from(BUFFERS) * std::mem::size_of::<types::BufRingEntry>(),
            4096,
        )
        .expect("a valid layout");
        // SAFETY: the layout has a non-zero size.
        let entries = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<types::BufRingEntry>();
        if entries.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        let mut ring = BufferRing {
            entries,
            layout,
            buffers: vec![0; usize::from(BUFFERS) * BUFFER_SIZE],
            tail: 0,
        };
        for bid in 0..BUFFERS {
            ring.give(bid);
        }
        ring.publish();
        ring
    }

    /// Hands buffer `bid` (back) to the kernel, once published.
    fn give(&mut self, bid: u16) {
        let index = usize::from(self.tail & (BUFFERS - 1));
        // SAFETY: index < BUFFERS, within the allocation; the kernel reads
        // entries only up to the published tail, which this one is beyond.
        let entry = unsafe { &mut *self.entries.add(index) };
        entry.set_addr(self.buffers[usize::from(bid) * BUFFER_SIZE..].as_ptr() as u64);
        entry.set_len(BUFFER_SIZE as u32);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes the buffers given so far visible to the kernel.
    fn publish(&self) {
        // SAFETY: the tail is the spare field of the first entry, which lives
        // as long as self; the kernel reads it, so the store is atomic.
        let tail =
            unsafe { AtomicU16::from_ptr(types::BufRingEntry::tail(self.entries).cast_mut()) };
        tail.store(self.tail, Ordering::Release);
    }

    fn buffer(&self, bid: u16, len: usize) -> &[u8] {
        let start = usize::from(bid) * BUFFER_SIZE;
        &self.buffers[start..start + len.min(BUFFER_SIZE)]
    }
}

impl Drop for BufferRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.entries.cast(), self.layout) };
    }
}

/// Serves `socket` forever; returns only if io_uring cannot be set up
/// (old kernel, disabled by sysctl or seccomp), before anything is read.
pub fn serve(
    socket: &UdpSocket,
    catalog: &SharedCatalog,
    responder: &mut Responder,
) -> io::Result<()> {
    let fd = types::Fd(socket.as_raw_fd());
    // Everything the kernel may still point at is declared before the
    // ring, so the ring (and every request in it) is dropped first.
    let mut buffers = BufferRing::new();
    // SAFETY: all-zero is a valid msghdr; only the name length matters to
    // a multishot receive.
    let mut receive: libc::msghdr = unsafe { std::mem::zeroed() };
    receive.msg_namelen = SOCKADDR as libc::socklen_t;
    let mut slots: Vec<SendSlot> = (0..SEND_SLOTS)
        .map(|_| SendSlot {
            // SAFETY: all-zero is valid for these plain C structs.
            hdr: unsafe { std::mem::zeroed() },
            iov: libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            },
            peer: unsafe { std::mem::zeroed() },
            reply: Vec::with_capacity(1232),
        })
        .collect();
    let mut ring = if std::env::var_os("DNSD_URING_PLAIN").is_some() {
        IoUring::new(1024)?
    } else {
        IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(1024)
            .or_else(|_| IoUring::new(1024))?
    };
    // SAFETY: the entries are page aligned, BUFFERS long, and outlive the
    // ring.
    unsafe {
        ring.submitter()
            .register_buf_ring_with_flags(buffers.entries as u64, BUFFERS, GROUP, 0)?;
    }
    let mut free: Vec<usize> = (0..SEND_SLOTS).rev().collect();
    let mut cache = arc_swap::Cache::new(catalog.clone());
    let mut armed = false;
    let mut sending = 0usize;
    loop {
        let (submitter, mut sq, mut cq) = ring.split();
        if !armed {
            let recv = opcode::RecvMsgMulti::new(fd, &receive, GROUP)
                .build()
                .user_data(RECV_TAG);
            // SAFETY: `receive` outlives the ring. The queue holds at most
            // one send per slot, far below its size.
            armed = unsafe { sq.push(&recv) }.is_ok();
        }
        sq.sync();
        // The sends queued last pass complete during this call; waiting for
        // one completion more waits for the next datagram.
        match submitter.submit_and_wait(sending + 1) {
            Ok(_) => {}
            Err(err) if err.raw_os_error() == Some(libc::EINTR) => continue,
            Err(err) => {
                tracing::error!(%err, "io_uring wait failed; worker stops");
                return Err(err);
            }
        }
        let started = Instant::now();
        let catalog = cache.load();
        let mut answered = 0;
        cq.sync();
        for cqe in &mut cq {
            let tag = cqe.user_data();
            if tag != RECV_TAG {
                free.push(tag as usize);
                sending -= 1;
                continue;
            }
            if !cqueue::more(cqe.flags()) {
                armed = false;
            }
            let Some(bid) = cqueue::buffer_select(cqe.flags()) else {
                continue;
            };
            let len = usize::try_from(cqe.result()).unwrap_or(0);
            let data = buffers.buffer(bid, len);
            if let Ok(message) = types::RecvMsgOut::parse(data, &receive)
                && !message.is_payload_truncated()
                && !message.is_name_data_truncated()
                && let Some(index) = free.pop()
            {
                let slot = &mut slots[index];
                let name = message.name_data();
                // SAFETY: the name is at most a sockaddr_storage (not truncated).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        name.as_ptr(),
                        (&mut slot.peer as *mut libc::sockaddr_storage).cast::<u8>(),
                        name.len().min(SOCKADDR),
                    );
                }
                let peer = peer_ip(&slot.peer);
                if responder.answer(
                    message.payload_data(),
                    catalog,
                    Transport::Udp,
                    peer,
                    &mut slot.reply,
                ) {
                    slot.iov.iov_base = slot.reply.as_mut_ptr().cast();
                    slot.iov.iov_len = slot.reply.len();
                    slot.hdr.msg_name = (&mut slot.peer as *mut libc::sockaddr_storage).cast();
                    slot.hdr.msg_namelen = name.len() as libc::socklen_t;
                    slot.hdr.msg_iov = &mut slot.iov;
                    slot.hdr.msg_iovlen = 1;
                    let send = opcode::SendMsg::new(fd, &slot.hdr)
                        .build()
                        .user_data(index as u64);
                    if sq.is_full() {
                        sq.sync();
                        let _ = submitter.submit();
                        sq.sync();
                    }
                    // SAFETY: the slot is not reused until this send's
                    // completion returns it to `free`; there is room.
                    if unsafe { sq.push(&send) }.is_ok() {
                        sending += 1;
                        answered += 1;
                    } else {
                        free.push(index);
                    }
                } else {
                    free.push(index);
                }
            }
            buffers.give(bid);
        }
        buffers.publish();
        cq.sync();
        sq.sync();
        responder.finish_batch(started, answered);
    }
}
