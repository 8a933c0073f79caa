//! What the `health_http` fuzz target needs, and nothing dnsd itself uses:
//! the response reader fed from memory. Hidden from the docs; not an API.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use http_body_util::Empty;
use hyper::Request;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::response::exchange;
pub use super::response::{Hop, MAX_BODY, MAX_OVERSHOOT, Response};

/// Entry point for the `health_http` fuzz target: `raw` is the whole of
/// what the server sends, `read_size` bytes per read, then it closes.
/// Returns what a check would see, or the failure as text.
#[doc(hidden)]
pub async fn read_raw_response(
    raw: &[u8],
    read_size: usize,
    byteslimit: u64,
) -> Result<Hop, String> {
    let stream = Scripted::new(raw, read_size);
    let request = Request::get("/")
        .header("Host", "fuzz.test")
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    exchange(stream, request, byteslimit)
        .await
        .map_err(|e| e.to_string())
}

/// An in-memory server: once the request is written, reads give out
/// `input` at most `read_size` bytes at a time, then end; writes are
/// swallowed. Pending only until the first write (hyper refuses bytes that
/// arrive before its request is out).
#[derive(Debug)]
pub(super) struct Scripted<'a> {
    input: &'a [u8],
    read_size: usize,
    requested: bool,
    reader: Option<Waker>,
}

impl<'a> Scripted<'a> {
    pub(super) fn new(input: &'a [u8], read_size: usize) -> Scripted<'a> {
        Scripted {
            input,
            read_size: read_size.max(1),
            requested: false,
            reader: None,
        }
    }
}

impl AsyncRead for Scripted<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.requested {
            self.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = self.input.len().min(self.read_size).min(buf.remaining());
        let (now, rest) = self.input.split_at(n);
        buf.put_slice(now);
        self.input = rest;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Scripted<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.requested = true;
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
