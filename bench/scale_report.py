#!/usr/bin/env python3
"""The scale section of BENCHMARKS.md from target/bench/scale.csv (written by bench/scale.sh).

    bench/scale_report.py --csv target/bench/scale.csv --md target/bench/scale.md \
        --command "bench/scale.sh" --rate 20000

One table per variant (medians over the runs of each cell and server), the cost curves
(load seconds per million records and RSS bytes per record at each size, per server) and
the verdicts on issue 16's targets. A phase that timed out is reported as such, never as
a number.
"""

import argparse
import csv
import statistics
import subprocess
import time
from collections import defaultdict

VARIANT_NOTES = {
    "plain": "genzone's default zone: hosts with A (every other one AAAA), `*.wild`, "
    "delegations with glue.",
    "mixed": "hosts in ten shapes: A+AAAA, A+MX, A+TXT, CNAME, A+SRV, A+CAA, A plus a "
    "wildcard `*.hostN` (`genzone --mixed`); delegations with glue.",
    "lua": "the mixed zone with 10 % of its A hosts as LUA A records (`ifportup` and "
    "`pickwhashed`, 127.0.0.x targets). dnsd only: NSD and Knot do not read LUA records.",
    "dnssec": "the mixed zone, signed. dnsd signs online (`--dnssec`, fresh keys each run); "
    "Knot signs the whole zone on load and on reload (`dnssec-signing: on`, default "
    "policy, ECDSA P-256, NSEC), so its load and reload times include signing; NSD serves "
    "a copy pre-signed by `ldns-signzone` (signing time not counted; not run at 10M). The "
    "reload stream sets DO. Records counted before signing.",
}
SERVERS = ["dnsd", "nsd", "knot"]
SIZES = [10_000, 100_000, 1_000_000, 10_000_000]


def nominal(records):
    """The matrix size a zone of `records` records was generated for."""
    return min(SIZES, key=lambda s: abs(s - records))


def size_label(n):
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


class Cell:
    """The runs of one server on one zone."""

    def __init__(self, rows):
        self.rows = rows
        self.records = int(rows[0]["records"])

    def median(self, field):
        vals = [number(r[field]) for r in self.rows]
        nums = [v for v in vals if v is not None]
        return statistics.median(nums) if nums else None

    def failures(self, field):
        return [r[field] for r in self.rows if number(r[field]) is None and r[field]]

    def show(self, field, fmt="{:.2f}", scale=1.0):
        m = self.median(field)
        bad = self.failures(field)
        if m is None:
            return bad[0] if bad else "–"
        text = fmt.format(m * scale)
        return f"{text} ({len(bad)} {bad[0]})" if bad else text

    def rss_per_record(self):
        m = self.median("rss_load_kb")
        return None if m is None else m * 1024 / self.records

    def load_per_million(self):
        m = self.median("load_s")
        return None if m is None else m * 1_000_000 / self.records

    def lost(self, prefix=""):
        """Queries lost and sent over all runs (`base_`: the stream without a reload)."""
        total = lambda f: sum(int(r.get(prefix + f) or 0) for r in self.rows)
        return total("lost"), total("sent")

    def uncovered(self):
        """Runs whose reload ended after the stream did (its losses undercounted)."""
        n = 0
        for r in self.rows:
            reload_s, stream = number(r["reload_s"]), number(r["stream_s"])
            if r["reload_s"] == "timeout" or (reload_s and stream and reload_s + 2 > stream):
                n += 1
        return n


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def fmt_or_dash(v, fmt):
    return "–" if v is None else fmt.format(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--command", default="bench/scale.sh")
    ap.add_argument("--rate", default="20000")
    args = ap.parse_args()

    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    groups = defaultdict(list)
    for r in rows:
        groups[(r["variant"], nominal(int(r["records"])), r["server"])].append(r)
    cells = {k: Cell(v) for k, v in groups.items()}
    variants = [v for v in VARIANT_NOTES if any(k[0] == v for k in cells)]

    rev = version(["git", "rev-parse", "--short", "HEAD"])
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gb = int(f.readline().split()[1]) / 1024 / 1024
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    nproc = version(["nproc"])

    out = []
    w = out.append
    w(f"- **Command:** `{args.command}` (servers one at a time on loopback, default "
      f"settings; reload under {int(args.rate):,} queries/s open loop, from 2 s before the "
      "signal until well after the reload; medians over the runs column)")
    w(f"- **Date:** {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {load}")
    w(f"- **Machine:** {cpu}, {nproc} CPUs, {mem_gb:.0f} GB; dnsd {rev}; "
      f"{version(['nsd', '-v'])}; {version(['knotd', '--version'])}")
    w("- **Lost, same stream without reload:** 5 s of the stream just before the reload "
      "one, so losses a server has at that rate anyway are not blamed on the reload.")
    w("- **Load s:** start until the zone answers (a marker TXT). **Reload s:** SIGHUP "
      "(dnsd, NSD) or `knotc zone-reload` until the new marker answers. **RSS:** VmRSS of "
      "the server and its children, 1 s after load and 3 s after the reload. **Lost:** "
      "queries unanswered after 1 s over the whole stream. **Check s:** `dnsd check-zone`, "
      "`nsd-checkzone`, `kzonecheck` on the file the server loads. Raw rows: "
      "`target/bench/scale.csv`.")
    for variant in variants:
        w("")
        w(f"#### {variant}: {VARIANT_NOTES[variant]}")
        w("")
        w("| records | server | runs | load s | RSS after load MB | RSS B/record | reload s "
          "| RSS after reload MB | lost / sent, reload stream | lost / sent, same stream "
          "without reload | check s |")
        w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size in SIZES:
            for server in SERVERS:
                c = cells.get((variant, size, server))
                if c is None:
                    continue
                lost, sent = c.lost()
                base_lost, base_sent = c.lost("base_")
                flag = " (reload outlasted the stream)" if c.uncovered() else ""
                w(f"| {c.records:,} | {server} | {len(c.rows)} | {c.show('load_s')} | "
                  f"{c.show('rss_load_kb', '{:.0f}', 1 / 1024)} | "
                  f"{fmt_or_dash(c.rss_per_record(), '{:.0f}')} | {c.show('reload_s')} | "
                  f"{c.show('rss_reload_kb', '{:.0f}', 1 / 1024)} | {lost:,} / {sent:,}{flag} | "
                  f"{base_lost:,} / {base_sent:,} | {c.show('check_s')} |")

    # Cost curves: per variant and server, the cost per record at each size.
    sizes = [s for s in SIZES if any(k[1] == s for k in cells)]
    w("")
    w("#### Cost curves: load seconds per million records, RSS bytes per record")
    w("")
    w("Growth is *linear or better* when the cost per record at the largest size measured "
      "is at most 1.15 × the cost at the smallest (load time on a shared 2-CPU machine "
      "varies by about that much between runs, more between cells measured minutes apart).")
    w("")
    head = " | ".join(f"load s/1M @{size_label(s)}" for s in sizes)
    head2 = " | ".join(f"B/record @{size_label(s)}" for s in sizes)
    w(f"| variant | server | {head} | {head2} | growth |")
    w("|---|---|" + "---:|" * (2 * len(sizes)) + "---|")
    for variant in variants:
        for server in SERVERS:
            row = [cells.get((variant, s, server)) for s in sizes]
            if not any(row):
                continue
            loads = [c.load_per_million() if c else None for c in row]
            rsss = [c.rss_per_record() if c else None for c in row]
            w(f"| {variant} | {server} | "
              + " | ".join(fmt_or_dash(v, "{:.2f}") for v in loads) + " | "
              + " | ".join(fmt_or_dash(v, "{:.0f}") for v in rsss)
              + f" | {growth(loads, rsss)} |")

    w("")
    w("#### Targets (issue 16)")
    w("")
    for line in verdicts(cells, variants):
        w(f"- {line}")
    with open(args.md, "w") as f:
        f.write("\n".join(out) + "\n")


def growth(loads, rsss):
    """'linear or better', or which cost per record grows from the smallest size
    to the largest measured (endpoints: a middle size measured while the machine
    was busier must not decide it)."""
    worse = []
    for name, vals in (("load", loads), ("RSS", rsss)):
        pts = [v for v in vals if v is not None]
        if len(pts) >= 2 and pts[-1] > 1.15 * pts[0]:
            worse.append(f"{name} ×{pts[-1] / pts[0]:.2f} per record")
    if sum(v is not None for v in rsss) < 2:
        return "one size only"
    return "linear or better" if not worse else "superlinear: " + ", ".join(worse)


def verdicts(cells, variants):
    lines = []
    for variant in variants:
        d, k = cells.get((variant, 1_000_000, "dnsd")), cells.get((variant, 1_000_000, "knot"))
        if d and k:
            dl, kl = d.median("load_s"), k.median("load_s")
            dr, kr = d.median("rss_load_kb"), k.median("rss_load_kb")
            if None in (dl, kl, dr, kr):
                lines.append(f"1M {variant}: a load timed out, no verdict")
                continue
            lines.append(
                f"1M {variant}: load {dl:.2f} s vs Knot {kl:.2f} s "
                f"(**{'met' if dl <= kl else 'not met'}**, ×{dl / kl:.2f}); RSS {dr / 1024:.0f} MB "
                f"vs Knot {kr / 1024:.0f} MB (**{'met' if dr <= kr else 'not met'}**, ×{dr / kr:.2f})")
    for variant in variants:
        a, b = cells.get((variant, 1_000_000, "dnsd")), cells.get((variant, 10_000_000, "dnsd"))
        if a and b:
            pa, pb = a.rss_per_record(), b.rss_per_record()
            if None in (pa, pb):
                lines.append(f"10M {variant}: a load timed out, no verdict")
                continue
            lines.append(
                f"10M {variant}: dnsd RSS {pb:.0f} B/record vs {pa:.0f} at 1M "
                f"(**{'met' if pb <= pa else 'not met'}**, ×{pb / pa:.2f})")
    runs = [(k, r) for k, c in cells.items() if k[2] == "dnsd" for r in c.rows]
    # A run's losses count against the reload unless the same stream
    # without a reload lost at least as large a share (then the rate, not
    # the reload, is what the server cannot keep up with).
    reload_lossy, rate_lossy = [], []
    for k, r in runs:
        lost, sent = int(r["lost"] or 0), int(r["sent"] or 0)
        if lost == 0:
            continue
        base_lost, base_sent = int(r.get("base_lost") or 0), int(r.get("base_sent") or 0)
        text = (f"{k[0]} {size_label(k[1])} run {r['run']}: {lost:,} of {sent:,} "
                f"({base_lost:,} of {base_sent:,} without reload)")
        if base_sent and base_lost / base_sent >= lost / sent:
            rate_lossy.append(text)
        else:
            reload_lossy.append(text)
    unmeasured = sum(1 for _, r in runs if not r["sent"])
    if runs:
        verdict = "**met**" if not reload_lossy and not unmeasured else "**not met**"
        clean = len(runs) - len(reload_lossy) - len(rate_lossy) - unmeasured
        detail = f"0 lost in {clean} of {len(runs)} dnsd runs"
        if reload_lossy:
            detail += "; lost more than without a reload: " + "; ".join(reload_lossy)
        if rate_lossy:
            detail += ("; lost as much or more without a reload (the rate, not the reload): "
                       + "; ".join(rate_lossy))
        if unmeasured:
            detail += f"; {unmeasured} run(s) without a stream (load timed out)"
        outlasted = [f"{k[0]} {size_label(k[1])} run {r['run']}" for k, r in runs
                     if Cell([r]).uncovered()]
        if outlasted:
            detail += ("; the reload outlasted the stream (losses after it not seen) in: "
                       + ", ".join(outlasted))
        lines.append(f"No lost query during reload (dnsd): {verdict}: {detail}")
    return lines


if __name__ == "__main__":
    main()
