#!/usr/bin/env bash
# Random-subdomain floods against a signed zone (hardening issue #19 item
# 10): dnsd's CPU per query for unique missing names with DO=1, against
# the same for repeated missing names, with the budget of fresh negative
# signatures on (the default, 1000 per zone per second: past it, NSEC
# ranges over the real names) and off (`--negative-signatures-per-zone 0`:
# a fresh compact signature per name).
#
#   bench/nxflood.sh [--quick]
#
# The peer benchmark's zone, signed online (ECDSA P-256 CSK). Each dnsd
# has one worker pinned to CPU 0; dnsload (DO=1, 200 outstanding) runs on
# CPU 1. Every run of unique names gets a query file of its own, so no
# name is ever asked twice; repeated runs cycle over 1,000 missing names.
# Runs are interleaved, after one warm-up of each kind. Server CPU per
# answered query comes from /proc/PID/stat. Prints the table and the
# medians; the caller records them in BENCHMARKS.md. Stops everything it
# started.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start nxflood "$@"
if ((QUICK)); then DURATION=2 REPS=2 UNIQUE=400000; else DURATION=5 REPS=3 UNIQUE=1000000; fi

BIN=${BENCH_BIN:-"$ROOT/target/release"}
DNSD=${DNSD_BIN:-"$ROOT/target/release"}/dnsd
if [[ -z "${BENCH_BIN:-}" || -z "${DNSD_BIN:-}" ]]; then
    bench_log "building dnsd and bench tools (release)"
    (cd "$ROOT" && cargo build --release -q -p dnsd -p bench --bins)
fi

ORIGIN=bench.test
ZONE="$WORK/bench.zone"
"$BIN/genzone" --origin "$ORIGIN" --names 1000 --delegations 50 --count 1000 \
    --seed 1 --zone "$ZONE" --queries "$WORK/mix.txt"
# Missing names: a label from a multiplicative hash of the index, so
# consecutive queries land all over the zone's ranges.
missing() { # PREFIX COUNT
    awk -v p="$1" -v n="$2" -v o="$ORIGIN" 'BEGIN {
        for (i = 1; i <= n; i++) printf "%x%s.%s A\n", (i * 2654435761) % 4294967296, p, o }'
}
missing -rep 1000 >"$WORK/repeated.txt"

declare -A PORT=([capped]=15321 [uncapped]=15322)
declare -A SPID=()
API=127.0.0.1:15329
echo "bench" >"$WORK/api.key"
for kind in capped uncapped; do
    budget=()
    [[ $kind == uncapped ]] && budget=(--negative-signatures-per-zone 0)
    extra=()
    [[ $kind == capped ]] && extra=(--api-listen "$API" --api-key-file "$WORK/api.key")
    taskset -c 0 "$DNSD" --listen "127.0.0.1:${PORT[$kind]}" --zone "$ORIGIN=$ZONE" \
        --dnssec "$ORIGIN" --data-dir "$WORK/data-$kind" --workers 1 --log-level warn \
        "${budget[@]}" "${extra[@]}" 2>"$WORK/dnsd-$kind.log" &
    SPID[$kind]=$!
    PIDS+=("${SPID[$kind]}")
    bench_wait_ready dnsd "${PORT[$kind]}" "$WORK/repeated.txt" || exit 1
done
HZ=$(getconf CLK_TCK)
CSV="$OUT/nxflood.csv"
echo "scenario,server,rep,qps,cpu_us_per_query,user_us,sys_us,lost" >"$CSV"

# run SCENARIO SERVER REP QUERYFILE
run() {
    local scenario=$1 server=$2 rep=$3 file=$4 pid=${SPID[$2]} line bu bs au as
    sleep 0.2
    read -r bu bs < <(bench_ticks "$pid")
    line=$(taskset -c 1 "$BIN/dnsload" -s "127.0.0.1:${PORT[$server]}" -d "$file" --dnssec \
        -l "$DURATION" -c 4 -T 1 -t 1 -q 200 2>/dev/null | grep '^RESULT' || true)
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

RUN=0
# A query file of names never asked before.
fresh() {
    RUN=$((RUN + 1))
    missing "-u$RUN" "$UNIQUE" >"$WORK/unique.txt"
    echo "$WORK/unique.txt"
}

bench_log "warm-up"
run warmup capped "" "$WORK/repeated.txt"
run warmup uncapped "" "$WORK/repeated.txt"
run warmup capped "" "$(fresh)"
run warmup uncapped "" "$(fresh)"
for rep in $(seq 1 "$REPS"); do
    run repeated capped "$rep" "$WORK/repeated.txt"
    run unique capped "$rep" "$(fresh)"
    run unique uncapped "$rep" "$(fresh)"
done
METRICS=$(curl -s "http://$API/metrics" 2>/dev/null || true)

median() { sort -g | awk '{v[NR]=$1} END { if (NR==0) {print ""; exit} m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.3f", m }'; }
col() { awk -F, -v sc="$1" -v sv="$2" -v c="$3" '$1==sc && $2==sv {print $c}' "$CSV" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "" || b == "") print "-"; else printf "%.2f", a / b }'; }
REP=$(col repeated capped 5) CAP=$(col unique capped 5) UNC=$(col unique uncapped 5)
echo
echo "- Command: \`bench/nxflood.sh${1:+ $1}\` ($DURATION s per run, $REPS reps, interleaved, after warm-ups)"
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| queries (DO=1, all NXDOMAIN) | budget | queries/s | CPU µs/query (user + sys) |"
echo "|---|---|---:|---:|"
for row in "repeated capped 1000" "unique capped 1000" "unique uncapped off"; do
    read -r sc sv b <<<"$row"
    echo "| $sc | $b | $(col "$sc" "$sv" 4 | xargs printf '%.0f') | $(col "$sc" "$sv" 5) ($(col "$sc" "$sv" 6) + $(col "$sc" "$sv" 7)) |"
done
echo
echo "- unique ÷ repeated, budget on: **$(ratio "$CAP" "$REP")** (target ≤ 2); budget off: $(ratio "$UNC" "$REP")"
echo "- /metrics of the capped dnsd after the runs:"
grep -E '^dnsd_(negative|denial|signature_cache_(entries|misses))' <<<"$METRICS" | sed 's/^/    /'
