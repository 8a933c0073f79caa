//! Asks one name server one question and judges the reply: UDP first,
//! TCP when the reply is truncated (RFC 1035 §4.2), everything within one
//! deadline. The answers the fleet code needs are read here: the SOA
//! serial a server serves for a zone, and the A addresses of a name, both
//! only from authoritative (AA) NOERROR replies, since a name server that
//! is not authoritative for the zone does not serve it.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use dnstypes::{Name, RType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::message::{ParseError, RecordData, Reply, build_query, parse_reply, rcode};

/// Large enough for any UDP reply without EDNS (512) and then some: a
/// server that ignores the limit is read rather than misparsed.
const UDP_BUFFER: usize = 4096;

/// Why a name server's answer does not say what was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// No reply within the time allowed.
    #[error("timeout")]
    Timeout,
    /// The reply's RCODE was not NOERROR (e.g. REFUSED: the server does
    /// not have the zone; SERVFAIL: it has it but cannot serve it).
    #[error("{}", rcode::name(*.0))]
    Rcode(u8),
    /// NOERROR, but without AA: the server does not serve the zone itself.
    #[error("not authoritative")]
    NotAuthoritative,
    /// Authoritative NOERROR, yet no SOA at the zone's apex: the name is
    /// inside some other zone the server has.
    #[error("no SOA at the apex")]
    NoSoa,
    /// The exchange failed (connection refused, unreachable, reset).
    #[error("network: {0}")]
    Network(String),
    /// The reply could not be read.
    #[error("malformed reply: {0}")]
    Malformed(#[from] ParseError),
}

/// The SOA serial `server` serves for `zone`, from an authoritative reply.
pub async fn served_serial(
    server: SocketAddr,
    zone: &Name,
    timeout: Duration,
) -> Result<u32, ProbeError> {
    let reply = ask(server, zone, RType::SOA, timeout).await?;
    authoritative_noerror(&reply)?;
    reply
        .answers
        .iter()
        .find_map(|r| match r.data {
            RecordData::Soa { serial } if r.owner == *zone => Some(serial),
            _ => None,
        })
        .ok_or(ProbeError::NoSoa)
}

/// The A addresses `server` serves for `name` (empty for NODATA), from an
/// authoritative reply.
pub async fn served_addresses(
    server: SocketAddr,
    name: &Name,
    timeout: Duration,
) -> Result<Vec<Ipv4Addr>, ProbeError> {
    let reply = ask(server, name, RType::A, timeout).await?;
    authoritative_noerror(&reply)?;
    Ok(reply
        .answers
        .iter()
        .filter(|r| r.owner == *name)
        .filter_map(|r| match r.data {
            RecordData::A(ip) => Some(ip),
            _ => None,
        })
        .collect())
}

fn authoritative_noerror(reply: &Reply) -> Result<(), ProbeError> {
    if reply.rcode != rcode::NOERROR {
        return Err(ProbeError::Rcode(reply.rcode));
    }
    if !reply.authoritative {
        return Err(ProbeError::NotAuthoritative);
    }
    Ok(())
}

/// One question to `server`, answered within `timeout` (UDP, then TCP if
/// the UDP reply is truncated).
pub async fn ask(
    server: SocketAddr,
    name: &Name,
    qtype: RType,
    timeout: Duration,
) -> Result<Reply, ProbeError> {
    tokio::time::timeout(timeout, exchange(server, name, qtype))
        .await
        .map_err(|_| ProbeError::Timeout)?
}

async fn exchange(server: SocketAddr, name: &Name, qtype: RType) -> Result<Reply, ProbeError> {
    // A fresh id and (ephemeral) port per question, so a late reply to an
    // earlier probe is never taken for this one's.
    let id: u16 = rand::random();
    let query = build_query(id, name, qtype);
    let reply = over_udp(server, &query, id, name, qtype).await?;
    if reply.truncated {
        over_tcp(server, &query, id, name, qtype).await
    } else {
        Ok(reply)
    }
}

async fn over_udp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &Name,
    qtype: RType,
) -> Result<Reply, ProbeError> {
    let local: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await.map_err(network)?;
    // Connected: datagrams from other sources are dropped by the kernel,
    // and a closed port shows as "connection refused" at once.
    socket.connect(server).await.map_err(network)?;
    socket.send(query).await.map_err(network)?;
    let mut buf = vec![0u8; UDP_BUFFER];
    loop {
        let n = socket.recv(&mut buf).await.map_err(network)?;
        match parse_reply(&buf[..n]) {
            Ok(reply) if answers(&reply, id, name, qtype) => return Ok(reply),
            // Not ours (a stray or forged datagram): keep listening until
            // the caller's deadline.
            Ok(_) | Err(ParseError::NotAReply) => continue,
            Err(e) if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id => {
                return Err(e.into());
            }
            Err(_) => continue,
        }
    }
}

async fn over_tcp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &Name,
    qtype: RType,
) -> Result<Reply, ProbeError> {
    let mut stream = TcpStream::connect(server).await.map_err(network)?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&(query.len() as u16).to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await.map_err(network)?;
    let len = stream.read_u16().await.map_err(network)?;
    let mut buf = vec![0u8; usize::from(len)];
    stream.read_exact(&mut buf).await.map_err(network)?;
    let reply = parse_reply(&buf)?;
    if answers(&reply, id, name, qtype) {
        Ok(reply)
    } else {
        Err(ProbeError::Network(
            "the TCP reply does not answer the question".into(),
        ))
    }
}

/// Whether `reply` answers our question (id, and the question when echoed).
fn answers(reply: &Reply, id: u16, name: &Name, qtype: RType) -> bool {
    reply.id == id
        && reply
            .question
            .as_ref()
            .is_none_or(|(n, t)| n == name && *t == qtype)
}

fn network(e: std::io::Error) -> ProbeError {
    ProbeError::Network(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `query` answered: QR and `flags` set, one SOA with `serial` for the
    /// question name when `serial` is given.
    fn answer(query: &[u8], flags: u16, serial: Option<u32>) -> Vec<u8> {
        let mut msg = query.to_vec();
        msg[2..4].copy_from_slice(&(0x8000 | flags).to_be_bytes());
        if let Some(serial) = serial {
            msg[6..8].copy_from_slice(&1u16.to_be_bytes());
            let mut rdata = b"\xc0\x0c\xc0\x0c".to_vec();
            rdata.extend_from_slice(&serial.to_be_bytes());
            rdata.extend_from_slice(&[0; 16]);
            msg.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60]);
            msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            msg.extend_from_slice(&rdata);
        }
        msg
    }

    /// A UDP responder on loopback answering every query with
    /// `reply(query)`, for as long as the test's runtime lives.
    async fn udp_responder(reply: fn(&[u8]) -> Vec<u8>) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let _ = socket.send_to(&reply(&buf[..n]), from).await;
            }
        });
        addr
    }

    fn zone() -> Name {
        "pool.test.".parse().unwrap()
    }

    #[tokio::test]
    async fn serial_from_an_authoritative_udp_reply() {
        let addr = udp_responder(|q| answer(q, 0x0400, Some(42))).await;
        let serial = served_serial(addr, &zone(), Duration::from_secs(2)).await;
        assert_eq!(serial, Ok(42));
    }

    #[tokio::test]
    async fn refused_and_unauthoritative_replies_are_named() {
        let addr = udp_responder(|q| answer(q, 5, None)).await;
        let e = served_serial(addr, &zone(), Duration::from_secs(2)).await;
        assert_eq!(e, Err(ProbeError::Rcode(5)));
        assert_eq!(e.unwrap_err().to_string(), "REFUSED");
        let addr = udp_responder(|q| answer(q, 0, Some(42))).await;
        let e = served_serial(addr, &zone(), Duration::from_secs(2)).await;
        assert_eq!(e, Err(ProbeError::NotAuthoritative));
    }

    #[tokio::test]
    async fn truncated_udp_falls_back_to_tcp() {
        // UDP says "truncated"; the TCP listener on the same port answers.
        let addr = udp_responder(|q| answer(q, 0x0400 | 0x0200, None)).await;
        let Ok(listener) = tokio::net::TcpListener::bind(addr).await else {
            // The TCP port is taken by something else: nothing to test.
            return;
        };
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let len = conn.read_u16().await.unwrap();
            let mut q = vec![0u8; usize::from(len)];
            conn.read_exact(&mut q).await.unwrap();
            let reply = answer(&q, 0x0400, Some(7));
            conn.write_u16(reply.len() as u16).await.unwrap();
            conn.write_all(&reply).await.unwrap();
        });
        assert_eq!(
            served_serial(addr, &zone(), Duration::from_secs(2)).await,
            Ok(7)
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_an_error_at_once_or_a_timeout() {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        // The socket is dropped: the port is closed.
        let started = std::time::Instant::now();
        let e = served_serial(port, &zone(), Duration::from_millis(500))
            .await
            .unwrap_err();
        assert!(
            matches!(e, ProbeError::Network(_) | ProbeError::Timeout),
            "{e:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
