//! Benchmarks: the peer load benchmark and criterion micro-benchmarks live here (performance issue).
