"""Touchpoints (onloan:tp) and outcome events (onloan:ev) in Redis, and the
loan model the loader wrote (onloan:pop, onloan:co:*)."""

import calendar
import threading
import time
from collections import defaultdict

import harness
from loanlab import Lab, oracle, parse_co
from suite import Skip, expect_json, show, wait_for


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
    with ctx.stack.redis() as r:
        # its entry in the stream; its day's tpd: holds what outcomes read
        # of it (touchpoint_fields checks that it is the entry's)
        f = harness.touchpoint_fields(r, ctx.prefix, tp)
        entries = [fields(e)[1] for e in r("XREVRANGE", ctx.prefix + "tp", "+", "-", "COUNT", 1000)]
        ttl = r("TTL", harness.tpd_key(ctx.prefix, tp)[0])
    assert [e for e in entries if e.get("touchpoint") == tp] == [f], \
        "the tp stream has %s once: %r" % (tp, f)
    assert list(f) == ["touchpoint", "time", "record", "catalogue", "status", "branch", "channel",
                       "lang", "alternatives", "experiment", "arm", "day", "cell"], list(f)
    assert f["cell"].isdigit(), f
    keep = ctx.stack.config["touchpoints"].get("token_ttl_s", 604800) + 86400
    assert keep - 60 < ttl <= keep, "%s expires in %ss" % (harness.tpd_key(ctx.prefix, tp)[0], ttl)
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


def _script_calls(r):
    n = 0
    for line in r("INFO", "commandstats").decode().splitlines():
        if line.startswith(("cmdstat_eval:", "cmdstat_evalsha:")):
            n += int(line.split("calls=")[1].split(",")[0])
    return n


def test_concurrent_answers_all_logged(ctx):
    """Answers that come at once are written together (the touchpoints of
    a pass of the loop in one script: touchpoint_batch.h): each one's tp
    entry and tpd: are there, once, and no more scripts ran than answers."""
    rid = ctx.picks["on_loan"]
    expect_json(ctx.stack.alt(rid, channel="app"), 200)         # its answer kept: warm
    with ctx.stack.redis() as r:
        scripts0 = _script_calls(r)
    ids, problems = [], []

    def ask():
        for _ in range(6):
            resp = ctx.stack.alt(rid, channel="app")
            if resp.status != 200 or not resp.json or not resp.json.get("touchpoint"):
                problems.append(resp)
            else:
                ids.append(resp.json["touchpoint"])
    threads = [threading.Thread(target=ask) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not problems, problems[:3]
    assert len(set(ids)) == len(ids) == 192, len(ids)
    with ctx.stack.redis() as r:
        def all_there():
            return all(harness.tpd(r, ctx.prefix, tp) for tp in ids)
        wait_for(all_there, 10.0, 0.05, "every touchpoint's tpd:")
        scripts = _script_calls(r) - scripts0
        logged = defaultdict(int)
        for e in r("XREVRANGE", ctx.prefix + "tp", "+", "-", "COUNT", 5000):
            logged[fields(e)[1].get("touchpoint")] += 1
    missing = [tp for tp in ids if logged[tp] != 1]
    assert not missing, "%d of 192 touchpoints not in tp once: %r" % (len(missing), missing[:3])
    assert 1 <= scripts <= len(ids), "%d scripts for %d answers" % (scripts, len(ids))
    show("192 answers at once: %d scripts wrote their touchpoints" % scripts)


def test_event_lands_in_stream(ctx):
    rid = ctx.picks["on_loan"]
    j = expect_json(ctx.stack.alt(rid), 200)
    tp = j["touchpoint"]
    alt = j["alternatives"][0]["record"]
    token = j["touchpoint_token"]
    for typ, rec in (("shown", rid), ("click", alt), ("reserve", rid), ("borrow", alt), ("dismiss", rid)):
        r = ctx.stack.post("/v1/touchpoints/%s/events" % tp,
                           {"type": typ, "record": rec, "token": token})
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
    tp, tok = j["touchpoint"], j["touchpoint_token"]
    shown = {rid} | {a["record"] for a in j["alternatives"]}
    other = next(r for r in ctx.popular_films if r not in shown)
    cases = [
        ("/v1/touchpoints/1-1/events", {"type": "click", "record": rid, "token": tok}, 404, "touchpoint"),
        ("/v1/touchpoints/999999999999-0/events", {"type": "click", "record": rid, "token": tok},
         404, "touchpoint"),
        ("/v1/touchpoints/not-an-id/events", {"type": "click", "record": rid}, 400, "touchpoint"),
        ("/v1/touchpoints/12x-0/events", {"type": "click", "record": rid}, 400, "touchpoint"),
        ("/v1/touchpoints/%s/events" % tp, {"type": "like", "record": rid, "token": tok}, 400, "type"),
        ("/v1/touchpoints/%s/events" % tp, {"record": rid, "token": tok}, 400, "type"),
        ("/v1/touchpoints/%s/events" % tp, {"type": "click", "record": other, "token": tok},
         422, "record"),
        ("/v1/touchpoints/%s/events" % tp, b"this is not json", 400, "body"),
        ("/v1/touchpoints/%s/events" % tp, b"", 400, "body"),
    ]
    bad = []
    for path, body, code, field in cases:
        r = ctx.stack.post(path, body) if not isinstance(body, bytes) else \
            harness.http_request(ctx.stack.port, "POST", path, body=body,
                                 headers={"Content-Type": "application/json"})
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
    above = [(k, got[k], want[k]) for k in want if k in got and got[k] > want[k]]
    extra = [k for k in got if k not in want]
    assert not (above or extra), "pop above loans.csv: %d above %s, %d extra %s" % (
        len(above), above[:5], len(extra), extra[:5])
    below = [(k, got[k], want[k]) for k in want if k in got and got[k] < want[k]]
    assert not (missing or below), "pop below loans.csv for %d records (e.g. %s), %d missing %s" % (
        len(below), below[:3], len(missing), missing[:3])


def test_cooccurrence_bounds(ctx):
    """onloan:co:<record> (a string of "<other> <count>" lines, summed):
    no record is its own neighbour, no count is above the number of
    patrons who really borrowed both (window and pairs_per_loan only ever
    leave pairs out), a list holds at most neighbours_max +
    neighbours_reserve records after compaction; and
    every also_borrowed alternative the daemon shows is a pair of at least
    min_patrons patrons, in the model and in loans.csv."""
    model = ctx.stack.config["model"]
    nmax = model.get("neighbours_max", 100) + model.get("neighbours_reserve", 300)
    checked = 0
    for rid in ctx.popular_films[:5] + ctx.popular_films[500:505]:
        with ctx.stack.redis() as r:
            got, lines = parse_co(r("GET", ctx.prefix + "co:" + rid))
        assert len(got) <= nmax, "co:%s has %d records (neighbours_max + reserve %d)" % (
            rid, len(got), nmax)
        mine = ctx.by_record[rid]
        for nb, count in got.items():
            both = len(mine & ctx.by_record.get(nb, set()))
            assert nb != rid, "%s is its own neighbour" % rid
            assert 1 <= count <= both, (
                "co:%s %s = %s, but %d patrons borrowed both" % (rid, nb, count, both))
        checked += len(got)
        if rid == ctx.popular_films[0]:
            assert got, "no neighbours for the most borrowed film %s" % rid
    assert checked > 0
    shown = 0
    for rid in ctx.popular_films[:40]:
        j = expect_json(ctx.stack.alt(rid, limit=20), 200)
        with ctx.stack.redis() as r:
            got, _ = parse_co(r("GET", ctx.prefix + "co:" + rid))
        for a in j["alternatives"]:
            if a["reason"] != "also_borrowed":
                continue
            shown += 1
            both = len(ctx.by_record[rid] & ctx.by_record.get(a["record"], set()))
            assert got.get(a["record"], 0) >= ctx.min_patrons and both >= ctx.min_patrons, (
                "%s shown as also_borrowed for %s: co: count %s, %d patrons in loans.csv "
                "(min_patrons %d)" % (a["record"], rid, got.get(a["record"]), both, ctx.min_patrons))
    assert shown > 0, "no also_borrowed alternative for any of the 40 most borrowed films"


def test_cooccurrence_exact_when_unbounded(ctx):
    """With a window and caps that do not bind (window_days 36500,
    pairs_per_loan 10000, history_max above every patron's history,
    neighbours_max above every list), onloan load of the patrons of
    loans.csv with at most 40 loans gives, for every pair, exactly the
    number of distinct patrons who borrowed both, and pop and meta as
    counted from the file."""
    per_patron = defaultdict(list)
    for row in ctx.loan_rows:
        per_patron[row["patron"]].append(row)
    def span_days(rs):
        ts = [calendar.timegm(time.strptime(r["date"], "%Y-%m-%dT%H:%M:%SZ")) for r in rs]
        return (max(ts) - min(ts)) / 86400.0
    # history_ttl_days (at most 3650) must not bind either: patrons whose
    # loans lie within 3000 days of each other
    rows = [row for p, rs in per_patron.items() if len(rs) <= 40 and span_days(rs) < 3000
            for row in rs]
    assert len(rows) > 2000, len(rows)
    events = [(row["patron"], row["record"], row["date"]) for row in rows]
    co, pop, meta = oracle(events)
    with Lab(ctx, "exact", daemon=False,
             model={"window_days": 36500, "pairs_per_loan": 10000, "neighbours_max": 10000},
             privacy={"history_max": 1000, "history_ttl_days": 3650}) as lab:
        text = "patron,record,date\n" + "".join("%s,%s,%s\n" % e for e in events)
        lab.cli("load", lab.write("small-patrons.csv", text))
        got = lab.all_co()
        assert got.keys() == co.keys(), "co: keys differ: %d got, %d want" % (len(got), len(co))
        wrong = [(r, o, got[r].get(o), n) for r in co for o, n in co[r].items() if got[r].get(o) != n]
        extra = [(r, o) for r in got for o in got[r] if o not in co[r]]
        assert not wrong and not extra, "pair counts differ from loans.csv: %d wrong %s, %d extra %s" % (
            len(wrong), wrong[:5], len(extra), extra[:5])
        assert lab.pop() == pop, "pop differs from loans.csv"
        m = lab.meta()
        assert {k: int(m.get(k, 0)) for k in meta} == meta, (m, meta)
