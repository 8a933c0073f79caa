//! Zone loading errors: each names `file:line` and a reason.

use std::fmt;

use crate::zone::Location;

/// One problem found in a zone file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// Where the offending record or directive starts; `None` for problems
    /// of the zone as a whole (no SOA) or of the file itself (unreadable).
    pub location: Option<Location>,
    /// What is wrong, as a sentence.
    pub reason: String,
}

impl LoadError {
    pub(crate) fn new(location: Option<Location>, reason: impl Into<String>) -> LoadError {
        LoadError {
            location,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for LoadError {}

/// Every problem found in a zone, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadErrors(pub Vec<LoadError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}
