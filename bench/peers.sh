#!/usr/bin/env bash
# Peer benchmark: dnsd against NSD, Knot and PowerDNS (bind backend), with
# the minimal responder as the floor, all on loopback, same zone and queries.
#
#   bench/peers.sh [--quick]
#
# Installs the peers from Debian if missing (root), builds dnsd and the bench
# tools (release), generates the zone (1,000 hosts, wildcard, delegations with
# glue) and a 100,000-line query file, then for each mode
#   pinned:  every server one worker on CPU 0, the load generator on CPU 1;
#   default: every server with its own default threads, nothing pinned;
# runs every scenario with both generators (dnsperf, dnsload) against every
# server in turn (A B C D E, A B C D E, ...), several repetitions, sampling
# /proc/PID/stat of the server before and after each run. Finally a fixed-rate
# latency run (20,000 queries/s). Rows go to target/bench/peers.csv (the
# issue's columns) and target/bench/peers-full.csv (plus user/system CPU);
# the results section of BENCHMARKS.md is regenerated from them.
#
# Environment: DNSD_BIN / BENCH_BIN (prebuilt dirs with dnsd resp. dnsload,
# genzone, min-responder, bench-report), BENCH_KEEP=1 keeps the temp dir.
# Every server started here is stopped on exit (trap EXIT).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start peers "$@"

if ((QUICK)); then
    DURATION=1.5 REPS=2 LAT_REPS=1 DEFAULT_SCENARIOS="udp" LAT_SCENARIOS="udp"
else
    DURATION=5 REPS=5 LAT_REPS=3 DEFAULT_SCENARIOS="udp tcp" LAT_SCENARIOS="udp tcp"
fi
LAT_RATE=20000
SERVERS=(dnsd nsd knot pdns min-responder)
GENERATORS=(dnsperf dnsload)
ORIGIN=bench.test
declare -A PORT=([dnsd]=15301 [nsd]=15302 [knot]=15303 [pdns]=15304 [min-responder]=15305)
declare -A SPID=()

bench_install_peers

BIN=${BENCH_BIN:-"$ROOT/target/release"}
DNSD=${DNSD_BIN:-"$ROOT/target/release"}/dnsd
if [[ -z "${BENCH_BIN:-}" || -z "${DNSD_BIN:-}" ]]; then
    bench_log "building dnsd and bench tools (release)"
    (cd "$ROOT" && cargo build --release -q -p dnsd -p bench --bins)
fi

ZONE="$WORK/bench.zone"
QUERIES="$WORK/queries.txt"
"$BIN/genzone" --origin "$ORIGIN" --names 1000 --delegations 50 --count 100000 \
    --seed 1 --zone "$ZONE" --queries "$QUERIES"

# Starts every server for MODE (pinned|default).
start_servers() {
    local mode=$1 workers pin=()
    if [[ $mode == pinned ]]; then
        workers=1
        pin=(taskset -c 0)
    else
        workers=default
    fi
    local dir="$WORK/$mode"
    bench_write_configs "$dir" "$ORIGIN" "$ZONE" "$workers" \
        "${PORT[nsd]}" "${PORT[knot]}" "${PORT[pdns]}"
    local dnsd_workers=() min_workers=(--workers "$(nproc)")
    if [[ $workers != default ]]; then
        dnsd_workers=(--workers 1)
        min_workers=(--workers 1)
    fi
    "${pin[@]}" "$DNSD" --listen "127.0.0.1:${PORT[dnsd]}" --zone "$ORIGIN=$ZONE" \
        "${dnsd_workers[@]}" --log-level warn 2>"$dir/dnsd.log" &
    SPID[dnsd]=$!
    "${pin[@]}" nsd -d -c "$dir/nsd/nsd.conf" 2>"$dir/nsd/stderr.log" &
    SPID[nsd]=$!
    "${pin[@]}" knotd -c "$dir/knot/knot.conf" 2>"$dir/knot/stderr.log" &
    SPID[knot]=$!
    "${pin[@]}" pdns_server --config-dir="$dir/pdns" 2>"$dir/pdns/stderr.log" &
    SPID[pdns]=$!
    "${pin[@]}" "$BIN/min-responder" --listen "127.0.0.1:${PORT[min-responder]}" \
        "${min_workers[@]}" --lifetime 3600 2>"$dir/min.log" &
    SPID[min-responder]=$!
    local s
    for s in "${SERVERS[@]}"; do
        PIDS+=("${SPID[$s]}")
    done
    for s in "${SERVERS[@]}"; do
        bench_wait_ready "$s" "${PORT[$s]}" "$QUERIES" || {
            tail -5 "$dir"/*.log "$dir"/*/*.log >&2 || true
            exit 1
        }
    done
    bench_log "$mode: all servers answer"
}

stop_servers() {
    local s kid
    for s in "${SERVERS[@]}"; do
        for kid in $(bench_descendants "${SPID[$s]}"); do
            kill -TERM "$kid" 2>/dev/null || true
        done
    done
    for s in "${SERVERS[@]}"; do
        for _ in $(seq 1 50); do
            [[ -d /proc/${SPID[$s]} ]] || break
            sleep 0.1
        done
        kill -KILL "${SPID[$s]}" 2>/dev/null || true
        wait "${SPID[$s]}" 2>/dev/null || true
    done
    sleep 0.5
}

CSV="$OUT/peers.csv"
FULL="$OUT/peers-full.csv"
echo "scenario,generator,server,rep,qps,cpu_s_per_100k,lost,p50_ms,p99_ms" >"$CSV"
echo "scenario,generator,server,rep,qps,cpu_s_per_100k,lost,p50_ms,p99_ms,user_s_per_100k,sys_s_per_100k,sent,answered,seconds" >"$FULL"
HZ=$(getconf CLK_TCK)

# Nearest-rank quantile Q of the numbers on stdin (seconds), printed in ms.
quantile_ms() {
    sort -g | awk -v q="$1" '{v[NR]=$1} END {
        if (NR == 0) { print ""; exit }
        r = int(q * NR); if (r < q * NR) r++; if (r < 1) r = 1;
        printf "%.4f", v[r] * 1000 }'
}

# One measured run: run_one SCENARIO GENERATOR SERVER REP TRANSPORT RATE GENPIN
run_one() {
    local scenario=$1 gen=$2 server=$3 rep=$4 transport=$5 rate=$6
    local pin=()
    [[ $scenario == *pinned* ]] && pin=(taskset -c 1)
    local port=${PORT[$server]} pid=${SPID[$server]}
    local log="$WORK/run.log" sent answered lost qps p50="" p99="" secs
    local before after
    sleep 0.2
    read -r bu bs < <(bench_ticks "$pid")
    if [[ $gen == dnsperf ]]; then
        local args=(-s 127.0.0.1 -p "$port" -d "$QUERIES" -l "$DURATION" -c 4 -q 200 -T 1 -t 1)
        [[ $transport == tcp ]] && args+=(-m tcp)
        if [[ -n $rate ]]; then
            args+=(-Q "$rate" -v)
        fi
        "${pin[@]}" dnsperf "${args[@]}" >"$log" 2>&1 || true
        read -r au as < <(bench_ticks "$pid")
        sent=$(awk '/Queries sent:/ {print $3}' "$log")
        answered=$(awk '/Queries completed:/ {print $3}' "$log")
        lost=$(awk '/Queries lost:/ {print $3}' "$log")
        qps=$(awk '/Queries per second:/ {print $4}' "$log")
        secs=$(awk '/Run time \(s\):/ {print $4}' "$log")
        if [[ -n $rate ]]; then
            p50=$(awk '/^> / {print $NF}' "$log" | quantile_ms 0.5)
            p99=$(awk '/^> / {print $NF}' "$log" | quantile_ms 0.99)
        fi
    else
        local args=(-s "127.0.0.1:$port" -d "$QUERIES" -l "$DURATION" -c 4 -T 1 -t 1)
        [[ $transport == tcp ]] && args+=(--tcp)
        if [[ -n $rate ]]; then args+=(--rate "$rate"); else args+=(-q 200); fi
        "${pin[@]}" "$BIN/dnsload" "${args[@]}" >"$log" 2>&1 || true
        read -r au as < <(bench_ticks "$pid")
        local line
        line=$(grep '^RESULT' "$log" || true)
        sent=$(bench_field "$line" sent)
        answered=$(bench_field "$line" answered)
        lost=$(bench_field "$line" lost)
        qps=$(bench_field "$line" qps)
        secs=$(bench_field "$line" seconds)
        p50=$(bench_field "$line" p50_ms)
        p99=$(bench_field "$line" p99_ms)
    fi
    if [[ -z $answered || $answered == 0 ]]; then
        bench_log "no answers: $scenario $gen $server rep $rep"
        tail -3 "$log" >&2 || true
        answered=0 qps=0 sent=${sent:-0} lost=${lost:-0} secs=${secs:-0}
    fi
    local cpu user sys
    read -r cpu user sys < <(awk -v u=$((au - bu)) -v s=$((as - bs)) -v hz="$HZ" -v n="$answered" 'BEGIN {
        if (n == 0) { print "", "", ""; exit }
        f = 100000 / n / hz; printf "%.5f %.5f %.5f\n", (u + s) * f, u * f, s * f }')
    echo "$scenario,$gen,$server,$rep,$qps,$cpu,$lost,$p50,$p99" >>"$CSV"
    echo "$scenario,$gen,$server,$rep,$qps,$cpu,$lost,$p50,$p99,$user,$sys,$sent,$answered,$secs" >>"$FULL"
    printf '%-12s %-8s %-14s rep %d  %9.0f q/s  cpu %6s s/100k  lost %s  p50 %s p99 %s\n' \
        "$scenario" "$gen" "$server" "$rep" "${qps:-0}" "${cpu:-?}" "${lost:-?}" "${p50:--}" "${p99:--}" >&2
}

# Interleaved: for each rep, every generator against every server in turn.
run_block() {
    local scenario=$1 transport=$2 rate=$3 reps=$4 rep gen server
    for rep in $(seq 1 "$reps"); do
        for gen in "${GENERATORS[@]}"; do
            for server in "${SERVERS[@]}"; do
                run_one "$scenario" "$gen" "$server" "$rep" "$transport" "$rate"
            done
        done
    done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u '+%Y-%m-%d %H:%M UTC')

start_servers pinned
run_block udp-pinned udp "" "$REPS"
run_block tcp-pinned tcp "" "$REPS"
for t in $LAT_SCENARIOS; do
    run_block "$t-pinned-${LAT_RATE}qps" "$t" "$LAT_RATE" "$LAT_REPS"
done
stop_servers

start_servers default
for t in $DEFAULT_SCENARIOS; do
    run_block "$t-default" "$t" "" "$LAT_REPS"
done
stop_servers

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
CMD="bench/peers.sh${1:+ $1}"
VERSIONS="dnsd $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'); $(nsd -v 2>&1 | head -1); $(knotd -V 2>&1 | head -1); PowerDNS $(pdns_server --version 2>&1 | sed -n 's/.*Authoritative Server \([^ ]*\).*/\1/p' | head -1); dnsperf $(dnsperf -h 2>&1 | sed -n 's/^Version //p' | head -1)"
"$BIN/bench-report" --csv "$FULL" --doc "$ROOT/BENCHMARKS.md" \
    --meta "Command=\`$CMD\` ($DURATION s per run; $REPS reps pinned, $LAT_REPS reps for fixed-rate and default runs)" \
    --meta "Date=$START" \
    --meta "CPU=$CPU_MODEL, $(nproc) CPUs; kernel $(uname -r)" \
    --meta "Versions=$VERSIONS" \
    --meta "Load average before/after=$LOAD_BEFORE / $LOAD_AFTER (other work on the machine inflates wall-clock figures; CPU per query is less sensitive)"
bench_log "rows: $CSV, $FULL; tables: BENCHMARKS.md"
