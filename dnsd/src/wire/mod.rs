//! DNS types shared by the request parser, the zone loader and the answer assembler.
//!
//! Names and record types are modelled here once; everything else borrows them.
//! "Parse" reads wire or text into these types, "build" writes them out.

pub mod header;
pub mod name;
mod name_text;
pub mod rdata;
pub mod rtype;

pub use header::{Class, EdnsFlags, Flags, Opcode, Rcode};
pub use name::{Name, NameError};
pub use rtype::RType;
