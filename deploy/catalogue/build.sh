#!/bin/sh
# Build the onloan catalogue: generate the records (gen_records.py) and index
# them with zebraidx into a Zebra register for the databases demo, koha, jazz.
# Usage: build.sh DATA_DIR OUT_DIR [--today YYYY-MM-DD]
# OUT_DIR gets: demo.xml koha.xml jazz.mrc loans.csv (generated), demo.mrc
# koha.mrc (ISO 2709 for zebraidx), conf/ (index definitions), zebra.cfg,
# register/ shadow/ lock/ tmp/ (serve.sh adds zebra-PORT.cfg, yazserver-PORT.xml,
# lock-PORT/).  Rebuilding wipes the register: stop the
# servers on OUT_DIR first.
set -eu

fail() { echo "build.sh: $*" >&2; exit 1; }
[ $# -ge 2 ] || fail "usage: build.sh DATA_DIR OUT_DIR [--today YYYY-MM-DD]"
DATA=$1 OUT=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
ZEBRA=$HERE/../zebra
[ -d "$DATA/goodbooks-10k" ] || fail "no goodbooks-10k in DATA_DIR $DATA"
for t in python3 yaz-marcdump zebraidx; do
    command -v $t >/dev/null || fail "$t not found (apt-get install idzebra-2.0 yaz)"
done
mkdir -p "$OUT" || fail "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)

start=$(date +%s%N)
python3 "$HERE/gen_records.py" "$DATA" "$OUT" "$@" || fail "gen_records.py failed"
for db in demo koha; do
    yaz-marcdump -i marcxml -o marc "$OUT/$db.xml" > "$OUT/$db.mrc.tmp" \
        || fail "yaz-marcdump $db.xml failed"
    mv "$OUT/$db.mrc.tmp" "$OUT/$db.mrc"
done

rm -rf "$OUT/conf" "$OUT/register" "$OUT/shadow" "$OUT/lock" "$OUT"/lock-* "$OUT/tmp" \
    "$OUT"/zebra-*.cfg "$OUT"/yazserver-*.xml
mkdir -p "$OUT/conf" "$OUT/register" "$OUT/shadow" "$OUT/lock" "$OUT/tmp"
cp "$ZEBRA"/*.abs "$ZEBRA"/onloan*.xml "$ZEBRA"/onloan.idx "$ZEBRA/pqf.properties" "$OUT/conf/"
sed "s|@OUT@|$OUT|g" "$ZEBRA/zebra.cfg.in" > "$OUT/zebra.cfg"

# -n: write the register directly (no shadow) for the initial load
cd "$OUT"
for db in demo koha jazz; do
    zebraidx -c zebra.cfg -n -g $db -d $db update $db.mrc > "tmp/zebraidx-$db.log" 2>&1 \
        || { tail -20 "tmp/zebraidx-$db.log" >&2; fail "zebraidx failed for $db (see $OUT/tmp/zebraidx-$db.log)"; }
    # zebraidx stops reading a file at a bad record: check that all went in
    want=$(awk -v db=$db '$1 == db {print $2}' counts)
    got=$(sed -n 's|.*Records: \([0-9]*\) i/u/d.*|\1|p' "tmp/zebraidx-$db.log" | tail -1)
    [ "$got" = "$want" ] || fail "$db: zebraidx indexed ${got:-no} records, expected $want (see $OUT/tmp/zebraidx-$db.log)"
    echo "build.sh: $db: $got records indexed"
done
end=$(date +%s%N)
echo "build.sh: register ready in $OUT ($(( (end - start) / 1000000 )) ms)"
