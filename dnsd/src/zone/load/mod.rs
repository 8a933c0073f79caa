//! Zone files in RFC 1035 master format, read into [`Record`](crate::zone::Record)s
//! and checked. (Being written.)
