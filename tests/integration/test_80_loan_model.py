"""The loan model (issue 3) end to end, each test on a Redis of its own
(loanlab.Lab): POST /v1/loans and onloan load/forget/stats/eval against the
real redis-server, compared with counts worked out by hand (or by the
oracle in loanlab when no window or cap binds)."""

import contextlib
import copy
import json
import os
import re
import shutil
import signal
import socket
import threading
import time

import harness

from loanlab import (BOTH_KEY, FORGET_KEY, INGEST_KEY, Lab, oracle, parse_co)
from suite import Skip, expect_json, wait_for

T0 = 1704067200            # 2024-01-01T00:00:00Z
DAY = 86400
UNBOUND = {"window_days": 36500, "pairs_per_loan": 10000}


def csv_text(events, with_id=False):
    """(patron, record, when[, id]) -> a loans CSV."""
    head = "patron,record,time" + (",id" if with_id else "")
    rows = [",".join(str(x) for x in (e if with_id else e[:3])) for e in events]
    return "\n".join([head] + rows) + "\n"


def json_events(events):
    return [{"patron": p, "record": r, "time": t} for p, r, t in events]


# A small history worked out by hand.
#   p1: A B C    p2: A B    p3: B C D    p4: A D, and A again a day later
SMALL = [
    ("card-1001", "rec-A", T0 + 1 * DAY),
    ("card-1001", "rec-B", T0 + 2 * DAY),
    ("card-1001", "rec-C", T0 + 3 * DAY),
    ("card-1002", "rec-A", T0 + 1 * DAY),
    ("card-1002", "rec-B", T0 + 5 * DAY),
    ("card-1003", "rec-B", T0 + 2 * DAY),
    ("card-1003", "rec-C", T0 + 4 * DAY),
    ("card-1003", "rec-D", T0 + 6 * DAY),
    ("card-1004", "rec-A", T0 + 2 * DAY),
    ("card-1004", "rec-D", T0 + 3 * DAY),
    ("card-1004", "rec-A", T0 + 4 * DAY),           # a repeat: counts nothing
]
SMALL_CO = {
    "rec-A": {"rec-B": 2, "rec-C": 1, "rec-D": 1},
    "rec-B": {"rec-A": 2, "rec-C": 2, "rec-D": 1},
    "rec-C": {"rec-A": 1, "rec-B": 2, "rec-D": 1},
    "rec-D": {"rec-A": 1, "rec-B": 1, "rec-C": 1},
}
SMALL_POP = {"rec-A": 3, "rec-B": 3, "rec-C": 2, "rec-D": 2}
SMALL_META = {"patrons": 4, "loans": 10, "repeats": 1, "duplicates": 0}


def taken(resp, stale=0):
    """A 202's counts: {"taken","new","repeats","duplicates"}; "stale"
    must be as given."""
    j = expect_json(resp, 202)
    assert j["stale"] == stale, j
    return {k: j.get(k) for k in ("taken", "new", "repeats", "duplicates")}


def loaded(out):
    """onloan load's summary -> {"events","new","repeats","duplicates","patrons"}."""
    got = {}
    for key, pat in (("events", r"loaded (\d+) events"), ("new", r"(\d+) new loans"),
                     ("repeats", r"(\d+) repeats"), ("duplicates", r"(\d+) duplicates"),
                     ("patrons", r"(\d+) new patrons")):
        m = re.search(pat, out)
        assert m, "no %r in onloan load's output: %s" % (pat, out)
        got[key] = int(m.group(1))
    return got


def meta_ints(lab):
    m = lab.meta()
    return {k: int(m.get(k, 0)) for k in ("patrons", "loans", "repeats", "duplicates")}


def test_counts_exact_after_small_history(ctx):
    # the hand-worked answer is also what the oracle says
    assert oracle(SMALL) == (SMALL_CO, SMALL_POP, SMALL_META)
    with Lab(ctx, "counts", model=UNBOUND) as lab:
        # half as a JSON array, half as CSV
        r1 = lab.post_loans(json.dumps(json_events(SMALL[:5])), content_type="application/json")
        j1 = taken(r1)
        assert j1 == {"taken": 5, "new": 5, "repeats": 0, "duplicates": 0}, j1
        r2 = lab.post_loans(csv_text(SMALL[5:]), content_type="text/csv")
        j2 = taken(r2)
        assert j2 == {"taken": 6, "new": 5, "repeats": 1, "duplicates": 0}, j2
        lab.wait_co(SMALL_CO)
        assert lab.pop() == SMALL_POP, lab.pop()
        assert meta_ints(lab) == SMALL_META, lab.meta()
        # the same file through onloan load on an empty Redis: the same model
        with lab.redis() as r:
            r("FLUSHALL")
        path = lab.write("small.csv", csv_text(SMALL))
        _, out, _ = lab.cli("load", path)
        assert loaded(out) == {"events": 11, "new": 10, "repeats": 1, "duplicates": 0,
                               "patrons": 4}, out
        assert lab.all_co() == SMALL_CO, lab.all_co()
        assert lab.pop() == SMALL_POP and meta_ints(lab) == SMALL_META, (lab.pop(), lab.meta())


def test_fresh_lists_written_compacted(ctx):
    """A record that gets its first list in a flush with more neighbours
    than compaction keeps (neighbours_max + neighbours_reserve) is written
    already compacted (generation 1, the top counts, never marked for
    compaction); when co:<record> turns out to exist, its counts are
    appended in full instead and compaction merges them."""
    keep = 3
    model = dict(UNBOUND, neighbours_max=2, neighbours_reserve=1)
    shelves = {"card-1": "XABCD", "card-2": "XABC", "card-3": "XAB", "card-4": "XAE"}
    events = [(p, "rec-" + r, T0 + i * DAY) for p, recs in shelves.items() for i, r in enumerate(recs)]
    co, _, _ = oracle(events)
    assert co["rec-X"] == {"rec-A": 4, "rec-B": 3, "rec-C": 2, "rec-D": 1, "rec-E": 1}

    def check_top(lab, record, want_all, want_kept=None):
        with lab.redis() as r:
            raw = r("GET", lab.prefix + "co:" + record)
        got, lines = parse_co(raw)
        assert lines == len(got) == min(keep, len(want_all)), (record, raw)
        assert all(got[o] == want_all[o] for o in got), (record, got, want_all)
        dropped = [n for o, n in want_all.items() if o not in got]
        assert not dropped or min(got.values()) >= max(dropped), (record, got, want_all)
        if want_kept is not None:
            assert got == want_kept, (record, got)
        return raw

    with Lab(ctx, "fresh", model=model, daemon=False) as lab:
        lab.cli("load", lab.write("shelves.csv", csv_text(events)))
        raw = check_top(lab, "rec-X", co["rec-X"], {"rec-A": 4, "rec-B": 3, "rec-C": 2})
        assert raw == b"#1\nrec-A 4\nrec-B 3\nrec-C 2\n", raw
        for record, neighbours in co.items():
            check_top(lab, record, neighbours)
        with lab.redis() as r:
            assert r("SCARD", lab.prefix + "dirty") == 0

        # co:rec-X written by someone else first: nothing of it is lost
        with lab.redis() as r:
            r("FLUSHALL")
            r("SET", lab.prefix + "co:rec-X", "rec-Z 7\n")
        lab.cli("load", lab.write("shelves.csv", csv_text(events)))
        check_top(lab, "rec-X", dict(co["rec-X"], **{"rec-Z": 7}),
                  {"rec-Z": 7, "rec-A": 4, "rec-B": 3})
        for record, neighbours in co.items():
            if record != "rec-X":
                check_top(lab, record, neighbours)


def test_pending_requests_cap_before_any_work(ctx):
    """limits.max_pending_requests holds for POST /v1/loans and DELETE
    /v1/patrons too: past it a JSON 503 at once, the body not even read."""
    with Lab(ctx, "busy", limits={"max_pending_requests": 1}) as lab:
        first = {}
        lab.redis_proc.sigstop()            # the first request's job hangs
        try:
            t = threading.Thread(target=lambda: first.update(r=lab.post_loans(
                json.dumps({"patron": "p-busy", "record": "rec-B", "time": T0}))))
            t.start()
            wait_for(lambda: expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)
                     ["pending_requests"] == 1, 5, 0.02, "the first request in progress")
            j = expect_json(lab.post_loans("not even JSON"), 503)
            assert "too many requests" in j["error"], j
            j = expect_json(lab.forget("p-busy"), 503)
            assert "too many requests" in j["error"], j
        finally:
            lab.redis_proc.sigcont()
        t.join(10)
        assert first["r"].status in (202, 503), first["r"]


def test_problem_list_and_patron_path_limits(ctx):
    """A 400 lists at most 20 problems and says how many there were; the
    patron in DELETE /v1/patrons/<patron> is checked like any other; the
    new routes answer other methods with a 405 naming the method."""
    with Lab(ctx, "problems") as lab:
        before = lab.snapshot()
        bad = [{"patron": "", "record": "pr-%d" % i, "time": T0} for i in range(25)]
        j = expect_json(lab.post_loans(json.dumps(bad)), 400)
        assert j["field"] == "patron" and j["problems_total"] == 25, j
        assert [p["index"] for p in j["problems"]] == list(range(20)), j["problems"]
        for path in ("/v1/patrons/", "/v1/patrons/a/b", "/v1/patrons/" + "7" * 129, "/v1/patrons/a%00b"):
            r = harness.http_request(lab.port, "DELETE", path,
                                     headers={"Authorization": "Bearer " + FORGET_KEY})
            j = expect_json(r, 400)
            assert j["field"] == "patron", (path, j)
        j = expect_json(lab.forget("7" * 128), 200)       # at the limit: fine
        for method, path in (("GET", "/v1/loans"), ("GET", "/v1/patrons/p1"), ("POST", "/v1/patrons/p1")):
            j = expect_json(harness.http_request(lab.port, method, path), 405)
            assert j["field"] == "method", (method, path, j)
        lab.settled()
        assert lab.snapshot() == before


def test_model_of_another_layout_is_reported(ctx):
    """A co: key of another type (the first version kept sorted sets) is
    not read as "no neighbours": the answer says Redis failed, the log says
    why, and the catalogue part still answers."""
    x = ctx.picks["on_loan"]
    with Lab(ctx, "layout") as lab:
        with lab.redis() as r:
            r("ZADD", lab.prefix + "co:" + x, 5, "f1")
        j = expect_json(lab.alternatives(x), 200)
        assert "redis_unavailable" in j["degraded"] and j["status"] == "on_loan", j
        with open(lab.logs[0], errors="replace") as f:
            assert "unreadable (WRONGTYPE" in f.read()


def test_sigterm_writes_what_was_taken(ctx):
    """Loans answered 202 are in the model after a SIGTERM, even when the
    next flush was a minute away (ingest.h: a stopped daemon flushes)."""
    with Lab(ctx, "drain", model=dict(UNBOUND, flush_ms=60000)) as lab:
        j = taken(lab.post_loans(json.dumps(json_events(SMALL))))
        assert j == {"taken": 11, "new": 10, "repeats": 1, "duplicates": 0}, j
        assert lab.all_co() == {} and lab.pop() == {}, "flushed before the stop"
        rc = lab.daemon.stop(timeout=10)
        lab.daemon = None
        assert rc == 0, rc
        assert lab.all_co() == SMALL_CO, lab.all_co()
        assert lab.pop() == SMALL_POP, lab.pop()
        assert meta_ints(lab) == SMALL_META, lab.meta()


def _raw_post(port, body, key=INGEST_KEY):
    return ("POST /v1/loans HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (port, key, len(body))).encode() + body


def _read_reply(sock):
    """One HTTP/1.1 reply with a Content-Length: (status, json body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the reply's header: %r" % data
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the reply's body"
        body += chunk
    return int(head.split()[1]), json.loads(body[:length])


def test_concurrent_requests_gathered_and_answered_each(ctx):
    """Requests that arrive together are applied as one job (ingest.h), yet
    each gets the counts of its own events; a patron in several of them, an
    event id sent twice and a repeat across requests count as if the
    requests came one after the other."""
    n = 40
    bodies = []
    events = []
    for i in range(n):
        p = "card-%d" % (2000 + i % 20)             # each patron in two requests
        r = "rec-%s" % "ABCDE"[i % 5] if i < 20 else "rec-%s" % "FGHIJ"[i % 5]
        ev = {"patron": p, "record": r, "time": T0 + i * 60, "id": "ils-%d" % i}
        events.append((p, r, T0 + i * 60))
        bodies.append(json.dumps(ev).encode())
    # one more: a copy of event 3 (same id); one more: patron 2000 borrows
    # rec-A again later, under a new id (a repeat)
    bodies.append(bodies[3])
    bodies.append(json.dumps({"patron": "card-2000", "record": "rec-A", "time": T0 + 99 * 60,
                              "id": "ils-99"}).encode())
    co, pop, meta = oracle(events)
    with Lab(ctx, "gather", model=UNBOUND) as lab:
        replies, jobs = _post_together(lab, bodies)
        assert all(status == 202 for status, _ in replies), replies
        assert all(j["taken"] == 1 for _, j in replies), replies
        total = {k: sum(j[k] for _, j in replies) for k in ("new", "repeats", "duplicates")}
        assert total == {"new": n, "repeats": 1, "duplicates": 1}, (total, replies)
        # the copy of event 3 and event 3: one new, one duplicate, whichever
        pair = sorted((replies[3][1]["new"], replies[n][1]["duplicates"]))
        assert replies[3][1]["new"] + replies[n][1]["new"] == 1, (replies[3], replies[n])
        assert replies[3][1]["duplicates"] + replies[n][1]["duplicates"] == 1, pair
        assert replies[n + 1][1]["repeats"] == 1, replies[n + 1]
        assert jobs < len(bodies), "requests not gathered into jobs: %d jobs for %d" % (jobs, len(bodies))
        lab.wait_co(co)
        assert lab.pop() == pop, lab.pop()
        assert meta_ints(lab) == dict(meta, repeats=1, duplicates=1), lab.meta()

    # ingest.gather_max_events bounds a job: 12 one-event requests (12
    # patrons) read in one pass, at most 5 events a job. Each job reads
    # its patrons' histories in one MGET, so MONITOR shows every job's
    # size: none over 5, one of 5 (requests were gathered up to the
    # limit), 12 in all, and so at least ceil(12 / 5) = 3 jobs.
    limit, n = 5, 12
    with Lab(ctx, "gather-limit", ingest={"gather_max_events": limit}) as lab:
        bodies = [json.dumps({"patron": "card-%d" % i, "record": "rec-L", "time": T0 + i}).encode()
                  for i in range(n)]
        with _Monitor(lab) as mon:
            replies, jobs = _post_together(lab, bodies)
            hist = (lab.prefix + "h:").encode()
            sizes = [len(c) - 1 for c in mon.commands()
                     if c[0].upper() == b"MGET" and all(k.startswith(hist) for k in c[1:])]
        assert all(status == 202 and j["new"] == 1 for status, j in replies), replies
        assert sum(sizes) == n and len(sizes) == jobs, (sizes, jobs)
        assert max(sizes) <= limit, "a job of %d events (gather_max_events %d): %s" % (
            max(sizes), limit, sizes)
        assert max(sizes) == limit, "requests not gathered up to the limit: jobs of %s" % sizes
        assert jobs >= -(-n // limit), (jobs, sizes)
        lab.settled()
        assert lab.pop() == {"rec-L": n}, lab.pop()


class _Monitor:
    """Redis MONITOR on a connection of its own: the commands the daemon
    sends while it is open."""

    ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')

    def __init__(self, lab):
        self.r = lab.redis()
        assert self.r("MONITOR") == b"OK"

    def commands(self, wait=0.3):
        """The commands seen so far, reading for wait seconds more (the
        daemon's timers keep Redis busy, so it is never quiet):
        [[name, arg, ...], ...] as bytes (MONITOR's escapes left as they are)."""
        out = []
        deadline = time.monotonic() + wait
        while True:
            # +<time> [0 <client>] "CMD" "arg" ...
            line = self.r.read_line(deadline - time.monotonic())
            if line is None:
                return out
            out.append(self.ARG.findall(line))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.r.close()


def _post_together(lab, bodies):
    """POSTs bodies on connections of their own while the daemon is held
    still, so that it reads them in one pass; returns the replies and the
    number of jobs they made."""
    before = expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)["ingest"]
    socks = [socket.create_connection(("127.0.0.1", lab.port), timeout=10) for _ in bodies]
    try:
        os.kill(lab.daemon.p.pid, signal.SIGSTOP)
        try:
            for s, body in zip(socks, bodies):
                s.sendall(_raw_post(lab.port, body))
            time.sleep(0.2)
        finally:
            os.kill(lab.daemon.p.pid, signal.SIGCONT)
        replies = [_read_reply(s) for s in socks]
    finally:
        for s in socks:
            s.close()
    after = expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)["ingest"]
    assert after["requests"] - before["requests"] == len(bodies), (before, after)
    return replies, after["jobs"] - before["jobs"]


def _also_borrowed(lab, record):
    j = expect_json(lab.alternatives(record), 200)
    return {a["record"]: a for a in j["alternatives"] if a["reason"] == "also_borrowed"}, j


def test_k_threshold(ctx):
    """A pair shared by min_patrons - 1 patrons is never an also_borrowed
    alternative; with the k-th patron it is."""
    demo = ctx.cat.demo
    x = ctx.picks["on_loan"]
    y = next(r for r in ctx.popular_films
             if r != x and demo[r]["copies"] and all(c["status"] == "available"
                                                      for c in demo[r]["copies"]))
    k = 3
    with Lab(ctx, "k", privacy={"min_patrons": k}) as lab:
        # patrons who borrowed neither: without them x and y would be
        # borrowed by every patron, and no measure would see an association
        ev = [("kother-%d" % i, "k-elsewhere", T0) for i in range(5)]
        for i in range(k - 1):
            ev += [("kcard-%d" % i, x, T0 + i * DAY), ("kcard-%d" % i, y, T0 + i * DAY + 3600)]
        expect_json(lab.post_loans(json.dumps(json_events(ev))), 202)
        lab.wait_co({x: {y: k - 1}, y: {x: k - 1}})
        for _ in range(3):      # and not later either
            also, j = _also_borrowed(lab, x)
            assert y not in also, "pair of %d < %d patrons shown: %s" % (k - 1, k, j)
            assert j["degraded"] == [], j
        ev = [("kcard-last", x, T0 + 9 * DAY), ("kcard-last", y, T0 + 9 * DAY + 60)]
        expect_json(lab.post_loans(json.dumps(json_events(ev))), 202)
        lab.wait_co({x: {y: k}, y: {x: k}})
        deadline = time.monotonic() + 3
        while True:
            also, j = _also_borrowed(lab, x)
            if y in also or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert y in also, "pair of %d patrons not shown as also_borrowed: %s" % (k, j)
        assert also[y]["score"] > 0, also[y]


def test_history_cap_window_and_pairs_per_loan(ctx):
    """history_max 3, window_days 10, pairs_per_loan 2, on one patron:
        R1 day 0, R2 day 1, R3 day 2, R4 day 3, R5 day 30
    R2 pairs with R1; R3 with R2, R1; R4 with its 2 nearest, R3 and R2 (not
    R1: the cap); R5 with nothing (30 - 3 > 10 days: the window). The
    history keeps the newest 3 titles."""
    days = [0, 1, 2, 3, 30]
    ev = [("capped-77001", "cap-R%d" % (i + 1), T0 + d * DAY) for i, d in enumerate(days)]
    want = {
        "cap-R1": {"cap-R2": 1, "cap-R3": 1},
        "cap-R2": {"cap-R1": 1, "cap-R3": 1, "cap-R4": 1},
        "cap-R3": {"cap-R1": 1, "cap-R2": 1, "cap-R4": 1},
        "cap-R4": {"cap-R2": 1, "cap-R3": 1},
    }
    with Lab(ctx, "caps", model={"window_days": 10, "pairs_per_loan": 2},
             privacy={"history_max": 3}) as lab:
        # through onloan load: the same code path as live events
        _, out, _ = lab.cli("load", lab.write("caps.csv", csv_text(ev)))
        assert "5 new loans" in out, out
        assert lab.all_co() == want, lab.all_co()
        key = lab.prefix + "h:" + lab.pseudonym("capped-77001")
        with lab.redis() as r:
            hist = r("GET", key).decode()
            ttl = r("TTL", key)
        assert hist == "".join("%d cap-R%d\n" % (T0 + d * DAY, i + 1)
                               for i, d in list(reversed(list(enumerate(days))))[:3]), hist
        assert 0 < ttl <= lab.cfg["privacy"]["history_ttl_days"] * DAY, ttl
        # live: one more title 2 days after R5 pairs with R5 only (R4 is
        # out of the window) and pushes R3 out of the history
        j = taken(lab.post_loans(json.dumps(json_events([("capped-77001", "cap-R6", T0 + 32 * DAY)]))))
        assert j == {"taken": 1, "new": 1, "repeats": 0, "duplicates": 0}, j
        want["cap-R5"] = {"cap-R6": 1}
        want["cap-R6"] = {"cap-R5": 1}
        lab.wait_co(want)
        with lab.redis() as r:
            hist = r("GET", key).decode()
        assert [ln.split(" ")[1] for ln in hist.splitlines()] == ["cap-R6", "cap-R5", "cap-R4"], hist
        # stale: older than all the full history holds (R4, day 3): not
        # counted, no pair, the history as it was
        j = taken(lab.post_loans(json.dumps(json_events([("capped-77001", "cap-R7", T0 + 2 * DAY)]))),
                  stale=1)
        assert j == {"taken": 1, "new": 0, "repeats": 0, "duplicates": 0}, j
        lab.settled()
        assert int(lab.meta().get("stale", 0)) == 1, lab.meta()
        assert lab.all_co() == want, lab.all_co()
        with lab.redis() as r:
            assert r("GET", key).decode() == hist


def test_forget_patron(ctx):
    """DELETE /v1/patrons/<id> (forget role) and onloan forget remove h: and
    seen: of that patron, nothing of anybody else, and count one patron
    fewer."""
    ev = [("forget-me-1", "fg-A", T0, "ev-1"), ("forget-me-1", "fg-B", T0 + DAY, "ev-2"),
          ("forget-me-2", "fg-A", T0, "ev-3"), ("keep-me-3", "fg-B", T0, "ev-4")]
    with Lab(ctx, "forget") as lab:
        expect_json(lab.post_loans(csv_text(ev, with_id=True), content_type="text/csv"), 202)
        lab.settled()       # totals (meta) are written with the pair counts

        def theirs(patron):
            ps = lab.pseudonym(patron)
            with lab.redis() as r:
                return [k.decode() for k in r.keys() if ps.encode() in k]

        for p in ("forget-me-1", "forget-me-2", "keep-me-3"):
            ks = theirs(p)
            assert sorted(k.split(":")[1] for k in ks) == ["h", "seen"], (p, ks)
        assert meta_ints(lab)["patrons"] == 3
        # refused without the forget role, and without a key
        assert expect_json(lab.forget("forget-me-1", key=INGEST_KEY), 403)["field"] == "authorization"
        assert expect_json(lab.forget("forget-me-1", key=None), 401)["field"] == "authorization"
        assert theirs("forget-me-1")
        # HTTP
        assert expect_json(lab.forget("forget-me-1"), 200) == {"forgotten": True}
        assert theirs("forget-me-1") == [], theirs("forget-me-1")
        assert meta_ints(lab)["patrons"] == 2, lab.meta()
        # an unknown patron: nothing to remove, nothing to count
        expect_json(lab.forget("never-borrowed-9", key=BOTH_KEY), 200)
        assert meta_ints(lab)["patrons"] == 2, lab.meta()
        # the CLI
        _, out, _ = lab.cli("forget", "forget-me-2")
        assert lab.pseudonym("forget-me-2") in out and "forget-me-2" not in out, out
        assert theirs("forget-me-2") == []
        assert meta_ints(lab)["patrons"] == 1, lab.meta()
        assert sorted(k.split(":")[1] for k in theirs("keep-me-3")) == ["h", "seen"]
        # a forgotten patron who comes back is a new patron (and the old
        # event ids are no longer known)
        j = expect_json(lab.post_loans(csv_text(ev[:1], with_id=True), content_type="text/csv"), 202)
        assert j["new"] == 1 and j["duplicates"] == 0, j
        lab.settled()
        assert meta_ints(lab)["patrons"] == 2, lab.meta()


def test_no_raw_patron_id_in_redis_or_logs(ctx):
    """Raw card numbers, in patron ids and embedded in event ids, never
    reach Redis (SCAN + DUMP of every key) nor the daemon's or the CLI's
    output, whatever the path: JSON, CSV, onloan load, forget, stats,
    a bad event."""
    cards = ["2199000%06d" % i for i in range(1, 7)]
    live = [{"patron": cards[i % 3], "record": "priv-%d" % i, "time": T0 + i * 60,
             "id": "loan/%s/%d" % (cards[i % 3], i)} for i in range(9)]
    batch = [(cards[3 + i % 3], "priv-%d" % i, T0 + i * 60, "ils-%s-%d" % (cards[3 + i % 3], i))
             for i in range(9)]
    with Lab(ctx, "privacy", privacy={"min_patrons": 2}) as lab:
        expect_json(lab.post_loans(json.dumps(live)), 202)
        expect_json(lab.post_loans(csv_text([(e["patron"], e["record"], e["time"] + 1)
                                             for e in live]), content_type="text/csv"), 202)
        lab.cli("load", lab.write("priv.csv", csv_text(batch, with_id=True)))
        bad = [{"patron": cards[0], "record": "bad record!", "time": T0}]
        expect_json(lab.post_loans(json.dumps(bad)), 400)
        expect_json(lab.forget(cards[1]), 200)
        lab.cli("forget", cards[4])
        lab.cli("stats")
        lab.settled()
        expect_json(lab.alternatives(ctx.picks["on_loan"]), 200)
        found, nkeys, kinds = [], 0, set()
        with lab.redis() as r:
            for k in r.keys():
                nkeys += 1
                kinds.add(k[len(lab.prefix):].split(b":")[0])
                blob = k + (r("DUMP", k) or b"")
                found += [(c, k) for c in cards if c.encode() in blob]
        assert {b"h", b"seen", b"co", b"pop", b"meta"} <= kinds, kinds
        assert not found, "raw card numbers in Redis: %s" % found[:5]
        lab.close()
        for path in lab.logs:
            with open(path, errors="replace") as f:
                text = f.read()
            leaked = [c for c in cards if c in text]
            assert not leaked, "raw card numbers %s in %s" % (leaked, path)


def test_replay_is_idempotent(ctx):
    """The same file twice: nothing counted again, the second run reports
    every event as a duplicate. Without ids an event is the same when its
    patron, record and time are; with an id column, when its id is (then
    even with a corrected time)."""
    plain = SMALL[:-1]                       # no repeat in it
    co, pop, meta = oracle(plain)
    with Lab(ctx, "replay", model=UNBOUND) as lab:
        path = lab.write("plain.csv", csv_text(plain))
        lab.cli("load", path)
        assert lab.all_co() == co and lab.pop() == pop
        _, out, _ = lab.cli("load", path)
        assert loaded(out) == {"events": len(plain), "new": 0, "repeats": 0,
                               "duplicates": len(plain), "patrons": 0}, out
        assert lab.all_co() == co and lab.pop() == pop, (lab.all_co(), lab.pop())
        m = meta_ints(lab)
        assert m == dict(meta, duplicates=len(plain)), m
        # and live: the same body twice
        j = taken(lab.post_loans(csv_text(plain), content_type="text/csv"))
        assert j == {"taken": len(plain), "new": 0, "repeats": 0, "duplicates": len(plain)}, j
        lab.settled()
        assert lab.all_co() == co and lab.pop() == pop

    with_ids = [(p, r, t, "evt-%d" % i) for i, (p, r, t) in enumerate(plain)]
    moved = [(p, r, t + 3600, i) for p, r, t, i in with_ids]     # same ids, corrected times
    with Lab(ctx, "replay-ids", model=UNBOUND) as lab:
        path = lab.write("ids.csv", csv_text(with_ids, with_id=True))
        lab.cli("load", path)
        assert lab.all_co() == co and lab.pop() == pop
        _, out, _ = lab.cli("load", lab.write("moved.csv", csv_text(moved, with_id=True)))
        assert loaded(out) == {"events": len(plain), "new": 0, "repeats": 0,
                               "duplicates": len(plain), "patrons": 0}, out
        j = taken(lab.post_loans(csv_text(moved, with_id=True), content_type="text/csv"))
        assert j == {"taken": len(plain), "new": 0, "repeats": 0, "duplicates": len(plain)}, j
        # JSON with ids too
        body = [{"patron": p, "record": r, "time": t, "id": i} for p, r, t, i in with_ids]
        j = expect_json(lab.post_loans(json.dumps(body)), 202)
        assert j["duplicates"] == len(plain) and j["new"] == 0, j
        lab.settled()
        assert lab.all_co() == co and lab.pop() == pop
        assert meta_ints(lab)["loans"] == meta["loans"]
        # without the ids, the moved times are repeats, not duplicates
        j = taken(lab.post_loans(csv_text([e[:3] for e in moved]), content_type="text/csv"))
        assert j == {"taken": len(plain), "new": 0, "repeats": len(plain), "duplicates": 0}, j


def test_bad_events_rejected_whole_batch(ctx):
    good = {"patron": "bad-test-1", "record": "ok-1", "time": "2024-01-02T10:31:00Z"}
    cases = [
        ({"record": "ok-2", "time": T0}, "patron"),
        ({"patron": "p", "time": T0}, "record"),
        ({"patron": "p", "record": "ok-2"}, "time"),
        ({"patron": "p", "record": "has space", "time": T0}, "record"),
        ({"patron": "p", "record": "ok-2", "time": "yesterday"}, "time"),
        ({"patron": "p", "record": "ok-2", "time": int(time.time()) + 3 * DAY}, "time"),
        ({"patron": "p", "record": "ok-2", "time": T0, "branch": "no such branch!"}, "branch"),
        ({"patron": "", "record": "ok-2", "time": T0}, "patron"),
        ({"patron": "p" * 129, "record": "ok-2", "time": T0}, "patron"),
        ({"patron": "p", "record": "ok-2", "time": T0, "colour": "red"}, "event"),
        ({"patron": ["p"], "record": "ok-2", "time": T0}, "patron"),
        ("not an object", "event"),
    ]
    with Lab(ctx, "bad") as lab:
        expect_json(lab.post_loans(json.dumps([good])), 202)
        lab.settled()
        before = lab.snapshot()
        bad = []
        for ev, field in cases:
            body = json.dumps([good, dict(good, record="ok-3"), ev])
            r = lab.post_loans(body)
            j = r.json or {}
            if r.status != 400 or j.get("field") != field or j.get("index") != 2:
                bad.append("%r -> want 400 field %s index 2, got %r" % (ev, field, r))
        # CSV: the line and the index of the bad event
        r = lab.post_loans("patron,record,time\nc1,ok-5,%d\nc1,bad record,%d\n" % (T0, T0),
                           content_type="text/csv")
        j = expect_json(r, 400)
        if j.get("field") != "record" or j.get("index") != 1 or j["problems"][0].get("line") != 3:
            bad.append("CSV bad record: %r" % j)
        r = lab.post_loans("patron,record\nc1,ok-5\n", content_type="text/csv")
        if r.status != 400 or (r.json or {}).get("field") != "header":
            bad.append("CSV without time: %r" % r)
        r = lab.post_loans("{not json", content_type="application/json")
        if r.status != 400 or (r.json or {}).get("field") != "body":
            bad.append("malformed JSON: %r" % r)
        r = lab.post_loans("[]")
        if r.status != 400 or (r.json or {}).get("field") != "events":
            bad.append("empty array: %r" % r)
        r = lab.post_loans("<loans/>", content_type="application/xml")
        if r.status != 415:
            bad.append("XML: %r" % r)
        assert not bad, "\n  ".join(bad)
        lab.settled()
        assert lab.snapshot() == before, "a rejected batch changed Redis"


def test_ingest_key_required(ctx):
    ev = json.dumps([{"patron": "auth-1", "record": "au-1", "time": T0}])
    with Lab(ctx, "auth") as lab:
        before = lab.snapshot()
        cases = [
            (None, {}, 401),
            ("Bearer", {"Authorization": "Bearer "}, 401),
            ("Basic", {"Authorization": "Basic " + INGEST_KEY}, 401),
            ("unknown", {"Authorization": "Bearer " + INGEST_KEY[:-1] + "X"}, 401),
            ("prefix", {"Authorization": "Bearer " + INGEST_KEY[:-1]}, 401),
            ("longer", {"Authorization": "Bearer " + INGEST_KEY + "0"}, 401),
            ("no ingest role", {"Authorization": "Bearer " + FORGET_KEY}, 403),
        ]
        bad = []
        import harness
        for name, headers, code in cases:
            headers = dict(headers, **{"Content-Type": "application/json"})
            r = harness.http_request(lab.port, "POST", "/v1/loans", body=ev.encode(), headers=headers)
            if r.status != code or (r.json or {}).get("field") != "authorization":
                bad.append("%s: want %d, got %r" % (name, code, r))
            elif code == 401 and "Bearer" not in r.headers.get("WWW-Authenticate", ""):
                bad.append("%s: 401 without WWW-Authenticate: %r" % (name, r.headers))
        assert not bad, "\n  ".join(bad)
        assert lab.snapshot() == before, "a refused request changed Redis"
        for key in (INGEST_KEY, BOTH_KEY):
            j = expect_json(lab.post_loans(ev.replace("auth-1", "auth-" + key[:4]), key=key), 202)
            assert j["new"] == 1, j


def test_batch_and_body_limits(ctx):
    with Lab(ctx, "limits", ingest={"max_events_per_request": 3, "max_body_bytes": 600}) as lab:
        ev = [{"patron": "lim-%d" % i, "record": "li-%d" % i, "time": T0} for i in range(4)]
        j = expect_json(lab.post_loans(json.dumps(ev[:3])), 202)
        assert j["taken"] == 3, j
        lab.settled()       # counts and totals follow the 202 within flush_ms
        before = lab.snapshot()
        j = expect_json(lab.post_loans(json.dumps(ev)), 400)
        assert j["field"] == "events", j
        j = expect_json(lab.post_loans(csv_text([(e["patron"], e["record"], e["time"]) for e in ev]),
                                       content_type="text/csv"), 400)
        assert j["field"] == "events", j
        # body: 600 bytes are read, 601 are not
        one = json.dumps([ev[0]])
        at = one[:-1] + " " * (600 - len(one)) + "]"
        assert len(at) == 600
        expect_json(lab.post_loans(at), 202)
        j = expect_json(lab.post_loans(at[:-1] + " ]"), 413)
        assert j["field"] == "body", j
        lab.settled()
        after = lab.snapshot()
        # the 600-byte body was a replay of a loan already taken: meta's
        # duplicates moved, nothing else did
        changed = [k for k in set(before) | set(after) if before.get(k) != after.get(k)]
        assert changed == [(lab.prefix + "meta").encode()], changed
        assert meta_ints(lab)["duplicates"] == 1


def test_body_formats(ctx):
    """JSON object, JSON array, CSV, JSON lines and MovieLens ratings (record
    = movielens_record_prefix + movieId) all arrive; onloan load takes the
    MovieLens format too."""
    with Lab(ctx, "formats") as lab:
        expect_json(lab.post_loans(json.dumps({"patron": "fmt-1", "record": "fm-obj", "time": T0,
                                               "branch": "CEN"})), 202)
        nd = "\n".join(json.dumps({"patron": "fmt-2", "record": "fm-nd%d" % i,
                                   "time": "2024-01-0%dT10:00:00Z" % (i + 1)}) for i in range(3))
        j = expect_json(lab.post_loans(nd + "\n", content_type="application/x-ndjson"), 202)
        assert j["new"] == 3, j
        j = expect_json(lab.post_loans("patron,record,date,branch\nfmt-3,fm-csv,2024-01-05,NRD\n",
                                       content_type="text/csv; charset=utf-8"), 202)
        assert j["new"] == 1, j
        ml = "userId,movieId,rating,timestamp\n7,356,4.0,%d\n7,377,3.5,%d\n8,356,5.0,%d\n" % (
            T0, T0 + 60, T0 + 120)
        j = taken(lab.post_loans(ml, content_type="text/csv"))
        assert j == {"taken": 3, "new": 3, "repeats": 0, "duplicates": 0}, j
        # a CSV of only its header: nothing taken, nothing written
        j = taken(lab.post_loans("patron,record,time\n", content_type="text/csv"))
        assert j == {"taken": 0, "new": 0, "repeats": 0, "duplicates": 0}, j
        _, out, _ = lab.cli("load", lab.write("ratings.csv",
                                              "userId,movieId,rating,timestamp\n9,377,1.0,%d\n" % T0))
        assert "1 new loans" in out, out
        lab.settled()
        pop = lab.pop()
        want = {"fm-obj": 1, "fm-nd0": 1, "fm-nd1": 1, "fm-nd2": 1, "fm-csv": 1, "f356": 2, "f377": 2}
        assert pop == want, pop
        assert lab.all_co().get("f356") == {"f377": 1}, lab.all_co()
        assert meta_ints(lab)["patrons"] == 6


def test_redis_down_503(ctx):
    ev = [{"patron": "down-%d" % i, "record": "dn-%d" % i, "time": T0} for i in range(3)]
    with Lab(ctx, "down") as lab:
        expect_json(lab.post_loans(json.dumps(ev[:1])), 202)
        lab.settled()
        with lab.redis() as r:
            r("SAVE")
        before = lab.snapshot()
        # hung: the operation times out
        lab.redis_proc.sigstop()
        try:
            r = lab.post_loans(json.dumps(ev[1:]))
            j = expect_json(r, 503)
            assert j.get("error") and j.get("reason") in ("redis_timeout", "redis_unavailable"), j
        finally:
            lab.redis_proc.sigcont()
        lab.settled()
        assert lab.snapshot() == before, "a 503 batch was (half) applied"
        # gone: stopped, then back with its data
        lab.redis_proc.stop()
        r = lab.post_loans(json.dumps(ev[1:]))
        j = expect_json(r, 503)
        assert j.get("error") and j.get("reason") in ("redis_timeout", "redis_unavailable"), j
        lab.start_redis()
        assert lab.snapshot() == before, "a 503 batch was (half) applied"
        deadline = time.monotonic() + 5
        while True:
            r = lab.post_loans(json.dumps(ev[1:]))
            if r.status == 202 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        j = expect_json(r, 202)
        assert j["new"] == 2, j
        lab.settled()
        assert lab.pop() == {"dn-0": 1, "dn-1": 1, "dn-2": 1}, lab.pop()


def test_write_unconfirmed_503(ctx):
    """A job whose write Redis takes longer than redis.timeout_ms to
    confirm is answered 503 "write_unconfirmed" (it may yet be applied) at
    the deadline, not when Redis answers; the daemon waits for the write,
    which does land, and the events sent again are duplicates. Redis is
    made to hold writes, and only writes, with CLIENT PAUSE WRITE from a
    connection of the test's: the job's history read goes through, its
    MULTI/EXEC waits."""
    timeout_ms, pause_ms = 200, 1500
    ev = [{"patron": "unsure-%d" % i, "record": "un-%d" % i, "time": T0 + i, "id": "ils-un-%d" % i}
          for i in range(2)]
    with Lab(ctx, "unconfirmed", redis={"timeout_ms": timeout_ms}) as lab:
        with lab.redis() as r:
            t0 = time.monotonic()
            assert r("CLIENT", "PAUSE", pause_ms, "WRITE") == b"OK"
            resp = lab.post_loans(json.dumps(ev))
            answered = time.monotonic() - t0
        j = expect_json(resp, 503)
        assert j.get("reason") == "write_unconfirmed", j
        assert "did not confirm in time" in j["error"] and j.get("field") is None, j
        # at the deadline, not when the pause let the write through
        # libevent starts the deadline from the loop's cached clock, which can
        # be a few ms older than the write: 10 % slack below, none above.
        assert 0.9 * timeout_ms / 1000.0 <= answered < pause_ms / 1000.0, answered
        # the write lands once Redis goes on: the events are counted...
        lab.settled(timeout=pause_ms / 1000.0 + 5)
        assert lab.pop() == {"un-0": 1, "un-1": 1}, lab.pop()
        assert meta_ints(lab)["loans"] == 2, lab.meta()
        # ...and sent again they are duplicates
        j = taken(lab.post_loans(json.dumps(ev)))
        assert j == {"taken": 2, "new": 0, "repeats": 0, "duplicates": 2}, j


def test_failed_compaction_puts_its_records_back(ctx):
    """A compaction round takes its records out of dirty (SPOP); when the
    round fails they go back in (compact.c), or their lists would stay long
    until those records happened to be counted again. A record's first
    list is written compacted (SET NX), so the lists to compact here are
    those a later loan appended to. Each swap then fails inside its
    script: onloand's user (deploy/redis/onloan.conf's) may SET only histories (ACL: no SET but
    through a selector for h:* keys), so the swap's SET of a co: list is
    refused. The daemon's rounds fail; stopped, it leaves both records in
    dirty, their counts all there; with SET allowed again they are
    compacted."""
    more = [("card-1005", "rec-A", T0 + 7 * DAY), ("card-1005", "rec-B", T0 + 8 * DAY)]
    want = copy.deepcopy(SMALL_CO)
    want["rec-A"]["rec-B"] += 1
    want["rec-B"]["rec-A"] += 1
    with Lab(ctx, "readd", model=UNBOUND) as lab:
        taken(lab.post_loans(json.dumps(json_events(SMALL))))
        lab.wait_co(SMALL_CO)
        with lab.redis() as r:
            gens = {k: r("GET", k).split(b"\n", 1)[0] for k in r.keys(lab.prefix + "co:*")}
        assert set(gens.values()) == {b"#1"}, gens       # written compacted, never compacted
        with lab.redis() as r:
            assert r("ACL", "SETUSER", "onloan", "-set", "(+set ~%sh:*)" % lab.prefix) == b"OK"
        try:
            taken(lab.post_loans(json.dumps(json_events(more))))

            def failed_twice():
                comp = harness.http_request(lab.port, "GET", "/healthz", timeout=2).json["compaction"]
                return comp["failures"] >= 2
            wait_for(failed_twice, 5, 0.02, "two failed compaction rounds")
            lab.stop_daemon()           # lets the round in flight and its re-add finish
            with lab.redis() as r:
                dirty = sorted(r("SMEMBERS", lab.prefix + "dirty"))
        finally:
            with lab.redis() as r:
                assert r("ACL", "SETUSER", "onloan", "+set", "clearselectors") == b"OK"
        assert dirty == [b"rec-A", b"rec-B"], dirty
        assert lab.all_co() == want, lab.all_co()
        lab.start_daemon()
        lab.wait_co(want)
        with lab.redis() as r:
            assert r("SCARD", lab.prefix + "dirty") == 0
            gens = {k.decode()[len(lab.prefix) + 3:]: r("GET", k).split(b"\n", 1)[0]
                    for k in r.keys(lab.prefix + "co:*")}
        assert gens == {"rec-A": b"#2", "rec-B": b"#2", "rec-C": b"#1", "rec-D": b"#1"}, gens


def test_seen_ids_capped(ctx):
    """seen:<pseudonym> keeps the newest 4 x history_max event ids, no
    more; an id still kept is a duplicate."""
    ev = [("seen-cap", "sc-%02d" % i, T0 + DAY * i, "sc-ev-%02d" % i) for i in range(20)]
    with Lab(ctx, "seencap", privacy={"history_max": 3}) as lab:
        j = expect_json(lab.post_loans(csv_text(ev, with_id=True), content_type="text/csv"), 202)
        assert j["new"] == 20, j
        lab.settled()
        with lab.redis() as r:
            ids = r("ZCARD", lab.prefix + "seen:" + lab.pseudonym("seen-cap"))
            hist = r("GET", lab.prefix + "h:" + lab.pseudonym("seen-cap")).decode().splitlines()
        assert ids == 12, ids
        assert len(hist) == 3, hist
        # the newest ids are the ones kept: sent again, the newest is a duplicate
        j = expect_json(lab.post_loans(csv_text(ev[-1:], with_id=True), content_type="text/csv"), 202)
        assert j["duplicates"] == 1 and j["new"] == 0, j


def test_flush_max_pairs(ctx):
    """model.flush_max_pairs: that many pair counts waiting are written at
    once, without waiting for flush_ms; fewer wait for it."""
    with Lab(ctx, "flushmax", model={"flush_ms": 60000, "flush_max_pairs": 4}) as lab:
        few = [("fm-1", "fm-A", T0), ("fm-1", "fm-B", T0 + DAY)]                 # 1 pair
        expect_json(lab.post_loans(csv_text(few), content_type="text/csv"), 202)
        ingest = lambda: expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)["ingest"]
        assert ingest()["pending_pairs"] == 1, ingest()     # taken, waiting for flush_ms
        assert lab.all_co() == {}, lab.all_co()
        many = [("fm-2", "fm-%s" % x, T0 + DAY * i) for i, x in enumerate("CDEF")]  # 6 pairs
        expect_json(lab.post_loans(csv_text(many), content_type="text/csv"), 202)
        want = {"fm-A": {"fm-B": 1}, "fm-B": {"fm-A": 1}}     # it goes with them
        for x in "CDEF":
            want["fm-" + x] = {"fm-" + y: 1 for y in "CDEF" if y != x}
        deadline = time.monotonic() + 5     # far below flush_ms (60 s)
        while lab.all_co() != want and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lab.all_co() == want, lab.all_co()


def test_slow_redis_counts_once(ctx):
    """Pair and record counts written while Redis hangs past
    redis.timeout_ms are waited for, not sent again (a command that took
    too long still runs once Redis goes on): afterwards every count is
    there exactly once."""
    ev = [("slow-%d" % i, rec, T0 + DAY * k) for i in range(3)
          for k, rec in enumerate(("sl-A", "sl-B"))]
    with Lab(ctx, "slow", model={"flush_ms": 300}) as lab:
        timeout_s = lab.cfg["redis"].get("timeout_ms", 500) / 1000.0
        ingest = lambda: expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)["ingest"]
        expect_json(lab.post_loans(csv_text(ev), content_type="text/csv"), 202)
        lab.redis_proc.sigstop()        # before the flush (300 ms) sends the counts
        try:
            if ingest()["pending_pairs"] == 0:
                raise Skip("the counts were written before Redis could be stopped")
            time.sleep(0.3 + 3 * timeout_s)
        finally:
            lab.redis_proc.sigcont()
        lab.wait_co({"sl-A": {"sl-B": 3}, "sl-B": {"sl-A": 3}})
        assert ingest()["flush_waits"] >= 1, "the flush never waited on Redis: %r" % ingest()
        assert lab.pop() == {"sl-A": 3, "sl-B": 3}, lab.pop()
        assert meta_ints(lab)["loans"] == 6, lab.meta()


def _stats(out):
    d = {}
    for line in out.splitlines():
        k, sep, v = line.partition(":")
        if sep and re.match(r"^[a-z_]+$", k):
            d[k] = v.strip().split(" ")[0]
    return d


def _redis_reads(lab):
    """Read events Redis has processed (INFO stats), this INFO's included."""
    with lab.redis() as r:
        info = r("INFO", "stats").decode()
    return int(re.search(r"^total_reads_processed:(\d+)", info, re.M).group(1))


def test_stats_consistent_with_redis(ctx):
    with Lab(ctx, "stats", model=UNBOUND, daemon=False) as lab:
        lab.cli("load", lab.write("small.csv", csv_text(SMALL)))
        before = _redis_reads(lab)
        _, out, _ = lab.cli("stats")
        used = _redis_reads(lab) - before - 1
        s = _stats(out)
        with lab.redis() as r:
            keys = r.keys(lab.prefix + "co:*")
            entries = sum(len(parse_co(r("GET", k))[0]) for k in keys)
            mem = sum(r("MEMORY", "USAGE", k, "SAMPLES", 0) for k in keys)
            hist = r.keys(lab.prefix + "h:*")
        assert entries == sum(len(v) for v in SMALL_CO.values()) == 12
        assert int(s["kept_pairs"]) == entries, out
        assert int(s["cooccurrence_lists"]) == len(keys) == 4, out
        assert int(s["lists_bytes"]) == mem, (out, mem)
        assert abs(float(s["bytes_per_kept_pair"]) - mem / entries) < 0.051, (out, mem, entries)
        assert int(s["records_with_loans"]) == 4 and int(s["patrons"]) == 4, out
        assert int(s["loans_counted"]) == 10 and int(s["histories"]) == len(hist) == 4, out
        # pairs of >= min_patrons (3): none in this history
        assert int(s["usable_pairs"]) == 0 and int(s["waiting_for_compaction"]) == 0, out
        # the commands for a SCAN page's keys go in one pipeline, not a
        # round trip or two per key (12 commands for these 8 keys)
        assert used < len(keys) + len(hist), "stats took %d reads of Redis for %d keys" % (
            used, len(keys) + len(hist))

        # A fifth patron borrows A, B and C, then A again (a repeat: one
        # patron counts once per pair). A-B and B-C reach 3 = min_patrons
        # distinct patrons, A-C only 2: usable are A->B, B->A, B->C and
        # C->B, each pair in both its records' lists.
        more = [("card-1005", "rec-A", T0 + 1 * DAY), ("card-1005", "rec-B", T0 + 2 * DAY),
                ("card-1005", "rec-C", T0 + 3 * DAY), ("card-1005", "rec-A", T0 + 7 * DAY)]
        lab.cli("load", lab.write("fifth.csv", csv_text(more)))
        want = {"rec-A": {"rec-B": 3, "rec-C": 2, "rec-D": 1},
                "rec-B": {"rec-A": 3, "rec-C": 3, "rec-D": 1},
                "rec-C": {"rec-A": 2, "rec-B": 3, "rec-D": 1},
                "rec-D": {"rec-A": 1, "rec-B": 1, "rec-C": 1}}
        assert lab.all_co() == want, lab.all_co()
        _, out, _ = lab.cli("stats")
        s = _stats(out)
        k = lab.cfg["privacy"]["min_patrons"]
        assert k == 3, k
        assert sum(n >= k for counts in want.values() for n in counts.values()) == 4
        assert int(s["usable_pairs"]) == 4, out
        assert int(s["kept_pairs"]) == 12 and int(s["patrons"]) == 5, out
        assert int(s["loans_counted"]) == 13 and int(s["waiting_for_compaction"]) == 0, out


# Toy ratings for onloan eval. Six test users (5 or 6 loans each): users 1-4
# borrow three films of their own, then A (the query), then B (hidden);
# users 5-6 three of their own, then R, then A (the query), then C (hidden).
# Four other users borrowed A then B, three R then C, eight Z only.
# Training: A 10 borrowers, Z 8, R 5, B 4, C 3; pairs of >= min_patrons (3):
# A-B (4) and R-C (3); A-R (2, users 5-6) is below.
#   Each measure alone: B first (A's one neighbour), then popularity fills
#   up (Z, R, C, less what the user borrowed): users 1-4 find B at 1, users
#   5-6 C at 3 (B, Z, C): hit@10 6/6, MRR@10 (4 + 2/3) / 6 = 0.778.
#   + history: users 5-6 blend in R (their newest title but the query,
#   weight 1/2), whose neighbour C comes second (B, C, Z): MRR@10
#   (4 + 2/2) / 6 = 0.833. Users 1-4's own films have no neighbour of 3.
#   Popularity alone (Z, R, B, C less what was borrowed): B at 3 for users
#   1-4, C at 3 for users 5-6: MRR@10 1/3.
#   Coverage {B, C, R, Z} of 23 training titles (18 own + A, B, C, R, Z).
def _toy_ratings():
    rows, t = [], T0
    for u in range(1, 7):
        for m in range(3):
            rows.append((u, 1000 + 10 * u + m, t)); t += 60
        if u >= 5:
            rows.append((u, 50, t)); t += 60
        rows.append((u, 1, t)); t += 60
        rows.append((u, 2 if u <= 4 else 3, t)); t += 60
    for u in range(11, 15):
        rows.append((u, 1, t)); t += 60
        rows.append((u, 2, t)); t += 60
    for u in range(31, 34):
        rows.append((u, 50, t)); t += 60
        rows.append((u, 3, t)); t += 60
    for u in range(21, 29):
        rows.append((u, 26, t)); t += 60
    return "userId,movieId,rating,timestamp\n" + "".join(
        "%d,%d,4.0,%d\n" % r for r in rows), len(rows)


def test_eval_on_toy_ratings(ctx):
    text, nrows = _toy_ratings()
    want = {"popularity": (1.0, 0.333)}
    for name in ("raw", "cosine", "jaccard", "llr"):
        want[name] = (1.0, 0.778)
        want[name + " + history"] = (1.0, 0.833)
    with Lab(ctx, "eval", daemon=False) as lab:
        assert lab.cfg["model"].get("history_titles", 5) >= 1, lab.cfg["model"]
        path = lab.write("toy-ratings.csv", text)
        for extra in (["--redis", "127.0.0.1:%d" % lab.redis_port], []):
            _, out, _ = lab.cli("eval", *(extra + [path]))
            assert ("%d loans, 6 test patrons (>= 5 titles), 23 titles in training" % nrows) in out, out
            rows = {}
            for line in out.splitlines():
                m = re.match(r"^(\w+(?: \+ history)?)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+(\d+)", line)
                if m:
                    rows[m.group(1)] = tuple(m.group(i) for i in range(2, 6))
            assert sorted(rows) == sorted(want), (sorted(rows), out)
            for label, (hit, mrr) in want.items():
                got = rows[label]
                assert (float(got[0]), float(got[1]), float(got[2]), int(got[3])) == \
                    (hit, mrr, 0.174, 6), "%s: got %s, want hit %s MRR %s coverage 0.174 " \
                    "users 6:\n%s" % (label, got, hit, mrr, out)
            # the patron's history is used: each "+ history" row differs
            for name in ("raw", "cosine", "jaccard", "llr"):
                assert rows[name + " + history"][1] != rows[name][1], (name, out)
            assert re.search(r"^llr .*\(default\)$", out, re.M), out
            with lab.redis() as r:
                left = r.keys()
            assert left == [], "eval left keys behind in the Redis it was given: %s" % left[:5]


def test_cli_reports_bad_files(ctx):
    """onloan load and eval read files the same way (batch_read_events):
    every file checked, each problem as file:line: field: message (load
    at most 20 a file, eval 5, then how many more), a missing file named,
    and nothing loaded if anything is wrong."""
    good = csv_text(SMALL[:3])
    bad = "patron,record,time\n" + "".join("p%d,bad record %d,%d\n" % (i, i, T0) for i in range(25))
    with Lab(ctx, "badfiles", daemon=False) as lab:
        good_path, bad_path = lab.write("good.csv", good), lab.write("bad.csv", bad)
        missing = os.path.join(lab.stack.tmp, "no-such-file.csv")
        rc, out, err = lab.cli("load", good_path, bad_path, missing, check=False)
        assert rc == 1, (rc, out, err)
        lines = err.splitlines()
        shown = [ln for ln in lines if ln.startswith(bad_path + ":")]
        assert shown[:20] == ["%s:%d: record: must be a record id of A-Z a-z 0-9 . _ : -"
                              % (bad_path, i + 2) for i in range(20)], err
        assert shown[20:] == [bad_path + ": 5 more problems not shown"], err
        assert missing + ": No such file or directory" in lines, err
        assert not any(ln.startswith(good_path) for ln in lines), err
        assert lines[-1] == "nothing loaded", err
        with lab.redis() as r:
            assert r.keys() == [], "a load with a bad file wrote to Redis"
        rc, out, err = lab.cli("eval", "--redis", "127.0.0.1:%d" % lab.redis_port, bad_path,
                               check=False)
        assert rc == 1, (rc, out, err)
        assert err.splitlines() == ["%s:%d: record: must be a record id of A-Z a-z 0-9 . _ : -"
                                    % (bad_path, i + 2) for i in range(5)] + \
            [bad_path + ": 20 more problems not shown"], err
        rc, out, err = lab.cli("eval", missing, check=False)
        assert rc == 1 and err.strip() == missing + ": No such file or directory", (rc, err)


def test_eval_says_why_its_redis_did_not_start(ctx):
    """onloan eval without --redis starts a redis-server of its own: when
    that cannot run, or exits at once, eval says so (the cause, the exit
    status, the last lines it wrote) and exits 1, leaving nothing behind."""
    text, _ = _toy_ratings()
    real = shutil.which("redis-server")
    with Lab(ctx, "evalredis", daemon=False) as lab:
        path = lab.write("toy-ratings.csv", text)
        empty = os.path.join(lab.stack.tmp, "evalredis-empty-bin")
        tmp = os.path.join(lab.stack.tmp, "evalredis-tmp")      # where its directory goes
        os.makedirs(empty, exist_ok=True)
        os.makedirs(tmp, exist_ok=True)
        rc, out, err = lab.cli("eval", path, check=False, env={"PATH": empty, "TMPDIR": tmp})
        assert rc == 1, (rc, out, err)
        assert "redis-server: cannot run redis-server: No such file or directory" in err, err
        assert "--redis IP:PORT" in err, err
        # a redis-server that refuses its configuration (the real one, one
        # option too many) and exits
        bad = os.path.join(lab.stack.tmp, "evalredis-bad-bin")
        os.makedirs(bad, exist_ok=True)
        with open(os.path.join(bad, "redis-server"), "w") as f:
            f.write('#!/bin/sh\nexec %s "$@" --maxmemory-policy no-such-policy\n' % real)
        os.chmod(os.path.join(bad, "redis-server"), 0o755)
        rc, out, err = lab.cli("eval", path, check=False,
                               env={"PATH": bad + os.pathsep + os.environ["PATH"], "TMPDIR": tmp})
        assert rc == 1, (rc, out, err)
        assert "redis-server exited with status 1 before it took connections" in err, err
        assert "FATAL CONFIG FILE ERROR" in err and "no-such-policy" in err, err
        assert os.listdir(tmp) == [], "eval left %s behind" % os.listdir(tmp)
        # and with the real one it runs, and cleans up after itself too
        rc, out, err = lab.cli("eval", path, env={"TMPDIR": tmp})
        assert "6 test patrons" in out and os.listdir(tmp) == [], (out, err, os.listdir(tmp))


def test_eval_uses_only_its_own_redis(ctx):
    """eval takes its redis-server to be up only once the Redis on its
    port gives the child's pid as process_id: a server that took the port
    first is not used (here a wrapper starts the real redis-server
    daemonized, another pid, on the port, says "Address already in use"
    as ours would and exits a moment later). And eval removes whatever its
    Redis wrote in its directory, not only the log and dump.rdb (here a
    wrapper adds a file there)."""
    text, _ = _toy_ratings()
    real = shutil.which("redis-server")
    with Lab(ctx, "evalown", daemon=False) as lab:
        path = lab.write("toy-ratings.csv", text)
        tmp = os.path.join(lab.stack.tmp, "evalown-tmp")
        pidfile = os.path.join(lab.stack.tmp, "evalown-foreign.pid")
        os.makedirs(tmp, exist_ok=True)
        taken = os.path.join(lab.stack.tmp, "evalown-taken-bin")
        os.makedirs(taken, exist_ok=True)
        with open(os.path.join(taken, "redis-server"), "w") as f:
            f.write('#!/bin/sh\n%s "$@" --daemonize yes --pidfile %s --dir %s >/dev/null\n'
                    'echo "bind: Address already in use" >&2\nsleep 1\nexit 1\n'
                    % (real, pidfile, lab.stack.tmp))
        os.chmod(os.path.join(taken, "redis-server"), 0o755)
        try:
            rc, out, err = lab.cli("eval", path, check=False,
                                   env={"PATH": taken + os.pathsep + os.environ["PATH"],
                                        "TMPDIR": tmp})
        finally:
            wait_for(lambda: os.path.exists(pidfile), timeout=5)
            with open(pidfile) as f:
                os.kill(int(f.read()), signal.SIGTERM)
        assert rc == 1 and "6 test patrons" not in out, (rc, out, err)
        assert "redis-server exited with status 1 before it took connections" in err, err
        assert "Address already in use" in err, err
        assert os.listdir(tmp) == [], "eval left %s behind" % os.listdir(tmp)
        # a Redis of its own that leaves more than the log in its directory
        extra = os.path.join(lab.stack.tmp, "evalown-extra-bin")
        os.makedirs(extra, exist_ok=True)
        with open(os.path.join(extra, "redis-server"), "w") as f:
            f.write('#!/bin/sh\nfor a in "$@"; do [ "$prev" = --dir ] && touch "$a/temp-1.rdb"; '
                    'prev=$a; done\nexec %s "$@"\n' % real)
        os.chmod(os.path.join(extra, "redis-server"), 0o755)
        rc, out, err = lab.cli("eval", path, env={"PATH": extra + os.pathsep + os.environ["PATH"],
                                                  "TMPDIR": tmp})
        assert "6 test patrons" in out and os.listdir(tmp) == [], (out, err, os.listdir(tmp))


def test_eval_reads_histories_pipelined(ctx):
    """eval reads the test patrons' histories (and neighbours) without a
    round trip each: Redis sees far fewer reads than there are test
    patrons (one GET after another took at least one each)."""
    rows, t = [], T0
    for u in range(1, 401):
        for m in range(6):
            rows.append("%d,%d,4.0,%d\n" % (u, (u * 7 + m * 13) % 40 + 1, t))
            t += 60
    with Lab(ctx, "evalpipe", daemon=False) as lab:
        path = lab.write("many.csv", "userId,movieId,rating,timestamp\n" + "".join(rows))

        before = _redis_reads(lab)
        _, out, _ = lab.cli("eval", "--redis", "127.0.0.1:%d" % lab.redis_port, path)
        used = _redis_reads(lab) - before - 1          # less the INFO of before
        assert "400 test patrons" in out, out
        assert used < 100, "eval took %d reads of Redis for 400 test patrons" % used


@contextlib.contextmanager
def _proxied_daemon(ctx, lab, delay):
    """The lab's onloand, its Redis behind a harness.DelayProxy that holds
    each answer `delay` seconds; on leaving, stopped (exit 0) while the
    proxy, at full speed again, still carries its Redis."""
    proxy = harness.DelayProxy(lab.redis_port, delay)
    try:
        cfg = json.loads(json.dumps(lab.cfg))
        cfg["redis"].update({"address": "127.0.0.1:%d" % proxy.port, "timeout_ms": 10000})
        path = ctx.stack.write_config(cfg, "lab-%s-proxied.json" % lab.name)
        lab.daemon = ctx.stack.spawn_onloand("onloand-" + lab.name, path, lab.port,
                                             "onloand-%s-proxied.log" % lab.name, wait=30)
        yield proxy
    finally:
        proxy.delay = 0
        if lab.daemon is not None:
            lab.stop_daemon()
        proxy.close()


def test_history_changed_by_another_writer(ctx):
    """onloand reads a patron's history; before it writes, onloan load (a
    process of its own) changes it: onloand's Redis answers are held for a
    second by a proxy, and the CLI goes to Redis directly. onloand's write
    is refused as a whole (ingest.c, guarded_write_script); it reads again
    and applies its loan on top. The model is the one the oracle gives for
    all the loans: none lost from the history, no pair missing or counted
    twice."""
    filed = [("writer", "wr-a", T0), ("writer", "wr-b", T0 + DAY)]
    live = [("writer", "wr-live", T0 + 5 * DAY)]
    with Lab(ctx, "writers", model=UNBOUND, daemon=False) as lab, \
            _proxied_daemon(ctx, lab, 1.0) as proxy:
        posted = {}
        post = threading.Thread(target=lambda: posted.update(r=lab.post_loans(
            csv_text(live), content_type="text/csv", timeout=30)))
        post.start()
        wait_for(lambda: proxy.asked(b"MGET"), 10, 0.01, "onloand to read the history")
        lab.cli("load", lab.write("filed.csv", csv_text(filed)))
        post.join(30)
        proxy.delay = 0         # the rest (flushes, compaction) at full speed
        j = expect_json(posted["r"], 202)
        assert j["new"] == 1, j
        ing = harness.http_request(lab.port, "GET", "/healthz").json["ingest"]
        assert ing["write_conflicts"] >= 1, ing
        want_co, want_pop, want_meta = oracle(filed + live)
        lab.wait_co(want_co, timeout=20)
        with lab.redis() as r:
            hist = r("GET", lab.prefix + "h:" + lab.pseudonym("writer")).decode()
        assert sorted(line.split()[1] for line in hist.splitlines()) == \
            ["wr-a", "wr-b", "wr-live"], hist
        assert lab.pop() == want_pop, lab.pop()


def test_history_changing_all_the_time_is_refused(ctx):
    """When a patron's history changes under every one of a job's writes
    (here set anew every 20 ms straight in Redis, while the proxy holds
    onloand's answers for 0.1 s), onloand gives up after
    MAX_WRITE_CONFLICTS (8) tries: a 503 naming write_conflict, and
    nothing of the batch applied."""
    patron = "busy-writer"
    stop = threading.Event()
    with Lab(ctx, "conflicts", model=UNBOUND, daemon=False) as lab:
        key = lab.prefix + "h:" + lab.pseudonym(patron)

        def meddle():
            n = 0
            with lab.redis() as r:
                while not stop.is_set():
                    n += 1
                    r("SET", key, "%d other-%d\n" % (T0 + n, n))
                    time.sleep(0.02)
        meddler = threading.Thread(target=meddle)
        try:
            with _proxied_daemon(ctx, lab, 0.1):
                meddler.start()
                r = lab.post_loans(csv_text([(patron, "bw-1", T0 + 5 * DAY),
                                             ("someone-else", "bw-2", T0)]),
                                   content_type="text/csv", timeout=30)
                stop.set()
                meddler.join(5)
                j = expect_json(r, 503)
                assert j["reason"] == "write_conflict" and "nothing was applied" in j["error"], j
                ing = harness.http_request(lab.port, "GET", "/healthz").json["ingest"]
                assert ing["write_conflicts"] == 8 and ing["events"] == 0, ing
        finally:
            stop.set()
        with lab.redis() as rr:
            assert b"bw-1" not in rr("GET", key), rr("GET", key)
            assert rr("EXISTS", lab.prefix + "h:" + lab.pseudonym("someone-else")) == 0
        assert lab.all_co() == {} and lab.pop() == {}, (lab.all_co(), lab.pop())


def test_many_ids_of_one_patron_in_one_job(ctx):
    """A job's seen ids go to Redis in ZADDs of at most 1000 (IDS_PER_ZADD:
    the guarded write's script hands each command to Redis with Lua's
    unpack, which takes some 8000 values): 5000 events of one patron with
    ids, one file, one job, are all taken and all remembered."""
    n = 5000
    ev = [("many-ids", "mi-%04d" % i, T0 + 60 * i, "mi-ev-%04d" % i) for i in range(n)]
    with Lab(ctx, "manyids", privacy={"history_max": 2000}, daemon=False) as lab:
        _, out, _ = lab.cli("load", lab.write("many.csv", csv_text(ev, with_id=True)))
        assert "%d new loans" % n in out, out
        with lab.redis() as r:
            assert r("ZCARD", lab.prefix + "seen:" + lab.pseudonym("many-ids")) == n
