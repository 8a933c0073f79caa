//! Reads a zone file's bytes from disk, refusing what is not zone data.
//!
//! A zone file path comes from the operator, but an `$INCLUDE` can name
//! anything dnsd can open. Opening a FIFO blocks until a writer appears,
//! `/dev/zero` never ends, and a file with one endless line would be held
//! in memory whole before the lexer sees its first token. So only regular
//! files are read, the open itself never blocks, and a physical line
//! longer than [`MAX_LINE`] stops the read at that line.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Longest physical line accepted. The longest legitimate line holds one
/// record of 65,535 octets of RDATA written as `\DDD` escapes (four
/// characters an octet), so 1 MiB leaves room and still stops a runaway.
pub const MAX_LINE: usize = 1 << 20;

/// Reads the zone file at `path` as text. Errors are sentences naming the
/// path; they never quote the file's content.
pub fn read_zone_text(path: &Path) -> Result<String, String> {
    let cannot = |why: &dyn std::fmt::Display| format!("cannot read {}: {why}", path.display());
    // O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
    // It changes nothing for the reads of a regular file.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| cannot(&e))?;
    // Checked on the open file, not the path, so a swap between the check
    // and the open cannot slip a device in.
    let meta = file.metadata().map_err(|e| cannot(&e))?;
    if !meta.is_file() {
        return Err(cannot(&"not a regular file"));
    }
    let bytes = read_bounded_lines(file, meta.len()).map_err(|e| match e {
        ReadError::Io(e) => cannot(&e),
        ReadError::LongLine(line) => {
            cannot(&format_args!("line {line} is longer than {MAX_LINE} bytes"))
        }
    })?;
    String::from_utf8(bytes).map_err(|_| cannot(&"stream did not contain valid UTF-8"))
}

enum ReadError {
    Io(std::io::Error),
    /// The 1-based number of the first line over [`MAX_LINE`].
    LongLine(usize),
}

fn read_bounded_lines(file: File, size_hint: u64) -> Result<Vec<u8>, ReadError> {
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut bytes = Vec::with_capacity(usize::try_from(size_hint).unwrap_or(0));
    let mut line = 0;
    loop {
        line += 1;
        // One byte past the limit tells a line of exactly MAX_LINE bytes
        // (newline included) from a longer one.
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut bytes)
            .map_err(ReadError::Io)?;
        if read == 0 {
            return Ok(bytes);
        }
        if read > MAX_LINE {
            return Err(ReadError::LongLine(line));
        }
    }
}
