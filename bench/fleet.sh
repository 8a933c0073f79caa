#!/usr/bin/env bash
# Fleet benchmarks (issue item 6): the fleet of the end-to-end test (a dnsd
# primary with the API over TLS, a catalog zone and DNSSEC; two dnsd edges
# consuming the catalog and fetching keys from the primary; poolmgr), on
# loopback, measured by `fleet-bench` (bench/src/bin/fleet_bench.rs):
#
#   1. converge: COUNT allocations through poolmgr (commit wait off), time
#      from the commit's HTTP 200 to the last edge answering the child;
#      p50/p99 (target p99 <= 1 s with 2 edges). Also the commit's own
#      latency, and the same with POOLMGR_COMMIT_WAIT=2.
#   2. catalog: a catalog of MEMBERS member zones consumed from scratch by a
#      dnsd edge and by Knot, in the same run: time and peak RSS.
#   3. cpu: CPU per signed answer (DO=1, dnsload closed loop), primary
#      against edge (CPU from /proc of the server process).
#
#   bench/fleet.sh [--quick]      # --quick: COUNT=40, MEMBERS=1000, REPS=1
#
# Each part runs REPS times (default 3); the median is reported. Rows go to
# target/bench/fleet.csv; the "Fleet" section of BENCHMARKS.md is
# regenerated from them. Every server is a child of fleet-bench and stops
# with it; every wait is bounded.
#
# Environment: COUNT (200), MEMBERS (10000), REPS (3), LOAD_SECONDS (10),
# PARTS (comma-separated subset of converge,catalog,cpu; default all),
# BENCH_BIN (prebuilt release dir with dnsd, poolmgr, fleet-bench, dnsload).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start fleet "$@"

COUNT=${COUNT:-200}
MEMBERS=${MEMBERS:-10000}
REPS=${REPS:-3}
LOAD_SECONDS=${LOAD_SECONDS:-10}
if ((QUICK)); then
    COUNT=40 MEMBERS=1000 REPS=1 LOAD_SECONDS=3
fi
PARTS=${PARTS:-converge,catalog,cpu}
part() { [[ ,$PARTS, == *,$1,* ]]; }

for tool in knotd openssl unbound; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool is not installed" >&2; exit 1; }
done
BIN=${BENCH_BIN:-"$ROOT/target/release"}
if [[ -z "${BENCH_BIN:-}" ]]; then
    bench_log "building dnsd, poolmgr and the bench tools (release)"
    (cd "$ROOT" && cargo build --release -q -p dnsd -p poolmgr -p bench --bins)
fi
# fleet-bench finds dnsd and poolmgr through these (the e2e harness's rule).
export DNSD_BIN="$BIN/dnsd" POOLMGR_BIN="$BIN/poolmgr"

CSV="$OUT/fleet.csv"
echo "rep,part,label,metric,value" >"$CSV"
START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# Turns `CSV,part,k=v,k=v...` lines from fleet-bench into rows of $CSV,
# labelled by the value of LABEL_KEY (the k=v field that names the case).
rows() {
    local rep=$1 label_key=$2
    { grep '^CSV,' || true; } | while IFS=, read -r _ part rest; do
        local label="" kv
        IFS=, read -r -a fields <<<"$rest"
        for kv in "${fields[@]}"; do
            [[ ${kv%%=*} == "$label_key" ]] && label=${kv#*=}
        done
        for kv in "${fields[@]}"; do
            [[ ${kv%%=*} == "$label_key" ]] && continue
            echo "$rep,$part,$label,${kv%%=*},${kv#*=}"
        done
    done >>"$CSV"
}

run() {
    local what=$1
    shift
    bench_log "$what"
    "$BIN/fleet-bench" "$@" 2> >(sed 's/^/    /' >&2) || bench_log "$what: failed (exit $?)"
}

for rep in $(seq 1 "$REPS"); do
    if part converge; then
        run "rep $rep: converge, $COUNT allocations, commit wait 0" \
            converge --count "$COUNT" --commit-wait 0 | rows "$rep" commit_wait
        run "rep $rep: converge, $COUNT allocations, commit wait 2" \
            converge --count "$COUNT" --commit-wait 2 | rows "$rep" commit_wait
    fi
    if part catalog; then
        run "rep $rep: catalog of $MEMBERS members, dnsd then Knot" \
            catalog --members "$MEMBERS" | rows "$rep" consumer
    fi
    if part cpu; then
        run "rep $rep: CPU per signed answer, ${LOAD_SECONDS}s each" \
            cpu --seconds "$LOAD_SECONDS" --dnsload "$BIN/dnsload" | rows "$rep" node
    fi
done

# --- The BENCHMARKS.md section -------------------------------------------
# Median of PART LABEL METRIC over the reps.
med() {
    awk -F, -v p="$1" -v l="$2" -v m="$3" '$2 == p && $3 == l && $4 == m {print $5}' "$CSV" |
        sort -g | awk '{v[NR] = $1} END { if (NR) print v[int((NR + 1) / 2)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 != 0) printf "%.2f×", a / b; else print "–" }'; }
or_dash() { if [[ -n ${1:-} ]]; then echo "$1"; else echo "–"; fi; }

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
MD="$OUT/fleet.md"
{
    echo "- **Command:** \`COUNT=$COUNT MEMBERS=$MEMBERS REPS=$REPS LOAD_SECONDS=$LOAD_SECONDS bench/fleet.sh\` (median of $REPS runs; loopback; primary API over TLS, TSIG on every transfer)"
    echo "- **Date:** $START; $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) CPUs; load average before/after $LOAD_BEFORE / $LOAD_AFTER"
    echo "- **Versions:** dnsd $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'); $(knotd -V 2>&1 | head -1)"
    echo
    echo "**Commit → every edge**: $COUNT allocations through poolmgr one at a time; from the commit's HTTP 200 until the last of 2 dnsd edges answers the child's apex A (polled every 0.5 ms; target p99 ≤ 1 s). With \`POOLMGR_COMMIT_WAIT=2\` the commit itself waits for both edges, so the time after the 200 is ~0 and the wait shows in the commit's latency."
    echo
    echo "| POOLMGR_COMMIT_WAIT | answered / allocations | missed | 200 → last edge p50 ms | p99 ms | max ms | commit p50 ms | commit p99 ms |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
    for w in 0 2; do
        echo "| $w | $(or_dash "$(med converge "$w" done)") / $COUNT | $(or_dash "$(med converge "$w" missed)") | $(or_dash "$(med converge "$w" p50_ms)") | $(or_dash "$(med converge "$w" p99_ms)") | $(or_dash "$(med converge "$w" max_ms)") | $(or_dash "$(med converge "$w" commit_p50_ms)") | $(or_dash "$(med converge "$w" commit_p99_ms)") |"
    done
    echo
    echo "**A catalog of $MEMBERS members consumed from scratch** (file zones of 10 records on a dnsd primary, all in its catalog; the consumer starts with an empty data directory; time from its start until it answers every member's SOA; VmHWM = its peak RSS)"
    echo
    echo "| consumer | seconds | VmHWM MiB |"
    echo "|---|---:|---:|"
    for c in dnsd knot; do
        echo "| $c | $(or_dash "$(med catalog $c seconds)") | $(or_dash "$(med catalog $c rss_mib)") |"
    done
    echo "| dnsd ÷ knot | $(ratio "$(med catalog dnsd seconds)" "$(med catalog knot seconds)") | $(ratio "$(med catalog dnsd rss_mib)" "$(med catalog knot rss_mib)") |"
    echo
    echo "**CPU per signed answer** (DO=1 queries for a poolmgr child's six names, an NXDOMAIN and the DNSKEY; dnsload closed loop, 64 outstanding, ${LOAD_SECONDS} s after 1 s of warm-up; CPU = utime + stime of the server process from /proc)"
    echo
    echo "| server | answers | CPU s | µs CPU / answer |"
    echo "|---|---:|---:|---:|"
    for n in primary edge1; do
        echo "| $n | $(or_dash "$(med cpu $n answered)") | $(or_dash "$(med cpu $n cpu_s)") | $(or_dash "$(med cpu $n us_per_answer)") |"
    done
    echo "| edge ÷ primary | | | $(ratio "$(med cpu edge1 us_per_answer)" "$(med cpu primary us_per_answer)") |"
} >"$MD"
bench_splice_section fleet fleet.sh "Fleet" "$MD"
bench_log "wrote $MD and the Fleet section of BENCHMARKS.md"
