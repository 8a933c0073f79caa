//! The response reader against scripted servers: framing, limits and
//! errors at the edges. In-memory streams on a paused clock, so "does not
//! wait for the rest" is a fact, not a timing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::dynamic::health::fuzzing::{Scripted, read_raw_response};

fn get() -> Request<Empty<Bytes>> {
    Request::get("/")
        .header("Host", "t.test")
        .body(Empty::new())
        .unwrap()
}

/// Reads `raw` as the whole response (the server closes after it), handed
/// over `read_size` bytes at a time.
async fn read_in(raw: &[u8], read_size: usize, limit: u64) -> Result<Hop, CheckError> {
    exchange(Scripted::new(raw, read_size), get(), limit).await
}

async fn read(raw: &[u8], limit: u64) -> Result<Hop, CheckError> {
    read_in(raw, usize::MAX, limit).await
}

/// The server sends `raw` and then neither sends nor closes; `None` when
/// the reader is still waiting after 60 s (of paused clock: at once).
async fn stalled(raw: Vec<u8>, limit: u64) -> Option<Result<Hop, CheckError>> {
    let (client, mut server) = tokio::io::duplex(1 << 16);
    let writer = tokio::spawn(async move {
        read_request(&mut server).await;
        let _ = server.write_all(&raw).await;
        std::future::pending::<()>().await;
        drop(server);
    });
    let hop = tokio::time::timeout(Duration::from_secs(60), exchange(client, get(), limit)).await;
    writer.abort();
    hop.ok()
}

/// Reads up to the end of the request head, as a server does before it
/// answers.
async fn read_request(server: &mut tokio::io::DuplexStream) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if server.read_exact(&mut byte).await.is_err() {
            return;
        }
        head.push(byte[0]);
    }
}

/// [`stalled`], for a response the reader must finish without the rest.
async fn read_then_stall(raw: Vec<u8>, limit: u64) -> Result<Hop, CheckError> {
    stalled(raw, limit)
        .await
        .expect("the reader waited for bytes that never come")
}

fn body(hop: Hop) -> (u16, Vec<u8>) {
    match hop {
        Hop::Final(r) => (r.status, r.body),
        Hop::Redirect(l) => panic!("redirect to {l}"),
    }
}

fn bad_response(r: Result<Hop, CheckError>) -> String {
    match r {
        Err(CheckError::Response(text)) => text,
        other => panic!("expected a bad response, got {other:?}"),
    }
}

/// What `request` looks like on the wire, as hyper writes it.
pub(in crate::dynamic::health) async fn wire_request(request: Request<Empty<Bytes>>) -> String {
    let written = Arc::new(Mutex::new(Vec::new()));
    let stream = Recording {
        reply: Scripted::new(b"HTTP/1.1 204 No Content\r\n\r\n", usize::MAX),
        written: Arc::clone(&written),
    };
    exchange(stream, request, 0).await.unwrap();
    String::from_utf8(written.lock().unwrap().clone()).unwrap()
}

/// A [`Scripted`] server that keeps what the client wrote.
struct Recording {
    reply: Scripted<'static>,
    written: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Recording {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.reply).poll_read(cx, buf)
    }
}

impl AsyncWrite for Recording {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.lock().unwrap().extend_from_slice(buf);
        Pin::new(&mut self.reply).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(start_paused = true)]
async fn content_length_bodies() {
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello trailing";
    assert_eq!(body(read(raw, 0).await.unwrap()), (200, b"hello".to_vec()));
    // The length is all the reader waits for.
    let r = read_then_stall(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        0,
    )
    .await;
    assert_eq!(body(r.unwrap()), (200, b"ok".to_vec()));
    // Cut short: a failure, however it is split.
    for size in [1, 7, usize::MAX] {
        let r = read_in(
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort",
            size,
            0,
        )
        .await;
        bad_response(r);
    }
    // Conflicting or malformed lengths are refused.
    bad_response(
        read(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
            0,
        )
        .await,
    );
    bad_response(read(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc", 0).await);
}

#[tokio::test(start_paused = true)]
async fn chunked_bodies() {
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n";
    for size in [1, 2, 5, usize::MAX] {
        assert_eq!(
            body(read_in(raw, size, 0).await.unwrap()),
            (200, b"abcde".to_vec()),
            "read size {size}"
        );
    }
    // Chunked wins over a Content-Length beside it.
    let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n\
                3\r\nabc\r\n0\r\n\r\n";
    assert_eq!(body(read(raw, 0).await.unwrap()), (200, b"abc".to_vec()));
    // A closed connection inside a chunk, a bad size, a missing CRLF.
    for raw in [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab".as_slice(),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n",
    ] {
        bad_response(read(raw, 0).await);
    }
}

#[tokio::test(start_paused = true)]
async fn close_delimited_bodies() {
    let r = read(b"HTTP/1.0 404 Not Found\r\n\r\nto the end", 0).await;
    assert_eq!(body(r.unwrap()), (404, b"to the end".to_vec()));
    // A transfer coding that is not chunked: the body runs to the close.
    let r = read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw", 0).await;
    assert_eq!(body(r.unwrap()), (200, b"raw".to_vec()));
    // A TLS peer closing without close_notify ends the body (libcurl).
    let stream = EofEnds(UnexpectedEofAfter(Scripted::new(
        b"HTTP/1.1 200 OK\r\n\r\nall of it",
        usize::MAX,
    )));
    let r = exchange(stream, get(), 0).await;
    assert_eq!(body(r.unwrap()), (200, b"all of it".to_vec()));
}

/// Like rustls: the end of the stream is an `UnexpectedEof` error.
struct UnexpectedEofAfter(Scripted<'static>);

impl AsyncRead for UnexpectedEofAfter {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.0).poll_read(cx, buf))?;
        if buf.filled().len() == before {
            return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for UnexpectedEofAfter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[tokio::test(start_paused = true)]
async fn heads_interim_responses_and_bodiless_statuses() {
    let r = read(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        0,
    )
    .await;
    assert_eq!(body(r.unwrap()), (200, b"ok".to_vec()));
    // 204 and 304 have no body, whatever follows.
    let r = read(b"HTTP/1.1 204 No Content\r\n\r\nignored", 0).await;
    assert_eq!(body(r.unwrap()), (204, Vec::new()));
    let r = read(
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        0,
    )
    .await;
    assert_eq!(body(r.unwrap()), (304, Vec::new()));
    // libcurl's tolerance: a space before the colon, a folded header.
    let r = read(
        b"HTTP/1.1 200 OK\r\nX-A : 1\r\nX-B: 2\r\n  more\r\nContent-Length: 1\r\n\r\nz",
        0,
    )
    .await;
    assert_eq!(body(r.unwrap()), (200, b"z".to_vec()));
    bad_response(read(b"garbage\r\n\r\n", 0).await);
    bad_response(read(b"HTTP/1.1 200 OK\r\nContent-Le", 0).await);
    bad_response(read(b"", 0).await);
}

#[tokio::test(start_paused = true)]
async fn oversized_heads_are_refused_without_reading_on() {
    // One huge header, sent slowly, and the server never finishes the head.
    let mut huge = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    huge.resize(MAX_HEAD + 10, b'a');
    let text = bad_response(read_then_stall(huge, 0).await);
    assert!(text.contains("too large"), "{text}");
    // Just under the limit is fine.
    let mut fits = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
    fits.resize(MAX_HEAD - 100, b'a');
    fits.extend_from_slice(b"\r\nContent-Length: 1\r\n\r\nz");
    assert_eq!(body(read(&fits, 0).await.unwrap()), (200, b"z".to_vec()));
    // Too many headers.
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    bad_response(read(&many, 0).await);
}

#[tokio::test(start_paused = true)]
async fn redirects_come_back_without_their_body() {
    let r = read_then_stall(
        b"HTTP/1.1 302 Found\r\nLocation:  /next \r\nContent-Length: 100\r\n\r\npart".to_vec(),
        0,
    )
    .await;
    assert!(
        matches!(r, Ok(Hop::Redirect(ref l)) if l == "/next"),
        "{r:?}"
    );
    for code in [301, 303, 307, 308] {
        let raw =
            format!("HTTP/1.1 {code} X\r\nLocation: https://b.test/\r\nContent-Length: 0\r\n\r\n");
        let r = read(raw.as_bytes(), 0).await;
        assert!(
            matches!(r, Ok(Hop::Redirect(ref l)) if l == "https://b.test/"),
            "{code}: {r:?}"
        );
    }
    // Without Location, or another 3xx: a final response.
    let r = read(b"HTTP/1.1 302 Found\r\nContent-Length: 1\r\n\r\nx", 0).await;
    assert_eq!(body(r.unwrap()), (302, b"x".to_vec()));
    let r = read(
        b"HTTP/1.1 300 Multiple\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n",
        0,
    )
    .await;
    assert_eq!(body(r.unwrap()).0, 300);
}

#[tokio::test(start_paused = true)]
async fn byteslimit_stops_a_stalled_transfer_as_complete() {
    // Content-Length: 10 of 100 bytes arrive, limit 4.
    let r = read_then_stall(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789".to_vec(),
        4,
    )
    .await;
    let (status, b) = body(r.unwrap());
    assert_eq!(status, 200);
    assert!(b.len() > 4 && b.starts_with(b"0123"), "{b:?}");
    // Mid-chunk: the limit is crossed inside a chunk whose rest never comes.
    let r = read_then_stall(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n64\r\ndefgh".to_vec(),
        5,
    )
    .await;
    let (_, b) = body(r.unwrap());
    assert!(b.len() > 5 && b.starts_with(b"abcde"), "{b:?}");
    // Not crossed: the reader waits for the rest (until the deadline).
    let waiting = stalled(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123".to_vec(),
        50,
    )
    .await;
    assert!(waiting.is_none(), "{waiting:?}");
}

#[tokio::test(start_paused = true)]
async fn kept_body_is_bounded() {
    // One read far past the limit keeps at most MAX_OVERSHOOT beyond it.
    let mut raw = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    raw.resize(raw.len() + 200_000, b'x');
    let (_, b) = body(read(&raw, 10).await.unwrap());
    assert!(b.len() > 10 && b.len() <= 10 + MAX_OVERSHOOT, "{}", b.len());
    // Unlimited: MAX_BODY, then the transfer ends as complete although the
    // server has more and never closes.
    let (client, mut server) = tokio::io::duplex(1 << 16);
    let writer = tokio::spawn(async move {
        read_request(&mut server).await;
        let _ = server.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
        loop {
            if server.write_all(&[b'y'; 4096]).await.is_err() {
                break;
            }
        }
    });
    let r = tokio::time::timeout(Duration::from_secs(60), exchange(client, get(), 0))
        .await
        .expect("stops at MAX_BODY");
    let (_, b) = body(r.unwrap());
    assert_eq!(b.len(), MAX_BODY);
    writer.abort();
}

#[test]
fn limited_body_caps() {
    let cap = |limit| LimitedBody::new(limit).cap();
    assert_eq!(cap(0), MAX_BODY);
    assert_eq!(cap(10), 10 + MAX_OVERSHOOT);
    assert_eq!(cap(MAX_BODY as u64), MAX_BODY);
    assert_eq!(cap(u64::MAX), MAX_BODY);
    let mut b = LimitedBody::new(3);
    assert!(!b.push(b"abc"), "exactly the limit goes on");
    assert!(b.push(b"d"), "past it stops");
    let mut b = LimitedBody::new(3);
    assert!(b.push(&[b'x'; 100_000]));
    assert_eq!(b.data.len(), 3 + MAX_OVERSHOOT);
}

#[tokio::test(start_paused = true)]
async fn fuzz_entry_reads_like_a_check() {
    let r = read_raw_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n12", 1, 0).await;
    assert!(matches!(r, Ok(Hop::Final(Response { status: 200, ref body })) if body == b"12"));
    assert!(read_raw_response(b"nonsense", 3, 0).await.is_err());
}
