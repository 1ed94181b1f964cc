"""What the patron did next (issue 17, part 2): the library system's own
loans and holds attributed to the touchpoint that last showed their title
to that patron. Each test on a Lab (a Redis and an onloand of its own, the
shared Zebra) with touchpoints.attribution_days 1, so that both ends of the
window can be reached with event times the daemon takes (at most a day
ahead of its clock). Counts are read where reports read them: the
touchpoint's rollup cell (BITFIELD u32 #cell*11+counter of ru1:<day>), and
the ev stream."""

import json
import time

import harness
from loanlab import Lab
from suite import expect_json, wait_for
from test_31_outcomes import COUNTERS

T0 = 1704067200            # 2024-01-01T00:00:00Z: the seed loans, long before any touchpoint
DAY = 86400
ATTRIBUTED = ("attributed_borrow", "attributed_reserve", "attributed_borrow_wanted")


def seed(ctx, lab, n=6):
    """The wanted title (on loan) and n films on the shelf that its
    borrowers also borrowed, so that the answer shows alternatives."""
    demo = ctx.cat.demo
    x = ctx.picks["on_loan"]
    ys = [r for r in ctx.popular_films
          if r != x and demo[r]["copies"] and all(c["status"] == "available"
                                                   for c in demo[r]["copies"])][:n]
    assert len(ys) == n, ys
    ev = [("seed-other-%d" % i, "seed-elsewhere", T0) for i in range(5)]
    for i in range(3):
        ev.append(("seed-%d" % i, x, T0 + i * DAY))
        ev += [("seed-%d" % i, y, T0 + i * DAY + 60 * (k + 1)) for k, y in enumerate(ys)]
    expect_json(lab.post_loans(json.dumps([{"patron": p, "record": r, "time": t}
                                           for p, r, t in ev])), 202)
    lab.settled()
    return x, ys


def at_entries(lab, patron):
    with lab.redis() as r:
        flat = r("HGETALL", lab.prefix + "at:" + lab.pseudonym(patron)) or []
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


def ask(lab, record, patron, limit=6):
    """GET /v1/alternatives with patron= (channel kiosk: outside the demo
    config's experiment, whose control arm shows none); waits until at:
    remembers the touchpoint (written after the answer, not waited for).
    Returns the touchpoint id, its time in Unix seconds and the records
    shown."""
    r = harness.http_request(lab.port, "GET", "/v1/alternatives?record=%s&limit=%d&channel=kiosk"
                             "&lang=en&patron=%s" % (record, limit, patron),
                             headers=harness.OPAC_AUTH)
    j = expect_json(r, 200)
    tp = j["touchpoint"]
    assert tp, j
    alts = [a["record"] for a in j["alternatives"]]
    wait_for(lambda: all(at_entries(lab, patron).get(rec, "").startswith(tp + " ")
                         for rec in [record] + alts), 5, 0.02, "at: of the touchpoint")
    at = at_entries(lab, patron)
    assert at[record].split(" ")[1] == "w", at
    assert all(at[a].split(" ")[1] == "a" for a in alts), at
    return tp, int(tp.split("-")[0]) // 1000, alts


def count(lab, tp, counter):
    """The counter of the touchpoint's rollup cell on its day."""
    with lab.redis() as r:
        f = harness.touchpoint_fields(r, lab.prefix, tp)
        idx = int(f["cell"]) * len(COUNTERS) + COUNTERS.index(counter)
        return r("BITFIELD", lab.prefix + "ru1:" + f["day"], "GET", "u32", "#%d" % idx)[0]


def counts(lab, tp):
    return {c: count(lab, tp, c) for c in ATTRIBUTED}


def outcomes(lab, tp):
    """The ev entries of the touchpoint: [(type, record)], oldest first."""
    with lab.redis() as r:
        evs = r("XRANGE", lab.prefix + "ev", "-", "+")
    out = []
    for _, kv in evs:
        f = {kv[i].decode(): kv[i + 1].decode() for i in range(0, len(kv), 2)}
        if f["touchpoint"] == tp:
            out.append((f["type"], f["record"]))
    return out


def ingest(lab):
    return expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)["ingest"]


def post(lab, events, content_type=None):
    """POSTs the events (a list of dicts: JSON; a str: as content_type);
    returns the 202's body once the attributions the job sent are answered
    (they are sent before the 202, answered after)."""
    body = events if isinstance(events, str) else json.dumps(events)
    j = expect_json(lab.post_loans(body, content_type=content_type), 202)
    wait_for(lambda: ingest(lab)["attributions_pending"] == 0, 5, 0.02, "attributions answered")
    return j


def moved(before, after):
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


def test_loans_and_holds_attributed(ctx):
    with Lab(ctx, "attr", touchpoints={"attribution_days": 1}) as lab:
        x, _ = seed(ctx, lab)
        patron, other = "attr-card-1001", "attr-card-2002"
        tp, tp_s, alts = ask(lab, x, patron)
        assert len(alts) >= 5, alts
        a1, a2, a3, a4, a5 = alts[:5]
        # an event a second past the window must be one the daemon takes
        # (a day ahead of its clock at most)
        wait_for(lambda: time.time() >= tp_s + 2, 5, 0.1, "two seconds past the touchpoint")
        base, h0 = counts(lab, tp), ingest(lab)

        # a loan of an alternative shown: attributed_borrow, once
        j = post(lab, [{"patron": patron, "record": a1, "time": tp_s + 60, "id": "L-1"}])
        assert j["new"] == 1 and j["holds"] == 0, j
        assert moved(base, counts(lab, tp)) == {"attributed_borrow": 1}
        assert outcomes(lab, tp) == [("attributed_borrow", a1)]
        # the same loan again is a duplicate: nothing; a later loan of it
        # (a repeat, a real loan) is found counted for this touchpoint before
        j = post(lab, [{"patron": patron, "record": a1, "time": tp_s + 60, "id": "L-1"}])
        assert j["duplicates"] == 1, j
        j = post(lab, [{"patron": patron, "record": a1, "time": tp_s + 120}])
        assert j["repeats"] == 1, j
        assert moved(base, counts(lab, tp)) == {"attributed_borrow": 1}
        assert outcomes(lab, tp) == [("attributed_borrow", a1)]
        assert ingest(lab)["attributed_again"] == h0["attributed_again"] + 1

        # a hold of the wanted title: attributed_reserve; that hold filled
        # or cancelled, a hold of an alternative: nothing
        j = post(lab, [{"patron": patron, "record": x, "time": tp_s + 60, "type": "hold",
                        "id": "H-1"},
                       {"patron": patron, "record": x, "time": tp_s + 70, "type": "hold_filled"},
                       {"patron": patron, "record": x, "time": tp_s + 80,
                        "type": "hold_cancelled"},
                       {"patron": patron, "record": a5, "time": tp_s + 90, "type": "hold"}])
        assert j == {"taken": 4, "new": 0, "repeats": 0, "duplicates": 0, "stale": 0,
                     "holds": 4}, j
        assert moved(base, counts(lab, tp)) == {"attributed_borrow": 1, "attributed_reserve": 1}
        # the same hold replayed (holds keep no seen ids): counted once
        j = post(lab, "patron,record,time,type,id\n%s,%s,%d,hold,H-1\n" % (patron, x, tp_s + 60),
                 content_type="text/csv")
        assert j["holds"] == 1, j
        assert moved(base, counts(lab, tp)) == {"attributed_borrow": 1, "attributed_reserve": 1}
        assert ingest(lab)["attributed_again"] == h0["attributed_again"] + 2

        # a loan of the wanted title: attributed_borrow_wanted
        post(lab, json.dumps({"patron": patron, "record": x, "time": tp_s + 100, "type": "loan"})
             + "\n", content_type="application/x-ndjson")
        assert moved(base, counts(lab, tp)) == {"attributed_borrow": 1, "attributed_reserve": 1,
                                                "attributed_borrow_wanted": 1}

        # the window: a second before the touchpoint, a second after its
        # end: nothing; at its very end: counted
        j = post(lab, [{"patron": patron, "record": a2, "time": tp_s - 1},
                       {"patron": patron, "record": a3, "time": tp_s + DAY + 1},
                       {"patron": patron, "record": a4, "time": tp_s + DAY}])
        assert j["new"] == 3, j
        assert moved(base, counts(lab, tp)) == {"attributed_borrow": 2, "attributed_reserve": 1,
                                                "attributed_borrow_wanted": 1}
        # another patron's loan of an alternative shown to this one: nothing
        post(lab, [{"patron": other, "record": a5, "time": tp_s + 60}])
        assert moved(base, counts(lab, tp)) == {"attributed_borrow": 2, "attributed_reserve": 1,
                                                "attributed_borrow_wanted": 1}

        assert outcomes(lab, tp) == [("attributed_borrow", a1), ("attributed_reserve", x),
                                     ("attributed_borrow_wanted", x), ("attributed_borrow", a4)]
        h1 = ingest(lab)
        assert h1["attributed"] - h0["attributed"] == 4, (h0, h1)
        assert h1["attribution_failures"] == 0 and h1["holds"] - h0["holds"] == 5, h1
        # the ev entries name nobody: touchpoint, type, record, time
        with lab.redis() as r:
            fields = {kv[i] for _, kv in r("XRANGE", lab.prefix + "ev", "-", "+")
                      for i in range(0, len(kv), 2)}
        assert fields == {b"touchpoint", b"type", b"record", b"time"}, fields


def test_latest_touchpoint_takes_it(ctx):
    """Two answers showed the same title: a later loan goes to the latest
    (at: keeps one touchpoint per record); a loan between the two is the
    latest's no more (it came before it) and the first's no longer."""
    with Lab(ctx, "attr-latest", touchpoints={"attribution_days": 1}) as lab:
        x, _ = seed(ctx, lab)
        patron = "attr-card-3003"
        tp1, tp1_s, alts1 = ask(lab, x, patron)
        time.sleep(1.1)
        tp2, tp2_s, alts2 = ask(lab, x, patron)
        assert tp2_s > tp1_s and alts1 and alts2, (tp1, tp2)
        base = counts(lab, tp2)
        post(lab, [{"patron": patron, "record": x, "time": tp1_s, "type": "hold"}])
        post(lab, [{"patron": patron, "record": x, "time": tp2_s}])
        assert outcomes(lab, tp1) == []
        assert outcomes(lab, tp2) == [("attributed_borrow_wanted", x)]
        # both touchpoints are in one rollup cell (same day, same kind of
        # answer): it moved once
        assert moved(base, counts(lab, tp2)) == {"attributed_borrow_wanted": 1}


def test_holds_change_nothing_of_the_model(ctx):
    """Holds of every type, in every format, with ids: not one key of the
    model changes (h:, pop, co:, meta, dirty); only the queue counts (q:)
    and the seen ids that keep a replayed hold from counting twice
    (seen:, test_17_queue), and a hold's id is not remembered as a
    loan's."""
    loans = [{"patron": "hold-p1", "record": "hold-A", "time": T0, "id": "E-1"},
             {"patron": "hold-p1", "record": "hold-B", "time": T0 + DAY},
             {"patron": "hold-p2", "record": "hold-A", "time": T0 + DAY}]
    with Lab(ctx, "holds") as lab:
        expect_json(lab.post_loans(json.dumps(loans)), 202)
        lab.settled()
        before = lab.snapshot()
        assert any(k.startswith((lab.prefix + "h:").encode()) for k in before), before.keys()
        holds = [{"patron": "hold-p1", "record": "hold-C", "time": T0 + 2 * DAY, "type": "hold",
                  "id": "E-2"},
                 {"patron": "hold-p3", "record": "hold-A", "time": T0 + 2 * DAY,
                  "type": "hold_filled", "id": "E-3"}]
        j = expect_json(lab.post_loans(json.dumps(holds)), 202)
        assert j == {"taken": 2, "new": 0, "repeats": 0, "duplicates": 0, "stale": 0,
                     "holds": 2}, j
        j = expect_json(lab.post_loans("patron,record,time,type,id\n"
                                       "hold-p2,hold-B,%d,hold_cancelled,E-4\n"
                                       "hold-p4,hold-D,%d,hold,\n" % (T0 + 3 * DAY, T0 + 3 * DAY),
                                       content_type="text/csv"), 202)
        assert j["holds"] == 2 and j["taken"] == 2, j
        _, out, _ = lab.cli("load", lab.write("holds.csv", "type,patron,record,time\n"
                                                          "hold,hold-p5,hold-A,%d\n" % T0))
        assert "0 new loans" in out and "1 holds" in out, out
        lab.settled()
        after = lab.snapshot()
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        queue = (lab.prefix + "q:").encode()
        seen = (lab.prefix + "seen:").encode()
        assert all(k.startswith((queue, seen)) for k in changed), \
            "holds changed keys of the model: %s" % changed
        # holds placed: C, D and (onloan load) A; the fill of A and the
        # cancellation of B came before any hold of theirs: never below 0
        assert {k for k in changed if k.startswith(queue)} == {
            queue + b"hold-A", queue + b"hold-C", queue + b"hold-D"}, changed
        # the hold's id E-2 is no loan's: a loan with it is new
        j = expect_json(lab.post_loans(json.dumps([{"patron": "hold-p1", "record": "hold-C",
                                                    "time": T0 + 4 * DAY, "id": "E-2"}])), 202)
        assert j["new"] == 1 and j["duplicates"] == 0, j


def test_bad_type_is_a_400_naming_it(ctx):
    with Lab(ctx, "attr-bad") as lab:
        before = lab.snapshot()
        r = lab.post_loans(json.dumps([{"patron": "p", "record": "r1", "time": T0},
                                       {"patron": "p", "record": "r2", "time": T0,
                                        "type": "reservation"}]))
        j = expect_json(r, 400)
        assert j["field"] == "type" and j["index"] == 1 and "hold_cancelled" in j["error"], j
        j = expect_json(lab.post_loans("patron,record,time,type\np,r1,%d,loan\np,r2,%d,Hold\n"
                                       % (T0, T0), content_type="text/csv"), 400)
        assert j["field"] == "type" and j["problems"][0]["line"] == 3, j
        rc, out, err = lab.cli("load", lab.write("bad.csv", "patron,record,time,type\np,r1,%d,"
                                                             "holds\n" % T0), check=False)
        assert rc != 0 and ":2: type: must be loan, hold" in err, (out, err)
        assert lab.snapshot() == before        # all or nothing


def test_forget_ends_attribution(ctx):
    """A forget (DELETE /v1/patrons/<id>, onloan forget) deletes at: with
    the history: a later loan of what the patron was shown counts nothing."""
    with Lab(ctx, "attr-forget", touchpoints={"attribution_days": 1}) as lab:
        x, _ = seed(ctx, lab)
        for patron, how in (("attr-card-4004", "http"), ("attr-card-5005", "cli")):
            tp, tp_s, alts = ask(lab, x, patron)
            assert alts, tp
            base = counts(lab, tp)
            heard = expect_json(harness.http_request(lab.port, "GET", "/healthz"),
                                200)["forget_feed"]["heard"]
            if how == "http":
                assert expect_json(lab.forget(patron), 200) == {"forgotten": True}
            else:
                lab.cli("forget", patron)
            with lab.redis() as r:
                assert r("EXISTS", lab.prefix + "at:" + lab.pseudonym(patron)) == 0, how
            post(lab, [{"patron": patron, "record": alts[0], "time": tp_s + 60},
                       {"patron": patron, "record": x, "time": tp_s + 61, "type": "hold"}])
            assert counts(lab, tp) == base and outcomes(lab, tp) == [], how
            # what was not forgotten still counts: a later answer (once the
            # daemon heard of the forget: it does not remember answers that
            # were being made meanwhile), a later loan
            wait_for(lambda: expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)
                     ["forget_feed"]["heard"] > heard, 5, 0.02, "the forget heard")
            tp2, tp2_s, _ = ask(lab, x, patron)
            post(lab, [{"patron": patron, "record": x, "time": tp2_s + 1}])
            assert outcomes(lab, tp2) == [("attributed_borrow_wanted", x)], how


def test_onloan_load_attributes(ctx):
    """onloan load (the same engine) attributes, and waits for the counts
    before it exits; loading the file again counts nothing twice."""
    with Lab(ctx, "attr-load", touchpoints={"attribution_days": 1}) as lab:
        x, _ = seed(ctx, lab)
        patron = "attr-card-6006"
        tp, tp_s, alts = ask(lab, x, patron)
        base = counts(lab, tp)
        path = lab.write("attr.csv", "patron,record,time,type,id\n"
                                     "%s,%s,%d,,L-9\n"
                                     "%s,%s,%d,hold,H-9\n"
                                     "%s,%s,%d,hold,\n"
                                     "attr-someone-else,%s,%d,loan,\n"
                         % (patron, alts[0], tp_s + 60, patron, x, tp_s + 61, patron, alts[1],
                            tp_s + 62, alts[2], tp_s + 63))
        _, out, _ = lab.cli("load", path)
        assert "2 holds (not in the model); attributed to touchpoints: 2, 0 counted before, " \
               "0 failed" in out, out
        assert moved(base, counts(lab, tp)) == {"attributed_borrow": 1, "attributed_reserve": 1}
        assert sorted(outcomes(lab, tp)) == [("attributed_borrow", alts[0]),
                                             ("attributed_reserve", x)]
        # again: the loan is a duplicate (its id), the hold is found counted
        _, out, _ = lab.cli("load", path)
        assert "attributed to touchpoints: 0, 1 counted before, 0 failed" in out, out
        assert moved(base, counts(lab, tp)) == {"attributed_borrow": 1, "attributed_reserve": 1}
        assert len(outcomes(lab, tp)) == 2


def test_a_patron_of_thousands_of_events(ctx):
    """One job of 2500 events of one patron (onloan load takes whole
    patrons per job): the one HMGET of their records finds the two shown,
    where they are among the others."""
    with Lab(ctx, "attr-many", touchpoints={"attribution_days": 1}) as lab:
        x, _ = seed(ctx, lab)
        patron = "attr-card-7007"
        tp, tp_s, alts = ask(lab, x, patron)
        base = counts(lab, tp)
        rows = ["%s,attr-fill-%d,%d," % (patron, i, tp_s + 100 + 2 * i) for i in range(2500)]
        rows.append("%s,%s,%d," % (patron, alts[0], tp_s + 100 + 2 * 1500 + 1))
        rows.append("%s,%s,%d,hold" % (patron, x, tp_s + 100 + 2 * 2200 + 1))
        _, out, _ = lab.cli("load", lab.write("many.csv", "patron,record,time,type\n" +
                                              "\n".join(rows) + "\n"))
        assert "attributed to touchpoints: 2, 0 counted before, 0 failed" in out, out
        assert moved(base, counts(lab, tp)) == {"attributed_borrow": 1, "attributed_reserve": 1}
