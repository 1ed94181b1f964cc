#!/usr/bin/env bash
# demo.sh BUILD SHARED: the whole stack on this machine, with sample data.
# Starts redis-server and zebrasrv on free loopback ports of their own,
# loads the MovieLens loans (each made at a branch), starts onloand on
# 127.0.0.1:8080 (ONLOAN_PORT to change it), shows two real on-loan answers
# and runs until Ctrl-C or SIGTERM, then stops everything it started.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SHARED=${2:-../shared}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
RUN=$BUILD/demo
PORT=${ONLOAN_PORT:-8080}
mkdir -p "$RUN"

pids=()
stop() {
    trap - INT TERM EXIT
    [ ${#pids[@]} -gt 0 ] || return 0
    echo "demo: stopping"
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 30); do     # up to 3 s, then no more asking
        kill -0 "${pids[@]}" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {   # port seconds what
    for _ in $(seq 1 $(( $2 * 10 ))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "demo: $3 did not come up on port $1" >&2
    exit 1
}
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "demo: port $PORT is taken; set ONLOAN_PORT" >&2
    exit 1
fi

REDIS_PORT=$(free_port)
ZEBRA_PORT=$(free_port)
# deploy/redis/onloan.conf: an append-only file, noeviction, onloand's own ACL
# user (config/onloan.json has its demo password)
redis-server "$TOP/deploy/redis/onloan.conf" --bind 127.0.0.1 --port "$REDIS_PORT" \
    --dir "$RUN" --logfile "$RUN/redis.log" &
pids+=($!)
bash "$TOP/deploy/catalogue/serve.sh" "$BUILD/catalogue" "$ZEBRA_PORT" > "$RUN/zebra.log" 2>&1 &
pids+=($!)
wait_port "$REDIS_PORT" 10 redis-server
wait_port "$ZEBRA_PORT" 10 zebrasrv

python3 - "$TOP/config/onloan.json" "$RUN/onloan.json" "$PORT" "$REDIS_PORT" "$ZEBRA_PORT" "$BUILD/plugins" <<'PY'
import json, os, sys
src, dst, port, redis, zebra, plugins = sys.argv[1:]
c = json.load(open(src))
c["listen"] = "127.0.0.1:" + port
c["redis"]["address"] = "127.0.0.1:" + redis
c["plugin_dir"] = plugins
c["spool_dir"] = os.path.dirname(os.path.abspath(dst))
demo = c["catalogues"][0]
demo["target"] = "127.0.0.1:%s/demo" % zebra
c["catalogues"] = [demo,
    dict(demo, name="demo-sru", protocol="sru"),
    dict(demo, name="koha", target="127.0.0.1:%s/koha" % zebra, id_field="999$c"),
    dict(demo, name="jazz", target="127.0.0.1:%s/jazz" % zebra, holdings="sirsi949",
         link={"plugin": "template", "reserve": "https://catalogue.example.edu/hold?id={record}",
               "record": "https://catalogue.example.edu/record/{record}"})]
# its keys are the published example ones ("demo": true); 0600 all the same
with open(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    os.fchmod(f.fileno(), 0o600)
    json.dump(c, f, indent=2)
PY

"$BUILD/onloan" -c "$RUN/onloan.json" load "$BUILD/catalogue/loans.csv"
"$BUILD/onloand" -c "$RUN/onloan.json" 2> "$RUN/onloand.log" &
pids+=($!)
wait_port "$PORT" 10 onloand

URL="http://127.0.0.1:$PORT/v1/alternatives?record=f356&branch=CEN&limit=3&lang=nl&channel=opac"
echo
echo "demo: Forrest Gump (f356) is on loan at every branch. The OPAC asks:"
echo "  curl '$URL'"
curl -sf "$URL" | python3 -m json.tool
# The loans name their branch (loans.csv's branch column), so each branch
# has its most borrowed titles. The Color of Paradise (f3456) nobody has
# borrowed (no ratings in MovieLens), and its genre, Drama, is too broad to
# search: its alternatives are the titles most borrowed at the branch. The
# kiosk's channel is in no experiment, so the answer always has them.
KIOSK="http://127.0.0.1:$PORT/v1/alternatives?record=f3456&branch=NRD&limit=3&lang=nl&channel=kiosk"
echo
echo "demo: The Color of Paradise (f3456) is on loan too, and nobody has borrowed it here"
echo "yet. The kiosk at Noord (NRD) offers what Noord's patrons borrow most:"
echo "  curl '$KIOSK'"
curl -sf "$KIOSK" | python3 -c '
import json, sys
j = json.load(sys.stdin)
alts = [{k: a[k] for k in ("record", "title", "reason", "explanation", "at_branch")}
        for a in j["alternatives"]]
print(json.dumps({"record": j["record"], "title": j["title"], "status": j["status"],
                  "alternatives": alts}, indent=4, ensure_ascii=False))
if not any(a["explanation"].startswith("Veel geleend in ") for a in alts):
    sys.exit("demo: no \"Veel geleend in ...\" among the alternatives: are the loans without a branch?")
'
REPORT="http://127.0.0.1:$PORT/v1/reports/outcomes?group=channel,status"
echo
echo "demo: each answer was a touchpoint. The marketing team's report of the last 30 days:"
echo "  curl -H 'Authorization: Bearer demo-report-key-change-me' '$REPORT'"
curl -sf -H 'Authorization: Bearer demo-report-key-change-me' "$REPORT" | python3 -m json.tool
cat <<TXT

demo: onloand serves on http://127.0.0.1:$PORT (config $RUN/onloan.json, log $RUN/onloand.log).
  catalogues: demo (Z39.50), demo-sru (SRU), koha (catalogue=koha&record=39), jazz (catalogue=jazz&record=03-0017438)
  try: curl 'http://127.0.0.1:$PORT/v1/alternatives?record=f318&branch=NRD&lang=en'
       curl 'http://127.0.0.1:$PORT/v1/alternatives?record=f4194&branch=OST&lang=en&channel=kiosk'
       curl -H 'Authorization: Bearer demo-opac-key-change-me' \\
            'http://127.0.0.1:$PORT/v1/alternatives?record=f356&branch=CEN&patron=2100000414'
       curl 'http://127.0.0.1:$PORT/healthz'
       curl 'http://127.0.0.1:$PORT/metrics'
       curl -X POST 'http://127.0.0.1:$PORT/v1/loans' -H 'Authorization: Bearer demo-ingest-key-change-me' \\
            -H 'Content-Type: application/json' \\
            -d '{"patron":"2100000414","record":"f318","time":"2026-11-22T10:31:00Z","branch":"CEN"}'
       curl -H 'Authorization: Bearer demo-report-key-change-me' \\
            'http://127.0.0.1:$PORT/v1/reports/outcomes?group=day,branch&format=csv'
       curl -H 'Authorization: Bearer demo-report-key-change-me' 'http://127.0.0.1:$PORT/v1/reports/goals'
       $BUILD/onloan -c $RUN/onloan.json report --group arm      (and --goals)
Ctrl-C stops redis-server, zebrasrv and onloand.
TXT
wait "${pids[2]}"
