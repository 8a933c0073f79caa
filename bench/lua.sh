#!/usr/bin/env bash
# LUA records benchmark: dnsd versus PowerDNS Authoritative (bind + geoip
# backends) serving the same zone, each server one worker on CPU 0,
# target/release/dnsload on CPU 1, on loopback.
#
#   bench/lua.sh [--quick]
#
# Four servers run side by side: dnsd (default: fresh Lua globals per query),
# dnsd --lua-records-shared, PowerDNS enable-lua-records=yes (a new Lua state
# per query) and PowerDNS enable-lua-records=shared (one state per thread).
# The zone has natively compiled records (ifportup over TCP listeners this
# script starts on 127.0.61.x, pickwhashed, pickclosest against the e2e
# fixture MMDB, written by the e2e `write_fixture_mmdb` helper; dnsd gets it
# with --geoip, PowerDNS through its geoip backend) and records only the
# embedded Lua engine runs (a `;`-script with `if continent()`, an
# `and`/`or` expression, a script with `local` and `string.*`). All run
# health checks every second.
#
# Figures, interleaved in one run: queries/s and server CPU (user and
# system) per answer for each record kind and server, dnsd's CPU per static
# answer, and failover time of a native and an embedded ifportup (stop one
# target's listener, poll until it leaves the answers). Writes
# target/bench/lua.csv, lua-failover.csv and the LUA section of
# BENCHMARKS.md (between the lua markers). Stops everything it started.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_start lua "$@"
if ((QUICK)); then DURATION=2 REPS=2 FREPS=3; else DURATION=5 REPS=5 FREPS=12; fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
INTERVAL=1

bench_install_peers
if [[ ! -e /usr/lib/x86_64-linux-gnu/pdns/libgeoipbackend.so ]] && ! ls /usr/lib/*/pdns/libgeoipbackend.so >/dev/null 2>&1; then
    if ((EUID != 0)); then
        echo "pdns-backend-geoip missing and not root: apt-get install pdns-backend-geoip" >&2
        exit 1
    fi
    bench_log "installing pdns-backend-geoip"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pdns-backend-geoip >/dev/null
fi
command -v python3 >/dev/null 2>&1 || { echo "python3 is needed for the listeners" >&2; exit 1; }
BIN=${BENCH_BIN:-"$ROOT/target/release"}
DNSD=${DNSD_BIN:-"$ROOT/target/release"}/dnsd
if [[ -z "${BENCH_BIN:-}" || -z "${DNSD_BIN:-}" ]]; then
    bench_log "building dnsd and bench tools (release)"
    (cd "$ROOT" && cargo build --release -q -p dnsd -p bench --bins)
fi
bench_log "writing the fixture MMDB"
(cd "$ROOT" && LUA_MMDB_OUT="$WORK/fixture.mmdb" cargo test -q -p e2e --test e2e -- \
    --ignored --exact lua::write_fixture_mmdb >/dev/null 2>&1)
[[ -s "$WORK/fixture.mmdb" ]] || { bench_log "could not write the fixture MMDB"; exit 1; }

TPORT=18181
ORIGIN=lua.bench
ZONE="$WORK/lua.zone"
cat >"$ZONE" <<ZONE
\$TTL 300
@       300 IN SOA ns1.$ORIGIN. hostmaster.$ORIGIN. 1 7200 3600 1209600 300
@           IN NS  ns1
ns1         IN A   127.0.0.1
static      IN A   192.0.2.80
up       60 IN LUA A "ifportup($TPORT, {'127.0.61.1', '127.0.61.2', '127.0.61.3'})"
wh       60 IN LUA A "pickwhashed({{15, '192.0.2.1'}, {50, '192.0.2.2'}, {35, '192.0.2.3'}})"
geo      60 IN LUA A "pickclosest({'1.1.1.2', '1.2.3.4', '192.0.2.1'})"
fail     60 IN LUA A "ifportup($TPORT, {'127.0.62.1', '127.0.62.2'}, {selector='all'})"
; Outside the native subset: the embedded Lua engine runs these.
script   60 IN LUA A ";if continent('EU') then return ifportup($TPORT, {'127.0.61.1', '127.0.61.2'}) end return ifportup($TPORT, {'127.0.61.3'})"
andor    60 IN LUA A "country('us') and '192.0.2.1' or '192.0.2.2'"
fmt      60 IN LUA A ";local label = string.match(qname:toString(), '^(%a+)') return string.format('192.0.2.%d', string.len(label) * 10)"
efail    60 IN LUA A ";local targets = {'127.0.62.1', '127.0.62.2'} return ifportup($TPORT, targets, {selector='all'})"
ZONE
# Each server checks its own failover targets (127.0.6N.1 and .2, N below),
# so a target's listener sees one server's checks: the accept times give that
# server's check rounds, from which the failover is split into the wait for
# the next round (set by the interval, the same for every server) and the
# server's reaction after it.
declare -A FNET=([dnsd]=62 [pdns]=63 [dnsd-shared]=64 [pdns-shared]=65)
zone_of() { echo "$WORK/lua-$1.zone"; }
for s in "${!FNET[@]}"; do sed "s/127\.0\.62\./127.0.${FNET[$s]}./g" "$ZONE" >"$(zone_of "$s")"; done
NATIVE=(up wh geo)
EMBEDDED=(script andor fmt)
for f in "${NATIVE[@]}" "${EMBEDDED[@]}" static; do echo "$f.$ORIGIN A" >"$WORK/q-$f.txt"; done
printf '%s\n' "up.$ORIGIN A" "wh.$ORIGIN A" "geo.$ORIGIN A" >"$WORK/q-mix.txt"
printf '%s\n' "script.$ORIGIN A" "andor.$ORIGIN A" "fmt.$ORIGIN A" >"$WORK/q-emix.txt"

# Health-check targets and the failover probe.
cat >"$WORK/tool.py" <<'PY'
import os, random, signal, socket, struct, sys, time

def listen(addr, port, ready=None, accepts=None):
    log = open(accepts, "a", buffering=1) if accepts else None
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(128)
    if ready:
        # When the target came up, for `since` (written whole, then renamed).
        with open(ready + ".tmp", "w") as f:
            f.write("%.6f" % time.time())
        os.rename(ready + ".tmp", ready)
    while True:
        c, _ = s.accept()
        if log:
            log.write("%.6f\n" % time.time())
        c.close()

def ask(port, name):
    q = struct.pack(">HHHHHH", random.randrange(65536), 0, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        s.sendto(q, ("127.0.0.1", int(port)))
        r = s.recv(4096)
    except OSError:
        return None
    finally:
        s.close()
    an = struct.unpack(">H", r[6:8])[0]
    pos = 12 + len(q) - 12  # the question is echoed
    out = set()
    for _ in range(an):
        while r[pos] and r[pos] < 0xC0:
            pos += r[pos] + 1
        pos += 2 if r[pos] >= 0xC0 else 1
        t, _, _, ln = struct.unpack(">HHIH", r[pos:pos + 10])
        if t == 1:
            out.add(socket.inet_ntoa(r[pos + 10:pos + 14]))
        pos += 10 + ln
    return out

def wait(port, name, want, limit, t0=None):
    """Seconds from T0 (default: now) until the A set of NAME equals WANT
    (asking continuously, one query at a time), or -1 after LIMIT seconds."""
    want = set(want.split(","))
    t0 = time.time() if t0 is None else t0
    while time.time() - t0 < float(limit):
        if ask(port, name) == want:
            return time.time() - t0
    return -1

def accepts(path):
    try:
        with open(path) as f:
            return [float(l) for l in f if l.strip()]
    except OSError:
        return []

def down(port, name, want, limit, pid, log, interval):
    """After a random pause (a uniform phase against the server's check
    rounds), stops the listener PID and times until the answer is WANT, from
    the kill (not from this process's start: Python's start-up under load
    takes longer than most failovers). Also prints the reaction: that time
    less the wait for the server's next check round, which is when the
    surviving target's listener (accept LOG) saw that round's check."""
    time.sleep(random.uniform(0, float(interval)))
    t0 = time.time()
    os.kill(int(pid), signal.SIGTERM)
    took = wait(port, name, want, limit, t0)
    time.sleep(0.05)  # the listener logs the accept after the kernel took it
    rounds = [a for a in accepts(log) if a >= t0]
    if took < 0 or not rounds:
        return "%.4f -1" % took
    return "%.4f %.4f" % (took, t0 + took - rounds[0])

def since(port, name, want, limit, ready, log):
    """Times from the moment the listener wrote READY until the answer is
    WANT, and the reaction: from the first check the listener accepted."""
    start = time.time()
    while not os.path.exists(ready):
        if time.time() - start > float(limit):
            return "-1 -1"
        time.sleep(0.001)
    with open(ready) as f:
        t0 = float(f.read())
    took = wait(port, name, want, limit, t0)
    time.sleep(0.05)
    first = [a for a in accepts(log) if a >= t0]
    if took < 0 or not first:
        return "%.4f -1" % took
    return "%.4f %.4f" % (took, t0 + took - first[0])

if sys.argv[1] == "listen":
    listen(*sys.argv[2:6])
elif sys.argv[1] == "wait":
    print("%.3f" % wait(*sys.argv[2:6]))
elif sys.argv[1] == "down":
    print(down(*sys.argv[2:9]))
elif sys.argv[1] == "since":
    print(since(*sys.argv[2:8]))
PY
declare -A TPID=()
# start_target ADDR [READY-FILE]: accept times are logged to $WORK/accepts-ADDR.
start_target() {
    python3 "$WORK/tool.py" listen "$1" "$TPORT" "${2:-}" "$WORK/accepts-$1" 2>>"$WORK/listen.log" &
    TPID[$1]=$!
    PIDS+=("$!")
}
stop_target() {
    kill -TERM "${TPID[$1]}" 2>/dev/null || true
    wait "${TPID[$1]}" 2>/dev/null || true
}
for a in 127.0.61.1 127.0.61.2 127.0.61.3; do start_target "$a"; done
for n in "${FNET[@]}"; do start_target "127.0.$n.1"; start_target "127.0.$n.2"; done

# Servers: dnsd and PowerDNS, each in its default Lua mode and in shared mode.
SERVERS=(dnsd dnsd-shared pdns pdns-shared)
declare -A PORT=([dnsd]=15331 [pdns]=15332 [dnsd-shared]=15333 [pdns-shared]=15334)
declare -A SPID=()
# start_dnsd NAME [EXTRA FLAG...]
start_dnsd() {
    local name=$1
    shift
    taskset -c 0 "$DNSD" --listen "127.0.0.1:${PORT[$name]}" --zone "$ORIGIN=$(zone_of "$name")" --workers 1 \
        --geoip "$WORK/fixture.mmdb" --lua-health-interval "$INTERVAL" --log-level warn "$@" \
        2>"$WORK/$name.log" &
    SPID[$name]=$!
    PIDS+=("$!")
}
# start_pdns NAME ENABLE-LUA-RECORDS
start_pdns() {
    local name=$1 mode=$2 dir="$WORK/$1"
    mkdir -p "$dir"
    echo "zone \"$ORIGIN\" { type master; file \"$(zone_of "$name")\"; };" >"$dir/named.conf"
    echo "domains: []" >"$dir/geo.yaml"
    # PowerDNS as packaged (packet and query caches on; LUA answers are never
    # packet-cached), one receiver and one distributor thread, geoip backend
    # only for the LUA geo functions.
    cat >"$dir/pdns.conf" <<CONF
launch=bind,geoip
bind-config=$dir/named.conf
geoip-database-files=mmdb:$WORK/fixture.mmdb
geoip-zones-file=$dir/geo.yaml
local-address=127.0.0.1:${PORT[$name]}
receiver-threads=1
distributor-threads=1
enable-lua-records=$mode
edns-subnet-processing=yes
lua-health-checks-interval=$INTERVAL
guardian=no
daemon=no
disable-syslog=yes
loglevel=3
socket-dir=$dir
webserver=no
api=no
CONF
    taskset -c 0 pdns_server --config-dir="$dir" 2>"$WORK/$name.log" &
    SPID[$name]=$!
    PIDS+=("$!")
}
start_dnsd dnsd
start_dnsd dnsd-shared --lua-records-shared
start_pdns pdns yes
start_pdns pdns-shared shared
for s in "${SERVERS[@]}"; do
    bench_wait_ready "$s" "${PORT[$s]}" "$WORK/q-static.txt" || { cat "$WORK/$s.log" >&2; exit 1; }
done

# Every LUA name must answer NOERROR with data on every server, or the
# figures would be measuring errors; the embedded records' answers do not
# depend on randomness or health (all their targets are up), so dnsd's must
# equal PowerDNS's.
answer() { dig +short +tries=2 +time=2 @127.0.0.1 -p "${PORT[$1]}" "$2.$ORIGIN" A 2>/dev/null | sort | paste -sd' '; }
for s in "${SERVERS[@]}"; do
    for f in "${NATIVE[@]}" "${EMBEDDED[@]}"; do
        got=$(answer "$s" "$f")
        [[ -n $got ]] || { bench_log "$s: $f.$ORIGIN has no answer"; cat "$WORK/$s.log" >&2; exit 1; }
    done
done
declare -A EXPECT=([script]=127.0.61.3 [andor]=192.0.2.2 [fmt]=192.0.2.30)
for f in "${EMBEDDED[@]}"; do
    for s in "${SERVERS[@]}"; do
        got=$(answer "$s" "$f")
        [[ $got == "${EXPECT[$f]}" ]] || {
            bench_log "$s: $f.$ORIGIN answered '$got', expected '${EXPECT[$f]}'"
            cat "$WORK/$s.log" >&2
            exit 1
        }
    done
done
bench_log "every server answers every LUA name; the embedded records agree: script ${EXPECT[script]}, andor ${EXPECT[andor]}, fmt ${EXPECT[fmt]}"

HZ=$(getconf CLK_TCK)
CSV="$OUT/lua.csv"
echo "scenario,server,rep,qps,cpu_us_per_answer,user_us,sys_us,lost,noerror,answered" >"$CSV"

# run SCENARIO SERVER REP
run() {
    local scenario=$1 server=$2 rep=$3 pid=${SPID[$2]} line bu bs au as
    local args=(-s "127.0.0.1:${PORT[$server]}" -d "$WORK/q-$scenario.txt" -l "$DURATION" -c 4 -T 1 -t 1 -q 200)
    sleep 0.2
    read -r bu bs < <(bench_ticks "$pid")
    line=$(taskset -c 1 "$BIN/dnsload" "${args[@]}" 2>/dev/null | grep '^RESULT' || true)
    read -r au as < <(bench_ticks "$pid")
    local answered qps lost noerror
    answered=$(bench_field "$line" answered)
    qps=$(bench_field "$line" qps)
    lost=$(bench_field "$line" lost)
    noerror=$(bench_field "$line" noerror)
    [[ -z $rep ]] && return 0
    awk -v sc="$scenario" -v sv="$server" -v r="$rep" -v q="$qps" -v l="$lost" -v ne="${noerror:-0}" \
        -v u=$((au - bu)) -v s=$((as - bs)) -v hz="$HZ" -v n="${answered:-0}" 'BEGIN {
        if (n == 0) { printf "%s,%s,%s,0,,,,%s,0,0\n", sc, sv, r, l; exit }
        f = 1e6 / n / hz; printf "%s,%s,%s,%.0f,%.3f,%.3f,%.3f,%s,%s,%s\n", sc, sv, r, q, (u+s)*f, u*f, s*f, l, ne, n }' >>"$CSV"
    tail -1 "$CSV" >&2
}

bench_log "warm-up"
for s in dnsd pdns; do run mix "$s" ""; done
for s in "${SERVERS[@]}"; do run emix "$s" ""; done
# Native records on dnsd and PowerDNS in their default modes (the figures
# recorded since issue 6); embedded-engine records on all four servers.
for rep in $(seq 1 "$REPS"); do
    bench_log "rep $rep of $REPS"
    for sc in mix up wh geo static emix "${EMBEDDED[@]}"; do
        case $sc in
            static) servers=(dnsd) ;;
            mix | up | wh | geo) servers=(dnsd pdns) ;;
            *) servers=("${SERVERS[@]}") ;;
        esac
        for s in "${servers[@]}"; do run "$sc" "$s" "$rep"; done
    done
done

# Failover, default Lua mode of each server: both of its targets up and
# answered; after a random pause (uniform over one interval), stop the
# second; time from the kill until the answer is the first alone, and the
# reaction after the server's next check round; start it again and time from
# its bind until it is back, and the reaction after the first check it
# accepted. `fail` is the native record, `efail` the same ifportup called
# from an embedded script.
FCSV="$OUT/lua-failover.csv"
echo "record,server,rep,down_s,down_reaction_s,up_s,up_reaction_s" >"$FCSV"
for rep in $(seq 1 "$FREPS"); do
    for rec in fail efail; do
        for s in dnsd pdns; do
            t1=127.0.${FNET[$s]}.1 t2=127.0.${FNET[$s]}.2
            w=$(python3 "$WORK/tool.py" wait "${PORT[$s]}" "$rec.$ORIGIN" "$t1,$t2" 15)
            [[ $w != -1* ]] || { bench_log "$s: $rec.$ORIGIN never had both targets"; exit 1; }
            read -r down down_r < <(python3 "$WORK/tool.py" down "${PORT[$s]}" "$rec.$ORIGIN" "$t1" 15 \
                "${TPID[$t2]}" "$WORK/accepts-$t1" "$INTERVAL")
            stop_target "$t2"
            rm -f "$WORK/ready"
            start_target "$t2" "$WORK/ready"
            read -r up up_r < <(python3 "$WORK/tool.py" since "${PORT[$s]}" "$rec.$ORIGIN" "$t1,$t2" 15 \
                "$WORK/ready" "$WORK/accepts-$t2")
            echo "$rec,$s,$rep,$down,$down_r,$up,$up_r" >>"$FCSV"
            tail -1 "$FCSV" >&2
        done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

median() { sort -g | awk '{v[NR]=$1} END { if (NR==0) {print ""; exit} m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.3f", m }'; }
col() { awk -F, -v sc="$1" -v sv="$2" -v c="$3" '$1==sc && $2==sv && $3!="" {print $c}' "$CSV" | median; }
qps() { col "$1" "$2" 4 | xargs printf '%.0f'; }
fcol() { awk -F, -v r="$1" -v sv="$2" -v c="$3" '$1==r && $2==sv {print $c}' "$FCSV" | median; }
# fms RECORD SERVER COLUMN: median in milliseconds.
fms() { awk -F, -v r="$1" -v sv="$2" -v c="$3" '$1==r && $2==sv && $c >= -0.5 {print $c * 1000}' "$FCSV" | median; }
fmax() { awk -F, -v r="$1" -v sv="$2" -v c="$3" '$1==r && $2==sv { if ($c > m) m = $c } END { printf "%.3f", m }' "$FCSV"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "" || b == "") print "-"; else printf "%.2f", a / b }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.3f", a - b }'; }
# verdict VALUE OP LIMIT: "met" or "**missed**" (OP: le or ge).
verdict() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v == "" || v == "-") { print "not measured"; exit }
    ok = (op == "le") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "met" : "**missed**" }'; }
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
PDNS_VERSION=$( (pdns_server --version 2>&1 || true) | sed -n 's/.*Authoritative Server \([^ ]*\).*/\1/p' | head -1)
DOC="$ROOT/BENCHMARKS.md"
# The native figure of the run before this one, to show a regression.
PREV_RATIO=$(sed -n 's/^- dnsd CPU per LUA answer ÷ dnsd CPU per static answer: \*\*\([0-9.]*\)\*\*.*/\1/p' "$DOC" 2>/dev/null | head -1)
DQ=$(col mix dnsd 4) PQ=$(col mix pdns 4) DC=$(col mix dnsd 5) DS=$(col static dnsd 5) PC=$(col mix pdns 5)
DSU=$(col static dnsd 6)
declare -A LABEL=([dnsd]="dnsd" [dnsd-shared]="dnsd \`--lua-records-shared\`" [pdns]="PowerDNS \`yes\`" [pdns-shared]="PowerDNS \`shared\`")
EU=$(minus "$(col emix dnsd 6)" "$DSU") ESU=$(minus "$(col emix dnsd-shared 6)" "$DSU")
VS_SHARED=$(ratio "$(col emix pdns-shared 5)" "$(col emix dnsd 5)")
VS_SHARED_S=$(ratio "$(col emix pdns-shared 5)" "$(col emix dnsd-shared 5)")
VS_DEFAULT=$(ratio "$(col emix pdns 5)" "$(col emix dnsd 5)")
NATIVE_RATIO=$(ratio "$DC" "$DS")
FD=$(fcol efail dnsd 4) FP=$(fcol efail pdns 4) FDR=$(fms efail dnsd 5) FPR=$(fms efail pdns 5)
FNR=$(fms fail dnsd 5) FNPR=$(fms fail pdns 5)
{
    echo "<!-- lua results: generated by bench/lua.sh -->"
    echo "## LUA records: dnsd versus PowerDNS"
    echo
    echo "- Command: \`bench/lua.sh${1:+ $1}\` ($DURATION s per run, $REPS reps, interleaved, after one warm-up run each; medians)"
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $CPU_MODEL, $(nproc) CPUs; load average at the start $LOAD_BEFORE, at the end $LOAD_AFTER"
    echo "- dnsd $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?') (working tree), PowerDNS $PDNS_VERSION (bind + geoip backends, packaged caches; LUA answers are never packet-cached)."
    echo "- Pinned: each server one worker on CPU 0 (PowerDNS: one receiver, one distributor thread), \`dnsload\` (UDP, no EDNS, 200 outstanding) on CPU 1. Health checks every ${INTERVAL} s in every server. CPU = the server's user + system time (/proc) ÷ answers; the total is the scheduler's exact runtime, the user/system split is the kernel's per-tick attribution (a sample: a few ticks per run for dnsd's static user time, so that figure is the noisiest)."
    echo "- Four servers: dnsd (default: fresh Lua globals per query, one Lua state per thread), dnsd \`--lua-records-shared\`, PowerDNS \`enable-lua-records=yes\` (its default: a new Lua state per query) and PowerDNS \`enable-lua-records=shared\` (one state per thread). Native records are measured on the two default modes."
    echo "- Zone, natively compiled: \`up\` = \`ifportup($TPORT, {3 addresses})\` over TCP listeners on 127.0.61.x; \`wh\` = \`pickwhashed\` over 3 weights; \`geo\` = \`pickclosest\` over 3 addresses against the e2e fixture MMDB (dnsd \`--geoip\`, PowerDNS \`geoip-database-files\`); \`mix\` cycles the three; \`static\` is a plain A record. No ECS in the queries (dnsload sends none), so bestwho is 127.0.0.1 for every function."
    echo "- Zone, embedded Lua engine: \`script\` = \`;if continent('EU') then return ifportup($TPORT, {2 addresses}) end return ifportup($TPORT, {'127.0.61.3'})\`; \`andor\` = \`country('us') and '192.0.2.1' or '192.0.2.2'\`; \`fmt\` = \`;local label = string.match(qname:toString(), '^(%a+)') return string.format('192.0.2.%d', string.len(label) * 10)\`; \`emix\` cycles the three. Before measuring, every server answered each of them with the same address (${EXPECT[script]}, ${EXPECT[andor]}, ${EXPECT[fmt]})."
    echo
    echo "**Native records** (dnsd's compiled subset; PowerDNS \`enable-lua-records=yes\`)"
    echo
    echo "| query | dnsd q/s | dnsd CPU µs/answer | dnsd user µs | PowerDNS q/s | PowerDNS CPU µs/answer | q/s ratio | CPU ratio |"
    echo "|---|---|---|---|---|---|---|---|"
    for sc in mix up wh geo; do
        echo "| $sc | $(qps "$sc" dnsd) | $(col "$sc" dnsd 5) | $(col "$sc" dnsd 6) | $(qps "$sc" pdns) | $(col "$sc" pdns 5) | $(ratio "$(col "$sc" dnsd 4)" "$(col "$sc" pdns 4)")× | $(ratio "$(col "$sc" pdns 5)" "$(col "$sc" dnsd 5)")× |"
    done
    echo "| static (dnsd) | $(qps static dnsd) | $DS | $DSU | – | – | – | – |"
    echo
    echo "- dnsd LUA q/s ÷ PowerDNS LUA q/s (mix): **$(ratio "$DQ" "$PQ")** (target ≥ 30). PowerDNS CPU per LUA answer ÷ dnsd's: $(ratio "$PC" "$DC")."
    echo "- dnsd CPU per LUA answer ÷ dnsd CPU per static answer: **$NATIVE_RATIO** (target ≤ 1.25: $(verdict "$NATIVE_RATIO" le 1.25); the run before this one: ${PREV_RATIO:-none recorded}); per function: up $(ratio "$(col up dnsd 5)" "$DS"), wh $(ratio "$(col wh dnsd 5)" "$DS"), geo $(ratio "$(col geo dnsd 5)" "$DS"). User CPU above static: mix $(minus "$(col mix dnsd 6)" "$DSU") µs."
    echo
    echo "**Embedded Lua engine** (the same records on every server; \"user above static\" = the server's user CPU per answer minus dnsd's per static answer)"
    echo
    echo "| query | server | q/s | CPU µs/answer | user µs | system µs | user above static µs |"
    echo "|---|---|---|---|---|---|---|"
    for sc in emix "${EMBEDDED[@]}"; do
        for s in "${SERVERS[@]}"; do
            echo "| $sc | ${LABEL[$s]} | $(qps "$sc" "$s") | $(col "$sc" "$s" 5) | $(col "$sc" "$s" 6) | $(col "$sc" "$s" 7) | $(minus "$(col "$sc" "$s" 6)" "$DSU") |"
        done
    done
    echo
    echo "- User CPU of an embedded answer above a static one (emix): dnsd **$EU µs**, with \`--lua-records-shared\` $ESU µs (target ≤ 3 µs: $(verdict "$EU" le 3)); per record (dnsd): script $(minus "$(col script dnsd 6)" "$DSU"), andor $(minus "$(col andor dnsd 6)" "$DSU"), fmt $(minus "$(col fmt dnsd 6)" "$DSU") µs."
    echo "- PowerDNS \`shared\` CPU per embedded answer ÷ dnsd's (emix, total CPU): **${VS_SHARED}×** (target ≥ 3×: $(verdict "$VS_SHARED" ge 3)); against dnsd \`--lua-records-shared\`: ${VS_SHARED_S}×."
    echo "- PowerDNS \`yes\` (default) CPU per embedded answer ÷ dnsd's (emix, total CPU): **${VS_DEFAULT}×** (target ≥ 50×: $(verdict "$VS_DEFAULT" ge 50)). q/s, emix: dnsd $(qps emix dnsd), PowerDNS \`shared\` $(qps emix pdns-shared), PowerDNS \`yes\` $(qps emix pdns)."
    echo "- The kernel's share (system time, the UDP receive and send) is about the same per answer in every server, so it bounds the total-CPU ratios; the user-space ratio, emix, PowerDNS \`shared\` ÷ dnsd: $(ratio "$(col emix pdns-shared 6)" "$(col emix dnsd 6)")×; PowerDNS \`yes\` ÷ dnsd: $(ratio "$(col emix pdns 6)" "$(col emix dnsd 6)")×."
    echo "- Answers: every run's answers were NOERROR: $(awk -F, 'NR>1 && $3!="" && $9!=$10 {bad++} END {print bad ? "**no** (" bad " runs had other RCODEs, see lua.csv)" : "yes"}' "$CSV"); lost: $(awk -F, 'NR>1 && $3!="" {s+=$8} END {print s+0}' "$CSV")."
    echo
    echo "**Failover** (\`ifportup\`, selector \`all\`, 2 targets, each server in its default Lua mode; the listener of one target is stopped, so connects are refused; polled continuously (one query at a time), $FREPS reps, each after a random pause of up to one interval; \`fail\` is the native record, \`efail\` = \`;local targets = {2 addresses} return ifportup($TPORT, targets, {selector='all'})\` on the embedded engine)"
    echo
    echo "| record | server | down: median s | down: max s | down: reaction after the next round, median ms | back after restart: median s | back: reaction after the first check, median ms |"
    echo "|---|---|---|---|---|---|---|"
    for rec in fail efail; do
        for s in dnsd pdns; do
            echo "| $rec | ${LABEL[$s]} | $(fcol "$rec" "$s" 4) | $(fmax "$rec" "$s" 4) | $(fms "$rec" "$s" 5) | $(fcol "$rec" "$s" 6) | $(fms "$rec" "$s" 7) |"
        done
    done
    echo
    echo "- A failover is the wait for the server's next check round (uniform over the interval, the same for both servers: its median over $FREPS reps moves by a tenth of the interval from run to run) plus the server's reaction after that round. The reaction is what the server decides: the time from the round's start (when the surviving target's listener accepted that round's check, or the restarted one its first; each server checks its own pair of targets) until the answer changed."
    echo "- Embedded \`ifportup\` failover, reaction after the round: dnsd median **$FDR ms** vs PowerDNS $FPR ms (target: no slower than PowerDNS: $(verdict "$(minus "$FDR" "$FPR")" le 0)); native: dnsd $FNR ms vs PowerDNS $FNPR ms. Whole failover, medians: dnsd $FD s, PowerDNS $FP s. Both ≤ interval + timeout + 1 s = $((INTERVAL + 2 + 1)) s: $(verdict "$(fmax efail dnsd 4)" le $((INTERVAL + 3))). A target that times out instead of refusing adds up to the 2 s check timeout."
    echo "<!-- end lua results -->"
} >"$WORK/section.md"
if grep -q '<!-- lua results' "$DOC"; then
    awk -v f="$WORK/section.md" '
        /<!-- lua results/ { while ((getline l < f) > 0) print l; skip = 1; next }
        /<!-- end lua results -->/ { skip = 0; next }
        !skip { print }' "$DOC" >"$WORK/doc" && cp "$WORK/doc" "$DOC"
else
    { echo; cat "$WORK/section.md"; } >>"$DOC"
fi
cat "$WORK/section.md"
