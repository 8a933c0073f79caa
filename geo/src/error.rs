//! The crate's one error type: what failed, and for which file.

use std::fmt;
use std::path::{Path, PathBuf};

/// A GeoIP database could not be opened, read or decoded.
#[derive(Debug)]
pub struct Error {
    path: Option<PathBuf>,
    kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be opened, stat-ed or mapped.
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    /// The bytes are not a valid MaxMind DB (bad metadata, tree or data).
    #[error("not a valid MaxMind DB: {0}")]
    Format(#[source] maxminddb::MaxMindDbError),
    /// A record was found but could not be decoded.
    #[error("cannot decode the record for {addr}: {source}")]
    Decode {
        /// The address whose record failed.
        addr: std::net::IpAddr,
        /// The decoder's error.
        #[source]
        source: maxminddb::MaxMindDbError,
    },
}

impl Error {
    pub(crate) fn new(path: Option<&Path>, kind: ErrorKind) -> Self {
        Error {
            path: path.map(Path::to_path_buf),
            kind,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The database file concerned, when the database came from a file.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {}", path.display(), self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}
