#!/usr/bin/env python3
"""Catalog zones at scale (replication.md §7): a dnsd primary producing a catalog over N API
zones of ~10 records each (--catalog), and a fresh dnsd consuming it (--catalog-consumer),
on loopback with TSIG.

    bench/catalog.py [N]            # default 10000; DNSD=path/to/dnsd (default target/release/dnsd)

Prints: the time to create the N zones through the API on the producer (each one also
changes the catalog), the time from the consumer's start until it serves every member and
its peak RSS (VmHWM), and the time until a restarted consumer serves them all from its
stored copies. Every process started here is stopped on exit; every wait is bounded.
With PRODUCER_ONLY=1 (and NO_CATALOG=1 to leave --catalog out), only the zone creation
on the producer is timed: its cost with and without the catalog.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
DNSD = os.environ.get("DNSD", "target/release/dnsd")
CATALOG = "catalog.invalid."
KEY = "hmac-sha256:cat-key:Y2F0YWxvZy10ZXN0LXNlY3JldC0zMi1ieXRlcy1sb25nIQ=="
API_KEY = "bench-key"
WAIT = 1800


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port, method, path, body=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read().decode()


def start(args, log):
    return subprocess.Popen([DNSD, *args], stdout=log, stderr=log)


def wait_api(port):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            api(port, "GET", "/api/v1/servers/localhost")
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"API on {port} not up")


def status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def members_served(port):
    _, metrics = api(port, "GET", "/metrics")
    served = sum(1 for l in metrics.splitlines() if l.startswith("dnsd_zone_serial{"))
    return served - 1  # the catalog itself


def wait_members(port, proc, what):
    t0 = time.time()
    while time.time() - t0 < WAIT:
        if members_served(port) >= N:
            return time.time() - t0
        if proc.poll() is not None:
            raise SystemExit(f"{what}: dnsd exited")
        time.sleep(0.2)
    raise SystemExit(f"{what}: not all {N} members served within {WAIT} s")


def main():
    work = tempfile.mkdtemp(prefix="dnsd-catalog-bench-")
    procs = []
    try:
        p_dns, p_api = free_port(), free_port()
        c_dns, c_api = free_port(), free_port()
        p_log = open(os.path.join(work, "producer.log"), "w")
        producer = start(
            ["--listen", f"127.0.0.1:{p_dns}", "--api-listen", f"127.0.0.1:{p_api}",
             "--api-key", API_KEY, "--data-dir", os.path.join(work, "p"),
             *([] if os.environ.get("NO_CATALOG") == "1" else ["--catalog", CATALOG]),
             "--tsig-key", KEY,
             "--allow-transfer", "127.0.0.0/8:cat-key",
             "--also-notify", f"127.0.0.1:{c_dns}:cat-key", "--log-level", "warn"],
            p_log)
        procs.append(producer)
        wait_api(p_api)
        t0 = time.time()
        for i in range(N):
            zone = f"m{i}.bench.test."
            rrsets = [{"name": f"h{j}.{zone}", "type": "A", "ttl": 300, "changetype": "REPLACE",
                       "records": [{"content": f"192.0.2.{j + 1}", "disabled": False}]}
                      for j in range(7)]
            st, body = api(p_api, "POST", "/api/v1/servers/localhost/zones",
                           {"name": zone, "kind": "Native",
                            "nameservers": [f"ns1.{zone}", f"ns2.{zone}"], "rrsets": rrsets})
            assert st == 201, body
        create = time.time() - t0
        print(f"producer: {N} zones created through the API in {create:.1f} s "
              f"({create / N * 1000:.2f} ms each, catalog updated with each); "
              f"producer VmHWM {status(producer.pid, 'VmHWM') / 1024:.0f} MiB")

        if os.environ.get("PRODUCER_ONLY") == "1":
            return
        c_args = ["--listen", f"127.0.0.1:{c_dns}", "--api-listen", f"127.0.0.1:{c_api}",
                  "--api-key", API_KEY, "--data-dir", os.path.join(work, "c"),
                  "--tsig-key", KEY, "--catalog-consumer", f"{CATALOG}=127.0.0.1:{p_dns}:cat-key",
                  "--log-level", "warn"]
        c_log = open(os.path.join(work, "consumer.log"), "w")
        t0 = time.time()
        consumer = start(c_args, c_log)
        procs.append(consumer)
        wait_api(c_api)
        took = wait_members(c_api, consumer, "consume")
        took = time.time() - t0
        print(f"consumer: {N} members served {took:.1f} s after start; "
              f"VmHWM {status(consumer.pid, 'VmHWM') / 1024:.0f} MiB, "
              f"VmRSS {status(consumer.pid, 'VmRSS') / 1024:.0f} MiB")
        consumer.kill()
        consumer.wait()
        t0 = time.time()
        consumer = start(c_args, c_log)
        procs.append(consumer)
        wait_api(c_api)
        wait_members(c_api, consumer, "restart")
        print(f"consumer restarted: {N} members served from stored copies "
              f"{time.time() - t0:.1f} s after start; "
              f"VmHWM {status(consumer.pid, 'VmHWM') / 1024:.0f} MiB")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


if __name__ == "__main__":
    main()
