#!/usr/bin/env bash
# Scale benchmark: a generated zone of about 1,000,000 records, served by
# dnsd, NSD and Knot in turn (default settings, one at a time, loopback).
#
#   bench/scale.sh [RECORDS]        # default 1000000
#
# Per server: load time (start until the SOA answers), RSS after load (the
# process and its children), then a reload of a changed zone file (serial
# 1 -> 2: dnsd and NSD by SIGHUP, Knot by `knotc zone-reload`) while dnsload
# sends a bounded open-loop stream of 20,000 queries/s: reload time (signal
# until serial 2 answers), RSS after reload, and queries lost meanwhile.
# Rows go to target/bench/scale.csv; the scale section of BENCHMARKS.md is
# regenerated. Every server started here is stopped on exit (trap EXIT).
set -euo pipefail

RECORDS=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/dnsd-scale.XXXXXX)
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

ORIGIN=big.test
PORT=15311
RATE=20000
STREAM_SECONDS=${STREAM_SECONDS:-20}

bench_install_peers
command -v kdig >/dev/null 2>&1 || {
    ((EUID == 0)) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq knot-dnsutils >/dev/null
}
BIN=${BENCH_BIN:-"$ROOT/target/release"}
DNSD=${DNSD_BIN:-"$ROOT/target/release"}/dnsd
if [[ -z "${BENCH_BIN:-}" || -z "${DNSD_BIN:-}" ]]; then
    bench_log "building dnsd and bench tools (release)"
    (cd "$ROOT" && cargo build --release -q -p dnsd -p bench --bins)
fi

ZONE="$WORK/big.zone"
QUERIES="$WORK/big.queries"
"$BIN/genzone" --origin "$ORIGIN" --records "$RECORDS" --count 100000 --seed 7 \
    --zone "$ZONE" --queries "$QUERIES"
ZONE_MB=$(du -m "$ZONE" | cut -f1)

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }

# SOA serial served on PORT, or nothing.
serial() {
    kdig @127.0.0.1 -p "$PORT" +short +time=1 +retry=0 "$ORIGIN" SOA 2>/dev/null |
        awk '{print $3; exit}'
}

# Waits (up to 600 s) until the served serial is $1.
wait_serial() {
    local want=$1 i
    for i in $(seq 1 12000); do
        [[ "$(serial)" == "$want" ]] && return 0
        sleep 0.05
    done
    return 1
}

CSV="$OUT/scale.csv"
echo "server,records,zone_mb,load_s,rss_mb,reload_s,rss_after_reload_mb,sent,answered,lost" >"$CSV"

for server in dnsd nsd knot; do
    cp "$ZONE" "$WORK/serving.zone"
    dir="$WORK/$server"
    bench_write_configs "$dir" "$ORIGIN" "$WORK/serving.zone" default "$PORT" "$PORT" "$PORT"
    t0=$(now)
    case $server in
        dnsd) "$DNSD" --listen "127.0.0.1:$PORT" --zone "$ORIGIN=$WORK/serving.zone" \
                --log-level warn 2>"$dir/dnsd.log" & ;;
        nsd) nsd -d -c "$dir/nsd/nsd.conf" 2>"$dir/nsd/stderr.log" & ;;
        knot) knotd -c "$dir/knot/knot.conf" 2>"$dir/knot/stderr.log" & ;;
    esac
    pid=$!
    PIDS+=("$pid")
    if ! wait_serial 1; then
        bench_log "$server did not load the zone"
        exit 1
    fi
    load_s=$(elapsed "$t0" "$(now)")
    sleep 1
    rss=$(($(bench_rss_kb "$pid") / 1024))
    bench_log "$server: loaded in ${load_s}s, RSS ${rss} MB"

    # Serial 2, swapped in atomically, then reload under a query stream.
    sed '0,/ 1 7200 3600 1209600 3600/s// 2 7200 3600 1209600 3600/' "$ZONE" >"$WORK/next.zone"
    mv "$WORK/next.zone" "$WORK/serving.zone"
    "$BIN/dnsload" -s "127.0.0.1:$PORT" -d "$QUERIES" -l "$STREAM_SECONDS" --rate "$RATE" \
        -c 4 -t 1 >"$dir/stream.log" 2>&1 &
    loader=$!
    PIDS+=("$loader")
    sleep 2
    t1=$(now)
    case $server in
        dnsd | nsd) kill -HUP "$pid" ;;
        knot) knotc -s "$dir/knot/knot.sock" zone-reload "$ORIGIN" >/dev/null ;;
    esac
    if wait_serial 2; then
        reload_s=$(elapsed "$t1" "$(now)")
    else
        reload_s=""
    fi
    # Let the server free the old generation (dnsd frees it off the answer
    # path once every worker has moved on) before reading RSS.
    sleep 3
    rss2=$(($(bench_rss_kb "$pid") / 1024))
    wait "$loader" || true
    line=$(grep '^RESULT' "$dir/stream.log" || true)
    sent=$(bench_field "$line" sent)
    answered=$(bench_field "$line" answered)
    lost=$(bench_field "$line" lost)
    bench_log "$server: reload ${reload_s:-?}s, RSS after ${rss2} MB, lost ${lost:-?} of ${sent:-?}"
    echo "$server,$RECORDS,$ZONE_MB,$load_s,$rss,$reload_s,$rss2,$sent,$answered,$lost" >>"$CSV"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done

# The scale section of BENCHMARKS.md.
MD="$OUT/scale.md"
{
    echo "- **Command:** \`bench/scale.sh${1:+ $1}\` ($RECORDS records, zone file ${ZONE_MB} MB; reload under ${RATE} queries/s open loop for ${STREAM_SECONDS} s)"
    echo "- **Date:** $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| server | load s | RSS after load MB | reload s | RSS after reload MB | queries sent during reload window | lost |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    tail -n +2 "$CSV" | awk -F, '{printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $4, $5, ($6 == "" ? "–" : $6), $7, $8, $10}'
} >"$MD"
bench_splice_section scale scale.sh "Scale: one large zone" "$MD"
cat "$MD"
