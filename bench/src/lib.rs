//! Benchmark tooling for dnsd: the instruments, not the server.
//!
//! - [`generate`]: the benchmark zone and dnsperf-format query file, fixed by a seed.
//! - [`queryfile`]: query files read into ready-to-send wire messages.
//! - [`histogram`]: the latency histogram the load generator reports from.
//! - [`tracker`]: per-socket IDs, timeouts and loss.
//! - [`report`]: medians and the markdown tables of `BENCHMARKS.md`.
//! - [`restapi`]: HTTP requests to a PowerDNS-style REST API and a UDP answer probe.
//! - [`sys`]: batched `recvmmsg`/`sendmmsg` I/O and socket setup (Linux).
//!
//! Binaries: `genzone` (writes zone and queries), `dnsload` (batched
//! open/closed-loop load generator), `min-responder` (the fixed-answer
//! floor), `bench-report` (CSV to `BENCHMARKS.md`), `api_latency` and `zone-fleet`
//! (PATCH-to-answer and many-zones figures through the REST API). `peers.sh` and
//! `scale.sh` drive them against dnsd, NSD, Knot and PowerDNS; criterion
//! micro-benchmarks of dnsd's pipeline are in `benches/`.

pub mod generate;
pub mod histogram;
pub mod queryfile;
pub mod report;
pub mod restapi;
pub mod rng;
pub mod sys;
pub mod tracker;
