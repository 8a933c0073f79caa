#!/usr/bin/env bash
# Large-zone matrix: one generated zone per cell (record count × variant),
# served by dnsd, NSD and Knot in turn (default settings, one server at a
# time, loopback).
#
#   bench/scale.sh                      # whole matrix: 100k, 1M, 10M × plain, mixed, lua, dnssec
#   bench/scale.sh --quick              # 10k and 100k, one run per server
#   bench/scale.sh --all                # both axes of issue 16: this matrix, then
#                                       # bench/zones.sh (1k, 10k, 100k API zones)
#   bench/scale.sh --records N --variant V [--servers dnsd,knot] [--reps R] [--append]
#
# --records and --variant take comma-separated lists. --append keeps the
# rows of target/bench/scale.csv from earlier invocations (those of the
# cells run again are replaced), so a matrix can be measured in pieces.
#
# Variants (bench genzone, seed 7):
#   plain   today's zone: hosts with A (every other one AAAA too), *.wild,
#           delegations with glue (genzone's default output)
#   mixed   hosts in ten shapes: A+AAAA, MX, TXT, CNAME, SRV, CAA, and
#           wildcards *.hostN (`genzone --mixed`)
#   lua     mixed, 10 % of the A hosts as LUA A records (ifportup and
#           pickwhashed, 127.0.0.x targets): dnsd only, NSD and Knot do not
#           read LUA records
#   dnssec  mixed, signed: dnsd online (--dnssec, keys created in a fresh
#           data dir each run), Knot on load (dnssec-signing: on, its default
#           policy: its load and reload times include signing the whole
#           zone), NSD a copy pre-signed by ldns-signzone (ECDSA P-256, NSEC;
#           signing time not counted; skipped at 10M); the reload stream
#           sets DO
#
# Per run and server: load time (start until the zone's marker TXT
# answers), RSS after load (process and children), then a reload of a
# changed copy (serial 1 -> 100, marker gen1 -> gen2; dnsd and NSD by
# SIGHUP, Knot by `knotc zone-reload`) while dnsload sends an open-loop
# stream of 20,000 queries/s that starts 2 s before and ends well after the
# reload: reload time (signal until gen2 answers), RSS after reload, queries
# lost over the whole stream. Before it, 5 s of the same stream without a
# reload: the losses at that rate anyway (online signing under DO=1, say),
# and caches warmed as in steady service. Before all that, the offline check
# of the file (`dnsd check-zone`, `kzonecheck`, `nsd-checkzone`): a file
# the check refuses is recorded as such and not loaded. Every wait is bounded
# (a phase past its timeout is recorded as "timeout"). Runs per cell and
# server: 3 up to 1M records, 1 at 10M or when the first load took over a
# minute (Knot signing 1M records); medians are reported.
#
# Rows go to target/bench/scale.csv; bench/scale_report.py turns them into
# the scale section of BENCHMARKS.md (one table per variant, cost curves,
# target verdicts), regenerated after every cell. Every server started
# here is stopped on exit (trap EXIT).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

RECORDS_LIST=100000,1000000,10000000
VARIANTS=plain,mixed,lua,dnssec
SERVERS=dnsd,nsd,knot
REPS=""
APPEND=0
ALL=0

ARGS="$*"
while (($#)); do
    case $1 in
        --quick) RECORDS_LIST=10000,100000 REPS=1 ;;
        --records) RECORDS_LIST=$2; shift ;;
        --variant) VARIANTS=$2; shift ;;
        --servers) SERVERS=$2; shift ;;
        --reps) REPS=$2; shift ;;
        --append) APPEND=1 ;;
        --all) ALL=1 ;;
        # The old interface: `scale.sh RECORDS`.
        [0-9]*) RECORDS_LIST=$1 VARIANTS=plain ;;
        *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    esac
    shift
done

OUT="$ROOT/target/bench"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/dnsd-scale.XXXXXX)
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

ORIGIN=big.test
# Not 15311: other benchmarks (old scale.sh, dnssec.sh) use it, and two
# dnsd on one port both bind (SO_REUSEPORT) and split the queries.
PORT=${SCALE_PORT:-15361}
RATE=20000
BASE_SECONDS=5
LUA_PERCENT=10

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

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }

# The reload marker's TXT served on PORT, or nothing. Over TCP: a port
# nobody listens on yet fails at once, where UDP would wait out +time.
marker() {
    kdig @127.0.0.1 -p "$PORT" +tcp +short +time=1 +retry=0 "reload-marker.$ORIGIN" TXT 2>/dev/null |
        tr -d '"' | head -1
}

# Waits until the marker is $1, for at most $2 seconds; fails past that or
# when process $3 has exited.
wait_marker() {
    local want=$1 limit=$2 pid=$3 start=$SECONDS
    while ((SECONDS - start < limit)); do
        [[ "$(marker)" == "$want" ]] && return 0
        [[ -d /proc/$pid ]] || return 1
        sleep 0.05
    done
    return 1
}

# Stops process $1: TERM, then KILL after 20 s.
stop() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Seconds a phase (load, reload, check) may take at $1 records: 2 minutes
# plus 1 minute per million records.
phase_limit() { echo $((120 + $1 * 60 / 1000000)); }

CSV="$OUT/scale.csv"
HEADER="variant,records,server,run,zone_mb,load_s,rss_load_kb,reload_s,rss_reload_kb,stream_s,sent,answered,lost,check_s,base_sent,base_lost"
IFS=, read -r -a RECORDS_ARR <<<"$RECORDS_LIST"
IFS=, read -r -a VARIANT_ARR <<<"$VARIANTS"
IFS=, read -r -a SERVER_ARR <<<"$SERVERS"
if ((APPEND)) && [[ -f $CSV ]]; then
    # Drop the rows of the cells about to run (rows hold the actual record
    # count: matched to the requested size within 1 %).
    awk -F, -v r="$RECORDS_LIST" -v v="$VARIANTS" -v s="$SERVERS" '
        BEGIN { split(r, R, ","); split(v, V, ","); split(s, S, ",")
                for (i in V) vv[V[i]] = 1; for (i in S) ss[S[i]] = 1 }
        NR == 1 { next }
        { near = 0; for (i in R) if ($2 > R[i] * 0.99 && $2 < R[i] * 1.01) near = 1
          if (!(($1 in vv) && ($3 in ss) && near)) print }' "$CSV" >"$WORK/kept.csv"
    { echo "$HEADER"; cat "$WORK/kept.csv"; } >"$CSV"
else
    echo "$HEADER" >"$CSV"
fi

report() {
    python3 "$ROOT/bench/scale_report.py" --csv "$CSV" --md "$OUT/scale.md" \
        --command "bench/scale.sh${ARGS:+ $ARGS}" --rate "$RATE"
    bench_splice_section scale scale.sh "Scale: one large zone" "$OUT/scale.md"
}

# One run of SERVER on the current cell: appends a CSV row.
run_server() {
    local server=$1 run=$2 dir="$WORK/$1-$2" pid loader t0 t1 load_s reload_s rss rss2 line
    local limit zone1=$CELL/zone1 zone2=$CELL/zone2 check_s stream args
    limit=$(phase_limit "$RECORDS")
    if [[ $VARIANT == dnssec && $server == nsd ]]; then
        zone1=$CELL/signed1 zone2=$CELL/signed2
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    # The offline check first (a zone it refuses is not loaded).
    local c0 rc=0 tool
    case $server in
        dnsd) tool=("$DNSD" check-zone "$ORIGIN" "$zone1") ;;
        nsd) tool=(nsd-checkzone "$ORIGIN" "$zone1") ;;
        knot) tool=(kzonecheck -o "$ORIGIN" "$zone1") ;;
    esac
    c0=$(now)
    timeout "$limit" "${tool[@]}" >"$dir/check.log" 2>&1 || rc=$?
    check_s=$(elapsed "$c0" "$(now)")
    ((rc == 124)) && check_s=timeout
    if ((rc != 0 && rc != 124)); then
        # The server would refuse the zone too: no load to wait out.
        bench_log "$server: check failed ($rc): $(tail -1 "$dir/check.log")"
        echo "$VARIANT,$CELL_RECORDS,$server,$run,$ZONE_MB,check-failed,,,,,,,,failed,," >>"$CSV"
        return 0
    fi
    cp "$zone1" "$WORK/serving.zone"
    bench_write_configs "$dir" "$ORIGIN" "$WORK/serving.zone" default "$PORT" "$PORT" "$PORT"
    if [[ $VARIANT == dnssec && $server == knot ]]; then
        # Knot's default policy (ECDSA P-256, NSEC), keys made on first load.
        sed -i 's|^    file: .*|&\n    dnssec-signing: on|' "$dir/knot/knot.conf"
    fi
    local dnsd_args=(--listen "127.0.0.1:$PORT" --zone "$ORIGIN=$WORK/serving.zone"
        --data-dir "$dir/data" --log-level warn)
    [[ $VARIANT == dnssec ]] && dnsd_args+=(--dnssec "$ORIGIN")
    t0=$(now)
    case $server in
        dnsd) "$DNSD" "${dnsd_args[@]}" 2>"$dir/dnsd.log" & ;;
        nsd) nsd -d -c "$dir/nsd/nsd.conf" 2>"$dir/nsd/stderr.log" & ;;
        knot) knotd -c "$dir/knot/knot.conf" 2>"$dir/knot/stderr.log" & ;;
    esac
    pid=$!
    PIDS=("$pid")
    load_s=timeout rss="" reload_s="" rss2="" stream="" line="" base=""
    if wait_marker gen1 "$limit" "$pid"; then
        load_s=$(elapsed "$t0" "$(now)")
        sleep 1
        rss=$(bench_rss_kb "$pid")
        # The stream covers the reload with room to spare: reloads take
        # up to 2.5 times as long as loads at 10M (the report flags a reload
        # that outlasted the stream).
        stream=$(awk -v l="$load_s" 'BEGIN { s = int(3 * l) + 10; if (s > 3600) s = 3600; print s }')
        bench_log "$server: loaded in ${load_s}s, RSS $((rss / 1024)) MB; reload under a ${stream}s stream"
        args=(-s "127.0.0.1:$PORT" -d "$CELL/queries" --rate "$RATE" -c 4 -t 1)
        [[ $VARIANT == dnssec ]] && args+=(--dnssec)
        # The same stream without a reload first: what the server loses at
        # this rate anyway (online signing's misses, say), and warm caches.
        timeout $((BASE_SECONDS + 30)) "$BIN/dnsload" "${args[@]}" -l "$BASE_SECONDS" >"$dir/base.log" 2>&1 || true
        base=$(grep '^RESULT' "$dir/base.log" || true)
        cp "$zone2" "$WORK/next.zone"
        mv "$WORK/next.zone" "$WORK/serving.zone"
        "$BIN/dnsload" "${args[@]}" -l "$stream" >"$dir/stream.log" 2>&1 &
        loader=$!
        PIDS+=("$loader")
        sleep 2
        t1=$(now)
        case $server in
            dnsd | nsd) kill -HUP "$pid" ;;
            knot) timeout 30 knotc -s "$dir/knot/knot.sock" zone-reload "$ORIGIN" >/dev/null || true ;;
        esac
        if wait_marker gen2 "$limit" "$pid"; then
            reload_s=$(elapsed "$t1" "$(now)")
        else
            reload_s=timeout
        fi
        # Let the server free the old generation (dnsd frees it off the
        # answer path once every worker has moved on) before reading RSS.
        sleep 3
        rss2=$(bench_rss_kb "$pid")
        # dnsload ends by itself (stream + timeout); bounded anyway.
        timeout $((stream + 30)) tail --pid="$loader" -f /dev/null || kill -KILL "$loader" 2>/dev/null || true
        wait "$loader" || true
        line=$(grep '^RESULT' "$dir/stream.log" || true)
    else
        bench_log "$server: no zone after ${limit}s (or it exited): see $dir"
        BENCH_KEEP=1
    fi
    stop "$pid"
    PIDS=()
    bench_log "$server: reload ${reload_s:-?}s, RSS after $((${rss2:-0} / 1024)) MB, lost $(bench_field "$line" lost) of $(bench_field "$line" sent); check ${check_s}s"
    echo "$VARIANT,$CELL_RECORDS,$server,$run,$ZONE_MB,$load_s,$rss,$reload_s,$rss2,$stream,$(bench_field "$line" sent),$(bench_field "$line" answered),$(bench_field "$line" lost),$check_s,$(bench_field "$base" sent),$(bench_field "$base" lost)" >>"$CSV"
    [[ -n ${BENCH_KEEP:-} ]] || rm -rf "$dir"
}

for RECORDS in "${RECORDS_ARR[@]}"; do
    for VARIANT in "${VARIANT_ARR[@]}"; do
        CELL="$WORK/cell"
        rm -rf "$CELL"
        mkdir -p "$CELL"
        case $VARIANT in
            plain) shape=() ;;
            mixed | dnssec) shape=(--mixed) ;;
            lua) shape=(--lua-percent "$LUA_PERCENT") ;;
            *) bench_log "unknown variant $VARIANT"; exit 2 ;;
        esac
        "$BIN/genzone" --origin "$ORIGIN" --records "$RECORDS" --count 100000 --seed 7 \
            "${shape[@]}" --zone "$CELL/zone" --queries "$CELL/queries" 2>"$CELL/genzone.log"
        CELL_RECORDS=$(sed -n 's/^genzone: \([0-9]*\) records.*/\1/p' "$CELL/genzone.log")
        # Load version and reload version: serial and marker differ.
        { cat "$CELL/zone"; echo "reload-marker IN TXT \"gen1\""; } >"$CELL/zone1"
        { sed '0,/ 1 7200 3600 1209600 3600/s// 100 7200 3600 1209600 3600/' "$CELL/zone"
            echo "reload-marker IN TXT \"gen2\""; } >"$CELL/zone2"
        rm "$CELL/zone"
        ZONE_MB=$(du -m "$CELL/zone1" | cut -f1)
        reps=${REPS:-$((RECORDS >= 10000000 ? 1 : 3))}
        servers=()
        for server in "${SERVER_ARR[@]}"; do
            # LUA records are dnsd's (and PowerDNS's) alone; the pre-signed
            # copy for NSD is not made at 10M (ldns-signzone's time and memory).
            [[ $VARIANT == lua && $server != dnsd ]] && continue
            [[ $VARIANT == dnssec && $server == nsd && $RECORDS -ge 10000000 ]] && continue
            servers+=("$server")
        done
        if [[ $VARIANT == dnssec && " ${servers[*]} " == *" nsd "* ]]; then
            bench_log "pre-signing the zone for NSD (ldns-signzone)"
            key=$(cd "$CELL" && ldns-keygen -a ECDSAP256SHA256 -k "$ORIGIN")
            (cd "$CELL" && timeout "$(phase_limit "$RECORDS")" \
                ldns-signzone -f "$CELL/signed1" "$CELL/zone1" "$key" >/dev/null 2>&1) ||
                bench_log "ldns-signzone failed"
            if [[ -s $CELL/signed1 ]]; then
                sed -E '0,/[[:space:]]1 7200 3600 1209600 3600/s//\t100 7200 3600 1209600 3600/; s/"gen1"/"gen2"/' \
                    "$CELL/signed1" >"$CELL/signed2"
            else
                servers=("${servers[@]/nsd/}")
            fi
        fi
        bench_log "cell: $VARIANT, $CELL_RECORDS records (${ZONE_MB} MB), servers ${servers[*]}, $reps run(s)"
        for server in "${servers[@]}"; do
            [[ -n $server ]] || continue
            run_server "$server" 1
            # More runs only where one is cheap: a first load under a minute.
            first=$(tail -1 "$CSV" | cut -d, -f6)
            if awk -v l="$first" 'BEGIN { exit !(l + 0 > 60 || l == "timeout") }'; then
                bench_log "$server: one run only (load ${first}s)"
                continue
            fi
            for run in $(seq 2 "$reps"); do
                run_server "$server" "$run"
            done
        done
        rm -rf "$CELL"
        report
    done
done
cat "$OUT/scale.md"
if ((ALL)); then
    bench_log "many zones: bench/zones.sh"
    "$ROOT/bench/zones.sh"
fi
