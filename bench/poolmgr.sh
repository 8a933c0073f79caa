#!/usr/bin/env bash
# poolmgr benchmark: reserve+commit latency (p50/p99) and allocations/s,
# with SQLite and with PostgreSQL, at concurrency 1 and 8. Each allocation
# goes the whole way: poolmgr's database transaction plus, in dnsd, a new
# DNSSEC-signed child zone (key generation, fsynced writes), the delegation
# and DS in the pool zone, and the canonical records at commit. Every
# allocation is released again (untimed) so the zone count stays bounded.
# Loopback only.
#
#   bench/poolmgr.sh [--quick]      # quick: 3 repetitions of 5 s, else 5 of 10 s
#
# PostgreSQL: set POOLMGR_TEST_POSTGRES_URL to a role that may CREATE
# DATABASE (e.g. postgres://poolmgr:poolmgr@127.0.0.1:5432/postgres); a
# fresh database is created and dropped again. Unset: PostgreSQL is skipped.
#
# Writes the poolmgr section of BENCHMARKS.md (between the poolmgr markers)
# and the raw rows to target/bench/poolmgr.csv.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1
REPS=5 SECONDS_PER_RUN=10
((QUICK)) && REPS=3 SECONDS_PER_RUN=5
WARMUP=3
WORK=$(mktemp -d /tmp/poolmgr-bench.XXXXXX)
WORK_FS=/tmp
PG_DB="" PG_ADMIN=""
cleanup() {
    bench_cleanup
    if [[ -n $PG_DB ]]; then
        psql "$PG_ADMIN" -qAt -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
BIN=${BENCH_BIN:-"$ROOT/target/release"}
if [[ -z "${BENCH_BIN:-}" ]]; then
    (cd "$ROOT" && cargo build --release -q -p dnsd -p poolmgr -p bench)
fi
DNS=127.0.0.1:15361
API=127.0.0.1:15362
POOLMGR=127.0.0.1:15363
RELAY=127.0.0.1:15364
KEY=bench-pdns-key
TOKEN=bench-caller-token
POOL=omani.works
CSV="$ROOT/target/bench/poolmgr.csv"
mkdir -p "$ROOT/target/bench"
rm -f "$CSV"
AUTH=$(echo -n "$TOKEN" | "$BIN/poolmgr" hash-token --scope caller)
# Another CPU benchmark on the same cores would skew both; say so.
if pgrep -x dnsload >/dev/null || pgrep -x pdns_server >/dev/null || pgrep -f 'bench/(lua|peers|scale|api)\.sh' >/dev/null; then
    bench_log "warning: another benchmark seems to be running (dnsload, pdns_server or a bench script); figures will be skewed"
fi

DNSD_PID="" POOLMGR_PID=""
start_dnsd() {
    local tag=$1
    "$BIN/dnsd" --listen "$DNS" --zone "example.test=$ROOT/examples/example.test.zone" \
        --api-listen "$API" --api-key "$KEY" --data-dir "$WORK/dnsd-$tag" \
        --log-level warn 2>"$WORK/dnsd-$tag.log" &
    DNSD_PID=$!
    PIDS+=("$DNSD_PID")
}

# Starts poolmgr on DB with its DNS server at PDNS (dnsd or the relay) and
# waits for /healthz (the pool zone is bootstrapped before it listens).
start_poolmgr() {
    local db=$1 pdns=$2 tag=$3 i
    PDM_DATABASE_URL="$db" PDM_PDNS_BASE_URL="http://$pdns" PDM_PDNS_API_KEY="$KEY" \
        DYNADOT_MANAGED_DOMAINS="$POOL" POOLMGR_LISTEN="$POOLMGR" POOLMGR_AUTH_TOKENS="$AUTH" \
        PDM_LOG_LEVEL=warn "$BIN/poolmgr" 2>"$WORK/poolmgr-$tag.log" &
    POOLMGR_PID=$!
    PIDS+=("$POOLMGR_PID")
    for i in $(seq 1 150); do
        if curl -fsS -o /dev/null "http://$POOLMGR/healthz" 2>/dev/null; then
            return 0
        fi
        kill -0 "$POOLMGR_PID" 2>/dev/null || break
        sleep 0.2
    done
    bench_log "poolmgr ($tag) did not come up; its log:"
    tail -20 "$WORK/poolmgr-$tag.log" >&2
    return 1
}

stop() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

pool_bench() { "$BIN/pool-bench" --addr "$POOLMGR" --pool "$POOL" --token "$TOKEN" --release "$@"; }

# One backend: warm-up, REPS × (concurrency 1, 8), then one attribution run
# at concurrency 1 with the timing relay between poolmgr and dnsd.
run_backend() {
    local label=$1 db=$2 rep c
    bench_log "$label: starting dnsd and poolmgr"
    start_dnsd "$label"
    start_poolmgr "$db" "$API" "$label"
    pool_bench -c 8 -d "$WARMUP" --prefix "w$label" >"$WORK/warmup-$label.log"
    for rep in $(seq 1 "$REPS"); do
        for c in 1 8; do
            pool_bench -c "$c" -d "$SECONDS_PER_RUN" --prefix "r$label$rep$c" \
                --csv "$CSV" --label "$label" --rep "$rep" >"$WORK/run-$label-$rep-$c.log"
            bench_log "$label rep $rep c=$c: $(grep '^RESULT' "$WORK/run-$label-$rep-$c.log")"
        done
    done
    stop "$POOLMGR_PID"
    bench_log "$label: attribution run through the timing relay"
    "$BIN/pool-bench" --relay "$RELAY=$API" --relay-seconds 600 >"$WORK/relay-$label.log" &
    local relay=$!
    PIDS+=("$relay")
    sleep 0.3
    start_poolmgr "$db" "$RELAY" "$label-relay"
    pool_bench -c 1 -d "$SECONDS_PER_RUN" --prefix "a$label" >"$WORK/attr-$label.log"
    stop "$POOLMGR_PID"
    stop "$relay"
    stop "$DNSD_PID"
    attribution "$label"
}

# "dnsd API time per allocation cycle" vs the cycle's wall time, from the
# relay's totals and the client's means (reserve+commit and release).
attribution() {
    local label=$1 n both rel up
    n=$(sed -n 's/^RESULT.* allocations=\([0-9]*\).*/\1/p' "$WORK/attr-$label.log")
    both=$(sed -n 's/^reserve+commit: .* mean=\([^ ]*\) ms.*/\1/p' "$WORK/attr-$label.log")
    rel=$(sed -n 's/^release: .* mean=\([^ ]*\) ms.*/\1/p' "$WORK/attr-$label.log")
    up=$(sed -n 's/^UPSTREAM_TOTAL seconds=\([^ ]*\)/\1/p' "$WORK/relay-$label.log")
    awk -v l="$label" -v n="$n" -v b="$both" -v r="$rel" -v u="$up" 'BEGIN {
        if (n == 0) { print "| " l " | - | - | - |"; exit }
        cyc = b + r; d = u * 1000 / n
        printf "| %s | %.1f | %.1f (%.0f %%) | %.1f |\n", l, cyc, d, 100 * d / cyc, cyc - d
    }' >>"$WORK/attribution.md"
    { echo "$label:"; sed 's/^/    /' "$WORK/relay-$label.log"; } >>"$WORK/relay-all.log"
}

: >"$WORK/attribution.md"
: >"$WORK/relay-all.log"
run_backend sqlite "sqlite://$WORK/pool.db"
PG_NOTE=""
if [[ -n "${POOLMGR_TEST_POSTGRES_URL:-}" ]]; then
    PG_ADMIN=$POOLMGR_TEST_POSTGRES_URL
    PG_DB="poolbench_$$_$(date +%s)"
    psql "$PG_ADMIN" -qAt -c "CREATE DATABASE $PG_DB" >/dev/null
    base=${PG_ADMIN%%\?*}
    query=${PG_ADMIN#"$base"}
    PG_VERSION=$(psql "$PG_ADMIN" -qAt -c "SHOW server_version")
    run_backend postgresql "${base%/*}/$PG_DB$query"
    PG_NOTE="PostgreSQL $PG_VERSION on the same machine (a fresh database, default server settings)"
else
    bench_log "POOLMGR_TEST_POSTGRES_URL is unset: skipping PostgreSQL"
    PG_NOTE="PostgreSQL skipped: POOLMGR_TEST_POSTGRES_URL was not set"
fi

MODE="bench/poolmgr.sh"
((QUICK)) && MODE="bench/poolmgr.sh --quick"
{
    echo "<!-- poolmgr results: generated by bench/poolmgr.sh -->"
    echo "## poolmgr: allocation latency and throughput"
    echo
    echo "- Command: \`$MODE\`; $(date -u '+%Y-%m-%d %H:%M UTC'); $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- Machine: the $(nproc) cores are shared by the load generator (\`pool-bench\`), poolmgr, dnsd and PostgreSQL; nothing is pinned."
    echo "- Path measured: \`pool-bench\` workers (one keep-alive HTTP connection each, bearer token) loop POST \`/reserve\` (expect 201) → POST \`/commit\` (expect 200) → DELETE \`/release\` (expect 200, not timed). Reserve creates the child zone in dnsd with DNSSEC on (key generation, journal fsync), reads its DS and writes NS+DS into the pool zone; commit writes the canonical A records. Both answer only after dnsd has the change (inline DNS)."
    echo "- dnsd's \`--data-dir\` and the SQLite file are in $WORK_FS ($(stat -f -c %T "$WORK")); $PG_NOTE."
    echo "- $REPS repetitions of $SECONDS_PER_RUN s per backend and concurrency (after a ${WARMUP} s warm-up at concurrency 8), concurrency 1 and 8 interleaved; medians over the repetitions. Allocations/s counts completed reserve+commit pairs per second of wall time while every worker also releases each allocation, so it is the rate of full allocate-and-release cycles. Errors: any other status, summed over the repetitions."
    echo
    echo "| backend | concurrency | reserve+commit p50 ms | reserve+commit p99 ms | reserve p50 ms | commit p50 ms | allocations/s | errors | runs |"
    echo "|---|---|---|---|---|---|---|---|---|"
    "$BIN/pool-bench" --medians "$CSV"
    echo
    echo "Where the time goes (one extra run per backend at concurrency 1, poolmgr's DNS calls passed through \`pool-bench --relay\`, which times each dnsd API request from forwarding it to its last response byte; the relay itself adds a loopback hop):"
    echo
    echo "| backend | allocate+release cycle, mean ms | of which dnsd API, ms | rest (poolmgr, database, HTTP), ms |"
    echo "|---|---|---|---|"
    cat "$WORK/attribution.md"
    echo
    awk '/^[a-z]+:$/ { b = substr($1, 1, length($1) - 1); order[++nb] = b }
        /UPSTREAM [A-Z]/ { t = $NF; sub("total_s=", "", t); if (t + 0 > top[b] + 0) { top[b] = t; kind[b] = $2 " " $3; n[b] = $4; mean[b] = $5 } }
        END { for (i = 1; i <= nb; i++) { b = order[i]; m = mean[b]; c = n[b]; sub("mean_ms=", "", m); sub("n=", "", c)
              printf "With %s the largest dnsd item by total time is `%s` (%s calls, %s ms mean). ", b, kind[b], c, m } }' \
        "$WORK/relay-all.log"
    echo "\`PUT zones/*\` is poolmgr turning DNSSEC on for the new child zone (dnsd generates its keys, signs and fsyncs its journal); \`POST zones\` creates it, the \`PATCH\`es write the delegation and DS into the pool zone, the canonical records at commit and the teardown at release, \`DELETE\` removes the zone. The remainder of each cycle is poolmgr itself: its database transactions (the state change with its outbox row, then marking the effect done) and request handling; it is larger with PostgreSQL, where every statement is a loopback round trip and each commit a WAL flush. At concurrency 8 the two cores are saturated by the generator, poolmgr, dnsd and PostgreSQL together, so allocations/s grows by well under 8× and latency grows with the queue."
    echo
    echo "<details><summary>dnsd API requests per kind (relay)</summary>"
    echo
    echo '```'
    cat "$WORK/relay-all.log"
    echo '```'
    echo
    echo "</details>"
    echo "<!-- end poolmgr results -->"
} >"$WORK/section.md"
DOC="$ROOT/BENCHMARKS.md"
if grep -q '<!-- poolmgr results' "$DOC"; then
    awk -v f="$WORK/section.md" '
        /<!-- poolmgr results/ { while ((getline l < f) > 0) print l; skip = 1; next }
        /<!-- end poolmgr results -->/ { skip = 0; next }
        !skip { print }' "$DOC" >"$WORK/doc" && cp "$WORK/doc" "$DOC"
else
    { echo; cat "$WORK/section.md"; } >>"$DOC"
fi
cat "$WORK/section.md"
