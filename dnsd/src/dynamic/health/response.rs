//! Sends one GET and reads its response with hyper's HTTP/1.1 client
//! connection, over a stream the caller opened (TCP or TLS to the pinned
//! address), then applies the check's limits to what hyper hands over.
//!
//! hyper owns the wire format: the status line and headers, interim 1xx
//! responses, and body framing by `Content-Length`, `chunked` or the end of
//! the connection. This module owns the policy:
//!
//! - the head is at most [`MAX_HEAD`] bytes and [`MAX_HEADERS`] headers;
//! - a redirect (301, 302, 303, 307, 308 with `Location`) is returned
//!   without reading its body;
//! - `byteslimit`: once more than N body bytes have arrived the transfer
//!   stops and counts as complete, keeping what arrived, at most
//!   [`MAX_OVERSHOOT`] past N (libcurl's largest single write);
//! - without `byteslimit` the body stops at [`MAX_BODY`] the same way;
//! - a TLS peer closing without `close_notify` ends the stream, as it does
//!   for libcurl (a `Content-Length` body cut short is still an error).
//!
//! No task is spawned: the connection is driven inside the caller's future,
//! so the caller's one deadline drops everything at once.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::LOCATION;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::CheckError;

/// Most bytes of a response head (status line and headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// Most response headers.
pub const MAX_HEADERS: usize = 100;
/// Most body bytes kept when `byteslimit` is 0 (unlimited in PowerDNS):
/// reaching it ends the transfer the way `byteslimit` does.
pub const MAX_BODY: usize = 1 << 20;
/// Most bytes kept past `byteslimit`: libcurl checks the limit after each
/// write of at most 16 KiB (`CURL_MAX_WRITE_SIZE`), so its body overshoots
/// the limit by less than that.
pub const MAX_OVERSHOOT: usize = 16 * 1024;

/// The final response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Body, possibly cut short by `byteslimit` or [`MAX_BODY`].
    pub body: Vec<u8>,
}

/// What one request led to.
#[derive(Debug)]
pub enum Hop {
    /// A response to check.
    Final(Response),
    /// A redirect to this `Location` (not yet resolved against the URL).
    Redirect(String),
}

/// Sends `request` over `stream` and reads the response under the limits
/// above.
pub(super) async fn exchange<S>(
    stream: S,
    request: Request<Empty<Bytes>>,
    byteslimit: u64,
) -> Result<Hop, CheckError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let io = TokioIo::new(EofEnds(stream));
    let (mut sender, mut conn) = hyper::client::conn::http1::Builder::new()
        .max_header_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        // libcurl tolerates these in responses; none of them touches framing.
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        // libcurl's spelling of the request header names.
        .title_case_headers(true)
        .handshake::<_, Empty<Bytes>>(io)
        .await
        .map_err(from_hyper)?;
    let read = async move {
        let response = sender.send_request(request).await.map_err(from_hyper)?;
        read_response(response, byteslimit).await
    };
    tokio::pin!(read);
    // The connection ends first when the peer closes or sends garbage; the
    // response side then sees the outcome (the body so far, or the error).
    tokio::select! {
        biased;
        hop = &mut read => hop,
        _ = &mut conn => read.await,
    }
}

async fn read_response(
    response: hyper::Response<hyper::body::Incoming>,
    byteslimit: u64,
) -> Result<Hop, CheckError> {
    let status = response.status();
    if is_redirect(status)
        && let Some(location) = response.headers().get(LOCATION)
    {
        let location = String::from_utf8_lossy(location.as_bytes());
        return Ok(Hop::Redirect(location.trim().to_string()));
    }
    let mut body = LimitedBody::new(byteslimit);
    let mut incoming = response.into_body();
    while let Some(frame) = incoming.frame().await {
        // Trailers carry nothing a check needs.
        if let Ok(data) = frame.map_err(from_hyper)?.into_data()
            && body.push(&data)
        {
            break;
        }
    }
    Ok(Hop::Final(Response {
        status: status.as_u16(),
        body: body.data,
    }))
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A hyper error as a check failure: a transport error keeps its
/// `io::Error`, anything else (a malformed or oversized head, bad framing,
/// a body cut short) is a bad response.
fn from_hyper(err: hyper::Error) -> CheckError {
    let cause = std::error::Error::source(&err);
    match cause.and_then(|c| c.downcast_ref::<io::Error>()) {
        // hyper's words for a body cut short and for bad chunk framing.
        Some(io)
            if matches!(
                io.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::InvalidData
            ) =>
        {
            CheckError::Response(format!("{err}: {io}"))
        }
        Some(io) => CheckError::Io(io::Error::new(io.kind(), io.to_string())),
        None => match cause {
            Some(cause) => CheckError::Response(format!("{err}: {cause}")),
            None => CheckError::Response(err.to_string()),
        },
    }
}

/// The body as it arrives, and whether to stop reading.
struct LimitedBody {
    data: Vec<u8>,
    /// `byteslimit`; 0 for none.
    limit: u64,
}

impl LimitedBody {
    fn new(limit: u64) -> LimitedBody {
        LimitedBody {
            data: Vec::new(),
            limit,
        }
    }

    /// Most bytes ever kept.
    fn cap(&self) -> usize {
        match usize::try_from(self.limit) {
            Ok(0) => MAX_BODY,
            Ok(n) => n.saturating_add(MAX_OVERSHOOT).min(MAX_BODY),
            Err(_) => MAX_BODY,
        }
    }

    /// Appends; true when the transfer should stop here (counts as done).
    fn push(&mut self, bytes: &[u8]) -> bool {
        let room = self.cap() - self.data.len();
        self.data.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let past_limit = self.limit > 0 && self.data.len() as u64 > self.limit;
        past_limit || self.data.len() >= self.cap()
    }
}

/// A stream whose unexpected EOF (rustls: the peer closed without
/// `close_notify`) reads as a plain end of stream.
struct EofEnds<S>(S);

impl<S: AsyncRead + Unpin> AsyncRead for EofEnds<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match ready!(Pin::new(&mut self.0).poll_read(cx, buf)) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EofEnds<S> {
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

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
pub(super) mod tests;
