# Shared helpers for bench/peers.sh and bench/scale.sh (sourced, not run).
# Everything started here is recorded in PIDS and killed by bench_cleanup.

PIDS=()

# The common start of a bench script: `--quick` (or nothing) into QUICK,
# OUT (target/bench, created), a scratch WORK folder named after the
# script, and the traps that stop every server started and remove WORK.
# Needs ROOT. Usage: bench_start NAME "$@"
bench_start() {
    local name=$1
    shift
    QUICK=0
    case "${1:-}" in
        --quick) QUICK=1 ;;
        "") ;;
        *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
    esac
    HERE="$ROOT/bench"
    OUT="$ROOT/target/bench"
    mkdir -p "$OUT"
    WORK=$(mktemp -d "/tmp/dnsd-$name.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Kills every process this script started (and their children), then
# removes the work directory.
bench_cleanup() {
    local pid kid
    for pid in "${PIDS[@]}"; do
        for kid in $(bench_descendants "$pid"); do
            kill -TERM "$kid" 2>/dev/null || true
        done
    done
    sleep 0.5
    for pid in "${PIDS[@]}"; do
        for kid in $(bench_descendants "$pid"); do
            kill -KILL "$kid" 2>/dev/null || true
        done
    done
    if [[ -n "${WORK:-}" && -d "$WORK" && -z "${BENCH_KEEP:-}" ]]; then
        rm -rf "$WORK"
    fi
}

# PID and all its descendants, parents first.
bench_descendants() {
    local pid=$1 kid
    [[ -d /proc/$pid ]] || return 0
    echo "$pid"
    for kid in $(pgrep -P "$pid" 2>/dev/null); do
        bench_descendants "$kid"
    done
}

# "utime stime" in clock ticks, summed over PID and its descendants (NSD and
# PowerDNS fork or thread their workers; threads are in the process figure).
bench_ticks() {
    local u=0 s=0 p rest fields
    for p in $(bench_descendants "$1"); do
        rest=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        rest=${rest##*) }
        read -r -a fields <<<"$rest"
        u=$((u + fields[11]))
        s=$((s + fields[12]))
    done
    echo "$u $s"
}

# Resident set size (kB) of PID and its descendants.
bench_rss_kb() {
    local total=0 p kb
    for p in $(bench_descendants "$1"); do
        kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

# Installs the peers from Debian if any is missing, and stops any distro
# service the packages started (they would take port 53; we never use it).
bench_install_peers() {
    local missing=0 tool
    for tool in nsd knotd pdns_server dnsperf; do
        command -v "$tool" >/dev/null 2>&1 || missing=1
    done
    if ((missing)); then
        if ((EUID != 0)); then
            echo "peers missing and not root: apt-get install nsd knot pdns-server pdns-backend-bind dnsperf" >&2
            exit 1
        fi
        bench_log "installing nsd knot pdns-server pdns-backend-bind dnsperf"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            nsd knot pdns-server pdns-backend-bind dnsperf >/dev/null
    fi
    # Only the distro's own instances, found by their pidfiles: init
    # scripts match processes by executable and would also stop servers
    # that this or another benchmark started.
    local svc pidfile
    for svc in nsd:/run/nsd/nsd.pid knot:/run/knot/knot.pid pdns:/run/pdns/pdns.pid; do
        pidfile=${svc#*:}
        svc=${svc%%:*}
        [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null || continue
        bench_log "stopping the distro's $svc service"
        if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
            systemctl stop "$svc" || true
        else
            kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
        fi
    done
}

# Waits until SERVER answers a query over UDP and TCP, or gives up.
bench_wait_ready() {
    local name=$1 port=$2 qfile=$3 i
    for i in $(seq 1 100); do
        if "$BIN/dnsload" -s "127.0.0.1:$port" -d "$qfile" -l 0.1 --rate 200 -c 1 2>/dev/null |
            grep -q 'RESULT.* answered=[1-9]' &&
            "$BIN/dnsload" --tcp -s "127.0.0.1:$port" -d "$qfile" -l 0.1 --rate 200 -c 1 2>/dev/null |
            grep -q 'RESULT.* answered=[1-9]'; then
            return 0
        fi
        sleep 0.2
    done
    bench_log "$name on port $port never answered"
    return 1
}

# Value of KEY=... in a dnsload RESULT line.
bench_field() { sed -n "s/^RESULT.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# Writes server configs for the zone ORIGIN=FILE into DIR. WORKERS threads,
# or "default" to leave every server's own thread settings alone.
bench_write_configs() {
    local dir=$1 origin=$2 zone=$3 workers=$4 nsd_port=$5 knot_port=$6 pdns_port=$7
    mkdir -p "$dir/nsd" "$dir/knot" "$dir/pdns"
    local nsd_threads="server-count: $workers" knot_udp="udp-workers: $workers"
    local knot_tcp="tcp-workers: $workers" pdns_recv="receiver-threads=$workers"
    local pdns_dist="distributor-threads=$workers"
    if [[ $workers == default ]]; then
        nsd_threads="# server-count: default" knot_udp="# udp-workers: default"
        knot_tcp="# tcp-workers: default" pdns_recv="# receiver-threads: default"
        pdns_dist="# distributor-threads: default"
    fi
    cat >"$dir/nsd/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@$nsd_port
    $nsd_threads
    reuseport: yes
    username: ""
    chroot: ""
    zonesdir: "$dir/nsd"
    database: ""
    zonelistfile: "$dir/nsd/zone.list"
    xfrdfile: "$dir/nsd/xfrd.state"
    xfrdir: "$dir/nsd"
    pidfile: "$dir/nsd/nsd.pid"
    logfile: "$dir/nsd/nsd.log"
    verbosity: 0
    hide-version: yes
    tcp-count: 1000
    # Debian's NSD has response rate limiting on (200/s per bucket); the
    # NXDOMAIN and wildcard shares of one client exceed that at once.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: $origin
    zonefile: "$zone"
CONF
    cat >"$dir/knot/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$knot_port
    rundir: "$dir/knot"
    $knot_udp
    $knot_tcp
    background-workers: 1
log:
  - target: "$dir/knot/knot.log"
    any: warning
database:
    storage: "$dir/knot"
control:
    listen: "$dir/knot/knot.sock"
template:
  - id: default
    storage: "$dir/knot"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: $origin
    file: "$zone"
CONF
    cat >"$dir/pdns/named.conf" <<CONF
zone "$origin" { type master; file "$zone"; };
CONF
    # PowerDNS as packaged: bind backend, packet cache and query cache on.
    cat >"$dir/pdns/pdns.conf" <<CONF
launch=bind
bind-config=$dir/pdns/named.conf
local-address=127.0.0.1:$pdns_port
$pdns_recv
$pdns_dist
guardian=no
daemon=no
disable-syslog=yes
loglevel=3
socket-dir=$dir/pdns
webserver=no
api=no
CONF
}

# Replaces the section of BENCHMARKS.md between `<!-- NAME:begin (generated
# by bench/SCRIPT) -->` and `<!-- NAME:end -->` with the file MD, adding the
# section under the heading TITLE when it is not there yet.
bench_splice_section() {
    local name=$1 script=$2 title=$3 md=$4
    local doc="$ROOT/BENCHMARKS.md"
    local begin="<!-- $name:begin (generated by bench/$script) -->" end="<!-- $name:end -->"
    [[ -f $doc ]] || touch "$doc"
    if ! grep -qF "$begin" "$doc"; then
        printf '\n## %s\n\n%s\n%s\n' "$title" "$begin" "$end" >>"$doc"
    fi
    awk -v b="$begin" -v e="$end" -v md="$md" '
        $0 == b { print; while ((getline l < md) > 0) print l; skip = 1; next }
        $0 == e { skip = 0 }
        !skip { print }' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
}
