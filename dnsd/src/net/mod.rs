//! Transports: UDP workers on OS threads and TCP on tokio.
//!
//! UDP uses one SO_REUSEPORT socket per worker thread, each looping over
//! receive -> answer -> send with its own scratch buffers: no task per
//! packet, no lock, no allocation once warmed up. TCP runs on a separate
//! tokio runtime, so slow or idle TCP clients never hold a UDP worker.
//!
//! The UDP workers use `recvmmsg`/`sendmmsg`. An io_uring backend
//! (multishot `recvmsg` over a provided-buffer ring, commit 6d21f7e) cost
//! as much per query at full load and 12 % more at 20,000 queries/s, so it
//! was not kept (BENCHMARKS.md, "io_uring").

pub mod rrl;
pub mod tcp;
pub mod udp;

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// Why a listening socket could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} ({transport}): {source}")]
pub struct BindError {
    pub addr: SocketAddr,
    pub transport: &'static str,
    #[source]
    pub source: io::Error,
}

/// Creates a socket for `addr`; IPv6 sockets are IPv6-only so `0.0.0.0:53`
/// and `[::]:53` can both be served.
fn new_socket(addr: SocketAddr, kind: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), kind, Some(protocol))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    Ok(socket)
}
