//! Test-only helpers for the test binaries that run library code in
//! process (poolmgr's and registrars'): [`captured_logs`], the one trace
//! capture of a test binary, so tests can check what was logged and what
//! was not (secrets).

use std::sync::{Arc, Mutex, OnceLock};

/// A `Write` sink that appends to a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every trace event of this test binary (ours and every dependency's,
/// `log` records from reqwest included), from the first call on: a global
/// subscriber, because a thread-scoped one misses events from other
/// runtime threads and callsites other test threads registered first.
/// Call it once before the code whose logs you check, and again to read
/// them.
pub fn captured_logs() -> String {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    let logs = LOGS.get_or_init(|| {
        let logs = LogBuffer::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        // try_init also bridges the `log` crate.
        tracing_subscriber::util::SubscriberInitExt::try_init(subscriber)
            .expect("the only subscriber of the test binary");
        logs
    });
    String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}
