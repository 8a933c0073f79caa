#!/usr/bin/env bash
# Zone-transfer benchmark (issue #14 item 7): dnsd against Knot, loopback,
# TSIG-signed transfers, a generated zone of RECORDS records.
#
#   bench/xfr.sh [RECORDS]          # default 1000000; e.g. 20000 for a quick run
#
#   1. AXFR out: `kdig AXFR` from a dnsd primary and from a Knot primary
#      serving the same zone file: wall time, peak RSS (VmHWM) of the server
#      before and after the transfers.
#   2. AXFR in: a Knot primary to a fresh dnsd secondary and to a fresh Knot
#      secondary: time from the secondary's start until it answers the serial,
#      its peak RSS.
#   3. IXFR convergence: 1,000 single-RRset changes, one at a time, each timed
#      from the change until the secondary answers it (bench `xfr-converge`):
#      dnsd API primary -> dnsd secondary (NOTIFY by --also-notify) and
#      knotc transaction on a Knot primary -> Knot secondary. The zone has
#      IXFR_RECORDS records (default RECORDS).
#   4. Queries/s and CPU per query of the dnsd primary under dnsload (closed
#      loop), idle and while a loop of AXFRs of the zone runs.
#
# Parts 1, 2 and 4 are repeated REPS times (default 3, interleaved) and the
# median is reported. Rows go to target/bench/xfr.csv; the transfer section
# of BENCHMARKS.md is regenerated from them. Every server and loop started
# here is stopped on exit (trap EXIT); every wait is bounded.
#
# Environment: DNSD_BIN / BENCH_BIN (prebuilt dirs), IXFR_RECORDS, REPS,
# CHANGES (default 1000), IXFR_TIMEOUT_MS (a change not answered by then is
# counted as missed and the next one starts; default 3000), LOAD_SECONDS (default 10), BENCH_KEEP=1,
# PARTS (comma-separated subset of out,in,ixfr,load; default all).
set -euo pipefail

RECORDS=${1:-1000000}
IXFR_RECORDS=${IXFR_RECORDS:-$RECORDS}
REPS=${REPS:-3}
CHANGES=${CHANGES:-1000}
IXFR_TIMEOUT_MS=${IXFR_TIMEOUT_MS:-3000}
LOAD_SECONDS=${LOAD_SECONDS:-10}
# Which parts to run (comma-separated): out, in, ixfr, load.
PARTS=${PARTS:-out,in,ixfr,load}
part() { [[ ,$PARTS, == *,$1,* ]]; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/dnsd-xfr.XXXXXX)
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

ORIGIN=big.test
PRIMARY_PORT=15361   # dnsd primary (file zone, then API zone)
KNOT_PORT=15362      # Knot primary
SECONDARY_PORT=15363 # the secondary under test, dnsd or Knot
API_PORT=15364

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

# One TSIG key for every transfer, in files only (never on a command line):
# kdig's -k format, BIND's for dnsd, Knot's in its configs.
SECRET=$(head -c 32 /dev/urandom | base64)
KEYNAME=xfr
(
    umask 077
    echo "hmac-sha256:$KEYNAME:$SECRET" >"$WORK/kdig.key"
    printf 'key "%s" {\n    algorithm hmac-sha256;\n    secret "%s";\n};\n' \
        "$KEYNAME" "$SECRET" >"$WORK/tsig.conf"
    echo bench-key >"$WORK/api.key"
)

ZONE="$WORK/big.zone"
QUERIES="$WORK/big.queries"
"$BIN/genzone" --origin "$ORIGIN" --records "$RECORDS" --count 100000 --seed 7 \
    --zone "$ZONE" --queries "$QUERIES"
ZONE_MB=$(du -m "$ZONE" | cut -f1)
# Records in an AXFR: the zone's, plus the closing SOA.
ZONE_RECORDS=$(grep -cv '^[;$]' "$ZONE")

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

# Peak resident set (VmHWM, MB) of one process (dnsd and Knot are single
# processes with threads).
hwm_mb() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo ""; }

# SOA serial served on PORT, or nothing.
serial() {
    kdig @127.0.0.1 -p "$1" +short +time=1 +retry=0 "$ORIGIN" SOA 2>/dev/null |
        awk '{print $3; exit}'
}

# Waits (up to $3 s, default 600) until PORT serves serial $2.
wait_serial() {
    local port=$1 want=$2 limit=${3:-600} until
    until=$(($(date +%s) + limit))
    while (($(date +%s) < until)); do
        [[ "$(serial "$port")" == "$want" ]] && return 0
        sleep 0.02
    done
    return 1
}

# Stops one server started here: TERM, then KILL after 10 s.
stop() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Knot's key, ACLs and remotes, shared by every Knot config here.
knot_common() {
    local dir=$1
    cat <<CONF
server:
    listen: 127.0.0.1@$2
    rundir: "$dir"
log:
  - target: "$dir/knot.log"
    any: info
database:
    storage: "$dir"
control:
    listen: "$dir/knot.sock"
key:
  - id: $KEYNAME
    algorithm: hmac-sha256
    secret: $SECRET
remote:
  - id: primary
    address: 127.0.0.1@$KNOT_PORT
    key: $KEYNAME
  - id: secondary
    address: 127.0.0.1@$SECONDARY_PORT
    key: $KEYNAME
acl:
  - id: transfer
    address: 127.0.0.0/8
    key: $KEYNAME
    action: transfer
  - id: notify
    address: 127.0.0.0/8
    key: $KEYNAME
    action: notify
CONF
}

# Starts a Knot primary serving FILE from DIR; the zone file is never
# rewritten (zonefile-sync: -1) and changes go to the journal, which serves
# IXFR. NOTIFY goes to the secondary port.
start_knot_primary() {
    local dir=$1 file=$2
    mkdir -p "$dir"
    {
        knot_common "$dir" "$KNOT_PORT"
        cat <<CONF
zone:
  - domain: $ORIGIN
    file: "$file"
    storage: "$dir"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    notify: secondary
    acl: transfer
CONF
    } >"$dir/knot.conf"
    knotd -c "$dir/knot.conf" 2>"$dir/stderr.log" &
    KNOT_PID=$!
    PIDS+=("$KNOT_PID")
}

# Starts a Knot secondary of the Knot primary, empty, in DIR (Knot's
# defaults otherwise: it writes the received zone to its zone file).
start_knot_secondary() {
    local dir=$1
    mkdir -p "$dir"
    {
        knot_common "$dir" "$SECONDARY_PORT"
        cat <<CONF
zone:
  - domain: $ORIGIN
    storage: "$dir"
    master: primary
    acl: notify
CONF
    } >"$dir/knot.conf"
    knotd -c "$dir/knot.conf" 2>"$dir/stderr.log" &
    SECONDARY_PID=$!
    PIDS+=("$SECONDARY_PID")
}

# A dnsd secondary of the primary at port $2, empty, in DIR.
start_dnsd_secondary() {
    local dir=$1 primary_port=$2
    mkdir -p "$dir"
    "$DNSD" --listen "127.0.0.1:$SECONDARY_PORT" --tsig-key-file "$WORK/tsig.conf" \
        --secondary "$ORIGIN=127.0.0.1:$primary_port:$KEYNAME" --data-dir "$dir/data" \
        --log-level warn 2>"$dir/dnsd.log" &
    SECONDARY_PID=$!
    PIDS+=("$SECONDARY_PID")
}

# A server left on one of our ports would be measured instead of ours.
for port in "$PRIMARY_PORT" "$KNOT_PORT" "$SECONDARY_PORT" "$API_PORT"; do
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
        bench_log "port $port is already in use; stop what listens there first"
        exit 1
    fi
done

CSV="$OUT/xfr.csv"
echo "records,test,server,rep,metric,value" >"$CSV"
row() { echo "$1,$2,$3,$4,$5,$6" >>"$CSV"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u '+%Y-%m-%d %H:%M UTC')

# --- 1 and 4: the dnsd and Knot primaries serving the zone file ----------
"$DNSD" --listen "127.0.0.1:$PRIMARY_PORT" --zone "$ORIGIN=$ZONE" \
    --tsig-key-file "$WORK/tsig.conf" --allow-transfer "127.0.0.0/8:$KEYNAME" \
    --data-dir "$WORK/primary" --log-level warn 2>"$WORK/primary.log" &
PRIMARY_PID=$!
PIDS+=("$PRIMARY_PID")
start_knot_primary "$WORK/knot-primary" "$ZONE"
for port in "$PRIMARY_PORT" "$KNOT_PORT"; do
    wait_serial "$port" 1 || {
        bench_log "the primary on port $port did not load the zone"
        tail -5 "$WORK/primary.log" "$WORK/knot-primary/knot.log" >&2 || true
        exit 1
    }
done
sleep 1
declare -A SERVER_PID=([dnsd]=$PRIMARY_PID [knot]=$KNOT_PID)
declare -A SERVER_PORT=([dnsd]=$PRIMARY_PORT [knot]=$KNOT_PORT)
for server in dnsd knot; do
    row "$RECORDS" axfr_out "$server" 0 hwm_before_mb "$(hwm_mb "${SERVER_PID[$server]}")"
done

# One AXFR from PORT; prints "seconds records" (records as kdig counts them).
axfr() {
    local t0 t1 out
    t0=$(now)
    out=$(kdig -k "$WORK/kdig.key" @127.0.0.1 -p "$1" +time=60 +stats "$ORIGIN" AXFR 2>&1 | tail -4 || true)
    t1=$(now)
    echo "$(elapsed "$t0" "$t1") $(sed -n 's/^;; Received .* \([0-9]*\) records).*/\1/p' <<<"$out" | tail -1)"
}

if part out; then
bench_log "AXFR out: $ZONE_RECORDS records (+1 closing SOA), ${ZONE_MB} MB zone file, $REPS reps"
for rep in $(seq 1 "$REPS"); do
    for server in dnsd knot; do
        read -r secs got < <(axfr "${SERVER_PORT[$server]}")
        if [[ "${got:-0}" != $((ZONE_RECORDS + 1)) ]]; then
            bench_log "AXFR from $server: ${got:-no} records, expected $((ZONE_RECORDS + 1))"
        fi
        row "$RECORDS" axfr_out "$server" "$rep" seconds "$secs"
        row "$RECORDS" axfr_out "$server" "$rep" records "${got:-0}"
        bench_log "AXFR out $server rep $rep: ${secs}s, ${got:-0} records, VmHWM $(hwm_mb "${SERVER_PID[$server]}") MB"
    done
done
for server in dnsd knot; do
    row "$RECORDS" axfr_out "$server" 0 hwm_after_mb "$(hwm_mb "${SERVER_PID[$server]}")"
done
fi

# 4: dnsload against the dnsd primary, idle and during back-to-back AXFRs.
HZ=$(getconf CLK_TCK)
# CPU ticks (user, system) of the primary's UDP workers alone: the answer
# path, whatever the transfers and the machine's other work cost.
answer_ticks() {
    local u=0 s=0 task rest fields
    for task in /proc/"$1"/task/*; do
        [[ $(cat "$task/comm" 2>/dev/null) == udp-* ]] || continue
        rest=$(cat "$task/stat" 2>/dev/null) || continue
        rest=${rest##*) }
        read -r -a fields <<<"$rest"
        u=$((u + fields[11]))
        s=$((s + fields[12]))
    done
    echo "$u $s"
}
load_run() {
    local mode=$1 rep=$2 loop="" bu bs au as line answered qps cpu
    if [[ $mode == transfers ]]; then
        (
            end=$(($(date +%s) + LOAD_SECONDS + 30))
            n=0
            while (($(date +%s) < end)); do
                kdig -k "$WORK/kdig.key" @127.0.0.1 -p "$PRIMARY_PORT" +time=60 +noall \
                    "$ORIGIN" AXFR >/dev/null 2>&1 || true
                n=$((n + 1))
                echo "$n" >"$WORK/axfr-count"
            done
        ) &
        loop=$!
        PIDS+=("$loop")
        echo 0 >"$WORK/axfr-count"
        sleep 1
    fi
    local c0 wu ws xu xs answer_cpu
    c0=$(cat "$WORK/axfr-count" 2>/dev/null || echo 0)
    read -r bu bs < <(bench_ticks "$PRIMARY_PID")
    read -r wu ws < <(answer_ticks "$PRIMARY_PID")
    "$BIN/dnsload" -s "127.0.0.1:$PRIMARY_PORT" -d "$QUERIES" -l "$LOAD_SECONDS" -q 200 -c 4 -t 1 \
        >"$WORK/load.log" 2>&1 || true
    read -r au as < <(bench_ticks "$PRIMARY_PID")
    read -r xu xs < <(answer_ticks "$PRIMARY_PID")
    local c1
    c1=$(cat "$WORK/axfr-count" 2>/dev/null || echo 0)
    if [[ -n $loop ]]; then
        for kid in $(bench_descendants "$loop"); do kill -TERM "$kid" 2>/dev/null || true; done
        wait "$loop" 2>/dev/null || true
    fi
    line=$(grep '^RESULT' "$WORK/load.log" || true)
    answered=$(bench_field "$line" answered)
    qps=$(bench_field "$line" qps)
    cpu=$(awk -v t=$((au - bu + as - bs)) -v hz="$HZ" -v n="${answered:-0}" \
        'BEGIN { if (n > 0) printf "%.2f", t / hz / n * 1e6 }')
    row "$RECORDS" load "$mode" "$rep" qps "${qps:-0}"
    row "$RECORDS" load "$mode" "$rep" cpu_us_per_query "$cpu"
    answer_cpu=$(awk -v t=$((xu - wu + xs - ws)) -v hz="$HZ" -v n="${answered:-0}" \
        'BEGIN { if (n > 0) printf "%.2f", t / hz / n * 1e6 }')
    row "$RECORDS" load "$mode" "$rep" answer_cpu_us_per_query "$answer_cpu"
    row "$RECORDS" load "$mode" "$rep" p99_ms "$(bench_field "$line" p99_ms)"
    [[ $mode == transfers ]] && row "$RECORDS" load "$mode" "$rep" axfrs_completed $((c1 - c0))
    bench_log "load $mode rep $rep: ${qps:-0} q/s, ${cpu:-?} µs CPU/query (${answer_cpu:-?} in the UDP workers), AXFRs completed meanwhile $((c1 - c0))"
}
if part load; then
for rep in $(seq 1 "$REPS"); do
    load_run idle "$rep"
    load_run transfers "$rep"
done
fi
stop "$PRIMARY_PID"

if part in; then
# --- 2: AXFR in from the Knot primary ------------------------------------
bench_log "AXFR in from Knot: $REPS reps"
for rep in $(seq 1 "$REPS"); do
    for server in dnsd knot; do
        dir="$WORK/secondary-$server-$rep"
        t0=$(now)
        case $server in
            dnsd) start_dnsd_secondary "$dir" "$KNOT_PORT" ;;
            knot) start_knot_secondary "$dir" ;;
        esac
        if wait_serial "$SECONDARY_PORT" 1 600; then
            secs=$(elapsed "$t0" "$(now)")
        else
            secs=""
            bench_log "AXFR in: the $server secondary never answered serial 1"
            tail -5 "$dir"/*.log >&2 || true
        fi
        sleep 1
        hwm=$(hwm_mb "$SECONDARY_PID")
        row "$RECORDS" axfr_in "$server" "$rep" seconds "$secs"
        row "$RECORDS" axfr_in "$server" "$rep" hwm_mb "$hwm"
        bench_log "AXFR in $server rep $rep: ${secs:-failed}s, VmHWM $hwm MB"
        stop "$SECONDARY_PID"
        rm -rf "$dir"
    done
done
stop "$KNOT_PID"
fi

if part ixfr; then
# --- 3: IXFR convergence -------------------------------------------------
converge_row() {
    local line header
    header=$(grep '^CSV_HEADER,' "$1" | head -1)
    line=$(grep '^CSV,' "$1" | head -1)
    [[ -n $line ]] || return 0
    IFS=, read -r -a names <<<"${header#CSV_HEADER,}"
    IFS=, read -r -a values <<<"${line#CSV,}"
    local i
    for i in "${!names[@]}"; do
        case ${names[$i]} in label | records) continue ;; esac
        row "$IXFR_RECORDS" ixfr "$2" 1 "${names[$i]}" "${values[$i]:-}"
    done
}

bench_log "IXFR: dnsd API primary -> dnsd secondary, $IXFR_RECORDS records, $CHANGES changes"
"$DNSD" --listen "127.0.0.1:$PRIMARY_PORT" --api-listen "127.0.0.1:$API_PORT" \
    --api-key-file "$WORK/api.key" --tsig-key-file "$WORK/tsig.conf" \
    --allow-transfer "127.0.0.0/8:$KEYNAME" --also-notify "127.0.0.1:$SECONDARY_PORT:$KEYNAME" \
    --data-dir "$WORK/api-primary" --log-level warn 2>"$WORK/api-primary.log" &
PRIMARY_PID=$!
PIDS+=("$PRIMARY_PID")
sleep 1
"$BIN/xfr-converge" fill --api "127.0.0.1:$API_PORT" --zone "$ORIGIN" \
    --records "$IXFR_RECORDS" --batch 5000 | tee "$WORK/fill.log" >&2
FILL_S=$(sed -n 's/^FILL_S //p' "$WORK/fill.log")
row "$IXFR_RECORDS" ixfr dnsd 1 primary_rss_after_fill_mb "$(($(bench_rss_kb "$PRIMARY_PID") / 1024))"
start_dnsd_secondary "$WORK/ixfr-dnsd" "$PRIMARY_PORT"
"$BIN/xfr-converge" dnsd --label dnsd --api "127.0.0.1:$API_PORT" \
    --primary-dns "127.0.0.1:$PRIMARY_PORT" --secondary "127.0.0.1:$SECONDARY_PORT" \
    --zone "$ORIGIN" --records "$IXFR_RECORDS" --changes "$CHANGES" --fill-s "$FILL_S" \
    --timeout-ms "$IXFR_TIMEOUT_MS" --max-seconds 900 | tee "$WORK/converge-dnsd.log" >&2 || bench_log "xfr-converge dnsd failed"
converge_row "$WORK/converge-dnsd.log" dnsd
row "$IXFR_RECORDS" ixfr dnsd 1 primary_hwm_mb "$(hwm_mb "$PRIMARY_PID")"
row "$IXFR_RECORDS" ixfr dnsd 1 secondary_hwm_mb "$(hwm_mb "$SECONDARY_PID")"
stop "$SECONDARY_PID"
stop "$PRIMARY_PID"

bench_log "IXFR: Knot primary (knotc) -> Knot secondary, $IXFR_RECORDS records, $CHANGES changes"
"$BIN/xfr-converge" write-zone --zone "$ORIGIN" --records "$IXFR_RECORDS" --out "$WORK/ixfr.zone"
start_knot_primary "$WORK/ixfr-knot-primary" "$WORK/ixfr.zone"
wait_serial "$KNOT_PORT" 1 600 || { bench_log "Knot primary did not load"; exit 1; }
start_knot_secondary "$WORK/ixfr-knot-secondary"
t0=$(now)
wait_serial "$SECONDARY_PORT" 1 600 || { bench_log "Knot secondary did not sync"; exit 1; }
SYNC_S=$(elapsed "$t0" "$(now)")
"$BIN/xfr-converge" knot --label knot --socket "$WORK/ixfr-knot-primary/knot.sock" \
    --secondary "127.0.0.1:$SECONDARY_PORT" --zone "$ORIGIN" --records "$IXFR_RECORDS" \
    --changes "$CHANGES" --timeout-ms "$IXFR_TIMEOUT_MS" --max-seconds 900 | tee "$WORK/converge-knot.log" >&2 ||
    bench_log "xfr-converge knot failed"
converge_row "$WORK/converge-knot.log" knot
row "$IXFR_RECORDS" ixfr knot 1 sync_s "$SYNC_S"
row "$IXFR_RECORDS" ixfr knot 1 primary_hwm_mb "$(hwm_mb "$KNOT_PID")"
row "$IXFR_RECORDS" ixfr knot 1 secondary_hwm_mb "$(hwm_mb "$SECONDARY_PID")"
stop "$SECONDARY_PID"
stop "$KNOT_PID"
fi

# --- The BENCHMARKS.md section -------------------------------------------
# Median of TEST SERVER METRIC over the reps (rep 0 rows are single values).
med() {
    awk -F, -v t="$1" -v s="$2" -v m="$3" '$2 == t && $3 == s && $5 == m && $6 != "" {print $6}' "$CSV" |
        sort -g | awk '{v[NR] = $1} END { if (NR) print v[int((NR + 1) / 2)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 != 0) printf "%.2f×", a / b; else print "–" }'; }
or_dash() { if [[ -n ${1:-} ]]; then echo "$1"; else echo "–"; fi; }

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
MD="$OUT/xfr.md"
{
    echo "- **Command:** \`IXFR_RECORDS=$IXFR_RECORDS CHANGES=$CHANGES IXFR_TIMEOUT_MS=$IXFR_TIMEOUT_MS REPS=$REPS LOAD_SECONDS=$LOAD_SECONDS bench/xfr.sh $RECORDS\` ($RECORDS records, zone file ${ZONE_MB} MB; medians of $REPS runs; TSIG hmac-sha256 on every transfer; loopback)"
    echo "- **Date:** $START; $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) CPUs; load average before/after $LOAD_BEFORE / $LOAD_AFTER"
    echo "- **Versions:** dnsd $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'); $(knotd -V 2>&1 | head -1); $(kdig -V 2>&1 | head -1)"
    echo
    echo "**AXFR out** (\`kdig -k KEY AXFR +stats\`, its text output piped away; the client's time is included; VmHWM = the server's peak RSS)"
    echo
    echo "| primary | AXFR s | records received | VmHWM before MB | VmHWM after MB |"
    echo "|---|---:|---:|---:|---:|"
    for s in dnsd knot; do
        echo "| $s | $(or_dash "$(med axfr_out $s seconds)") | $(or_dash "$(med axfr_out $s records)") | $(or_dash "$(med axfr_out $s hwm_before_mb)") | $(or_dash "$(med axfr_out $s hwm_after_mb)") |"
    done
    echo "| dnsd ÷ knot | $(ratio "$(med axfr_out dnsd seconds)" "$(med axfr_out knot seconds)") | | $(ratio "$(med axfr_out dnsd hwm_before_mb)" "$(med axfr_out knot hwm_before_mb)") | $(ratio "$(med axfr_out dnsd hwm_after_mb)" "$(med axfr_out knot hwm_after_mb)") |"
    echo
    echo "**AXFR in** from a Knot primary (secondary started empty; time until it answers the serial)"
    echo
    echo "| secondary | start → serial s | VmHWM MB |"
    echo "|---|---:|---:|"
    for s in dnsd knot; do
        echo "| $s | $(or_dash "$(med axfr_in $s seconds)") | $(or_dash "$(med axfr_in $s hwm_mb)") |"
    done
    echo "| dnsd ÷ knot | $(ratio "$(med axfr_in dnsd seconds)" "$(med axfr_in knot seconds)") | $(ratio "$(med axfr_in dnsd hwm_mb)" "$(med axfr_in knot hwm_mb)") |"
    echo
    echo "**IXFR convergence**, $IXFR_RECORDS-record zone: $CHANGES single-RRset changes one at a time, change → the secondary answers the new name over UDP (polled every 0.2 ms; a change not answered within $IXFR_TIMEOUT_MS ms is *missed*, and the next change starts); dnsd: API PATCH → dnsd secondary (NOTIFY); Knot: \`knotc zone-begin/zone-set/zone-commit\` → Knot secondary (NOTIFY)"
    echo
    echo "| primary → secondary | answered / sent | missed | p50 ms | p99 ms | max ms | change call p50 / p99 ms | zone fill s | first sync s | primary VmHWM MB | secondary VmHWM MB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for s in dnsd knot; do
        echo "| $s → $s | $(or_dash "$(med ixfr $s done)") / $CHANGES | $(or_dash "$(med ixfr $s missed)") | $(or_dash "$(med ixfr $s p50_ms)") | $(or_dash "$(med ixfr $s p99_ms)") | $(or_dash "$(med ixfr $s max_ms)") | $(or_dash "$(med ixfr $s ack_p50_ms)") / $(or_dash "$(med ixfr $s ack_p99_ms)") | $(or_dash "$(med ixfr $s fill_s)") | $(or_dash "$(med ixfr $s sync_s)") | $(or_dash "$(med ixfr $s primary_hwm_mb)") | $(or_dash "$(med ixfr $s secondary_hwm_mb)") |"
    done
    echo "| dnsd ÷ knot | | | $(ratio "$(med ixfr dnsd p50_ms)" "$(med ixfr knot p50_ms)") | $(ratio "$(med ixfr dnsd p99_ms)" "$(med ixfr knot p99_ms)") | | | | | | |"
    echo
    echo "Target: p99 ≤ 50 ms. The dnsd zone is created by one API POST and filled by $(((IXFR_RECORDS - 3 + 4999) / 5000)) PATCHes of up to 5,000 RRsets; Knot loads the same records from a zone file."
    echo
    echo "**Queries while transferring:** dnsload (closed loop, 200 outstanding, 4 sockets, $LOAD_SECONDS s) against the dnsd primary, idle and while \`kdig AXFR\` of the whole zone runs back to back; CPU/query = the primary's CPU (answers and transfers) ÷ answered queries; answer-path CPU/query = the CPU of the primary's UDP worker threads alone ÷ answered queries"
    echo
    echo "| dnsd primary | queries/s | CPU µs/query | answer-path CPU µs/query | p99 ms | AXFRs completed in the window |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| idle | $(or_dash "$(med load idle qps)") | $(or_dash "$(med load idle cpu_us_per_query)") | $(or_dash "$(med load idle answer_cpu_us_per_query)") | $(or_dash "$(med load idle p99_ms)") | – |"
    echo "| serving AXFRs | $(or_dash "$(med load transfers qps)") | $(or_dash "$(med load transfers cpu_us_per_query)") | $(or_dash "$(med load transfers answer_cpu_us_per_query)") | $(or_dash "$(med load transfers p99_ms)") | $(or_dash "$(med load transfers axfrs_completed)") |"
    echo "| slowdown | $(awk -v a="$(med load idle qps)" -v b="$(med load transfers qps)" 'BEGIN { if (a > 0) printf "%.1f %%", (1 - b / a) * 100; else print "–" }') | $(ratio "$(med load transfers cpu_us_per_query)" "$(med load idle cpu_us_per_query)") | $(ratio "$(med load transfers answer_cpu_us_per_query)" "$(med load idle answer_cpu_us_per_query)") | | |"
    echo
    echo "Target: slowdown ≤ 10 %. Two CPUs are shared by dnsd, dnsload and kdig here, so the busy row also measures the contention for CPU by the client."
} >"$MD"
bench_splice_section xfr xfr.sh "Zone transfers: dnsd versus Knot" "$MD"
cat "$MD"
bench_log "rows: $CSV; section: BENCHMARKS.md"
