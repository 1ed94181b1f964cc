#!/usr/bin/env bash
# run.sh start|stop|status: an onloan cluster on this machine's loopback,
# from Debian's packages, for tests and for operators to copy.
#
#   a Redis primary and two replicas   (redis-server; ../redis/onloan.conf
#                                       + redis-node.conf)
#   three Sentinels watching them       (redis-sentinel; sentinel.conf.in)
#   Zebra serving the demo's catalogue  (../catalogue/serve.sh)
#   two onloand sharing all of that     (redis.sentinels, redis.master_name)
#   HAProxy balancing the two           (haproxy.cfg.in: health checks on /healthz)
#
# with the demo's loans loaded (onloan load, through the Sentinels).
# Every process runs in its own session, its pid in $STATE/pids/, its log
# in $STATE/logs/; `stop` ends exactly those. No step waits forever: each
# wait has a bound, and start stops what it started when one runs out.
#
# Environment:
#   ONLOAN_CLUSTER_DIR    state directory (default: BUILD/cluster)
#   ONLOAN_CLUSTER_PORT   first port of the range used (default 7400):
#                         Redis +0..+2, Sentinels +10..+12, Zebra +20,
#                         onloand +30.. (+40.. for their ingest listeners)
#   ONLOAN_CLUSTER_HTTP   HAProxy's address (default 127.0.0.1:8088)
#   ONLOAN_CLUSTER_CATALOGUE  the catalogue and register of `make catalogue`
#                         (default BUILD/catalogue)
#   ONLOAN_CLUSTER_LOANS  loans to load (default CATALOGUE/loans.csv;
#                         "none": none)
#   ONLOAN_BUILD          the build to run (default: build beside deploy/)
#   ONLOAN_CLUSTER_REPLAY_MS  onloand's spool_replay_ms (default: its
#                         default; 0 to see what a failover loses without it)
set -Eeuo pipefail       # -E: the ERR trap of start (start_failed) holds in functions too
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${ONLOAN_BUILD:-$TOP/build}" && pwd)
STATE=${ONLOAN_CLUSTER_DIR:-$BUILD/cluster}
CATALOGUE=${ONLOAN_CLUSTER_CATALOGUE:-$BUILD/catalogue}
MASTER=onloan
SENTINEL_PASS=demo-sentinel-key-change-me
DAEMONS=2

say() { echo "cluster: $*"; }
die() { echo "cluster: $*" >&2; exit 1; }

# ---- the layout: chosen at start, read back by stop and status ------------
layout() {
    BASE=${ONLOAN_CLUSTER_PORT:-7400}
    HTTP=${ONLOAN_CLUSTER_HTTP:-127.0.0.1:8088}
    case $BASE in ''|*[!0-9]*) die "ONLOAN_CLUSTER_PORT must be a port number" ;; esac
    [ "$BASE" -ge 1024 ] && [ "$BASE" -le 65000 ] || die "ONLOAN_CLUSTER_PORT must be 1024..65000"
    case $HTTP in *:*) ;; *) die "ONLOAN_CLUSTER_HTTP must be IP:PORT" ;; esac
}
load_layout() {
    [ -f "$STATE/layout" ] || return 1
    # shellcheck disable=SC1091
    . "$STATE/layout"
}
redis_port()    { echo $(( BASE + $1 )); }
sentinel_port() { echo $(( BASE + 10 + $1 )); }
zebra_port()    { echo $(( BASE + 20 )); }
onloand_port()  { echo $(( BASE + 30 + $1 )); }
ingest_port()   { echo $(( BASE + 40 + $1 )); }

# ---- processes ------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {   # port seconds what
    local i
    for i in $(seq 1 $(( $2 * 10 ))); do
        port_open "$1" && return 0
        sleep 0.1
    done
    echo "cluster: $3 did not come up on port $1 within $2 s (log: $STATE/logs/)" >&2
    return 1
}
launch() {      # name command...: in a session of its own, so that run.sh may end
    local name=$1
    shift
    setsid "$@" > "$STATE/logs/$name.log" 2>&1 < /dev/null &
    echo $! > "$STATE/pids/$name"
}
# The pid of a part, if that process still runs the program it was started
# as (a pid file outliving its process must not name another one).
live_pid() {
    local f=$STATE/pids/$1 pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    [ -d "/proc/$pid" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$2" || return 1
    echo "$pid"
}
# name -> the program its command line shows
program_of() {
    case $1 in
        redis-*) echo "redis-server" ;;
        sentinel-*) echo "redis-sentinel\|redis-server.*sentinel" ;;
        zebra) echo "zebrasrv" ;;
        onloand-*) echo "onloand" ;;
        haproxy) echo "haproxy" ;;
    esac
}
PARTS() {
    echo haproxy
    for i in $(seq 0 $(( DAEMONS - 1 ))); do echo "onloand-$i"; done
    echo sentinel-0 sentinel-1 sentinel-2 zebra redis-1 redis-2 redis-0
}

cmd_stop() {
    load_layout || { say "nothing started in $STATE"; return 0; }
    local name pid pids=()
    for name in $(PARTS); do
        pid=$(live_pid "$name" "$(program_of "$name")") || { rm -f "$STATE/pids/$name"; continue; }
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
    done
    # up to 10 s for a clean stop (onloand drains its spool), then KILL
    for _ in $(seq 1 100); do
        local left=()
        for pid in "${pids[@]+"${pids[@]}"}"; do [ -d "/proc/$pid" ] && left+=("$pid"); done
        [ ${#left[@]} -eq 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]+"${pids[@]}"}"; do
        [ -d "/proc/$pid" ] && { kill -KILL "$pid" 2>/dev/null || true; say "pid $pid killed"; }
    done
    rm -f "$STATE"/pids/*
    say "stopped (${#pids[@]} processes)"
}

redis_role() {  # port: master/slave (the node's own view), or down
    timeout 3 redis-cli -p "$1" ROLE 2>/dev/null | head -1 || true
}

cmd_status() {
    load_layout || { say "nothing started in $STATE"; return 1; }
    local name pid all=0 state
    for name in $(PARTS); do
        if pid=$(live_pid "$name" "$(program_of "$name")"); then state="running (pid $pid)"; else state="down"; all=1; fi
        case $name in
            redis-*)
                local p; p=$(redis_port "${name#redis-}")
                [ "$state" = down ] || state="$state, 127.0.0.1:$p, $(redis_role "$p")" ;;
            sentinel-*)
                local p; p=$(sentinel_port "${name#sentinel-}")
                [ "$state" = down ] || state="$state, 127.0.0.1:$p, primary $(timeout 3 redis-cli -p "$p" \
                    --no-auth-warning -a "$SENTINEL_PASS" SENTINEL get-master-addr-by-name "$MASTER" \
                    2>/dev/null | paste -sd: || echo '?')" ;;
            onloand-*)
                local p; p=$(onloand_port "${name#onloand-}")
                [ "$state" = down ] || state="$state, 127.0.0.1:$p, $(curl -s -m 3 "http://127.0.0.1:$p/healthz" \
                    | python3 -c 'import json,sys; h=json.load(sys.stdin); print("redis", h["redis"], "primary", h["redis_primary"])' \
                    2>/dev/null || echo 'no /healthz')" ;;
            haproxy)
                [ "$state" = down ] || state="$state, $HTTP, /healthz $(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://$HTTP/healthz" || true)" ;;
            zebra)
                [ "$state" = down ] || state="$state, 127.0.0.1:$(zebra_port)" ;;
        esac
        printf '%-12s %s\n' "$name" "$state"
    done
    return $all
}

# ---- start ----------------------------------------------------------------
fill() {        # template out KEY=VALUE...
    local in=$1 out=$2 args=()
    shift 2
    for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
    sed "${args[@]}" "$in" > "$out"
}

start_failed() {
    trap - ERR
    echo "cluster: start failed; stopping what was started (logs in $STATE/logs/)" >&2
    cmd_stop >&2 || true
    exit 1
}

cmd_start() {
    layout
    if load_layout 2>/dev/null; then
        for name in $(PARTS); do
            live_pid "$name" "$(program_of "$name")" > /dev/null &&
                die "already running in $STATE (run.sh stop first)"
        done
        layout      # this start's values, not the last one's
    fi
    local LOANS=${ONLOAN_CLUSTER_LOANS:-$CATALOGUE/loans.csv}
    for b in onloand onloan plugins/koha.so; do
        [ -e "$BUILD/$b" ] || die "$BUILD/$b is missing: make first"
    done
    [ -d "$CATALOGUE/register" ] || die "$CATALOGUE has no register: make catalogue first"
    for c in redis-server redis-sentinel redis-cli haproxy zebrasrv curl python3 setsid timeout; do
        command -v "$c" > /dev/null || die "$c is missing (make deps)"
    done
    local ports=() i
    for i in 0 1 2; do ports+=("$(redis_port $i)" "$(sentinel_port $i)"); done
    ports+=("$(zebra_port)" "${HTTP##*:}")
    for i in $(seq 0 $(( DAEMONS - 1 ))); do ports+=("$(onloand_port "$i")" "$(ingest_port "$i")"); done
    for p in "${ports[@]}"; do
        port_open "$p" && die "port $p is taken: set ONLOAN_CLUSTER_PORT (or ONLOAN_CLUSTER_HTTP)"
    done
    mkdir -p "$STATE/pids" "$STATE/logs"
    rm -rf "$STATE"/redis-? "$STATE"/sentinel-? "$STATE"/onloand-?
    printf 'BASE=%s\nHTTP=%s\n' "$BASE" "$HTTP" > "$STATE/layout"
    trap start_failed ERR

    # Redis: the primary, then the replicas. Each node's config is
    # onloan.conf + redis-node.conf + its own lines, in one file (Sentinel
    # rewrites it when it makes the node primary or replica).
    for i in 0 1 2; do
        local dir=$STATE/redis-$i
        mkdir -p "$dir"
        {
            cat "$TOP/deploy/redis/onloan.conf" "$HERE/redis-node.conf"
            printf '\n# this node\nport %s\nbind 127.0.0.1\ndaemonize no\ndir %s\nlogfile %s/redis.log\n' \
                "$(redis_port $i)" "$dir" "$dir"
            [ "$i" -eq 0 ] || printf 'replicaof 127.0.0.1 %s\n' "$(redis_port 0)"
        } > "$dir/redis.conf"
        launch "redis-$i" redis-server "$dir/redis.conf"
        wait_port "$(redis_port $i)" 10 "redis-$i"
    done
    for i in 0 1 2; do
        local dir=$STATE/sentinel-$i
        mkdir -p "$dir"
        fill "$HERE/sentinel.conf.in" "$dir/sentinel.conf" PORT="$(sentinel_port $i)" DIR="$dir" \
            PRIMARY_PORT="$(redis_port 0)"
        launch "sentinel-$i" redis-sentinel "$dir/sentinel.conf"
    done
    launch zebra bash "$TOP/deploy/catalogue/serve.sh" "$CATALOGUE" "$(zebra_port)"
    for i in 0 1 2; do wait_port "$(sentinel_port $i)" 10 "sentinel-$i"; done
    wait_port "$(zebra_port)" 20 zebrasrv

    # onloand's config: the demo's, with the Sentinels instead of an address
    local sentinels=() i
    for i in 0 1 2; do sentinels+=("127.0.0.1:$(sentinel_port $i)"); done
    for i in $(seq 0 $(( DAEMONS - 1 ))); do
        mkdir -p "$STATE/onloand-$i"
        chmod 700 "$STATE/onloand-$i"
        python3 - "$TOP/config/onloan.json" "$STATE/onloand-$i" "$(onloand_port "$i")" \
            "$(ingest_port "$i")" "$(zebra_port)" "$BUILD/plugins" "$MASTER" "$SENTINEL_PASS" \
            "${sentinels[@]}" <<'PY'
import json, os, sys
src, out, port, ingest, zebra, plugins, master, spass = sys.argv[1:9]
c = json.load(open(src))
c["listen"] = "127.0.0.1:" + port
c["listen_ingest"] = "127.0.0.1:" + ingest
c["plugin_dir"] = plugins
c["spool_dir"] = out
r = c["redis"]
r.pop("address", None)
r["sentinels"] = sys.argv[9:]
r["master_name"] = master
r["sentinel_password"] = spass
if os.environ.get("ONLOAN_CLUSTER_REPLAY_MS"):
    c["spool_replay_ms"] = int(os.environ["ONLOAN_CLUSTER_REPLAY_MS"])
demo = c["catalogues"][0]
demo["target"] = "127.0.0.1:%s/demo" % zebra
c["catalogues"] = [demo]
path = os.path.join(out, "onloan.json")
with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    json.dump(c, f, indent=2)
PY
    done

    # the demo's loans, through the Sentinels (onloan asks them for the primary)
    if [ "$LOANS" != none ]; then
        say "loading $LOANS"
        timeout 600 "$BUILD/onloan" -c "$STATE/onloand-0/onloan.json" load "$LOANS" \
            > "$STATE/logs/load.log" 2>&1 || { cat "$STATE/logs/load.log" >&2; start_failed; }
    fi
    # ... and on both replicas before anyone counts on them (30 s at most)
    local synced=0
    for _ in $(seq 1 300); do
        local info; info=$(timeout 3 redis-cli -p "$(redis_port 0)" INFO replication 2>/dev/null | tr -d '\r' || true)
        local want; want=$(sed -n 's/^master_repl_offset://p' <<< "$info")
        local ok; ok=$(grep -c "^slave[0-9]*:.*state=online,offset=$want," <<< "$info" || true)
        if [ -n "$want" ] && [ "$ok" -eq 2 ]; then synced=1; break; fi
        sleep 0.1
    done
    [ $synced -eq 1 ] || { echo "cluster: the replicas did not catch up within 30 s" >&2; start_failed; }

    for i in $(seq 0 $(( DAEMONS - 1 ))); do
        launch "onloand-$i" "$BUILD/onloand" -c "$STATE/onloand-$i/onloan.json"
    done
    for i in $(seq 0 $(( DAEMONS - 1 ))); do wait_port "$(onloand_port "$i")" 20 "onloand-$i"; done

    local servers=""
    for i in $(seq 0 $(( DAEMONS - 1 ))); do
        servers="$servers    server onloand-$i 127.0.0.1:$(onloand_port "$i")\\n"
    done
    fill "$HERE/haproxy.cfg.in" "$STATE/haproxy.cfg" LISTEN="$HTTP" SERVERS="$servers"
    haproxy -c -q -f "$STATE/haproxy.cfg" > "$STATE/logs/haproxy-check.log" 2>&1 ||
        { cat "$STATE/logs/haproxy-check.log" >&2; start_failed; }
    launch haproxy haproxy -db -f "$STATE/haproxy.cfg"
    wait_port "${HTTP##*:}" 10 haproxy
    # both daemons' Redis connections on the primary, through HAProxy (20 s at most)
    local up=0
    for _ in $(seq 1 200); do
        up=0
        for i in $(seq 0 $(( DAEMONS - 1 ))); do
            curl -s -m 2 "http://127.0.0.1:$(onloand_port "$i")/healthz" | grep -q '"redis": *"connected"' &&
                up=$(( up + 1 ))
        done
        [ $up -eq $DAEMONS ] && curl -sf -m 2 -o /dev/null "http://$HTTP/healthz" && break
        sleep 0.1
    done
    [ $up -eq $DAEMONS ] || { echo "cluster: onloand did not reach the primary within 20 s" >&2; start_failed; }
    trap - ERR
    say "up: http://$HTTP (HAProxy), state in $STATE"
    cmd_status || true
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: run.sh start|stop|status" >&2; exit 2 ;;
esac
