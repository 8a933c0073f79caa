//! Client side of a PATCH-to-answer measurement: one-shot HTTP/1.1 requests
//! to a PowerDNS-compatible REST API (dnsd or PowerDNS itself), and a UDP
//! probe asking whether a name answers with data yet.
//!
//! Used by `api_latency` (one big zone) and `zone-fleet` (many zones).
//! Loopback only: [`require_loopback`] is the callers' guard.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::queryfile::{QueryOptions, build_query};

/// Fails unless every address is on loopback (127.0.0.0/8 or ::1).
pub fn require_loopback(addrs: &[SocketAddr]) -> anyhow::Result<()> {
    for addr in addrs {
        if !addr.ip().is_loopback() {
            bail!("{addr} is not a loopback address");
        }
    }
    Ok(())
}

/// One HTTP/1.1 request with `X-API-Key`, on a fresh connection (closed
/// after the reply, so the body ends at EOF); returns the status and body.
pub fn http(
    api: SocketAddr,
    key: &str,
    method: &str,
    path: &str,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(api).context("connecting to the API")?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\nX-API-Key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    let reply = String::from_utf8_lossy(&reply);
    let status = reply.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    let (head, text) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    let chunked = head
        .lines()
        .any(|l| l.eq_ignore_ascii_case("transfer-encoding: chunked"));
    let text = if chunked {
        dechunk(text)
    } else {
        text.to_string()
    };
    Ok((status, text))
}

/// The body of a `Transfer-Encoding: chunked` reply (PowerDNS sends large
/// listings that way).
fn dechunk(mut text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    while let Some((size, rest)) = text.split_once("\r\n") {
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        text = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Asks `server` for `name` A (no EDNS) and waits up to the socket's read
/// timeout: `Some(first A address)` when it answers NOERROR with an A
/// record, `None` on anything else (no answer yet, NXDOMAIN, refused).
pub fn probe_a(
    udp: &UdpSocket,
    server: SocketAddr,
    name: &str,
    id: u16,
) -> anyhow::Result<Option<Ipv4Addr>> {
    let mut q = build_query(name, 1, QueryOptions::default()).map_err(anyhow::Error::msg)?;
    q[..2].copy_from_slice(&id.to_be_bytes());
    // A server not listening yet (start-up) makes send or recv fail with
    // "connection refused": not answered yet.
    if udp.send_to(&q, server).is_err() {
        return Ok(None);
    }
    let mut buf = [0u8; 1500];
    loop {
        match udp.recv_from(&mut buf) {
            Ok((n, _)) if n >= 12 && buf[..2] == id.to_be_bytes() => {
                return Ok(first_a(&buf[..n], q.len()));
            }
            Ok(_) => continue,
            Err(_) => return Ok(None),
        }
    }
}

/// The first A record in the answer section of a NOERROR reply whose
/// question (echoed) ends at `question_end`.
fn first_a(reply: &[u8], question_end: usize) -> Option<Ipv4Addr> {
    let rcode = reply[3] & 0x0F;
    let ancount = u16::from_be_bytes([reply[6], reply[7]]);
    if rcode != 0 || ancount == 0 {
        return None;
    }
    let mut pos = question_end;
    for _ in 0..ancount {
        // Owner name: labels up to a root byte or a compression pointer.
        loop {
            let len = *reply.get(pos)?;
            if len >= 0xC0 {
                pos += 2;
                break;
            }
            pos += 1 + len as usize;
            if len == 0 {
                break;
            }
        }
        let fixed = reply.get(pos..pos + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let rdata = reply.get(pos + 10..pos + 10 + rdlen)?;
        if rtype == 1 && rdlen == 4 {
            return Some(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]));
        }
        pos += 10 + rdlen;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunk_joins_chunks() {
        assert_eq!(dechunk("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), "abcde");
    }

    #[test]
    fn first_a_skips_a_cname_to_the_address() {
        // Header (NOERROR, 2 answers), question www.t A, CNAME then A.
        let mut m = vec![0, 1, 0x84, 0, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x03www\x01t\x00\x00\x01\x00\x01");
        let question_end = m.len();
        m.extend_from_slice(&[0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend_from_slice(b"\x01a\xC0\x10");
        m.extend_from_slice(b"\x01a\xC0\x10\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04");
        m.extend_from_slice(&[192, 0, 2, 9]);
        assert_eq!(first_a(&m, question_end), Some(Ipv4Addr::new(192, 0, 2, 9)));
        m[3] = 3; // NXDOMAIN
        assert_eq!(first_a(&m, question_end), None);
    }
}
