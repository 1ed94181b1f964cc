"""Queue-aware dates (issue 20 section 5): hold events keep a count of the
holds waiting per record (q:<record>), once per event however often it is
sent, never below 0; the answer gives `queue` and `expected_available`
(when a reservation placed now is likely ready), and its message says
both. On a Redis of the test's own (loanlab.Lab) and the demo catalogue;
the expected date from an oracle of the rule (queue_date.h) that hands
each hold the next copy to come free."""

import datetime
import heapq
import json

import marc
from loanlab import Lab
from suite import expect_json

T0 = 1767225600         # 2026-01-01
MONTHS_NL = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
             "september", "oktober", "november", "december"]


def oracle_ready(rec, queue, loan_days, today):
    """The (queue + 1)-th hold: each copy that can be lent serves holds in
    turn from the day it is first free, one loan period each."""
    free = []
    for c in rec["copies"]:
        if c["status"] == "available":
            free.append(today)
        elif c["status"] == "held":
            free.append(today + datetime.timedelta(loan_days))
        elif c["status"] == "on_loan":
            due = datetime.date.fromisoformat(c["due"]) if c["due"] else None
            free.append(today + datetime.timedelta(loan_days) if due is None else max(due, today))
    if not free:
        return None
    heapq.heapify(free)
    for _ in range(queue):
        day = heapq.heappop(free)
        heapq.heappush(free, day + datetime.timedelta(loan_days))
    return free[0].isoformat()


def _answer(lab, rid, lang):
    import harness
    return expect_json(harness.http_request(
        lab.port, "GET", "/v1/alternatives?record=%s&limit=3&lang=%s" % (rid, lang)), 200)


def _queue_key(lab, rid):
    with lab.redis() as r:
        return r("GET", lab.prefix + "q:" + rid)


def _check(lab, rec, queue, loan_days=21):
    today = datetime.date.today()
    want = oracle_ready(rec, queue, loan_days, today)
    for lang in ("nl", "en"):
        j = _answer(lab, rec["id"], lang)
        assert j["status"] == "on_loan", j
        assert j["queue"] == queue, (queue, j["queue"])
        assert j["expected_available"] == want, (queue, j["expected_available"], want)
        d = datetime.date.fromisoformat(want)
        if queue == 0:
            assert "reserv" not in j["message"].split(".")[1], j["message"]
        elif lang == "nl":
            said = "%d %s voor u; verwacht voor u rond %d %s %d." % (
                queue, "reservering" if queue == 1 else "reserveringen", d.day,
                MONTHS_NL[d.month - 1], d.year)
            assert said in j["message"], (said, j["message"])
        else:
            said = "%d %s ahead of you; expected for you around %d %s %d." % (
                queue, "reservation" if queue == 1 else "reservations", d.day,
                d.strftime("%B"), d.year)
            assert said in j["message"], (said, j["message"])


def test_holds_make_the_queue_and_the_date(ctx):
    demo = ctx.cat.demo
    # an on-loan title with several copies, so the date depends on which frees first
    rid = next(r for r in sorted(demo) if marc.record_status(demo[r]) == "on_loan"
               and len([c for c in demo[r]["copies"] if c["status"] == "on_loan"]) >= 2)
    rec = demo[rid]
    with Lab(ctx, "queue") as lab:
        _check(lab, rec, 0)
        assert _queue_key(lab, rid) is None
        holds = [{"patron": "q-p1", "record": rid, "time": T0, "type": "hold", "id": "R-1"},
                 {"patron": "q-p2", "record": rid, "time": T0 + 60, "type": "hold"},
                 {"patron": "q-p3", "record": rid, "time": T0 + 120, "type": "hold", "id": "R-3"}]
        j = expect_json(lab.post_loans(json.dumps(holds)), 202)
        assert j["holds"] == 3, j
        lab.settled()
        _check(lab, rec, 3)
        # replayed, as JSON and as CSV, with and without ids: counted once
        expect_json(lab.post_loans(json.dumps(holds)), 202)
        expect_json(lab.post_loans("patron,record,time,type,id\nq-p1,%s,%d,hold,R-1\n"
                                   "q-p2,%s,%d,hold,\n" % (rid, T0, rid, T0 + 60),
                                   content_type="text/csv"), 202)
        lab.settled()
        assert _queue_key(lab, rid) == b"3"
        _check(lab, rec, 3)
        # filled (the reservation's own id) and cancelled: two fewer, once each
        done = [{"patron": "q-p1", "record": rid, "time": T0 + DAY, "type": "hold_filled",
                 "id": "R-1"},
                {"patron": "q-p2", "record": rid, "time": T0 + DAY, "type": "hold_cancelled"}]
        for _ in range(2):
            expect_json(lab.post_loans(json.dumps(done)), 202)
        lab.settled()
        _check(lab, rec, 1)
        # onloan load takes hold events too
        _, out, _ = lab.cli("load", lab.write("holds.csv", "type,patron,record,time\n"
                                                          "hold,q-p4,%s,%d\n" % (rid, T0 + 2 * DAY)))
        assert "1 holds" in out, out
        lab.settled()
        _check(lab, rec, 2)
        # more fills and cancellations than holds: never below 0, the key gone
        more = [{"patron": "q-p%d" % i, "record": rid, "time": T0 + 3 * DAY, "type": "hold_cancelled"}
                for i in range(5, 9)]
        expect_json(lab.post_loans(json.dumps(more)), 202)
        lab.settled()
        assert _queue_key(lab, rid) is None
        _check(lab, rec, 0)


DAY = 86400


def test_loan_period_of_the_catalogue(ctx):
    """loan_period_days (here 7) spaces the holds a copy serves."""
    demo = ctx.cat.demo
    rid = next(r for r in sorted(demo) if marc.record_status(demo[r]) == "on_loan"
               and len([c for c in demo[r]["copies"] if c["status"] == "on_loan"]) == 1)
    with Lab(ctx, "queue-period", daemon=False) as lab:
        for c in lab.cfg["catalogues"]:
            c["loan_period_days"] = 7
        lab.config_path = lab.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
        lab.start_daemon()
        holds = [{"patron": "qp-%d" % i, "record": rid, "time": T0, "type": "hold"}
                 for i in range(2)]
        expect_json(lab.post_loans(json.dumps(holds)), 202)
        lab.settled()
        _check(lab, demo[rid], 2, loan_days=7)
