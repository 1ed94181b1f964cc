#!/bin/sh
# Serve the catalogue built by build.sh: Z39.50 and SRU on tcp:127.0.0.1:PORT,
# databases demo, koha, jazz.  Runs zebrasrv in the foreground as one process
# with a thread per connection (-T), so that SIGTERM to this pid stops it
# (the forking default leaves children serving) and the searches of several
# connections run on several cores (-S, one thread, serves them one at a
# time).
# Several servers (ports) may share one OUT_DIR.  zebrasrv refuses to start
# when another one holds lockDir/zebrasrv.pid, so each server gets its own
# lockDir, lock-PORT/, whose register lock files are symlinks to those in
# lock/: servers and zebraidx (updates, commit) still coordinate through them.
# Logging: zebrasrv's [log] level writes a dict_lookup_grep line for every
# search term, which costs more than some searches; it is left out by
# default (ZEBRA_LOGLEVEL=-log). Requests, sessions, warnings and errors
# are still logged. ZEBRA_LOGLEVEL is passed to zebrasrv -v (e.g. "all").
# Usage: serve.sh OUT_DIR PORT [PIDFILE]
set -eu
fail() { echo "serve.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || fail "usage: serve.sh OUT_DIR PORT [PIDFILE]"
OUT=$(cd "$1" && pwd) || fail "no directory $1"
PORT=$2
PIDFILE=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$OUT/zebra.cfg" ] && [ -d "$OUT/register" ] || fail "$OUT has no register: run build.sh first"
case $PORT in ''|*[!0-9]*) fail "bad port $PORT" ;; esac
# The files of servers that have stopped go first, so that runs on ever
# new ports do not pile them up. A server is judged by its command line,
# not its pid file (zebrasrv rewrites that file without truncating it and
# deletes it on a clean stop): files that no running process names and
# that are over a minute old (not another serve.sh setting up) are stale.
live=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' | grep -x "$OUT/yazserver-[0-9]*\.xml" || true)
for cfg in "$OUT"/yazserver-*.xml; do
    [ -f "$cfg" ] || continue
    printf '%s\n' "$live" | grep -qxF "$cfg" && continue
    [ -n "$(find "$cfg" -mmin +1)" ] || continue
    old=${cfg##*/yazserver-}
    old=${old%.xml}
    rm -rf "$OUT/lock-$old" "$OUT/zebra-$old.cfg" "$cfg" || true
done
LOCK=$OUT/lock-$PORT
printf '%s\n' "$live" | grep -qxF "$OUT/yazserver-$PORT.xml" && fail "a zebrasrv already serves $OUT on port $PORT"
mkdir -p "$LOCK" "$OUT/lock"
rm -f "$LOCK/zebrasrv.pid"      # a stopped server's: zebrasrv would write over it
for f in norm..LCK shadow..LCK state..LCK; do
    [ -e "$OUT/lock/$f" ] || : > "$OUT/lock/$f"
    ln -sfn "../lock/$f" "$LOCK/$f"
done
sed "s|^lockDir: .*|lockDir: $LOCK|" "$OUT/zebra.cfg" > "$OUT/zebra-$PORT.cfg.tmp"
mv "$OUT/zebra-$PORT.cfg.tmp" "$OUT/zebra-$PORT.cfg"
CFG=$OUT/yazserver-$PORT.xml
sed -e "s|@OUT@/zebra.cfg|$OUT/zebra-$PORT.cfg|" -e "s|@OUT@|$OUT|g" -e "s|@PORT@|$PORT|g" \
    "$HERE/../zebra/yazserver.xml.in" > "$CFG.tmp"
mv "$CFG.tmp" "$CFG"
[ -z "$PIDFILE" ] || echo $$ > "$PIDFILE"
cd "$OUT"
exec zebrasrv -T -v "${ZEBRA_LOGLEVEL:--log}" -f "$CFG"
