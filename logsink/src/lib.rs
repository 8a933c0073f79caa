//! Log output that never blocks or panics the process that logs.
//!
//! A server's standard error (or output) is a pipe it does not control: the
//! reader may stop reading (the pipe fills and a write blocks) or go away
//! (every write fails with EPIPE). Written to directly, the first stalls the
//! thread that logs, an answer path included, and the second makes
//! `tracing-subscriber` report its own failure with `eprintln!`, which
//! panics when standard error is the broken pipe.
//!
//! [`LogSink`] is a `MakeWriter` for `tracing-subscriber`: each event is
//! formatted into its own buffer and queued; one writer thread does the
//! blocking writes. A full queue or a failed write drops the line and counts
//! it ([`dropped_lines`]), for the caller to report on `/metrics`. A process
//! has one log destination, so the count is process-wide.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use tracing_subscriber::fmt::MakeWriter;

/// Lines queued at most before new ones are dropped: a burst of this many
/// is absorbed while the reader catches up.
pub const DEFAULT_QUEUE: usize = 4096;

/// Where the lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Lines the process's sink dropped: the queue was full, or the write failed.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Lines queued and not yet written by the process's sink.
static PENDING: AtomicU64 = AtomicU64::new(0);

/// Lines dropped so far by this process's log sink.
pub fn dropped_lines() -> u64 {
    DROPPED.load(Relaxed)
}

/// Waits, at most `limit`, until every queued line has been written (or
/// dropped): a process about to exit calls it so its last lines are not
/// lost with the writer thread.
pub fn flush(limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    while PENDING.load(Relaxed) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Writes one line to standard error for a command-line tool; a standard
/// error that cannot be written is not worth failing over.
pub fn print_stderr(text: std::fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(text).and_then(|()| err.write_all(b"\n"));
}

/// A lossy, non-blocking log destination; clones share one queue.
#[derive(Clone)]
pub struct LogSink {
    queue: SyncSender<Vec<u8>>,
    dropped: &'static AtomicU64,
    pending: &'static AtomicU64,
}

impl LogSink {
    /// A sink writing to `stream` from a thread of its own, with room for
    /// `queue` lines.
    pub fn spawn(stream: Stream, queue: usize) -> io::Result<LogSink> {
        let (tx, rx) = sync_channel(queue);
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || match stream {
                Stream::Stdout => drain(rx, io::stdout(), &DROPPED, &PENDING),
                Stream::Stderr => drain(rx, io::stderr(), &DROPPED, &PENDING),
            })?;
        Ok(LogSink {
            queue: tx,
            dropped: &DROPPED,
            pending: &PENDING,
        })
    }
}

/// The writer thread: writes each line whole, counts the ones that fail.
fn drain(lines: Receiver<Vec<u8>>, mut out: impl Write, dropped: &AtomicU64, pending: &AtomicU64) {
    for line in lines {
        if out.write_all(&line).and_then(|()| out.flush()).is_err() {
            dropped.fetch_add(1, Relaxed);
        }
        pending.fetch_sub(1, Relaxed);
    }
}

/// One event's text, queued when the formatter is done with it.
pub struct LineWriter {
    line: Vec<u8>,
    sink: LogSink,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.line);
        // Counted before it is queued, so the writer never sees it negative.
        self.sink.pending.fetch_add(1, Relaxed);
        match self.sink.queue.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.sink.pending.fetch_sub(1, Relaxed);
                self.sink.dropped.fetch_add(1, Relaxed);
            }
        }
    }
}

impl<'a> MakeWriter<'a> for LogSink {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            line: Vec::with_capacity(256),
            sink: self.clone(),
        }
    }
}

/// Writes `text` to standard output for a command-line tool. A reader that
/// went away (`dnsd check-zone … | head`) is not an error: the output is
/// simply no longer wanted, so `Ok(false)` tells the caller to stop.
pub fn print_stdout(text: std::fmt::Arguments<'_>) -> io::Result<bool> {
    let mut out = io::stdout().lock();
    match out.write_fmt(text).and_then(|()| out.write_all(b"\n")) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        // A queue nobody drains: the receiver is kept but never read.
        let (tx, _rx) = sync_channel(2);
        let sink = LogSink {
            queue: tx,
            dropped: Box::leak(Box::new(AtomicU64::new(0))),
            pending: Box::leak(Box::new(AtomicU64::new(0))),
        };
        for i in 0..5 {
            let mut w = sink.make_writer();
            write!(w, "line {i}").unwrap();
        }
        assert_eq!(sink.dropped.load(Relaxed), 3);
    }

    #[test]
    fn failed_writes_are_counted() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (tx, rx) = sync_channel(8);
        tx.send(b"a\n".to_vec()).unwrap();
        tx.send(b"b\n".to_vec()).unwrap();
        drop(tx);
        let (dropped, pending) = (AtomicU64::new(0), AtomicU64::new(2));
        drain(rx, Broken, &dropped, &pending);
        assert_eq!(pending.load(Relaxed), 0);
        assert_eq!(dropped.load(Relaxed), 2);
    }

    #[test]
    fn lines_arrive_whole_and_in_order() {
        let (tx, rx) = sync_channel(8);
        let sink = LogSink {
            queue: tx,
            dropped: Box::leak(Box::new(AtomicU64::new(0))),
            pending: Box::leak(Box::new(AtomicU64::new(0))),
        };
        for i in 0..3 {
            let mut w = sink.make_writer();
            write!(w, "event ").unwrap();
            writeln!(w, "{i}").unwrap();
        }
        drop(sink);
        let mut out = Vec::new();
        let (dropped, pending) = (AtomicU64::new(0), AtomicU64::new(3));
        drain(rx, &mut out, &dropped, &pending);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "event 0\nevent 1\nevent 2\n"
        );
        assert_eq!(dropped.load(Relaxed), 0);
    }
}
