#!/usr/bin/env bash
# A/B of two dnsd builds on the peer benchmark's zone and query mix: for a
# change that must not cost CPU (a refactor of the answer path), without
# running the peers.
#
#   bench/ab.sh OLD_DNSD NEW_DNSD [REPS]
#
# Each build serves the same generated zone with one worker pinned to CPU 0;
# dnsload, pinned to CPU 1, sends the peer benchmark's UDP mix for 5 s. Runs
# alternate (A B A B ...) so drift on the machine hits both alike. Per run:
# queries answered and the server's user and system CPU per query from
# /proc. Prints every run and the medians; the caller records them in
# BENCHMARKS.md. BENCH_BIN: the directory with dnsload and genzone
# (default target/release, built if missing).
#
# AB_MODE=instructions counts instead the server's instructions per query
# under valgrind's callgrind (20,000 queries at 2,000/s after start-up):
# slow, but the same on a busy machine as on a quiet one, so a small
# user-space difference shows where CPU time is lost in the noise.
# AB_DNSSEC=1 signs the zone online (the same keys for both builds) and
# sends every query with DO=1. AB_NEW_ARGS adds flags to the NEW build's
# command line only: `bench/ab.sh D D` with AB_NEW_ARGS="--rrl-rate N"
# measures what turning a feature on costs in one build.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
OLD=${1:?usage: $0 OLD_DNSD NEW_DNSD [REPS]}
NEW=${2:?usage: $0 OLD_DNSD NEW_DNSD [REPS]}
REPS=${3:-5}
shift $(($# < 3 ? $# : 3))
bench_start ab "$@"

BIN=${BENCH_BIN:-"$ROOT/target/release"}
if [[ ! -x $BIN/dnsload || ! -x $BIN/genzone ]]; then
    (cd "$ROOT" && cargo build --release -q -p bench --bins)
fi
ORIGIN=bench.test
ZONE="$WORK/bench.zone"
QUERIES="$WORK/queries.txt"
"$BIN/genzone" --origin "$ORIGIN" --names 1000 --delegations 50 --count 100000 \
    --seed 1 --zone "$ZONE" --queries "$QUERIES"
PORT=15311
SIGN=() DO=()
if [[ ${AB_DNSSEC:-0} == 1 ]]; then
    SIGN=(--dnssec "$ORIGIN" --data-dir "$WORK/data")
    DO=(--dnssec)
fi

# The median of the arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One run of BUILD; prints "answered user_us_per_q sys_us_per_q".
run() {
    local dnsd=$1 pid line answered bu bs au as tick
    shift
    taskset -c 0 "$dnsd" --listen "127.0.0.1:$PORT" --zone "$ORIGIN=$ZONE" "${SIGN[@]}" \
        --workers 1 --log-level warn "$@" 2>"$WORK/dnsd.log" &
    pid=$!
    bench_wait_ready dnsd "$PORT" "$QUERIES"
    sleep 0.2
    read -r bu bs < <(bench_ticks "$pid")
    line=$(taskset -c 1 "$BIN/dnsload" -s "127.0.0.1:$PORT" -d "$QUERIES" "${DO[@]}" -l 5 \
        -c 4 -T 1 -t 1 -q 200 | grep '^RESULT')
    read -r au as < <(bench_ticks "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    answered=$(bench_field "$line" answered)
    tick=$(getconf CLK_TCK)
    awk -v n="$answered" -v u=$((au - bu)) -v s=$((as - bs)) -v t="$tick" \
        'BEGIN { printf "%d %.3f %.3f\n", n, u * 1e6 / t / n, s * 1e6 / t / n }'
}

# Instructions per answered query of BUILD under callgrind, counted from
# after start-up to the end of the load.
instructions() {
    local dnsd=$1 pid out line answered total
    shift
    out="$WORK/callgrind.out"
    rm -f "$out"*
    valgrind --tool=callgrind --callgrind-out-file="$out" "$dnsd" \
        --listen "127.0.0.1:$PORT" --zone "$ORIGIN=$ZONE" "${SIGN[@]}" --workers 1 \
        --log-level warn "$@" 2>"$WORK/valgrind.log" &
    pid=$!
    bench_wait_ready dnsd "$PORT" "$QUERIES"
    callgrind_control -z "$pid" >/dev/null 2>&1
    line=$("$BIN/dnsload" -s "127.0.0.1:$PORT" -d "$QUERIES" "${DO[@]}" -l 10 --rate 2000 -c 1 -t 2 |
        grep '^RESULT')
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    answered=$(bench_field "$line" answered)
    # The dump after zeroing holds only the load; its "totals:" line is Ir.
    total=$(cat "$out".* 2>/dev/null | awk '/^totals:/ { s += $2 } END { print s + 0 }')
    awk -v t="$total" -v n="$answered" 'BEGIN { printf "%d %.0f\n", n, t / n }'
}

if [[ ${AB_MODE:-cpu} == instructions ]]; then
    command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
    declare -a old_ir=() new_ir=()
    printf 'rep build answered instructions/q\n'
    for rep in $(seq 1 "$REPS"); do
        for build in old new; do
            extra=()
            [[ $build == old ]] && bin=$OLD || { bin=$NEW; read -ra extra <<<"${AB_NEW_ARGS:-}"; }
            read -r n ir < <(instructions "$bin" "${extra[@]}")
            printf '%s %s %s %s\n' "$rep" "$build" "$n" "$ir"
            if [[ $build == old ]]; then old_ir+=("$ir"); else new_ir+=("$ir"); fi
        done
    done
    a=$(median "${old_ir[@]}") b=$(median "${new_ir[@]}")
    printf 'median instructions/query: old %s, new %s, new/old %.3f\n' "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
    exit 0
fi

declare -a old_user=() old_sys=() new_user=() new_sys=()
printf 'rep build answered user_us/q sys_us/q\n'
for rep in $(seq 1 "$REPS"); do
    for build in old new; do
        extra=()
        [[ $build == old ]] && bin=$OLD || { bin=$NEW; read -ra extra <<<"${AB_NEW_ARGS:-}"; }
        read -r n u s < <(run "$bin" "${extra[@]}")
        printf '%s %s %s %s %s\n' "$rep" "$build" "$n" "$u" "$s"
        if [[ $build == old ]]; then old_user+=("$u") old_sys+=("$s"); else new_user+=("$u") new_sys+=("$s"); fi
    done
done
mu_old=$(median "${old_user[@]}") ms_old=$(median "${old_sys[@]}")
mu_new=$(median "${new_user[@]}") ms_new=$(median "${new_sys[@]}")
printf 'median old: user %s sys %s us/q; new: user %s sys %s us/q; new/old total %.3f\n' \
    "$mu_old" "$ms_old" "$mu_new" "$ms_new" \
    "$(awk -v a="$mu_old" -v b="$ms_old" -v c="$mu_new" -v d="$ms_new" 'BEGIN { print (c + d) / (a + b) }')"
