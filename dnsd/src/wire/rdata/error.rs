//! Why RDATA text or wire bytes were refused.
//!
//! Every variant renders as a sentence an operator can act on, e.g.
//! "MX preference 70000 is out of range"; the zone loader prefixes it with
//! `file:line`.

use crate::wire::{NameError, RType};

/// A failure to read RDATA from text or to validate it in wire form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RdataError {
    /// A field was expected but the text ended.
    #[error("missing {0}")]
    Missing(&'static str),
    /// Text was left over after the last field.
    #[error("unexpected {0:?} after the end of the RDATA")]
    Trailing(String),
    /// A number that does not fit its field.
    #[error("{what} {value} is out of range")]
    OutOfRange {
        /// The field, e.g. "MX preference".
        what: &'static str,
        /// The text as written.
        value: String,
    },
    /// A field that does not have the expected form.
    #[error("{what} {value:?} is not valid")]
    Invalid {
        /// The field, e.g. "IPv4 address".
        what: &'static str,
        /// The text as written.
        value: String,
    },
    /// A domain name inside the RDATA that could not be read.
    #[error("bad name {text:?}: {source}")]
    Name {
        /// The name as written.
        text: String,
        /// Why it was refused.
        source: NameError,
    },
    /// A character-string longer than one length octet can say.
    #[error("character-string is {0} octets long; at most 255 are allowed")]
    StringTooLong(usize),
    /// The encoded RDATA does not fit the 16-bit RDLENGTH.
    #[error("RDATA is {0} octets long; at most 65535 are allowed")]
    TooLong(usize),
    /// A known type that has no presentation codec here.
    #[error("no text format is implemented for type {0}; write it as \\# <length> <hex>")]
    NoCodec(RType),
    /// A lexical problem: unterminated quote, bad escape, stray parenthesis.
    #[error("{0}")]
    Syntax(String),
    /// A rule of the type's format was broken (duplicate SVCB key, ...).
    #[error("{0}")]
    Rule(String),
    /// Wire RDATA that does not follow the type's format.
    #[error("malformed {rtype} RDATA: {reason}")]
    Malformed {
        /// The type being decoded.
        rtype: RType,
        /// What is wrong.
        reason: String,
    },
}

impl RdataError {
    pub(crate) fn rule(text: impl Into<String>) -> RdataError {
        RdataError::Rule(text.into())
    }

    pub(crate) fn invalid(what: &'static str, value: impl Into<String>) -> RdataError {
        RdataError::Invalid {
            what,
            value: value.into(),
        }
    }

    pub(crate) fn range(what: &'static str, value: impl ToString) -> RdataError {
        RdataError::OutOfRange {
            what,
            value: value.to_string(),
        }
    }
}
