//! RDATA in presentation (zone file) and wire format, per record type.
//! (Being written: text <-> wire codecs for every supported type.)
