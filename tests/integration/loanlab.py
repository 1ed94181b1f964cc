"""A loan-model laboratory for the integration tests: a fresh redis-server of
its own and, if asked, an onloand on it with API keys, a short flush and
compaction period and no model cache; the CLI on the same config; readers
of the key layout (ingest.h, model.h) and a Python oracle of the counting
rule when no window or cap binds (history.h).

Everything started is registered in the stack's procs as well, so the
runner's teardown stops it even when a test fails half-way."""

import copy
import hashlib
import os
import subprocess
import time
from collections import defaultdict
from itertools import combinations

import harness
from suite import Skip, wait_for

INGEST_KEY = "ingest-key-0123456789abcdef"
FORGET_KEY = "forget-key-0123456789abcdef"
BOTH_KEY = "both-roles-key-0123456789ab"
NO_ROLE_FOR_LOANS = FORGET_KEY       # a known key without the ingest role

_serial = [0]


def pseudonym(patron_key_hex, patron):
    """The keyed BLAKE2b-128 pseudonym (libsodium crypto_generichash)."""
    return hashlib.blake2b(patron.encode(), key=bytes.fromhex(patron_key_hex),
                           digest_size=16).hexdigest()


class Lab:
    def __init__(self, ctx, name, model=None, privacy=None, ingest=None, limits=None, redis=None,
                 touchpoints=None, daemon=True):
        st = self.stack = ctx.stack
        _serial[0] += 1
        self.name = "%s-%d" % (name, _serial[0])
        self.redis_port = harness.free_port()
        self.redis_dir = os.path.join(st.tmp, "redis-" + self.name)
        self.redis_proc = None
        self.start_redis()
        cfg = copy.deepcopy(st.config)
        self.port = harness.free_port()
        cfg["listen"] = "127.0.0.1:%d" % self.port
        cfg["redis"]["address"] = "127.0.0.1:%d" % self.redis_port
        cfg["log_level"] = "debug"
        cfg.setdefault("model", {}).update({"flush_ms": 20, "compact_interval_ms": 30,
                                            "cache_ms": 0})
        cfg["model"].update(model or {})
        cfg["privacy"].update(privacy or {})
        cfg["redis"].update(redis or {})
        cfg.setdefault("ingest", {}).update(ingest or {})
        cfg.setdefault("limits", {}).update(limits or {})
        cfg.setdefault("touchpoints", {}).update(touchpoints or {})
        cfg["api_keys"] = [
            {"name": "ils", "key": INGEST_KEY, "roles": ["ingest"]},
            {"name": "dpo", "key": FORGET_KEY, "roles": ["forget"]},
            {"name": "admin", "key": BOTH_KEY, "roles": ["ingest", "forget"]},
            {"name": "opac", "key": harness.OPAC_KEY, "roles": ["personalise"]},
        ]
        self.cfg = cfg
        self.prefix = cfg["redis"].get("prefix", "onloan:")
        self.config_path = st.write_config(cfg, "lab-%s.json" % self.name)
        self.daemon = None
        self.logs = []          # every log written by our onloand and onloan runs
        if daemon:
            self.start_daemon()

    # ---------------- processes
    def start_redis(self):
        self.redis_proc = self.stack.spawn_redis("redis-" + self.name, self.redis_port,
                                                 self.redis_dir)

    def start_daemon(self):
        logname = "onloand-%s-%d.log" % (self.name, len(self.logs))
        self.logs.append(os.path.join(self.stack.tmp, logname))
        self.daemon = self.stack.spawn_onloand("onloand-" + self.name, self.config_path,
                                               self.port, logname)

    def stop_daemon(self):
        """SIGTERM to the lab's onloand, which must exit 0; returns 0."""
        rc = self.daemon.stop(timeout=10)
        out = self.daemon.output()
        self.daemon = None
        assert rc == 0, "lab onloand exited %r on SIGTERM: %s" % (rc, out[-3000:])
        return rc

    def close(self):
        rc = None
        if self.daemon is not None:
            rc = self.stop_daemon()
        if self.redis_proc is not None:
            self.redis_proc.stop()
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        else:
            try:
                self.close()
            except Exception:
                pass

    def cli(self, *args, check=True, env=None):
        """Runs onloan -c <lab config> ARGS (env: variables to set);
        returns (rc, stdout, stderr)."""
        r = subprocess.run([os.path.join(self.stack.build, "onloan"), "-c", self.config_path]
                           + [str(a) for a in args], capture_output=True, timeout=60,
                           env=dict(harness.sanitizer_env(), **(env or {})))
        out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
        logpath = os.path.join(self.stack.tmp, "onloan-%s-%d.log" % (self.name, len(self.logs)))
        with open(logpath, "w") as f:
            f.write(out + err)
        self.logs.append(logpath)
        for marker in harness.SANITIZER_MARKERS:
            assert marker not in err, "onloan %s: %s" % (args[0], err[err.index(marker):][:1500])
        if check:
            assert r.returncode == 0, "onloan %s exited %d: %s%s" % (
                " ".join(map(str, args)), r.returncode, out, err)
        return r.returncode, out, err

    def write(self, name, text):
        path = os.path.join(self.stack.tmp, "%s-%s" % (self.name, name))
        with open(path, "w") as f:
            f.write(text)
        return path

    # ---------------- HTTP
    def post_loans(self, body, key=INGEST_KEY, content_type=None, timeout=10):
        headers = {}
        if key is not None:
            headers["Authorization"] = "Bearer " + key
        if content_type:
            headers["Content-Type"] = content_type
        if isinstance(body, str):
            body = body.encode()
        return harness.http_request(self.port, "POST", "/v1/loans", body=body,
                                    headers=headers, timeout=timeout)

    def forget(self, patron, key=FORGET_KEY):
        from urllib.parse import quote
        headers = {"Authorization": "Bearer " + key} if key else {}
        return harness.http_request(self.port, "DELETE", "/v1/patrons/" + quote(patron, safe=""),
                                    headers=headers)

    def alternatives(self, record, limit=20):
        return harness.http_request(self.port, "GET",
                                    "/v1/alternatives?record=%s&limit=%d&lang=en" % (record, limit))

    # ---------------- Redis
    def redis(self):
        return harness.Redis(self.redis_port)

    def pseudonym(self, patron):
        return pseudonym(self.cfg["privacy"]["patron_key"], patron)

    def co(self, record):
        """co:<record> summed: {other: count}, and the number of lines."""
        with self.redis() as r:
            v = r("GET", self.prefix + "co:" + record)
        return parse_co(v)

    def all_co(self):
        out = {}
        with self.redis() as r:
            for k in r.keys(self.prefix + "co:*"):
                out[k[len(self.prefix) + 3:].decode()] = parse_co(r("GET", k))[0]
        return out

    def pop(self):
        with self.redis() as r:
            flat = r("ZRANGE", self.prefix + "pop", 0, -1, "WITHSCORES")
        return {flat[i].decode(): int(float(flat[i + 1])) for i in range(0, len(flat), 2)}

    def meta(self):
        with self.redis() as r:
            flat = r("HGETALL", self.prefix + "meta") or []
        return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}

    def snapshot(self):
        """Every key with its DUMP (type and value): equal snapshots mean
        nothing was written in between."""
        with self.redis() as r:
            return {k: r("DUMP", k) for k in r.keys()}

    def settled(self, timeout=5.0):
        """Waits until the daemon (if running) has no job in flight and
        nothing left to flush, then until pair counts are compacted: dirty
        empty and every co: list one line per record, twice in a row
        flush_ms apart."""
        deadline = time.monotonic() + timeout
        if self.daemon is not None:
            def idle():
                ing = harness.http_request(self.port, "GET", "/healthz", timeout=2).json["ingest"]
                return (ing["pending_pairs"] == 0 and not ing["pending_counts"] and
                        ing["waiting_jobs"] == 0 and ing["running_jobs"] == 0 and
                        ing["attributions_pending"] == 0)
            wait_for(idle, timeout, 0.02, "the daemon's loan jobs and flushes done")
        flush_s = self.cfg["model"]["flush_ms"] / 1000.0
        calm = 0
        last = None
        while time.monotonic() < deadline:
            with self.redis() as r:
                dirty = r("SCARD", self.prefix + "dirty")
                lists = [parse_co(r("GET", k)) for k in r.keys(self.prefix + "co:*")]
            compacted = all(lines == len(counts) for counts, lines in lists)
            last = (dirty, compacted)
            calm = calm + 1 if dirty == 0 and compacted else 0
            if calm >= 3:
                return
            time.sleep(max(flush_s, 0.03))
        raise AssertionError("model not settled after %.1fs (dirty %r, compacted %r)"
                             % (timeout, last[0], last[1]))

    def wait_co(self, want, timeout=5.0):
        """Waits until every co: list equals want (record -> {other: n});
        then until compaction has settled; returns what is there."""
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = self.all_co()
            if got == want:
                break
            time.sleep(0.03)
        assert got == want, "co: lists differ from the expected counts:\n  got  %s\n  want %s" % (
            sorted(got.items()), sorted(want.items()))
        self.settled()
        got = self.all_co()
        assert got == want, "co: lists changed by compaction:\n  got  %s\n  want %s" % (
            sorted(got.items()), sorted(want.items()))
        return got


def parse_co(value):
    """A co: string ("<other> <count>\\n" lines, summed, under an optional
    "#<generation>" line) -> ({other: n}, lines)."""
    counts = defaultdict(int)
    lines = 0
    if value:
        text = value.decode()
        assert text.endswith("\n"), "co: value does not end in a newline: %r" % text[-80:]
        for line in text.splitlines():
            if line.startswith("#"):          # compaction's generation header (cooc.h)
                continue
            other, n = line.split(" ")
            counts[other] += int(n)
            lines += 1
    return dict(counts), lines


def oracle(events):
    """The model when no window, pairs_per_loan or history_max binds: per
    pair the distinct patrons who borrowed both, per record the distinct
    patrons, and the meta totals. events: (patron, record, when) in file
    order."""
    titles = defaultdict(dict)          # patron -> record -> first time
    repeats = duplicates = 0
    for p, rec, when in events:
        if rec in titles[p]:
            if titles[p][rec] == when:
                duplicates += 1
            else:
                repeats += 1
        else:
            titles[p][rec] = when
    co = defaultdict(lambda: defaultdict(int))
    pop = defaultdict(int)
    for p, recs in titles.items():
        for r in recs:
            pop[r] += 1
        for a, b in combinations(sorted(recs), 2):
            co[a][b] += 1
            co[b][a] += 1
    meta = {"patrons": len(titles), "loans": sum(len(t) for t in titles.values()),
            "repeats": repeats, "duplicates": duplicates}
    return {k: dict(v) for k, v in co.items()}, dict(pop), meta
