//! PATCH-to-answer latency and update throughput of dnsd's REST API.
//!
//! Starts nothing itself: point it at a dnsd with `--api-listen` (see
//! `bench/api.sh`). It creates a zone of `--records` A records through the
//! API, then, for `--patches` rounds, PATCHes one new RRset and polls the
//! DNS port over UDP until the new name answers, recording the time from
//! sending the PATCH to the first correct answer (and to the 204 alone).
//! Finally it sends PATCHes back to back for `--seconds` and reports
//! updates/s. Loopback only; every loop is bounded.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::bail;
use bench::restapi::{http, probe_a, require_loopback};
use clap::Parser;

#[derive(Parser)]
#[command(about = "PATCH-to-answer latency and update throughput of dnsd's API")]
struct Args {
    /// dnsd's DNS address.
    #[arg(long, default_value = "127.0.0.1:15353")]
    dns: SocketAddr,
    /// dnsd's API address.
    #[arg(long, default_value = "127.0.0.1:18081")]
    api: SocketAddr,
    /// API key.
    #[arg(long, default_value = "bench-key")]
    key: String,
    /// Zone to create.
    #[arg(long, default_value = "apibench.test")]
    zone: String,
    /// A records in the zone before measuring.
    #[arg(long, default_value_t = 10_000)]
    records: usize,
    /// Measured PATCH rounds.
    #[arg(long, default_value_t = 300)]
    patches: usize,
    /// Seconds of back-to-back PATCHes for the throughput figure.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    require_loopback(&[args.dns, args.api])?;
    let zone = format!("{}.", args.zone.trim_end_matches('.'));
    let mut rrsets = Vec::with_capacity(args.records);
    for i in 0..args.records {
        rrsets.push(format!(
            r#"{{"name":"h{i}.{zone}","type":"A","ttl":300,"records":[{{"content":"192.0.2.{}","disabled":false}}]}}"#,
            i % 250 + 1
        ));
    }
    let body = format!(
        r#"{{"name":"{zone}","kind":"Native","nameservers":["ns1.{zone}"],"rrsets":[{}]}}"#,
        rrsets.join(",")
    );
    let started = Instant::now();
    let (status, text) = http(
        args.api,
        &args.key,
        "POST",
        "/api/v1/servers/localhost/zones",
        &body,
    )?;
    if status != 201 {
        bail!("zone create failed: {status} {text}");
    }
    println!(
        "created {zone} with {} records in {:?}",
        args.records,
        started.elapsed()
    );

    let udp = UdpSocket::bind("127.0.0.1:0")?;
    udp.set_read_timeout(Some(Duration::from_millis(50)))?;
    let path = format!("/api/v1/servers/localhost/zones/{zone}");
    let mut to_answer = Vec::with_capacity(args.patches);
    let mut to_ack = Vec::with_capacity(args.patches);
    for round in 0..args.patches {
        let name = format!("new{round}.{zone}");
        let body = format!(
            r#"{{"rrsets":[{{"name":"{name}","type":"A","ttl":60,"changetype":"REPLACE","records":[{{"content":"198.51.100.7","disabled":false}}]}}]}}"#
        );
        let sent = Instant::now();
        let (status, text) = http(args.api, &args.key, "PATCH", &path, &body)?;
        if status != 204 {
            bail!("PATCH failed: {status} {text}");
        }
        to_ack.push(sent.elapsed());
        let deadline = sent + Duration::from_secs(2);
        loop {
            if probe_a(&udp, args.dns, &name, round as u16)?.is_some() {
                to_answer.push(sent.elapsed());
                break;
            }
            if Instant::now() > deadline {
                bail!("{name} never answered");
            }
        }
    }
    report("PATCH -> 204", &mut to_ack);
    report("PATCH -> first correct answer", &mut to_answer);

    let until = Instant::now() + Duration::from_secs(args.seconds);
    let mut done = 0u64;
    let started = Instant::now();
    while Instant::now() < until {
        let body = format!(
            r#"{{"rrsets":[{{"name":"tp{done}.{zone}","type":"TXT","ttl":60,"changetype":"REPLACE","records":[{{"content":"\"{done}\"","disabled":false}}]}}]}}"#
        );
        let (status, text) = http(args.api, &args.key, "PATCH", &path, &body)?;
        if status != 204 {
            bail!("PATCH failed: {status} {text}");
        }
        done += 1;
    }
    let rate = done as f64 / started.elapsed().as_secs_f64();
    println!(
        "throughput: {done} sequential PATCHes in {:?} = {rate:.0} updates/s",
        started.elapsed()
    );
    println!(
        "RESULT patches={} records={} updates_per_s={rate:.0}",
        args.patches, args.records
    );
    Ok(())
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{what}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
}
