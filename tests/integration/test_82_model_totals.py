"""The model's totals (the number of patrons and the popular titles) are
the same for every record: one Redis read serves every answer for
model.cache_ms, requests that miss at the same moment share one read, and
a failed read is not kept. Counted with Redis' own INFO commandstats on a
Redis of the test's own (loanlab.Lab)."""

import json
import re
import threading
import time
from urllib.parse import quote

import harness
import marc
from loanlab import Lab
from suite import Skip, expect_json, wait_for
from test_70_fallbacks import broad_subject

T0 = 1704067200            # 2024-01-01T00:00:00Z
DAY = 86400


def _calls(lab, command):
    """How often Redis ran command since the last CONFIG RESETSTAT."""
    with lab.redis() as r:
        info = r("INFO", "commandstats").decode()
    m = re.search(r"^cmdstat_%s:calls=(\d+)" % command, info, re.M)
    return int(m.group(1)) if m else 0


def _totals_reads(lab):
    """Reads of the totals since the last CONFIG RESETSTAT: each has two
    ZREVRANGEs, of pop and of the branches' index pob (these loans name
    no branch: no second round trip)."""
    n = _calls(lab, "zrevrange")
    assert n % 2 == 0, "%d ZREVRANGEs: not whole reads of the totals" % n
    return n // 2


def _ask(lab, record, patron=None):
    q = "/v1/alternatives?record=%s&limit=20&lang=en" % quote(record, safe="")
    if patron:
        q += "&patron=" + quote(patron, safe="")
    return harness.http_request(lab.port, "GET", q, headers=harness.OPAC_AUTH if patron else None)


def lab_configured(ctx, name, configure, **kw):
    """A Lab whose config configure(cfg) changes further (what Lab's own
    arguments do not reach) before its onloand starts."""
    lab = Lab(ctx, name, daemon=False, **kw)
    configure(lab.cfg)
    lab.config_path = ctx.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
    lab.start_daemon()
    return lab


# Redis is held still (SIGSTOP) while requests gather, for up to
# HOLD_WAIT_S (the wait_for bound): the requests' deadline and Redis'
# timeout are set well above it, so that a slow (ASan) run does not time
# out the read the requests wait for.
HOLD_WAIT_S = 5
HELD_TIMEOUT_MS = 4 * HOLD_WAIT_S * 1000


def _held_timeouts(cfg):
    cfg["request_timeout_ms"] = HELD_TIMEOUT_MS


def _popular(j):
    return [a["record"] for a in j["alternatives"] if a["reason"] == "popular"]


def _records(ctx, n_shelf, n_asked):
    """n_shelf films with every copy available (borrowed in the test, then
    shown as popular) and n_asked others, nobody's loans, whose genre is
    too broad to be searched: their alternatives are the popular titles.
    All films for adults, so that every one fits every other (fit)."""
    demo = ctx.cat.demo
    broad = broad_subject(ctx)
    films = sorted(r for r in demo if r.startswith("f")
                   and marc.segment(demo[r])["audience"] == "adult")
    shelf = [r for r in films if demo[r]["copies"]
             and all(c["status"] == "available" for c in demo[r]["copies"])][:n_shelf]
    asked = [r for r in films if r not in shelf and broad(r)][:n_asked]
    assert len(shelf) == n_shelf and len(asked) == n_asked, (shelf, asked)
    return shelf, asked


def _load(lab, popular):
    """Six patrons borrow every title of popular; four more one other
    title each (so a popular share is below 1)."""
    ev = [("tcard-%d" % i, rec, T0 + i * DAY + k * 3600)
          for i in range(6) for k, rec in enumerate(popular)]
    ev += [("tother-%d" % i, "t-elsewhere-%d" % i, T0) for i in range(4)]
    body = json.dumps([{"patron": p, "record": r, "time": t} for p, r, t in ev])
    expect_json(lab.post_loans(body), 202)
    lab.settled()
    want = {r: 6 for r in popular}
    want.update({"t-elsewhere-%d" % i: 1 for i in range(4)})
    assert lab.pop() == want, lab.pop()


def test_totals_read_once_per_cache_period(ctx):
    """Six requests that miss together (four records, two with patron=,
    whose recent titles are read too) make one read of the popular list
    and the patron count; later answers for other records in the same
    period make none; after it, a changed popular list is in the answers."""
    shelf, asked = _records(ctx, 4, 8)
    popular, newcomer = shelf[:3], shelf[3]
    cache_s = 4.0
    with lab_configured(ctx, "totals", _held_timeouts, model={"cache_ms": int(cache_s * 1000)},
                        redis={"timeout_ms": HELD_TIMEOUT_MS}) as lab:
        _load(lab, popular)
        with lab.redis() as r:
            r("CONFIG", "RESETSTAT")
        reqs = [(rec, None) for rec in asked[:4]] + [(popular[0], "tcard-0"),
                                                     (popular[1], "tcard-1")]
        replies = [None] * len(reqs)

        def one(i):
            replies[i] = _ask(lab, *reqs[i])
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(reqs))]
        # Redis held still until every request waits for it: all six miss.
        lab.redis_proc.sigstop()
        try:
            for t in threads:
                t.start()
            wait_for(lambda: harness.http_request(lab.port, "GET", "/healthz", timeout=2)
                     .json["pending_requests"] == len(reqs), HOLD_WAIT_S, 0.01,
                     "six requests in progress")
        finally:
            t_sent = time.monotonic()           # the totals are read after this
            lab.redis_proc.sigcont()
        for t in threads:
            t.join()
        t_read = time.monotonic()               # and before this
        for (rec, patron), resp in zip(reqs, replies):
            j = expect_json(resp, 200)
            assert j["degraded"] == [], (rec, patron, j)
            if patron is None:
                assert set(popular) <= set(_popular(j)), (rec, j)
        # (the HGET of meta is not counted: the touchpoints' scripts look
        # up their rollup cells with HGETs of their own, one per cell and
        # batch of touchpoints)
        assert _totals_reads(lab) == 1, (
            "the totals were read %d times for six answers at once" % _totals_reads(lab))
        assert _calls(lab, "get") >= 4         # the records themselves were read

        # Other records within the period: no read of the totals.
        for rec in asked[4:7]:
            expect_json(_ask(lab, rec), 200)
        expect_json(_ask(lab, popular[2], "tcard-2"), 200)
        with lab.redis() as r:
            r("ZADD", lab.prefix + "pop", 1000000, newcomer)
        before = expect_json(_ask(lab, asked[7]), 200)
        if time.monotonic() - t_sent >= cache_s:
            raise Skip("the requests took %.1fs, more than the %.0fs cache period: too slow to "
                       "check that they made no read within it" % (time.monotonic() - t_sent, cache_s))
        assert _totals_reads(lab) == 1, _totals_reads(lab)
        assert set(_popular(before)) == set(popular), before

        # After the period the new popular list is read, and shown (the
        # answer kept for asked[7] is not older than the totals either).
        time.sleep(max(0.0, t_read + cache_s + 0.2 - time.monotonic()))
        after = expect_json(_ask(lab, asked[7]), 200)
        assert after["degraded"] == [], after
        assert _popular(after)[:1] == [newcomer], after
        assert _totals_reads(lab) == 2, _totals_reads(lab)


def test_failed_totals_read_not_kept(ctx):
    """A read of the totals that fails degrades that answer and is not
    kept: the next request reads again at once (cache_ms is a minute)."""
    shelf, asked = _records(ctx, 3, 3)
    with Lab(ctx, "totals-fail", model={"cache_ms": 60000}) as lab:
        _load(lab, shelf)
        meta, kept = lab.prefix + "meta", lab.prefix + "meta-kept"
        with lab.redis() as r:
            r("RENAME", meta, kept)
            r("SET", meta, "not a hash")        # HGET meta patrons: WRONGTYPE
            r("CONFIG", "RESETSTAT")
        j = expect_json(_ask(lab, asked[0]), 200)
        assert "redis_unavailable" in j["degraded"], j
        assert _popular(j) == [], j
        with lab.redis() as r:
            r("DEL", meta)
            r("RENAME", kept, meta)
        j = expect_json(_ask(lab, asked[1]), 200)
        assert j["degraded"] == [] and set(_popular(j)) == set(shelf), j
        assert _totals_reads(lab) == 2, _totals_reads(lab)
        # a good read is kept
        j = expect_json(_ask(lab, asked[2]), 200)
        assert j["degraded"] == [] and set(_popular(j)) == set(shelf), j
        assert _totals_reads(lab) == 2, _totals_reads(lab)
        assert "patrons, popular" in lab.daemon.output(), "the refused read was not logged"
