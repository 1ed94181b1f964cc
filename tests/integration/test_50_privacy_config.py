"""No raw patron id anywhere in Redis; `onloand -t` config checks."""

import json
import os
import re
import subprocess

PATRON = re.compile(rb"(?<![0-9])2100[0-9]{6}(?![0-9])")


def _values(r, key):
    """Every value of a key, read by type, as bytes."""
    t = r("TYPE", key).decode()
    if t == "string":
        return [r("GET", key)]
    if t == "list":
        return r("LRANGE", key, 0, -1)
    if t == "set":
        return r("SMEMBERS", key)
    if t == "zset":
        return r("ZRANGE", key, 0, -1, "WITHSCORES")
    if t == "hash":
        return r("HGETALL", key)
    if t == "stream":
        out = []
        for sid, kv in r("XRANGE", key, "-", "+"):
            out.append(sid)
            out.extend(kv)
        return out
    return []


def test_no_raw_patron_ids_in_redis(ctx):
    raw = {p.encode() for p in ctx.patrons}
    assert raw and all(PATRON.fullmatch(p) for p in raw), "unexpected patron id format in loans.csv"
    # something that is on record with the patron ids must be in Redis for the
    # check to mean anything: histories
    found = {}
    nkeys = 0
    hist = 0
    with ctx.stack.redis() as r:
        for k in r.keys():
            nkeys += 1
            if k.startswith((ctx.prefix + "h:").encode()):
                hist += 1
            blobs = [k] + [v for v in _values(r, k) if v is not None]
            d = r("DUMP", k)
            if d:
                blobs.append(d)
            for b in blobs:
                for m in PATRON.findall(b):
                    if m in raw:
                        found.setdefault(m.decode(), k.decode("utf-8", "replace"))
        ttl = None
        if hist:
            ttl = r("TTL", r.keys(ctx.prefix + "h:*")[0])
    assert nkeys > 100, "only %d keys in Redis: was anything loaded?" % nkeys
    assert hist >= len(ctx.patrons) * 0.9, "%d history keys for %d patrons" % (hist, len(ctx.patrons))
    assert not found, "raw patron ids in Redis (%d), e.g. %s" % (len(found), list(found.items())[:5])
    assert ttl is not None and ttl > 0, "patron history key without expiry (TTL %r)" % ttl
    # nor in what the loader printed or the daemon logged
    texts = [("onloan load", ctx.load_output.encode())]
    for path in ctx.stack.daemon_logs:
        with open(path, "rb") as f:
            texts.append((path, f.read()))
    for name, text in texts:
        leaked = [m for m in PATRON.findall(text) if m in raw]
        assert not leaked, "raw patron ids in %s: %s" % (name, leaked[:5])


def _check(ctx, cfg):
    path = ctx.stack.write_config(cfg, "check.json")
    r = subprocess.run([os.path.join(ctx.stack.build, "onloand"), "-t", "-c", path],
                       capture_output=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace"), path


def test_config_check_good(ctx):
    rc, out, _ = _check(ctx, ctx.stack.config)
    assert rc == 0, "onloand -t on the suite's config exited %d: %s" % (rc, out)


def test_config_check_reports_every_error(ctx):
    cfg = json.loads(json.dumps(ctx.stack.config))
    cfg["listen_on"] = "127.0.0.1:1"                      # unknown key
    cfg["redis"]["timeout_ms"] = "fast"                   # wrong type
    cfg["catalogues"][1]["protcol"] = "sru"               # unknown nested key
    rc, out, path = _check(ctx, cfg)
    assert rc == 1, "exit %d for a bad config, want 1: %s" % (rc, out)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    for key in ("listen_on", "redis.timeout_ms", "protcol"):
        hit = [ln for ln in lines if key in ln]
        assert hit, "no error naming %s in: %s" % (key, out)
        assert hit[0].startswith(path) or hit[0].startswith(os.path.basename(path)), \
            "error for %s does not start with the file name: %r" % (key, hit[0])
    cat = [ln for ln in lines if "protcol" in ln][0]
    assert "catalogues" in cat, "nested error should give the key path (catalogues[1].protcol): %r" % cat


def test_config_check_loads_link_plugins(ctx):
    cfg = json.loads(json.dumps(ctx.stack.config))
    last = len(cfg["catalogues"]) - 1
    cfg["catalogues"][last]["link"] = {"plugin": "template", "reserve": "https://x/{id}",
                                       "record": "https://x/{record}"}
    cfg["catalogues"][0]["link"] = {"plugin": "nosuch"}
    rc, out, path = _check(ctx, cfg)
    assert rc == 1, "exit %d for bad link plugins, want 1: %s" % (rc, out)
    assert "catalogues[0].link: " in out and "nosuch.so: cannot load" in out, out
    assert "catalogues[%d].link: template plugin: reserve: unknown placeholder" % last in out, out


def test_config_check_bad_json(ctx):
    path = os.path.join(ctx.stack.tmp, "broken.json")
    with open(path, "w") as f:
        f.write('{"listen": "127.0.0.1:1",\n  "redis": {\n}')
    r = subprocess.run([os.path.join(ctx.stack.build, "onloand"), "-t", "-c", path],
                       capture_output=True, timeout=30)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode == 1 and path in out, "broken JSON: exit %d, %r" % (r.returncode, out)
