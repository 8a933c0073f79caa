//! UDP: per-worker SO_REUSEPORT sockets, each served by one OS thread.

use std::net::{SocketAddr, UdpSocket};
use std::thread::JoinHandle;

use socket2::{Protocol, Type};
use tracing::{debug, error};

use super::{BindError, new_socket};
use crate::answer::{AnswerConfig, Responder, Transport};
use crate::metrics::Metrics;
use crate::server::SharedCatalog;

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
) -> Vec<JoinHandle<()>> {
    sockets
        .into_iter()
        .enumerate()
        .map(|(index, socket)| {
            let catalog = catalog.clone();
            let config = config.clone();
            let stats = metrics.worker(Transport::Udp);
            std::thread::Builder::new()
                .name(format!("udp-{index}"))
                .spawn(move || serve(socket, catalog, Responder::with_stats(config, stats)))
                .expect("spawning a thread at startup")
        })
        .collect()
}

/// The worker loop: receive, answer, send; forever.
fn serve(socket: UdpSocket, catalog: SharedCatalog, mut responder: Responder) {
    let mut cache = arc_swap::Cache::new(catalog);
    let mut packet = vec![0u8; 65535];
    let mut reply = Vec::with_capacity(4096);
    loop {
        let (len, peer): (usize, SocketAddr) = match socket.recv_from(&mut packet) {
            Ok(received) => received,
            Err(err) => {
                // Transient (e.g. ICMP errors surfacing as ECONNREFUSED); keep serving.
                debug!(%err, "udp receive error");
                continue;
            }
        };
        let catalog = cache.load();
        if responder.answer(&packet[..len], catalog, Transport::Udp, &mut reply)
            && let Err(err) = socket.send_to(&reply, peer)
        {
            debug!(%err, %peer, "udp send error");
        }
        if reply.capacity() > 65536 {
            error!("reply buffer grew past 64 KiB; shrinking");
            reply.shrink_to(4096);
        }
    }
}
