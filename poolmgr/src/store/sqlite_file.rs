//! The SQLite database file is readable by its owner only: it holds the
//! allocations, their owners and the token hashes. poolmgr creates it
//! 0600 before SQLite opens it, because SQLite gives its `-wal` and `-shm`
//! files the database file's permissions; an existing file (and those
//! two) readable by others is narrowed to 0600 at start, with a log line.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::StoreError;

/// The file's mode.
const MODE: u32 = 0o600;

/// Creates the database file of a `sqlite://` URL's `path` (query
/// included) 0600 if missing, or narrows it and its companions to 0600.
/// In-memory databases have no file.
pub(super) fn prepare(path_and_query: &str) -> Result<(), StoreError> {
    let path = path_and_query
        .split_once('?')
        .map_or(path_and_query, |(p, _)| p);
    if path.is_empty() || path == ":memory:" || path_and_query.contains("mode=memory") {
        return Ok(());
    }
    let err = |error: std::io::Error| StoreError::File {
        path: path.to_owned(),
        error,
    };
    if path_and_query.contains("mode=ro") {
        // Opened read-only: never created here; SQLite reports a missing file.
        return narrow(Path::new(path)).map_err(err);
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(MODE)
        .open(path)
    {
        Ok(_) => {
            // The mode asked for is masked by the umask; set it exactly.
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(MODE)).map_err(err)?;
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            for file in [
                path.to_owned(),
                format!("{path}-wal"),
                format!("{path}-shm"),
            ] {
                narrow(Path::new(&file)).map_err(err)?;
            }
            Ok(())
        }
        Err(e) => Err(err(e)),
    }
}

/// Removes group and other permissions from `file`, if it exists.
fn narrow(file: &Path) -> std::io::Result<()> {
    let meta = match std::fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o700))?;
        tracing::warn!(
            file = %file.display(),
            was = format!("{mode:o}"),
            "database file was readable by others: narrowed to its owner"
        );
    }
    Ok(())
}
