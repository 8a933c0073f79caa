#!/usr/bin/env bash
# DNSSEC benchmark (DO=1): dnsd signing online versus NSD and Knot serving
# the same zone pre-signed (ldns-signzone, algorithm 13, NSEC), all pinned:
# each server one worker on CPU 0, dnsload on CPU 1, on loopback.
#
#   bench/dnssec.sh [--quick]
#
# For each server: a warm-up run (fills dnsd's signature cache; the peers'
# caches too), then REPS interleaved runs with DO=1, and for dnsd also DO=0,
# sampling /proc/PID/stat before and after each. Server CPU per answered
# query is the primary figure. dnsd's signature-cache size is read from its
# /metrics. Writes target/bench/dnssec.csv and the DNSSEC section of
# BENCHMARKS.md (between the dnssec markers). Stops everything it started.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start dnssec "$@"
if ((QUICK)); then DURATION=2 REPS=2; else DURATION=5 REPS=3; fi

bench_install_peers
command -v ldns-signzone >/dev/null 2>&1 || {
    bench_log "installing ldnsutils"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ldnsutils >/dev/null
}
BIN=${BENCH_BIN:-"$ROOT/target/release"}
DNSD=${DNSD_BIN:-"$ROOT/target/release"}/dnsd
if [[ -z "${BENCH_BIN:-}" || -z "${DNSD_BIN:-}" ]]; then
    bench_log "building dnsd and bench tools (release)"
    (cd "$ROOT" && cargo build --release -q -p dnsd -p bench --bins)
fi

ORIGIN=bench.test
ZONE="$WORK/bench.zone"
QUERIES="$WORK/queries.txt"
"$BIN/genzone" --origin "$ORIGIN" --names 1000 --delegations 50 --count 100000 \
    --seed 1 --zone "$ZONE" --queries "$QUERIES"

# The peers' pre-signed copy (NSEC chain, ECDSA P-256, 14 days).
(cd "$WORK" && KEY=$(ldns-keygen -a ECDSAP256SHA256 -k "$ORIGIN") &&
    ldns-signzone -n -f "$WORK/bench.signed" "$ZONE" "$KEY" >/dev/null 2>&1 ||
    ldns-signzone -f "$WORK/bench.signed" "$ZONE" "$WORK/$KEY")
[[ -s "$WORK/bench.signed" ]] || { bench_log "ldns-signzone failed"; exit 1; }

declare -A PORT=([dnsd]=15311 [nsd]=15312 [knot]=15313)
declare -A SPID=()
API=127.0.0.1:15319
bench_write_configs "$WORK/peers" "$ORIGIN" "$WORK/bench.signed" 1 "${PORT[nsd]}" "${PORT[knot]}" 15314
echo "bench" >"$WORK/api.key"
taskset -c 0 "$DNSD" --listen "127.0.0.1:${PORT[dnsd]}" --zone "$ORIGIN=$ZONE" --dnssec "$ORIGIN" \
    --data-dir "$WORK/dnsd-data" --workers 1 --log-level warn \
    --api-listen "$API" --api-key-file "$WORK/api.key" 2>"$WORK/dnsd.log" &
SPID[dnsd]=$!
taskset -c 0 nsd -d -c "$WORK/peers/nsd/nsd.conf" 2>"$WORK/peers/nsd/stderr.log" &
SPID[nsd]=$!
taskset -c 0 knotd -c "$WORK/peers/knot/knot.conf" 2>"$WORK/peers/knot/stderr.log" &
SPID[knot]=$!
PIDS+=("${SPID[@]}")
for s in dnsd nsd knot; do
    bench_wait_ready "$s" "${PORT[$s]}" "$QUERIES" || exit 1
done
HZ=$(getconf CLK_TCK)
CSV="$OUT/dnssec.csv"
echo "scenario,server,rep,qps,cpu_us_per_query,user_us,sys_us,lost" >"$CSV"

# run SCENARIO SERVER REP DO(0|1)
run() {
    local scenario=$1 server=$2 rep=$3 do=$4 pid=${SPID[$2]} line bu bs au as
    local args=(-s "127.0.0.1:${PORT[$server]}" -d "$QUERIES" -l "$DURATION" -c 4 -T 1 -t 1 -q 200)
    ((do)) && args+=(--dnssec)
    sleep 0.2
    read -r bu bs < <(bench_ticks "$pid")
    line=$(taskset -c 1 "$BIN/dnsload" "${args[@]}" 2>/dev/null | grep '^RESULT' || true)
    read -r au as < <(bench_ticks "$pid")
    local answered qps lost
    answered=$(bench_field "$line" answered)
    qps=$(bench_field "$line" qps)
    lost=$(bench_field "$line" lost)
    [[ -z $rep ]] && return 0
    awk -v sc="$scenario" -v sv="$server" -v r="$rep" -v q="$qps" -v l="$lost" \
        -v u=$((au - bu)) -v s=$((as - bs)) -v hz="$HZ" -v n="${answered:-0}" 'BEGIN {
        if (n == 0) { printf "%s,%s,%s,0,,,,%s\n", sc, sv, r, l; exit }
        f = 1e6 / n / hz; printf "%s,%s,%s,%.0f,%.3f,%.3f,%.3f,%s\n", sc, sv, r, q, (u+s)*f, u*f, s*f, l }' >>"$CSV"
    tail -1 "$CSV" >&2
}

bench_log "warm-up (fills caches)"
run warmup dnsd "" 1
run warmup nsd "" 1
run warmup knot "" 1
for rep in $(seq 1 "$REPS"); do
    run do1 dnsd "$rep" 1
    run do0 dnsd "$rep" 0
    run do1 nsd "$rep" 1
    run do1 knot "$rep" 1
done
METRICS=$(curl -s "http://$API/metrics" 2>/dev/null || true)
CACHE_BYTES=$(awk '/^dnsd_signature_cache_bytes / {print $2}' <<<"$METRICS")
CACHE_ENTRIES=$(awk '/^dnsd_signature_cache_entries / {print $2}' <<<"$METRICS")
CACHE_CAP=$(awk '/^dnsd_signature_cache_capacity_bytes / {print $2}' <<<"$METRICS")
CACHE_HITS=$(awk '/^dnsd_signature_cache_hits_total / {print $2}' <<<"$METRICS")
CACHE_MISSES=$(awk '/^dnsd_signature_cache_misses_total / {print $2}' <<<"$METRICS")

median() { sort -g | awk '{v[NR]=$1} END { if (NR==0) {print ""; exit} m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.3f", m }'; }
col() { awk -F, -v sc="$1" -v sv="$2" -v c="$3" '$1==sc && $2==sv {print $c}' "$CSV" | median; }
D1=$(col do1 dnsd 5) D0=$(col do0 dnsd 5) N1=$(col do1 nsd 5) K1=$(col do1 knot 5)
BEST=$(printf '%s\n%s\n' "$N1" "$K1" | sort -g | head -1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "" || b == "") print "-"; else printf "%.2f", a / b }'; }
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
{
    echo "<!-- dnssec results: generated by bench/dnssec.sh -->"
    echo "## DNSSEC (DO=1): online signing versus pre-signed peers"
    echo
    echo "- Command: \`bench/dnssec.sh${1:+ $1}\` ($DURATION s per run, $REPS reps, interleaved, after one warm-up run each)"
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $CPU_MODEL, $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- Pinned: each server one worker on CPU 0, \`dnsload --dnssec\` (DO=1, EDNS 1232, 200 outstanding) on CPU 1."
    echo "- Zone: the peer benchmark's zone (1,707 records, wildcard, 50 insecure delegations). dnsd signs online (ECDSA P-256 CSK, compact denial); NSD and Knot serve it pre-signed by \`ldns-signzone\` (ECDSA P-256, NSEC)."
    echo
    echo "| server | DO | queries/s | CPU µs/query (user + sys) | lost |"
    echo "|---|---|---|---|---|"
    for row in "dnsd do1 1" "dnsd do0 0" "nsd do1 1" "knot do1 1"; do
        read -r sv sc d <<<"$row"
        echo "| $sv | $d | $(col "$sc" "$sv" 4 | xargs printf '%.0f') | $(col "$sc" "$sv" 5) ($(col "$sc" "$sv" 6) + $(col "$sc" "$sv" 7)) | $(awk -F, -v sc="$sc" -v sv="$sv" '$1==sc && $2==sv {s+=$8} END {print s+0}' "$CSV") |"
    done
    echo
    echo "- dnsd DO=1 CPU ÷ dnsd DO=0 CPU: **$(ratio "$D1" "$D0")** (target ≤ 1.25)"
    echo "- dnsd DO=1 CPU ÷ best pre-signed peer's DO=1 CPU: **$(ratio "$D1" "$BEST")** (target ≤ 0.9)"
    echo "- Signature cache after the runs: ${CACHE_ENTRIES:-?} signatures, ${CACHE_BYTES:-?} bytes of a ${CACHE_CAP:-?}-byte budget; ${CACHE_HITS:-?} hits, ${CACHE_MISSES:-?} misses (the misses are the first sight of each distinct RRset or denied name, almost all in the warm-up)."
    echo "<!-- end dnssec results -->"
} >"$WORK/section.md"
DOC="$ROOT/BENCHMARKS.md"
if grep -q '<!-- dnssec results' "$DOC"; then
    awk -v f="$WORK/section.md" '
        /<!-- dnssec results/ { while ((getline l < f) > 0) print l; skip = 1; next }
        /<!-- end dnssec results -->/ { skip = 0; next }
        !skip { print }' "$DOC" >"$WORK/doc" && cp "$WORK/doc" "$DOC"
else
    { echo; cat "$WORK/section.md"; } >>"$DOC"
fi
cat "$WORK/section.md"
