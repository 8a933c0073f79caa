//! DNS types shared by the request parser, the zone loader and the answer assembler.
//!
//! Names and record types come from the shared `dnstypes` crate (also used
//! by poolmgr and registrars); they are re-exported here with the same paths,
//! so `wire::name::wire_name_len` and friends stay the query path's helpers.
//! "Parse" reads wire or text into these types, "build" writes them out.

pub mod header;
pub mod rdata;
pub mod tsig;

pub use dnstypes::{name, rtype};

pub use header::{Class, EdnsFlags, Flags, Opcode, Rcode};
pub use name::{Name, NameError};
pub use rtype::RType;
