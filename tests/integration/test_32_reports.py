"""Reports (GET /v1/reports/outcomes and /goals, onloan report): exact
counts after scripted traffic of known outcomes, on an onloand with a
Redis of its own; rows by every key checked against a Python reading of
the rollups (ru1:cells and the day strings, rollup.h) and against the
script; Wilson and Newcombe intervals against a Python computation; CSV
the same rows; arms against their reference; goals; the CLI's JSON and
CSV byte for byte the API's, a report written in two halves on two
threads too; every refusal naming its parameter."""

import copy
import csv
import datetime
import io
import json
import math
import re
import socket
import struct
import threading
from collections import defaultdict

import harness
from loanlab import Lab, INGEST_KEY
from suite import expect_json, show, wait_for

REPORT_KEY = "report-key-0123456789abcdef"
COUNTERS = ["touchpoints", "on_loan", "with_alternatives", "shown", "click", "reserve",
            "borrow", "dismiss", "attributed_borrow", "attributed_reserve",
            "attributed_borrow_wanted"]
RATES = {"click_rate": "click", "reserve_rate": "reserve",
         "alternative_borrow_rate": "attributed_borrow"}
KEYS = ["day", "week", "month", "catalogue", "branch", "channel", "status", "arm"]
PARTS = ["catalogue", "branch", "channel", "status", "arm"]
Z = 1.959964


# ------------------------------------------------------------------ statistics

def wilson(k, n):
    """(value, low, high) of k of n (k capped at n), or None for n = 0."""
    if n == 0:
        return None
    k = min(k, n)
    p = k / n
    d = 1 + Z * Z / n
    c = (p + Z * Z / (2 * n)) / d
    h = Z / d * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return p, 0.0 if k == 0 else max(0.0, c - h), 1.0 if k == n else min(1.0, c + h)


def newcombe(k1, n1, k2, n2):
    a, b = wilson(k1, n1), wilson(k2, n2)
    if a is None or b is None:
        return None
    d = a[0] - b[0]
    return (d, d - math.sqrt((a[0] - a[1]) ** 2 + (b[2] - b[0]) ** 2),
            d + math.sqrt((a[2] - a[0]) ** 2 + (b[0] - b[1]) ** 2))


def close(got, want):
    """Reals of the report (6 significant digits) against Python's."""
    return abs(got - want) <= abs(want) * 1e-5 + 1e-9


def check_estimate(got, want, what):
    if want is None:
        assert got is None, "%s: want null, got %r" % (what, got)
        return
    assert got is not None, "%s: null, want %r" % (what, want)
    if isinstance(got, dict):
        got = (got["value"], got["low"], got["high"])
    assert all(close(g, w) for g, w in zip(got, want)), "%s: got %r, want %r" % (what, got, want)


# ------------------------------------------------------------------ the lab

def report_lab(ctx, name, change=None, **kw):
    """A Lab whose onloand has the report key (and the lab's others)."""
    lab = Lab(ctx, name, daemon=False, **kw)
    lab.cfg["api_keys"].append({"name": "marketing", "key": REPORT_KEY, "roles": ["report"]})
    if change:
        change(lab.cfg)
    lab.config_path = lab.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
    lab.start_daemon()
    return lab


def get(lab, path, key=REPORT_KEY, timeout=30):
    headers = {"Authorization": "Bearer " + key} if key else {}
    return harness.http_request(lab.port, "GET", path, headers=headers, timeout=timeout)


def ask(lab, record, branch=None, channel="opac", session=None):
    q = "/v1/alternatives?record=%s&limit=3&lang=en&channel=%s" % (record, channel)
    if branch:
        q += "&branch=" + branch
    if session:
        q += "&session=" + session
    return expect_json(harness.http_request(lab.port, "GET", q), 200)


def outcome(lab, answer, typ, record=None, status=201):
    body = {"type": typ, "token": answer["touchpoint_token"]}
    if record:
        body["record"] = record
    r = harness.http_request(lab.port, "POST", "/v1/touchpoints/%s/events" % answer["touchpoint"],
                             body=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
    assert r.status == status, show(r)


def day_of(lab, tp):
    """The touchpoint's rollup day (YYYYMMDD) as its stream entry says."""
    with lab.redis() as r:
        f = harness.touchpoint_fields(r, lab.prefix, tp)
    return f["day"]


def iso(day):
    """YYYYMMDD -> YYYY-MM-DD."""
    return "%s-%s-%s" % (day[:4], day[4:6], day[6:])


def add_cells(lab, names):
    """Numbers cells the way rollup.c does (INCR ncells, HSET), or finds
    their numbers: {name: n}."""
    out = {}
    with lab.redis() as r:
        for name in names:
            n = r("HGET", lab.prefix + "ru1:cells", name)
            if n is None:
                n = r("INCR", lab.prefix + "ru1:ncells") - 1
                r("HSET", lab.prefix + "ru1:cells", name, n)
            out[name] = int(n)
    return out


def set_counts(lab, date, cell, counts):
    """BITFIELD SET the counters of a cell on a day (YYYY-MM-DD)."""
    args = []
    for name, v in counts.items():
        args += ["SET", "u32", "#%d" % (cell * len(COUNTERS) + COUNTERS.index(name)), v]
    with lab.redis() as r:
        r("BITFIELD", lab.prefix + "ru1:" + date.replace("-", ""), *args)


# ------------------------------------------------------------------ a Python reading

def read_rollups(lab, first, last):
    """[(date, {part: value}, [counters])] of every cell with a count on
    each day first..last (datetime.date), straight from Redis."""
    with lab.redis() as r:
        flat = r("HGETALL", lab.prefix + "ru1:cells") or []
        cells = {}
        for i in range(0, len(flat), 2):
            parts = flat[i].decode().split("|")
            cells[int(flat[i + 1])] = dict(zip(PARTS, parts))
        out = []
        d = first
        while d <= last:
            s = r("GET", lab.prefix + "ru1:" + d.strftime("%Y%m%d")) or b""
            for n, parts in cells.items():
                at = n * len(COUNTERS) * 4
                chunk = s[at:at + len(COUNTERS) * 4].ljust(len(COUNTERS) * 4, b"\0")
                counts = list(struct.unpack(">%dI" % len(COUNTERS), chunk))
                if any(counts):
                    out.append((d, parts, counts))
            d += datetime.timedelta(days=1)
    return out


def key_of(d, parts, k):
    if k == "day":
        return d.isoformat()
    if k == "week":
        y, w, _ = d.isocalendar()
        return "%04d-W%02d" % (y, w)
    if k == "month":
        return d.strftime("%Y-%m")
    return parts[k] or None


def expected_rows(cells, group):
    """{keys tuple: {"count": [...], "k": {rate: k}}} as report.h adds up."""
    rows = defaultdict(lambda: {"count": [0] * len(COUNTERS), "k": defaultdict(int)})
    for d, parts, counts in cells:
        row = rows[tuple(key_of(d, parts, k) for k in group)]
        row["count"] = [a + b for a, b in zip(row["count"], counts)]
        if parts["status"] == "on_loan":
            for rate, c in RATES.items():
                row["k"][rate] += counts[COUNTERS.index(c)]
    return rows


def sort_key(keys):
    return tuple((v is not None, v or "") for v in keys)


def check_report(doc, cells, group):
    """The document's rows and total are exactly what the rollups say."""
    want = expected_rows(cells, group)
    got_keys = [tuple(row[k] for k in group) for row in doc["rows"]]
    if group:
        assert got_keys == sorted(want, key=sort_key), "rows by %s:\n got  %s\n want %s" % (
            group, got_keys, sorted(want, key=sort_key))
    else:
        assert len(doc["rows"]) == 1, doc["rows"]
    total = {"count": [0] * len(COUNTERS), "k": defaultdict(int)}
    for keys, w in want.items():
        total["count"] = [a + b for a, b in zip(total["count"], w["count"])]
        for rate in RATES:
            total["k"][rate] += w["k"][rate]
    pairs = [(doc["total"], total)] + ([] if not group else
                                       [(row, want[tuple(row[k] for k in group)])
                                        for row in doc["rows"]])
    for got, w in pairs:
        assert [got[c] for c in COUNTERS] == w["count"], "%s: counters %s, want %s" % (
            group, [got[c] for c in COUNTERS], w["count"])
        n = w["count"][COUNTERS.index("on_loan")]
        for rate in RATES:
            check_estimate(got[rate], wilson(w["k"][rate], n), "%s %s" % (group, rate))
    return want


# ------------------------------------------------------------------ scripted traffic

def scripted(ctx, lab):
    """Touchpoints and outcomes of known counts, today. Returns the day
    (YYYY-MM-DD) and what each (branch, channel, status) cell must hold."""
    on_loan, available = ctx.picks["on_loan"], ctx.picks["available"]
    want = defaultdict(lambda: defaultdict(int))
    days = set()

    def touch(record, branch, channel, status):
        a = ask(lab, record, branch, channel)
        assert a["status"] == status, a
        days.add(day_of(lab, a["touchpoint"]))
        w = want[(branch, channel, status)]
        w["touchpoints"] += 1
        w["on_loan"] += status == "on_loan"
        w["with_alternatives"] += bool(a["alternatives"])
        return a, w

    for i in range(4):
        a, w = touch(on_loan, "CEN", "opac", "on_loan")
        if i == 0:
            outcome(lab, a, "click", on_loan)
            outcome(lab, a, "reserve", on_loan)
            outcome(lab, a, "reserve", on_loan, status=200)     # once per (tp, type, record)
            w["click"] += 1
            w["reserve"] += 1
        elif i == 1:
            outcome(lab, a, "click", on_loan)
            outcome(lab, a, "dismiss")
            w["click"] += 1
            w["dismiss"] += 1
        elif i == 2:
            outcome(lab, a, "shown")
            w["shown"] += 1
    for _ in range(2):
        a, w = touch(on_loan, "NRD", "kiosk", "on_loan")
    outcome(lab, a, "reserve", on_loan)
    w["reserve"] += 1
    for i in range(2):
        a, w = touch(available, "CEN", "opac", "available")
        if i:
            outcome(lab, a, "click", available)         # counts, in no rate
            outcome(lab, a, "borrow", available)
            w["click"] += 1
            w["borrow"] += 1
    touch(on_loan, None, "app", "on_loan")
    assert len(days) == 1, "the traffic crossed midnight: %s" % days
    return iso(days.pop()), want


def history(lab, today):
    """Counts written straight into the rollups on 14 days, 35 to 22 days
    ago, for weeks and months (attributed_borrow among them, which only
    the library system's loans count). Returns (first, last) dates."""
    today = datetime.date.fromisoformat(today)
    cells = add_cells(lab, ["demo|CEN|opac|on_loan|", "demo|NRD|opac|on_loan|",
                            "demo|CEN|kiosk|available|"])
    first = today - datetime.timedelta(days=35)
    for i in range(14):
        d = (first + datetime.timedelta(days=i)).isoformat()
        set_counts(lab, d, cells["demo|CEN|opac|on_loan|"],
                   {"touchpoints": 10 + i, "on_loan": 10 + i, "click": i % 4, "reserve": i % 3,
                    "attributed_borrow": i % 2, "shown": 5})
        if i % 3 == 0:
            set_counts(lab, d, cells["demo|NRD|opac|on_loan|"],
                       {"touchpoints": 7, "on_loan": 7, "reserve": 2, "click": 9})
        set_counts(lab, d, cells["demo|CEN|kiosk|available|"], {"touchpoints": 3, "click": 1})
    return first, first + datetime.timedelta(days=13)


def outcomes_path(first, last, group=None, fmt=None, extra=""):
    p = "/v1/reports/outcomes?from=%s&to=%s" % (first, last)
    if group is not None:
        p += "&group=" + group
    if fmt:
        p += "&format=" + fmt
    return p + extra


# ------------------------------------------------------------------ tests

def test_exact_counts_after_scripted_traffic(ctx):
    with report_lab(ctx, "report") as lab:
        today, want = scripted(ctx, lab)
        # the cells of today: exactly the script
        j = expect_json(get(lab, outcomes_path(today, today, "branch,channel,status")), 200)
        assert j["from"] == today and j["to"] == today, j
        assert j["group"] == ["branch", "channel", "status"], j
        got = {(r["branch"], r["channel"], r["status"]): r for r in j["rows"]}
        assert set(got) == set(want), (sorted(got, key=str), sorted(want, key=str))
        for cell, w in want.items():
            for c in COUNTERS:
                assert got[cell][c] == w.get(c, 0), (cell, c, got[cell][c], dict(w))
        # the order: a missing branch first, then by bytes
        assert [r["branch"] for r in j["rows"]] == [None, "CEN", "CEN", "NRD"], j["rows"]
        cen = got[("CEN", "opac", "on_loan")]
        check_estimate(cen["click_rate"], wilson(2, 4), "CEN click_rate")
        check_estimate(cen["reserve_rate"], wilson(1, 4), "CEN reserve_rate")
        check_estimate(cen["alternative_borrow_rate"], wilson(0, 4), "CEN alt borrow")
        assert got[("CEN", "opac", "available")]["click_rate"] is None
        # the total: the available clicks count, but not in click_rate (3 of 7)
        t = j["total"]
        assert t["touchpoints"] == 9 and t["on_loan"] == 7 and t["click"] == 3, t
        check_estimate(t["click_rate"], wilson(2, 7), "total click_rate")
        check_estimate(t["reserve_rate"], wilson(2, 7), "total reserve_rate")
        # no group: one row, the total
        j = expect_json(get(lab, outcomes_path(today, today)), 200)
        assert j["group"] == [] and len(j["rows"]) == 1 and j["rows"][0] == j["total"], j
        # every key, against a reading of the rollups
        cells = read_rollups(lab, datetime.date.fromisoformat(today),
                             datetime.date.fromisoformat(today))
        for group in (["day"], ["branch"], ["channel", "status"], ["catalogue", "arm"],
                      ["status", "branch", "day"]):
            j = expect_json(get(lab, outcomes_path(today, today, ",".join(group))), 200)
            check_report(j, cells, group)


def test_days_weeks_months_and_csv(ctx):
    with report_lab(ctx, "report-weeks") as lab:
        today, _ = scripted(ctx, lab)
        first, last = history(lab, today)
        end = datetime.date.fromisoformat(today)
        cells = read_rollups(lab, first, end)
        for group in (["day"], ["week"], ["month"], ["week", "branch"], ["month", "status"],
                      ["day", "branch"], ["branch", "week"], []):
            j = expect_json(get(lab, outcomes_path(first, end, ",".join(group))), 200)
            want = check_report(j, cells, group)
            if group == ["week"]:
                assert len(want) >= 2 and all(k[0][4:6] == "-W" for k in want), want.keys()
        # 14 days of history, 35 to 22 days ago: known sums
        j = expect_json(get(lab, outcomes_path(first, last, "branch")), 200)
        cen = [r for r in j["rows"] if r["branch"] == "CEN"]
        assert sum(r["touchpoints"] for r in cen) == sum(10 + i for i in range(14)) + 14 * 3, cen
        assert sum(r["attributed_borrow"] for r in cen) == 7, cen
        nrd = [r for r in j["rows"] if r["branch"] == "NRD"][0]
        assert nrd["on_loan"] == 35 and nrd["click"] == 45, nrd
        # a click count over on_loan: the rate is capped at 1
        check_estimate(nrd["click_rate"], (1.0,) + wilson(35, 35)[1:], "NRD click_rate")
        # CSV: the same rows, the same names, a rate as three columns
        group = ["week", "branch"]
        jr = get(lab, outcomes_path(first, end, "week,branch"))
        r = get(lab, outcomes_path(first, end, "week,branch", "csv"))
        assert r.status == 200, show(r)
        assert r.headers.get("Content-Type") == "text/csv; charset=utf-8", r.headers
        text = r.body.decode()
        assert text.endswith("\r\n") and text.split("\n")[0].endswith("\r"), repr(text[:200])
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header = rows[0]
        want_header = group + COUNTERS + [x for rate in RATES for x in
                                          (rate, rate + "_low", rate + "_high")]
        assert header == want_header, header
        doc = jr.json
        assert len(rows) - 1 == len(doc["rows"]), (len(rows), len(doc["rows"]))
        for line, row in zip(rows[1:], doc["rows"]):
            rec = dict(zip(header, line))
            for k in group:
                assert (rec[k] or None) == row[k], (rec, row)
            for c in COUNTERS:
                assert int(rec[c]) == row[c], (c, rec, row)
            for rate in RATES:
                if row[rate] is None:
                    assert rec[rate] == rec[rate + "_low"] == rec[rate + "_high"] == "", rec
                else:
                    for part, suffix in (("value", ""), ("low", "_low"), ("high", "_high")):
                        assert close(float(rec[rate + suffix]), row[rate][part]), (rate, rec, row)
        # the CLI: JSON and CSV byte for byte the API's; a table with the total
        rc, out, err = lab.cli("report", "--from", first, "--to", end, "--group", "week,branch",
                               "--format", "json")
        assert out.encode() == jr.body, "CLI JSON differs:\n%s\n%s" % (out[:300], jr.body[:300])
        rc, out, err = lab.cli("report", "--from=%s" % first, "--to=%s" % end,
                               "--group=week,branch", "--format=csv")
        assert out.encode() == r.body, "CLI CSV differs"
        rc, out, err = lab.cli("report", "--from", first, "--to", end, "--group", "week,branch")
        lines = out.splitlines()
        assert lines[0].startswith("outcomes from %s to %s, by week, branch" % (first, end)), lines[0]
        assert lines[1].split()[:3] == ["week", "branch", "touchpoints"], lines[1]
        assert len(lines) == 2 + len(doc["rows"]) + 1 and lines[-1].startswith("total"), lines[-3:]
        t = doc["total"]
        assert lines[-1].split()[1:3] == [str(t["touchpoints"]), str(t["on_loan"])], lines[-1]
        assert "%.2f %%" % (100 * t["click_rate"]["value"]) in lines[-1], lines[-1]


def test_refusals_name_the_parameter(ctx):
    def change(cfg):
        cfg["reports"] = {"max_days": 31, "max_rows": 3}
        cfg["goals"] = []       # the example's span a year: more than 31 days
    with report_lab(ctx, "report-refusals", change) as lab:
        today, _ = scripted(ctx, lab)
        path = outcomes_path(today, today, "branch")
        r = get(lab, path, key=None)
        assert r.status == 401 and r.json["field"] == "authorization", show(r)
        assert r.headers.get("WWW-Authenticate") == "Bearer", r.headers
        r = get(lab, path, key="not-a-key-0123456789")
        assert r.status == 401 and r.json["field"] == "authorization", show(r)
        r = get(lab, path, key=INGEST_KEY)
        assert r.status == 403 and "report" in r.json["error"], show(r)
        r = get(lab, "/v1/reports/goals", key=INGEST_KEY)
        assert r.status == 403, show(r)
        d = datetime.date.fromisoformat(today)
        for query, field in (("from=2026-02-30&to=%s" % today, "from"),
                             ("from=%s&to=yesterday" % today, "to"),
                             ("from=%s&to=%s" % (d, d - datetime.timedelta(days=1)), "to"),
                             ("from=%s&to=%s" % (d - datetime.timedelta(days=31), d), "to"),
                             ("from=%s" % (d - datetime.timedelta(days=31)), "from"),
                             ("from=%s" % (d + datetime.timedelta(days=1)), "from"),
                             ("group=day,shelf", "group"), ("group=day,day", "group"),
                             ("group=day,", "group"), ("format=xml", "format"),
                             ("format=table", "format"), ("grop=day", "grop"),
                             ("group=day&group=branch", "group"), ("to=%s%%00x" % today, "to")):
            r = get(lab, "/v1/reports/outcomes?" + query)
            assert r.status == 400 and r.json and r.json["field"] == field, (query, show(r))
        # reports.max_days (31 here) counts from and to: 31 days are fine
        r = get(lab, outcomes_path(d - datetime.timedelta(days=30), d, "day"))
        assert r.status == 200 and r.json["from"] == str(d - datetime.timedelta(days=30)), show(r)
        # reports.max_rows (3 here): 4 rows are refused, naming group; 3 are not
        r = get(lab, outcomes_path(today, today, "branch,channel,status"))
        assert r.status == 400 and r.json["field"] == "group" and "max_rows" in r.json["error"], show(r)
        expect_json(get(lab, outcomes_path(today, today, "branch")), 200)
        r = get(lab, "/v1/reports/goals?from=%s" % today)
        assert r.status == 400 and r.json["field"] == "from", show(r)
        r = harness.http_request(lab.port, "POST", path, body=b"{}",
                                 headers={"Authorization": "Bearer " + REPORT_KEY})
        assert r.status == 405 and r.json["field"] == "method", show(r)
        # the CLI: bad usage is 2, named as the API names it
        for args, word in ((["--group", "shelf"], "group"), (["--from", "2026-13-01"], "from"),
                           (["--format", "xml"], "format"), (["--bogus"], "usage"),
                           (["--goals", "--group", "day"], "--goals"), (["--to"], "--to")):
            rc, out, err = lab.cli("report", *args, check=False)
            assert rc == 2 and word in err, (args, rc, err)
        rc, out, err = lab.cli("report", "--group", "branch,channel,status", "--from", today,
                               "--to", today, check=False)
        assert rc == 2 and "group" in err and "max_rows" in err, (rc, err)
        # Redis gone: a 503 with the reason, the CLI 1
        lab.redis_proc.stop()
        r = get(lab, path)
        assert r.status == 503 and r.json.get("reason") in ("redis_unavailable", "redis_timeout"), \
            show(r)
        r = get(lab, "/v1/reports/goals")
        assert r.status == 503 and r.json.get("reason"), show(r)
        rc, out, err = lab.cli("report", check=False)
        assert rc == 1 and "redis" in err, (rc, err)
        lab.redis_proc = None


def test_arms_side_by_side(ctx):
    today = datetime.date.today()

    def change(cfg):
        span = {"from": str(today - datetime.timedelta(days=1)),
                "until": str(today + datetime.timedelta(days=30))}
        cfg["experiments"] = [
            dict(span, name="t-ab", channels=["opac"],
                 arms=[{"name": "alternatives", "share": 50},
                       {"name": "reserve_only", "share": 50, "alternatives": 0}]),
            dict(span, name="t-two", channels=["kiosk"],
                 arms=[{"name": "a", "share": 50}, {"name": "b", "share": 50, "alternatives": 2}]),
        ]
    with report_lab(ctx, "report-arms", change) as lab:
        rec = ctx.picks["on_loan"]
        want = defaultdict(lambda: defaultdict(int))
        days = set()
        for i in range(24):
            channel = "opac" if i < 16 else "kiosk"
            a = ask(lab, rec, "CEN", channel, session="s%d" % i)
            arm = a["experiment"]["arm"]
            days.add(day_of(lab, a["touchpoint"]))
            w = want[arm]
            w["on_loan"] += 1
            if i % 2 == 0:
                outcome(lab, a, "click", rec)
                w["click"] += 1
            if arm in ("reserve_only", "b") or i % 5 == 0:
                outcome(lab, a, "reserve", rec)
                w["reserve"] += 1
        assert len(days) == 1
        day = iso(days.pop())
        assert {"alternatives", "reserve_only"} <= set(want), "the sessions fell in one arm: %s" % dict(want)
        j = expect_json(get(lab, outcomes_path(day, day, "arm")), 200)
        assert j["reference_arms"] == [
            {"experiment": "t-ab", "arm": "reserve_only", "control": True},
            {"experiment": "t-two", "arm": "a", "control": False}], j["reference_arms"]
        rows = {r["arm"]: r for r in j["rows"]}
        assert set(rows) == set(want), (set(rows), set(want))
        for arm, w in want.items():
            assert rows[arm]["on_loan"] == w["on_loan"] and rows[arm]["click"] == w["click"] \
                and rows[arm]["reserve"] == w["reserve"], (arm, rows[arm], dict(w))
        assert rows["reserve_only"]["difference"] is None
        d = rows["alternatives"]["difference"]
        assert d["reference"] == "reserve_only", d
        ref = want["reserve_only"]
        for rate, c in (("click_rate", "click"), ("reserve_rate", "reserve")):
            check_estimate(d[rate], newcombe(want["alternatives"][c], want["alternatives"]["on_loan"],
                                             ref[c], ref["on_loan"]), "difference " + rate)
        if "b" in rows:
            db = rows["b"]["difference"]
            assert db["reference"] == "a", db
            if "a" not in rows:
                assert db["click_rate"] is None, db
        if "a" in rows:
            assert rows["a"]["difference"] is None
        # by channel and arm: each arm against the reference of its channel
        j = expect_json(get(lab, outcomes_path(day, day, "channel,arm")), 200)
        for r in j["rows"]:
            if r["arm"] == "alternatives":
                assert r["channel"] == "opac" and r["difference"]["reference"] == "reserve_only", r
        # CSV: the reference and the differences as columns
        r = get(lab, outcomes_path(day, day, "arm", "csv"))
        rows_csv = list(csv.DictReader(io.StringIO(r.body.decode(), newline="")))
        alt = [x for x in rows_csv if x["arm"] == "alternatives"][0]
        assert alt["reference_arm"] == "reserve_only", alt
        assert close(float(alt["click_rate_difference_low"]), d["click_rate"]["low"]), (alt, d)
        ctl = [x for x in rows_csv if x["arm"] == "reserve_only"][0]
        assert ctl["reference_arm"] == "" and ctl["click_rate_difference"] == "", ctl
        # the CLI's table names the references
        rc, out, err = lab.cli("report", "--from", day, "--to", day, "--group", "arm")
        assert "arms compared with reserve_only (the control" in out, out
        assert "arms compared with a (its first arm" in out, out


def test_goals_report(ctx):
    today = datetime.date.today()
    first = today - datetime.timedelta(days=35)

    def change(cfg):
        cfg["goals"] = [
            {"name": "opac reserves", "metric": "reserve_rate", "target": 0.2,
             "from": str(first), "by": str(today + datetime.timedelta(days=30)),
             "segment": {"channel": "opac"}},
            {"name": "CEN clicks", "metric": "click_rate", "target": 0.05,
             "by": str(today + datetime.timedelta(days=10)), "segment": {"branch": "CEN"}},
            {"name": "not yet", "metric": "alternative_borrow_rate", "target": 0.1,
             "from": str(today + datetime.timedelta(days=3)),
             "by": str(today + datetime.timedelta(days=40))},
        ]
    with report_lab(ctx, "report-goals", change) as lab:
        day, _ = scripted(ctx, lab)
        history(lab, day)
        r = get(lab, "/v1/reports/goals")
        j = expect_json(r, 200)
        assert j["today"] == day, j["today"]
        goals = {g["name"]: g for g in j["goals"]}
        assert list(goals) == ["opac reserves", "CEN clicks", "not yet"], list(goals)
        cells = read_rollups(lab, first - datetime.timedelta(days=400), today)

        def measure(first_day, last_day, segment, rate):
            k = n = 0
            for d, parts, counts in cells:
                if first_day <= d <= last_day and all(parts[p] == v for p, v in segment.items()):
                    n += counts[COUNTERS.index("on_loan")]
                    if parts["status"] == "on_loan":
                        k += counts[COUNTERS.index(RATES[rate])]
            return k, n

        for name, g in goals.items():
            conf = [x for x in lab.cfg["goals"] if x["name"] == name][0]
            assert g["metric"] == conf["metric"] and close(g["target"], conf["target"]), g
            assert g["segment"] == conf.get("segment", {}), g
            assert g["by"] == conf["by"], g
            start = datetime.date.fromisoformat(conf.get("from") or str(
                datetime.date.fromisoformat(conf["by"]).replace(
                    year=datetime.date.fromisoformat(conf["by"]).year - 1)))
            assert g["from"] == str(start), g
            by = datetime.date.fromisoformat(conf["by"])
            assert g["days_left"] == (by - today).days, g
            if start > today:
                assert g["current"] is None and g["on_track"] is None and g["weeks"] == [], g
                continue
            k, n = measure(start, today, conf.get("segment", {}), conf["metric"])
            cur = g["current"]
            assert cur["from"] == str(start) and cur["to"] == str(today), cur
            assert cur["on_loan"] == n, (name, cur, n)
            check_estimate(None if cur["value"] is None else cur, wilson(k, n), name + " current")
            recent_first = max(start, today - datetime.timedelta(days=27))
            k, n = measure(recent_first, today, conf.get("segment", {}), conf["metric"])
            rec = g["recent"]
            assert rec["from"] == str(recent_first) and rec["on_loan"] == n, (rec, n)
            w = wilson(k, n)
            check_estimate(None if rec["value"] is None else rec, w, name + " recent")
            assert g["on_track"] == (None if w is None else w[0] >= conf["target"]), g
            assert g["met"] == (None if w is None else w[1] >= conf["target"]), g
            # every ISO week of the span, each as counted
            weeks = g["weeks"]
            monday = start - datetime.timedelta(days=start.weekday())
            assert len(weeks) == (today - monday).days // 7 + 1, (len(weeks), monday)
            for i, wk in enumerate(weeks):
                m = monday + datetime.timedelta(days=7 * i)
                y, n_week, _ = m.isocalendar()
                assert wk["week"] == "%04d-W%02d" % (y, n_week), wk
                k, n = measure(max(m, start), m + datetime.timedelta(days=6),
                               conf.get("segment", {}), conf["metric"])
                assert wk["on_loan"] == n, (wk, n)
                check_estimate(None if wk["value"] is None else wk, wilson(k, n), wk["week"])
        assert goals["opac reserves"]["current"]["on_loan"] > 0
        # the CLI: the same document, and a table of it
        rc, out, err = lab.cli("report", "--goals", "--format", "json")
        assert out.encode() == r.body, "CLI goals JSON differs:\n%s\n%s" % (out[:300], r.body[:300])
        rc, out, err = lab.cli("report", "--goals")
        assert "opac reserves: reserve_rate to 20.00 % by" in out and "on track:" in out, out


# ------------------------------------------------------------------ a large report

LARGE_DAYS = 250                # by 20 branches: 5,000 rows, over report_render.h's
LARGE_BRANCHES = 20             # REPORT_RENDER_SPLIT_ROWS (4,000): in two halves


def test_large_report_in_two_halves(ctx):
    """A report large enough to be written on two threads (report_render.h):
    its rows as the rollups say, arms against their reference, and the
    CLI's JSON and CSV byte for byte the API's; two such reports at once
    alike."""
    today = datetime.date.today()
    first = today - datetime.timedelta(days=LARGE_DAYS - 1)

    def change(cfg):
        cfg["experiments"] = [
            {"name": "t-large", "from": str(first), "until": str(today + datetime.timedelta(days=1)),
             "channels": ["opac", "kiosk"],
             "arms": [{"name": "alternatives", "share": 50},
                      {"name": "reserve_only", "share": 50, "alternatives": 0}]}]
    with report_lab(ctx, "report-large", change) as lab:
        names = ["demo|L%02d|%s|%s|%s" % (b, ch, st, arm) for b in range(LARGE_BRANCHES)
                 for ch in ("opac", "kiosk") for st in ("on_loan", "available")
                 for arm in ("alternatives", "reserve_only")]
        cells = add_cells(lab, names)
        span = max(cells.values()) + 1
        with lab.redis() as r:
            for i in range(LARGE_DAYS):
                d = first + datetime.timedelta(days=i)
                counts = [0] * (span * len(COUNTERS))
                for name, n in cells.items():
                    tp = (i * 7 + n * 13) % 23
                    c = dict(touchpoints=tp, on_loan=tp if "|on_loan|" in name else 0,
                             shown=tp // 2, click=(i + n) % 5, reserve=tp // 4,
                             attributed_borrow=(i + 2 * n) % 3)
                    for k, v in c.items():
                        counts[n * len(COUNTERS) + COUNTERS.index(k)] = v
                r("SET", lab.prefix + "ru1:" + d.strftime("%Y%m%d"),
                  struct.pack(">%dI" % len(counts), *counts))
        rollups = read_rollups(lab, first, today)
        args = ["report", "--from", str(first), "--to", str(today)]
        for group in (["day", "branch"], ["day", "branch", "arm"]):
            path = outcomes_path(first, today, ",".join(group))
            r = get(lab, path, timeout=60)
            doc = expect_json(r, 200)
            assert len(doc["rows"]) >= 4000, len(doc["rows"])
            check_report(doc, rollups, group)
            rc, out, err = lab.cli(*args, "--group", ",".join(group), "--format", "json")
            assert out.encode() == r.body, "CLI JSON by %s differs from the API's" % group
            c = get(lab, path + "&format=csv", timeout=60)
            assert c.status == 200, show(c)
            rc, out, err = lab.cli(*args, "--group", ",".join(group), "--format", "csv")
            assert out.encode() == c.body, "CLI CSV by %s differs from the API's" % group
        # every arm against the reference arm of its day and branch
        rows = {(x["day"], x["branch"], x["arm"]): x for x in doc["rows"]}
        want = expected_rows(rollups, group)
        for (day, branch, arm), x in rows.items():
            if arm == "reserve_only":
                assert x["difference"] is None, x
                continue
            assert x["difference"]["reference"] == "reserve_only", x
            w, ref = want[(day, branch, arm)], want.get((day, branch, "reserve_only"))
            on_loan = COUNTERS.index("on_loan")
            for rate in RATES:
                check_estimate(x["difference"][rate],
                               None if ref is None else
                               newcombe(w["k"][rate], w["count"][on_loan],
                                        ref["k"][rate], ref["count"][on_loan]),
                               "%s %s %s difference %s" % (day, branch, arm, rate))
        # two at once: each its own thread, the same text
        bodies = [None, None]

        def fetch(i):
            bodies[i] = get(lab, path, timeout=60)
        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(b is not None and b.status == 200 and b.body == r.body for b in bodies), \
            [show(b) if b is not None else None for b in bodies]


# ------------------------------------------------------------------ a client that leaves

HELD_TIMEOUT_MS = 20000         # Redis held still for a few seconds is not a timeout


def test_client_leaving_ends_its_report(ctx):
    """A client that leaves while its report is read (Redis held still,
    so the read cannot end by itself) ends its request at once: nothing
    pending any more while Redis is still held, the request counted
    abandoned, the read given up (said at debug level); once Redis
    answers again, a report is whole as ever."""
    with report_lab(ctx, "report-gone", redis={"timeout_ms": HELD_TIMEOUT_MS}) as lab:
        def pending():
            return harness.http_request(lab.port, "GET", "/healthz", timeout=2).json[
                "pending_requests"]
        lab.redis_proc.sigstop()
        try:
            s = socket.create_connection(("127.0.0.1", lab.port), timeout=5)
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                       % (outcomes_path(datetime.date.today(), datetime.date.today()),
                          REPORT_KEY)).encode())
            wait_for(lambda: pending() == 1, 5, 0.02, "the report waiting for Redis")
            s.close()
            wait_for(lambda: pending() == 0, 5, 0.02, "the request ended, Redis still held")
        finally:
            lab.redis_proc.sigcont()
        metrics = harness.http_request(lab.port, "GET", "/metrics", timeout=5).body.decode()
        assert re.search(r'^onloan_http_requests_abandoned_total\{listener="listen"\} 1$',
                         metrics, re.M), [ln for ln in metrics.splitlines() if "abandoned" in ln]
        assert re.search(r'^onloan_http_clients_gone_total\{listener="listen"\} 1$',
                         metrics, re.M), [ln for ln in metrics.splitlines() if "gone" in ln]
        with open(lab.logs[-1]) as f:
            log = f.read()
        assert "report: the client left while the counters were read: given up" in log, log[-2000:]
        doc = expect_json(get(lab, outcomes_path(datetime.date.today(), datetime.date.today())),
                          200)
        assert "rows" in doc and "total" in doc, doc
