#!/usr/bin/env bash
# Many-zones benchmark: 1,000, 10,000 and 100,000 zones of 11 records, every
# second one signed as poolmgr signs (`zone-fleet`), served by dnsd (created
# through its API, persisted in its data dir), Knot (zone files, one `zone:`
# entry each, signed half by Knot's signer, journal-content all) and
# PowerDNS with its SQLite backend (created through its API, the same tool).
#
#   bench/zones.sh [--quick]        # --quick: 100 and 1,000 zones
#
# Environment: ZONES_COUNTS="1000 10000" to choose the counts,
# PDNS_MAX_ZONES (default 10000: PowerDNS above it is skipped, said in the
# section), ZONES_PHASE_TIMEOUT (seconds, default 1800; 300 with --quick).
#
# Per server and count: creation time through the API, RSS after it; PATCH
# (knotc transaction for Knot) to first correct answer p50/p99 over random
# zones; CPU per query (server on CPU 0, one worker; dnsload on CPU 1, like
# bench/lua.sh) over random names of the fleet; the zone listing and
# /metrics (PowerDNS: /statistics) time; then a restart on the persisted
# state, timed until the last zone and 20 random ones answer with their own
# data, and RSS after it. A phase that runs out of time is recorded as
# "timeout" and the server's remaining phases at that count are skipped.
# Rows: target/bench/zones.csv; the "Scale: many zones" section of
# BENCHMARKS.md. Loopback only; everything started is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start zones "$@"
if ((QUICK)); then
    COUNTS=${ZONES_COUNTS:-"100 1000"} PHASE=${ZONES_PHASE_TIMEOUT:-300}
    SAMPLES=50 DURATION=2 REPS=2
else
    COUNTS=${ZONES_COUNTS:-"1000 10000 100000"} PHASE=${ZONES_PHASE_TIMEOUT:-1800}
    SAMPLES=500 DURATION=5 REPS=3
fi
PDNS_MAX=${PDNS_MAX_ZONES:-10000}
# ZONES_SERVERS="dnsd" runs only those (the other servers' rows of the last
# run stay in zones.csv and the section).
SERVERS=${ZONES_SERVERS:-"dnsd knot pdns"}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

bench_install_peers
if ! ls /usr/lib/*/pdns/libgsqlite3backend.so >/dev/null 2>&1; then
    if ((EUID != 0)); then
        echo "pdns-backend-sqlite3 missing and not root: apt-get install pdns-backend-sqlite3" >&2
        exit 1
    fi
    bench_log "installing pdns-backend-sqlite3"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pdns-backend-sqlite3 sqlite3 >/dev/null
fi
SCHEMA=""
for f in /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql /usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql; do
    [[ -f $f ]] && SCHEMA=$f && break
done
[[ -n $SCHEMA ]] || { echo "PowerDNS's SQLite schema not found" >&2; exit 1; }
BIN=${BENCH_BIN:-"$ROOT/target/release"}
DNSD=${DNSD_BIN:-"$ROOT/target/release"}/dnsd
if [[ -z "${BENCH_BIN:-}" || -z "${DNSD_BIN:-}" ]]; then
    bench_log "building dnsd and bench tools (release)"
    (cd "$ROOT" && nice -n 10 cargo build --release -q -p dnsd -p bench --bins)
fi
FLEET="$BIN/zone-fleet"
KEY=bench-key
echo "$KEY" >"$WORK/key"
DNS_PORT=15441 API_PORT=15442
DNS="127.0.0.1:$DNS_PORT" API="127.0.0.1:$API_PORT"
HZ=$(getconf CLK_TCK)

CSV="$OUT/zones.csv"
COLUMNS_CSV="server,zones,create_s,zones_per_s,rss_empty_kb,rss_kb,patch_ack_p50_ms,patch_p50_ms,patch_p99_ms,unanswered,cpu_us_per_query,qps,list_ms,list_bytes,metrics_ms,first_start_s,startup_s,rss_restart_kb,status,cpu_fixed_us_per_query"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

# Server under test: its pid and what the row collects.
SPID=""
declare -A ROW=()
row_reset() {
    ROW=()
    local c
    for c in ${COLUMNS_CSV//,/ }; do ROW[$c]=""; done
    ROW[server]=$1 ROW[zones]=$2 ROW[status]=ok
}
row_write() {
    local c line=""
    for c in ${COLUMNS_CSV//,/ }; do line+="${ROW[$c]},"; done
    echo "${line%,}" >>"$CSV"
    bench_log "row: ${line%,}"
}

# phase NAME SECONDS CMD...: runs CMD with a time limit and puts its RESULT
# line in R; on a timeout or failure records it in the row's status and
# fails. (Not run in a subshell: the row must keep the status.)
R=""
phase() {
    local name=$1 limit=$2 rc=0 out
    R=""
    shift 2
    out=$(timeout "$limit" "$@" 2>"$WORK/phase.err") || rc=$?
    if ((rc == 124)); then
        bench_log "${ROW[server]} ${ROW[zones]}: phase '$name' timed out after ${limit}s"
        ROW[status]="timeout in $name"
        return 1
    elif ((rc != 0)); then
        bench_log "${ROW[server]} ${ROW[zones]}: phase '$name' failed: $(head -c 400 "$WORK/phase.err")"
        ROW[status]="failed in $name"
        return 1
    fi
    R=$(grep '^RESULT' <<<"$out" | tail -1)
}

# Stops the server under test: TERM, then KILL after 60 s.
stop_server() {
    [[ -n $SPID ]] || return 0
    kill -TERM "$SPID" 2>/dev/null || true
    local _ state
    for _ in $(seq 1 600); do
        # Gone, or a zombie waiting for `wait` below.
        state=$(awk '{print $3}' "/proc/$SPID/stat" 2>/dev/null || true)
        [[ -z $state || $state == Z ]] && break
        sleep 0.1
    done
    kill -KILL "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=""
}

# Waits until GET PATH on the API answers 200 (up to 60 s).
wait_api() {
    local _
    for _ in $(seq 1 600); do
        "$FLEET" time --api "$API" --key "$KEY" --path "$1" --reps 1 >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# CPU per query: REPS runs of dnsload on CPU 1 against the server on CPU 0;
# the median of the server's (user + system) time per answer, and q/s.
cpu_per_query() {
    local qfile=$1 column=${2:-cpu_us_per_query} rep line bu bs au as
    : >"$WORK/cpu.txt"
    for rep in $(seq 0 "$REPS"); do
        sleep 0.2
        read -r bu bs < <(bench_ticks "$SPID")
        line=$(taskset -c 1 "$BIN/dnsload" -s "$DNS" -d "$qfile" -l "$DURATION" -c 4 -T 1 -t 1 -q 200 \
            2>/dev/null | grep '^RESULT' || true)
        read -r au as < <(bench_ticks "$SPID")
        ((rep == 0)) && continue # warm-up
        awk -v t=$((au - bu + as - bs)) -v hz="$HZ" -v n="$(bench_field "$line" answered)" \
            -v q="$(bench_field "$line" qps)" 'BEGIN { if (n > 0) printf "%.3f %.0f\n", t * 1e6 / hz / n, q }' \
            >>"$WORK/cpu.txt"
    done
    ROW[$column]=$(sort -g "$WORK/cpu.txt" | awk '{v[NR]=$1} END { if (NR) print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2 }')
    [[ $column == cpu_us_per_query ]] || return 0
    ROW[qps]=$(sort -g -k2 "$WORK/cpu.txt" | awk '{v[NR]=$2} END { if (NR) printf "%.0f", (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2 }')
}

# The common tail of every server: PATCH to answer and CPU per query (the
# server is up with N zones).
measure_serving() {
    local n=$1 knotc=("${@:2}") r
    # Creating the fleet leaves its files to the kernel's writeback (more
    # of them the more zones); changes measured during that writeback wait
    # behind it in every fdatasync. Steady service starts after it.
    sync
    sleep 2
    phase patch $((SAMPLES * 6 + 60)) "$FLEET" patch-latency --api "$API" --key "$KEY" --dns "$DNS" \
        --count "$n" --samples "$SAMPLES" "${knotc[@]}" || return 1
    r=$R
    ROW[patch_ack_p50_ms]=$(bench_field "$r" ack_p50_ms)
    ROW[patch_p50_ms]=$(bench_field "$r" p50_ms)
    ROW[patch_p99_ms]=$(bench_field "$r" p99_ms)
    ROW[unanswered]=$(bench_field "$r" unanswered)
    cpu_per_query "$WORK/queries-$n.txt"
    cpu_per_query "$WORK/queries-fixed-$n.txt" cpu_fixed_us_per_query
}

# restart_timed N CMD...: starts the server again on its persisted state;
# start-up = start until the last zone and 20 random ones answer.
restart_timed() {
    local n=$1 t0
    shift
    stop_server
    t0=$(now)
    "$@"
    phase startup "$PHASE" "$FLEET" wait-answers --dns "$DNS" --count "$n" --sample 20 --timeout "$PHASE" ||
        return 1
    ROW[startup_s]=$(elapsed "$t0" "$(now)")
    sleep 1
    ROW[rss_restart_kb]=$(bench_rss_kb "$SPID")
}

start_dnsd() {
    taskset -c 0 "$DNSD" --listen "$DNS" --api-listen "$API" --api-key-file "$WORK/key" \
        --data-dir "$WORK/dnsd-data" --workers 1 --log-level warn 2>>"$WORK/dnsd.log" &
    SPID=$!
    PIDS+=("$SPID")
}

# measure_api_server N METRICS-PATH: a server with an API (dnsd, PowerDNS),
# up and empty: creates N zones through it, then measures serving, the zone
# listing and METRICS-PATH.
measure_api_server() {
    local n=$1 metrics=$2 r
    sleep 0.5
    ROW[rss_empty_kb]=$(bench_rss_kb "$SPID")
    phase create $((PHASE + 60)) "$FLEET" create --api "$API" --key "$KEY" --count "$n" \
        --concurrency 4 --timeout "$PHASE" || return 1
    r=$R
    ROW[create_s]=$(bench_field "$r" seconds)
    ROW[zones_per_s]=$(bench_field "$r" zones_per_s)
    if [[ $(bench_field "$r" complete) != 1 ]]; then
        ROW[status]="timeout in create ($(bench_field "$r" created) of $n in ${PHASE}s)"
        ROW[create_s]=timeout
        return 1
    fi
    sleep 1
    ROW[rss_kb]=$(bench_rss_kb "$SPID")
    measure_serving "$n" || return 1
    phase list 600 "$FLEET" time --api "$API" --key "$KEY" --path /api/v1/servers/localhost/zones || return 1
    r=$R
    ROW[list_ms]=$(bench_field "$r" median_ms) ROW[list_bytes]=$(bench_field "$r" bytes)
    phase metrics 120 "$FLEET" time --api "$API" --key "$KEY" --path "$metrics" || return 1
    r=$R
    ROW[metrics_ms]=$(bench_field "$r" median_ms)
}

run_dnsd() {
    local n=$1
    rm -rf "$WORK/dnsd-data"
    start_dnsd
    wait_api /healthz || { ROW[status]="failed to start"; return 1; }
    measure_api_server "$n" /metrics || return 1
    restart_timed "$n" start_dnsd
}

PDNS_DIR="$WORK/pdns"
start_pdns() {
    taskset -c 0 pdns_server --config-dir="$PDNS_DIR" 2>>"$PDNS_DIR/pdns.log" &
    SPID=$!
    PIDS+=("$SPID")
}

run_pdns() {
    local n=$1
    rm -rf "$PDNS_DIR"
    mkdir -p "$PDNS_DIR"
    sqlite3 "$PDNS_DIR/pdns.sqlite3" <"$SCHEMA"
    # PowerDNS as packaged but for the backend: gsqlite3 with DNSSEC, the
    # API on loopback, one receiver and one distributor thread (pinned).
    cat >"$PDNS_DIR/pdns.conf" <<CONF
launch=gsqlite3
gsqlite3-database=$PDNS_DIR/pdns.sqlite3
gsqlite3-dnssec=yes
local-address=$DNS
receiver-threads=1
distributor-threads=1
guardian=no
daemon=no
disable-syslog=yes
loglevel=3
socket-dir=$PDNS_DIR
api=yes
api-key=$KEY
webserver=yes
webserver-address=127.0.0.1
webserver-port=$API_PORT
webserver-allow-from=127.0.0.0/8
CONF
    start_pdns
    wait_api /api/v1/servers/localhost || { ROW[status]="failed to start"; return 1; }
    measure_api_server "$n" /api/v1/servers/localhost/statistics || return 1
    restart_timed "$n" start_pdns
}

KNOT_DIR="$WORK/knot"
# knot_conf ZONE-LIST: knot.conf with the zones of ZONE-LIST (a `zone:`
# section, or nothing); unsigned and signed templates, both keeping the
# whole zone (signatures included) in the journal so a restart loads it
# instead of signing again.
knot_conf() {
    cat >"$KNOT_DIR/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$DNS_PORT
    rundir: "$KNOT_DIR"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: "$KNOT_DIR/knot.log"
    any: warning
database:
    storage: "$KNOT_DIR/storage"
control:
    listen: "$KNOT_DIR/knot.sock"
policy:
  - id: csk
    algorithm: ecdsap256sha256
    single-type-signing: on
template:
  - id: default
    storage: "$KNOT_DIR/storage"
    zonefile-sync: -1
    journal-content: all
    zonefile-load: difference-no-serial
  - id: signed
    storage: "$KNOT_DIR/storage"
    zonefile-sync: -1
    journal-content: all
    zonefile-load: difference-no-serial
    dnssec-signing: on
    dnssec-policy: csk
CONF
    [[ -n $1 ]] && cat "$1" >>"$KNOT_DIR/knot.conf"
    return 0
}
start_knot() {
    taskset -c 0 knotd -c "$KNOT_DIR/knot.conf" 2>>"$KNOT_DIR/stderr.log" &
    SPID=$!
    PIDS+=("$SPID")
}

# Knot without zones, once: the base of its RSS per zone.
knot_empty_rss() {
    rm -rf "$KNOT_DIR"
    mkdir -p "$KNOT_DIR/storage"
    knot_conf ""
    start_knot
    sleep 2
    bench_rss_kb "$SPID"
    stop_server
}

run_knot() {
    local n=$1 t0
    rm -rf "$KNOT_DIR"
    mkdir -p "$KNOT_DIR/storage"
    phase zonefiles 600 "$FLEET" zone-files --count "$n" --dir "$WORK/zonefiles-$n" \
        --conf "$WORK/knot-zones-$n.conf" || return 1
    knot_conf "$WORK/knot-zones-$n.conf"
    ROW[rss_empty_kb]=$KNOT_EMPTY_KB
    # First start: Knot generates the keys and signs the signed half.
    t0=$(now)
    start_knot
    phase first-start "$PHASE" "$FLEET" wait-answers --dns "$DNS" --count "$n" --sample 20 \
        --timeout "$PHASE" || return 1
    ROW[first_start_s]=$(elapsed "$t0" "$(now)")
    sleep 1
    ROW[rss_kb]=$(bench_rss_kb "$SPID")
    measure_serving "$n" --knotc-socket "$KNOT_DIR/knot.sock" || return 1
    restart_timed "$n" start_knot
}

# ZONES_REPORT_ONLY=1: only write the section again from an existing zones.csv.
if [[ -z ${ZONES_REPORT_ONLY:-} ]]; then
if [[ -n ${ZONES_SERVERS:-} && -s $CSV ]] && [[ $(head -1 "$CSV") == "$COLUMNS_CSV" ]]; then
    # Only some servers run: the others' rows of the last run are kept.
    awk -F, -v run=" $SERVERS " 'NR == 1 || index(run, " " $1 " ") == 0' "$CSV" >"$CSV.kept"
    mv "$CSV.kept" "$CSV"
else
    echo "$COLUMNS_CSV" >"$CSV"
fi
KNOT_EMPTY_KB=$(knot_empty_rss)
for n in $COUNTS; do
    "$FLEET" queries --count "$n" --lines 100000 --out "$WORK/queries-$n.txt" >/dev/null
    "$FLEET" queries --count "$n" --zones-asked 1000 --lines 100000 --out "$WORK/queries-fixed-$n.txt" >/dev/null
    for server in $SERVERS; do
        row_reset "$server" "$n"
        if [[ $server == pdns ]] && ((n > PDNS_MAX)); then
            ROW[status]="skipped (above PDNS_MAX_ZONES=$PDNS_MAX)"
            row_write
            continue
        fi
        bench_log "$server, $n zones"
        "run_$server" "$n" || true
        stop_server
        row_write
    done
    rm -rf "$WORK/zonefiles-$n"
done
# What the section says about the run, for ZONES_REPORT_ONLY.
RUN_DATE=$(date -u '+%Y-%m-%d %H:%M UTC') LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
declare -p RUN_DATE LOAD_BEFORE LOAD_AFTER COUNTS PHASE PDNS_MAX SAMPLES DURATION REPS >"$OUT/zones.meta"
fi
# shellcheck source=/dev/null
source "$OUT/zones.meta"

# ---- The BENCHMARKS.md section ----
# get SERVER N COLUMN: the value in zones.csv, or nothing.
get() {
    awk -F, -v s="$1" -v n="$2" -v col="$3" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        $1 == s && $2 == n { print $c }' "$CSV"
}
# show VALUE: the value, or "–".
show() { if [[ -n $1 ]]; then echo "$1"; else echo "–"; fi; }
calc() { awk "BEGIN { $1 }" 2>/dev/null; }
# per_zone SERVER N RSS-COLUMN: (RSS - RSS without zones) / N, in kB.
per_zone() {
    local rss base
    rss=$(get "$1" "$2" "$3") base=$(get "$1" "$2" rss_empty_kb)
    [[ -z $rss || -z $base ]] || calc "printf \"%.2f\", ($rss - $base) / $2"
}
mb() { [[ -z $1 ]] || calc "printf \"%.1f\", $1 / 1024"; }
create_per_zone_ms() {
    local s
    s=$(get "$1" "$2" create_s)
    [[ -z $s || $s == timeout ]] || calc "printf \"%.3f\", $s * 1000 / $2"
}
startup_per_zone_ms() {
    local s
    s=$(get "$1" "$2" startup_s)
    [[ -z $s ]] || calc "printf \"%.4f\", $s * 1000 / $2"
}
list_per_zone_us() {
    local s
    s=$(get "$1" "$2" list_ms)
    [[ -z $s ]] || calc "printf \"%.2f\", $s * 1000 / $2"
}
# /metrics holds a series per zone (its serial), so it too is O(zones).
metrics_per_zone_us() {
    local s
    s=$(get "$1" "$2" metrics_ms)
    [[ -z $s ]] || calc "printf \"%.2f\", $s * 1000 / $2"
}
# growth A B NA NB: the exponent k in value ∝ count^k between two counts
# (0 = flat, 1 = linear).
growth() {
    [[ -n $1 && -n $2 ]] || { echo "–"; return; }
    calc "if ($1 <= 0 || $2 <= 0) print \"–\"; else printf \"%.2f\", log($2 / $1) / log($4 / $3)"
}
# ratio A B: A / B.
ratio() {
    [[ -n $1 && -n $2 ]] || { echo "–"; return; }
    calc "if ($2 == 0) print \"–\"; else printf \"%.2f\", $1 / $2"
}
# verdict OK: met / **missed** / not measured (OK is 1, 0 or empty).
verdict() {
    case $1 in 1) echo met ;; 0) echo "**missed**" ;; *) echo "not measured" ;; esac
}
le() { [[ -z $1 || -z $2 || $1 == – || $2 == – ]] || calc "print ($1 <= $2) ? 1 : 0"; }

read -r -a NS <<<"$COUNTS"
FIRST=${NS[0]}
declare -A NAME=([dnsd]=dnsd [knot]=Knot [pdns]="PowerDNS (SQLite)")
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
PDNS_VERSION=$( (pdns_server --version 2>&1 || true) | sed -n 's/.*Authoritative Server \([^ ]*\).*/\1/p' | head -1)
KNOT_VERSION=$(knotd --version | awk '{print $NF}')
MD="$OUT/zones.md"
{
    echo "- **Command:** \`bench/zones.sh${1:+ $1}\` (counts: $COUNTS; PowerDNS up to $PDNS_MAX zones; per-phase limit ${PHASE} s)"
    echo "- **Date:** $RUN_DATE; $CPU_MODEL, $(nproc) CPUs; load average at the start $LOAD_BEFORE, at the end $LOAD_AFTER"
    echo "- dnsd $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?') (working tree), Knot $KNOT_VERSION, PowerDNS $PDNS_VERSION (gsqlite3 backend, packaged caches)."
    echo "- Zones \`z<i>.fleet.test.\`, 11 records each (SOA, 2 NS, their A, www A/AAAA, MX, mail A, TXT, CNAME); every odd zone signed (ECDSA P-256 CSK): dnsd and PowerDNS through their API as poolmgr does it (\`zone-fleet create\`, 4 requests in flight; PUT dnssec + soa_edit_api, cryptokeys, rectify), Knot by its signer (\`dnssec-signing: on\`, single-type-signing policy) from zone files, one \`zone:\` entry per zone; Knot keeps the signed zones in its journal (\`journal-content: all\`), so a restart does not sign again."
    echo "- Each server runs alone, on CPU 0 with one UDP worker (PowerDNS: one receiver, one distributor). PATCH → answer: after a `sync` and 2 s (the creation's writeback done), $SAMPLES changes, each a new A RRset in a random zone, polled over UDP until the new address answers (Knot: \`knotc zone-begin/zone-set/zone-commit\`, three knotc runs per change). CPU per query: dnsload on CPU 1 (closed loop, 200 outstanding, ${DURATION} s × $REPS after a warm-up; median) over 100,000 random names of the fleet (www A/AAAA, ftp CNAME, mail A, MX, TXT), server user + system time ÷ answers; then over 100,000 names of the first 1,000 zones only (the same 6,000 questions at every count: the per-query cost the count itself adds; the whole-fleet figure adds what a working set larger than the caches costs, dnsd's 8,192 reply templates per worker and the CPU's caches, which grows for every server). Start-up: stop, start on the persisted state (dnsd's data dir, Knot's journal, PowerDNS's SQLite), until the last zone and 20 random ones answer \`www\` with their own address. RSS per zone = (RSS − RSS of the same server without zones) ÷ zones. Listing: GET the zone list; metrics: dnsd /metrics, PowerDNS /statistics; medians of 5."
    echo
    for n in "${NS[@]}"; do
        echo "**$n zones**"
        echo
        echo "| server | create s (zones/s) | RSS MB | RSS/zone kB | PATCH → answer p50 / p99 ms | PATCH → 204 p50 ms | CPU µs/query | CPU µs/query, 1,000 zones asked | q/s | list ms | metrics ms | first start s | start-up s | RSS after restart MB | RSS/zone after restart kB | status |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        for s in dnsd knot pdns; do
            cs=$(get "$s" "$n" create_s) zps=$(get "$s" "$n" zones_per_s)
            create=$(show "$cs")
            [[ -z $zps || $cs == timeout ]] || create="$cs ($zps)"
            [[ $s != knot ]] || create="– (zone files)"
            echo "| ${NAME[$s]} | $create | $(show "$(mb "$(get "$s" "$n" rss_kb)")") | $(show "$(per_zone "$s" "$n" rss_kb)") | $(show "$(get "$s" "$n" patch_p50_ms)") / $(show "$(get "$s" "$n" patch_p99_ms)") | $(show "$(get "$s" "$n" patch_ack_p50_ms)") | $(show "$(get "$s" "$n" cpu_us_per_query)") | $(show "$(get "$s" "$n" cpu_fixed_us_per_query)") | $(show "$(get "$s" "$n" qps)") | $(show "$(get "$s" "$n" list_ms)") | $(show "$(get "$s" "$n" metrics_ms)") | $(show "$(get "$s" "$n" first_start_s)") | $(show "$(get "$s" "$n" startup_s)") | $(show "$(mb "$(get "$s" "$n" rss_restart_kb)")") | $(show "$(per_zone "$s" "$n" rss_restart_kb)") | $(get "$s" "$n" status) |"
        done
        echo
    done
    echo "**Cost curves, zones axis** (each cell: the value at that count; growth = k in value ∝ zones^k between the smallest and largest count measured: 0 flat, 1 linear; per-zone and per-request rows should stay flat)"
    echo
    printf '| cost | server |'
    for n in "${NS[@]}"; do printf ' %s |' "$n"; done
    echo " growth k |"
    printf '|---|---|'
    for _ in "${NS[@]}"; do printf -- '---|'; done
    echo "---|"
    for axis in "RSS per zone after restart, kB" "create time per zone, ms" "PATCH → answer p50, ms" "PATCH → answer p99, ms" "CPU per query, µs" "CPU per query, 1,000 zones asked, µs" "start-up per zone, ms" "listing per zone, µs" "/metrics per zone, µs"; do
        for s in dnsd knot pdns; do
            vals=()
            for n in "${NS[@]}"; do
                case $axis in
                    RSS*) v=$(per_zone "$s" "$n" rss_restart_kb) ;;
                    create*) v=$(create_per_zone_ms "$s" "$n") ;;
                    *p50*) v=$(get "$s" "$n" patch_p50_ms) ;;
                    *p99*) v=$(get "$s" "$n" patch_p99_ms) ;;
                    *"zones asked"*) v=$(get "$s" "$n" cpu_fixed_us_per_query) ;;
                    CPU*) v=$(get "$s" "$n" cpu_us_per_query) ;;
                    start*) v=$(startup_per_zone_ms "$s" "$n") ;;
                    listing*) v=$(list_per_zone_us "$s" "$n") ;;
                    /metrics*) v=$(metrics_per_zone_us "$s" "$n") ;;
                esac
                vals+=("${v:-}")
            done
            all_empty=1
            for v in "${vals[@]}"; do [[ -z $v ]] || all_empty=0; done
            ((all_empty)) && continue
            printf '| %s | %s |' "$axis" "${NAME[$s]}"
            for v in "${vals[@]}"; do printf ' %s |' "$(show "$v")"; done
            # Between the smallest and the largest count measured (a count
            # that timed out has no value). Per-zone rows: the growth of the
            # total is 1 + k.
            lo="" hi=""
            for i in "${!vals[@]}"; do
                [[ -z ${vals[$i]} ]] && continue
                [[ -n $lo ]] || lo=$i
                hi=$i
            done
            if [[ $lo == "$hi" ]]; then
                echo " – |"
            else
                echo " $(growth "${vals[$lo]}" "${vals[$hi]}" "${NS[$lo]}" "${NS[$hi]}") (${NS[$lo]}–${NS[$hi]}) |"
            fi
        done
    done
    echo
    # The largest count dnsd served (a count whose creation timed out has
    # no figures).
    DLAST=$FIRST
    for n in "${NS[@]}"; do [[ -z $(get dnsd "$n" patch_p50_ms) ]] || DLAST=$n; done
    echo "**Targets** (flat = the value at the largest count dnsd was measured at, $DLAST zones, at most 1.5× the value at $FIRST zones)"
    echo
    for n in "${NS[@]}"; do
        d=$(per_zone dnsd "$n" rss_restart_kb) k=$(per_zone knot "$n" rss_restart_kb)
        echo "- $n zones: RSS per zone (after restart) dnsd $(show "$d") kB vs Knot $(show "$k") kB: $(verdict "$(le "$d" "$k")"); start-up dnsd $(show "$(get dnsd "$n" startup_s)") s vs Knot $(show "$(get knot "$n" startup_s)") s: $(verdict "$(le "$(get dnsd "$n" startup_s)" "$(get knot "$n" startup_s)")")."
    done
    for metric in patch_p50_ms patch_p99_ms cpu_fixed_us_per_query cpu_us_per_query; do
        a=$(get dnsd "$FIRST" "$metric") b=$(get dnsd "$DLAST" "$metric")
        r=$(ratio "$b" "$a")
        ok=""
        [[ $r == – ]] || ok=$(le "$r" 1.5)
        echo "- dnsd $metric flat from $FIRST to $DLAST zones: $(show "$a") → $(show "$b") (×$r): $(verdict "$ok")."
    done
    a=$(list_per_zone_us dnsd "$FIRST") b=$(list_per_zone_us dnsd "$DLAST")
    r=$(ratio "$b" "$a")
    ok=""
    [[ $r == – ]] || ok=$(le "$r" 1.5)
    echo "- dnsd listing per zone (the listing itself is O(zones)) from $FIRST to $DLAST: $(show "$a") → $(show "$b") µs: $(verdict "$ok")."
    a=$(metrics_per_zone_us dnsd "$FIRST") b=$(metrics_per_zone_us dnsd "$DLAST")
    r=$(ratio "$b" "$a")
    ok=""
    [[ $r == – ]] || ok=$(le "$r" 1.5)
    echo "- dnsd /metrics per zone (it has a serial series per zone, so it is O(zones) too) from $FIRST to $DLAST: $(show "$a") → $(show "$b") µs: $(verdict "$ok")."
    ! grep -q 'timeout\|failed' <(cut -d, -f19 "$CSV") ||
        echo "- Phases that ran out of time or failed: $(awk -F, 'NR > 1 && ($19 ~ /timeout|failed/) {printf "%s%s %s zones: %s", sep, $1, $2, $19; sep = "; "}' "$CSV")."
    ! grep -q 'skipped' <(cut -d, -f19 "$CSV") ||
        echo "- PowerDNS was not run above $PDNS_MAX zones (PDNS_MAX_ZONES): creating zones one by one through its API into SQLite is the slowest step of the matrix."
    echo "- PowerDNS (gsqlite3) reads zones from SQLite as queries ask for them (then from its caches): it loads no zone data at start-up, so its start-up and RSS after restart are not a loaded fleet; its RSS per zone after creation is the better figure for it."
    echo
    echo "Rows: \`target/bench/zones.csv\`."
} >"$MD"
bench_splice_section zones zones.sh "Scale: many zones" "$MD"
cat "$MD"
