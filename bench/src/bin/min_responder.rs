//! `min-responder`: the floor. Answers every UDP query with one fixed A
//! record, copying in the query's ID and question, with batched
//! `recvmmsg`/`sendmmsg` and nothing else: no zone, no lookup, no EDNS.
//! Its CPU per query is the least this machine's kernel and a userspace
//! loop allow; dnsd's target is within 1.1× of it. A TCP listener (one
//! thread per connection, answers written in batches) gives the TCP floor.
//!
//! ```sh
//! min-responder --listen 127.0.0.1:5399 --workers 1 --lifetime 300
//! ```
//!
//! It exits by itself after `--lifetime` seconds.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::bail;
use bench::sys::{self, Batch};
use clap::Parser;

/// Answer every DNS query with a fixed A record.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address to serve on, UDP and TCP (loopback only).
    #[arg(long)]
    listen: SocketAddr,
    /// UDP threads, each with its own SO_REUSEPORT socket.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Datagrams per recvmmsg/sendmmsg call.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Seconds after which the responder exits (1..=86400).
    #[arg(long, default_value_t = 600)]
    lifetime: u64,
}

/// The fixed answer after the question: a pointer to the question name, A
/// IN, TTL 60, RDLENGTH 4, 192.0.2.1.
const ANSWER: [u8; 16] = [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1];

/// Turns the query in `buf[..len]` into the fixed reply, in place. Returns
/// the reply length, or `None` to drop the message.
fn respond(buf: &mut [u8], len: usize) -> Option<usize> {
    if len < 12 || buf[2] & 0x80 != 0 {
        return None;
    }
    let mut at = 12;
    loop {
        let label = usize::from(*buf[..len].get(at)?);
        if label == 0 {
            at += 1;
            break;
        }
        if label > 63 {
            return None;
        }
        at += 1 + label;
    }
    let question_end = at + 4;
    if question_end > len || question_end + ANSWER.len() > buf.len() {
        return None;
    }
    // QR=1, AA=1, RD copied, RCODE 0; QD=1 AN=1 NS=0 AR=0.
    buf[2] = 0x84 | (buf[2] & 0x01);
    buf[3] = 0;
    buf[4..12].copy_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]);
    buf[question_end..question_end + ANSWER.len()].copy_from_slice(&ANSWER);
    Some(question_end + ANSWER.len())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        bail!("min-responder only listens on loopback addresses");
    }
    if !(1..=86_400).contains(&args.lifetime) {
        bail!("--lifetime must be within 1..=86400 seconds");
    }
    let until = Instant::now() + Duration::from_secs(args.lifetime);
    let listener = TcpListener::bind(args.listen)?;
    listener.set_nonblocking(true)?;
    std::thread::spawn(move || serve_tcp(listener, until));
    let workers: Vec<_> = (0..args.workers.max(1))
        .map(|_| {
            let fd = sys::udp_reuseport(args.listen)?;
            sys::set_buffers(fd.as_raw_fd(), 4 << 20);
            sys::set_recv_timeout(fd.as_raw_fd(), Duration::from_millis(100))?;
            let batch = args.batch.clamp(1, 1024);
            Ok(std::thread::spawn(move || serve_udp(fd, batch, until)))
        })
        .collect::<anyhow::Result<_>>()?;
    eprintln!(
        "min-responder: serving {} ({} UDP workers) for {}s",
        args.listen,
        workers.len(),
        args.lifetime
    );
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

fn serve_udp(fd: std::os::fd::OwnedFd, batch: usize, until: Instant) {
    let mut msgs = Batch::new(batch);
    while Instant::now() < until {
        let n = match msgs.recv(fd.as_raw_fd(), batch, true, libc::MSG_WAITFORONE) {
            Ok(n) => n,
            Err(_) => continue, // timeout (EAGAIN) or EINTR: check the deadline
        };
        for i in 0..n {
            let (len, buf) = msgs.received_mut(i);
            let reply = respond(buf, len).unwrap_or(0);
            msgs.set_len(i, reply);
        }
        // Send each run of answered slots; dropped queries (length 0) split runs.
        let mut i = 0;
        while i < n {
            if msgs.len_of(i) == 0 {
                i += 1;
                continue;
            }
            let start = i;
            while i < n && msgs.len_of(i) > 0 {
                i += 1;
            }
            let mut done = start;
            while done < i {
                match msgs.send_range(fd.as_raw_fd(), done, i - done, true) {
                    Ok(k) if k > 0 => done += k,
                    _ => break,
                }
            }
        }
    }
}

fn serve_tcp(listener: TcpListener, until: Instant) {
    while Instant::now() < until {
        match listener.accept() {
            Ok((stream, _)) => {
                std::thread::spawn(move || serve_conn(stream, until));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn serve_conn(mut stream: TcpStream, until: Instant) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut rbuf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut wbuf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut msg = vec![0u8; 65_535 + ANSWER.len()];
    while Instant::now() < until {
        let n = match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(_) => return,
        };
        rbuf.extend_from_slice(&chunk[..n]);
        let mut at = 0;
        while rbuf.len() - at >= 2 {
            let len = usize::from(u16::from_be_bytes([rbuf[at], rbuf[at + 1]]));
            if rbuf.len() - at - 2 < len {
                break;
            }
            msg[..len].copy_from_slice(&rbuf[at + 2..at + 2 + len]);
            if let Some(reply) = respond(&mut msg, len) {
                wbuf.extend_from_slice(&(reply as u16).to_be_bytes());
                wbuf.extend_from_slice(&msg[..reply]);
            }
            at += 2 + len;
        }
        rbuf.drain(..at);
        if !wbuf.is_empty() {
            if stream.write_all(&wbuf).is_err() {
                return;
            }
            wbuf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_place() {
        let mut q = bench::queryfile::build_query("Ab.test", 1, Default::default()).unwrap();
        q[0] = 0x12;
        q[1] = 0x34;
        q[2] |= 0x01;
        let len = q.len();
        q.resize(len + 64, 0);
        let r = respond(&mut q, len).unwrap();
        assert_eq!(r, len + ANSWER.len());
        assert_eq!(&q[..4], &[0x12, 0x34, 0x85, 0]);
        assert_eq!(&q[12..len], b"\x02Ab\x04test\x00\x00\x01\x00\x01");
        assert_eq!(&q[len..r], &ANSWER);
    }

    #[test]
    fn drops_responses_and_garbage() {
        let mut buf = [0u8; 64];
        buf[2] = 0x80;
        assert_eq!(respond(&mut buf, 20), None);
        assert_eq!(respond(&mut [0u8; 64], 5), None);
        let mut bad = [0u8; 64];
        bad[12] = 200;
        assert_eq!(respond(&mut bad, 30), None);
    }
}
