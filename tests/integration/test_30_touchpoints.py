"""Touchpoints (onloan:tp) and outcome events (onloan:ev) in Redis, and the
loan model the loader wrote (onloan:pop, onloan:co:*)."""

import time

from suite import expect_json, show


def fields(entry):
    """XRANGE entry -> (id, {field: value})."""
    sid, kv = entry
    d = {kv[i].decode(): kv[i + 1].decode() for i in range(0, len(kv), 2)}
    return sid.decode(), d


def xget(ctx, stream, sid):
    with ctx.stack.redis() as r:
        got = r("XRANGE", ctx.prefix + stream, sid, sid)
    assert got, "no entry %s in %s%s" % (sid, ctx.prefix, stream)
    return fields(got[0])[1]


def test_touchpoint_in_stream(ctx):
    rid = ctx.picks["on_loan"]
    t0 = time.time()
    j = expect_json(ctx.stack.alt(rid, branch="NRD", channel="kiosk", catalogue="demo"), 200)
    tp = j.get("touchpoint")
    assert tp, "no touchpoint: %s" % j
    f = xget(ctx, "tp", tp)
    assert f.get("record") == rid, f
    assert f.get("status") == "on_loan", f
    assert f.get("branch") == "NRD", f
    assert f.get("channel") == "kiosk", f
    assert f.get("catalogue") == "demo", f
    want = ",".join(a["record"] for a in j["alternatives"])
    assert f.get("alternatives") == want, "stream alternatives %r, answer showed %r" % (
        f.get("alternatives"), want)
    assert "time" in f, f
    # time: a plausible timestamp of now (seconds, ms or ISO 8601)
    tv = f["time"]
    if tv.isdigit():
        secs = int(tv) / (1000.0 if len(tv) > 11 else 1.0)
        assert abs(secs - t0) < 120, "touchpoint time %r is not now (%d)" % (tv, t0)
    else:
        assert tv[:4].isdigit() and "T" in tv, "touchpoint time %r" % tv


def test_event_lands_in_stream(ctx):
    rid = ctx.picks["on_loan"]
    j = expect_json(ctx.stack.alt(rid), 200)
    tp = j["touchpoint"]
    alt = j["alternatives"][0]["record"]
    for typ, rec in (("shown", rid), ("click", alt), ("reserve", rid), ("borrow", alt), ("dismiss", rid)):
        r = ctx.stack.post("/v1/touchpoints/%s/events" % tp, {"type": typ, "record": rec})
        e = expect_json(r, 201)
        assert e.get("touchpoint") == tp, show(r)
        ev = e.get("event")
        assert ev, show(r)
        f = xget(ctx, "ev", ev)
        assert f.get("touchpoint") == tp and f.get("type") == typ and f.get("record") == rec, \
            "event entry %r for %s %s" % (f, typ, rec)
        assert f.get("time"), f


def test_event_errors(ctx):
    rid = ctx.picks["on_loan"]
    j = expect_json(ctx.stack.alt(rid, limit=3), 200)
    tp = j["touchpoint"]
    shown = {rid} | {a["record"] for a in j["alternatives"]}
    other = next(r for r in ctx.popular_films if r not in shown)
    cases = [
        ("/v1/touchpoints/1-1/events", {"type": "click", "record": rid}, 404, "touchpoint"),
        ("/v1/touchpoints/999999999999-0/events", {"type": "click", "record": rid}, 404, "touchpoint"),
        ("/v1/touchpoints/not-an-id/events", {"type": "click", "record": rid}, 400, "touchpoint"),
        ("/v1/touchpoints/12x-0/events", {"type": "click", "record": rid}, 400, "touchpoint"),
        ("/v1/touchpoints/%s/events" % tp, {"type": "like", "record": rid}, 400, "type"),
        ("/v1/touchpoints/%s/events" % tp, {"record": rid}, 400, "type"),
        ("/v1/touchpoints/%s/events" % tp, {"type": "click", "record": other}, 422, "record"),
        ("/v1/touchpoints/%s/events" % tp, b"this is not json", 400, "body"),
        ("/v1/touchpoints/%s/events" % tp, b"", 400, "body"),
    ]
    bad = []
    for path, body, code, field in cases:
        r = ctx.stack.post(path, body)
        if r.status != code or r.json is None or r.json.get("field") != field:
            bad.append("%s %r -> want %d field %s, got %s" % (path, body, code, field, show(r)[:300]))
    assert not bad, "\n  ".join(bad)
    # and none of these wrote an event for tp
    with ctx.stack.redis() as r:
        evs = r("XRANGE", ctx.prefix + "ev", "-", "+")
    for e in evs or []:
        sid, f = fields(e)
        assert f.get("touchpoint") != tp, "a rejected event was written: %s %r" % (sid, f)


def test_popularity_counts(ctx):
    """onloan:pop = distinct patrons per record, exactly as in loans.csv."""
    with ctx.stack.redis() as r:
        flat = r("ZRANGE", ctx.prefix + "pop", 0, -1, "WITHSCORES")
    got = {flat[i].decode(): float(flat[i + 1]) for i in range(0, len(flat), 2)}
    want = {rec: float(len(p)) for rec, p in ctx.by_record.items()}
    assert got, "%spop is empty" % ctx.prefix
    missing = [k for k in want if k not in got]
    wrong = [(k, got[k], want[k]) for k in want if k in got and got[k] != want[k]]
    extra = [k for k in got if k not in want]
    assert not (missing or wrong or extra), "pop differs from loans.csv: %d missing %s, %d wrong %s, %d extra %s" % (
        len(missing), missing[:5], len(wrong), wrong[:5], len(extra), extra[:5])


def test_cooccurrence_bounds(ctx):
    """onloan:co:<record>: every neighbour shared by >= min_patrons patrons,
    no score above the number of patrons who really borrowed both."""
    checked = 0
    for rid in ctx.popular_films[:5] + ctx.popular_films[500:505]:
        with ctx.stack.redis() as r:
            flat = r("ZRANGE", ctx.prefix + "co:" + rid, 0, -1, "WITHSCORES")
        got = {flat[i].decode(): float(flat[i + 1]) for i in range(0, len(flat), 2)}
        mine = ctx.by_record[rid]
        for nb, score in got.items():
            both = len(mine & ctx.by_record.get(nb, set()))
            assert nb != rid, "%s is its own neighbour" % rid
            assert ctx.min_patrons <= score <= both, (
                "co:%s %s = %s, but %d patrons borrowed both (min_patrons %d)"
                % (rid, nb, score, both, ctx.min_patrons))
        checked += len(got)
        if rid == ctx.popular_films[0]:
            assert got, "no neighbours for the most borrowed film %s" % rid
    assert checked > 0
