//! The `poolmgr` binary.
fn main() {}
