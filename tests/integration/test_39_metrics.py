"""GET /metrics: Prometheus' text format, read by prometheus_client's own
parser (Debian's python3-prometheus-client, under /usr/bin/python3: see
prom_parse.py). Requests of every kind are made to an onloand of its own
(its own Redis, an experiment on channel opac), and the counters must
have moved by exactly what was done: requests by route pattern (never
the path asked) and status, with their duration histograms; answers by
channel, status and experiment arm; loan events by type; batches
refused. /metrics is served on both listeners without a key, like
/healthz, and rate limited, unlike it."""

import json
import os
import re
import subprocess
import time

import harness
from loanlab import INGEST_KEY, Lab
from suite import expect_json, show, wait_for

PARSER = os.path.join(harness.REPO, "tests", "integration", "prom_parse.py")
DEBIAN_PYTHON = "/usr/bin/python3"
EXPERIMENT = "metrics-ab"
ARMS = ("alternatives", "reserve_only")
ROUTES = {"other", "/healthz", "/metrics", "/v1/alternatives", "/v1/qr", "/v1/loans",
          "/v1/reports/outcomes", "/v1/reports/goals", "/v1/patrons/{patron}",
          "/v1/touchpoints/{touchpoint}/events"}
# What each family must be (a few of every kind).
TYPES = {
    "onloan_http_requests": "counter",
    "onloan_http_request_duration_seconds": "histogram",
    "onloan_answers": "counter",
    "onloan_experiment_answers": "counter",
    "onloan_loan_events_taken": "counter",
    "onloan_loan_batches_refused": "counter",
    "onloan_build_info": "gauge",
    "onloan_start_time_seconds": "gauge",
    "onloan_http_connections": "gauge",
    "onloan_catalogue_searches": "counter",
    "onloan_catalogue_search_errors": "counter",
    "onloan_catalogue_search_timeouts": "counter",
    "onloan_redis_connected": "gauge",
    "onloan_redis_operations": "counter",
    "onloan_redis_timeouts": "counter",
    "onloan_cache_hits": "counter",
    "onloan_cache_misses": "counter",
    "onloan_spool_waiting_writes": "gauge",
    "onloan_spool_bytes": "gauge",
    "onloan_spool_written": "counter",
    "onloan_spool_retries": "counter",
    "onloan_touchpoint_batches": "counter",
    "onloan_touchpoints_batched": "counter",
    "onloan_touchpoints_lost": "counter",
    "onloan_ingest_loans": "counter",
}


def parse(text):
    """The families of an exposition, as prometheus_client reads them."""
    if not os.access(DEBIAN_PYTHON, os.X_OK):
        raise AssertionError("no %s (make deps)" % DEBIAN_PYTHON)
    r = subprocess.run([DEBIAN_PYTHON, PARSER], input=text.encode(), capture_output=True,
                       timeout=60)
    assert r.returncode == 0, "prom_parse.py exited %d: %s" % (
        r.returncode, r.stderr.decode("utf-8", "replace")[-1500:])
    return json.loads(r.stdout)["families"]


class Scrape:
    """One GET /metrics: the text, its families and samples."""

    def __init__(self, port):
        r = harness.http_request(port, "GET", "/metrics")
        assert r.status == 200, show(r)
        ctype = r.headers.get("Content-Type", "")
        assert ctype == "text/plain; version=0.0.4; charset=utf-8", ctype
        self.text = r.body.decode("utf-8")
        self.families = {f["name"]: f for f in parse(self.text)}
        self.samples = {}
        for f in self.families.values():
            for name, labels, value in f["samples"]:
                self.samples[(name, tuple(sorted(labels.items())))] = value

    def get(self, name, **labels):
        """A sample's value; 0 for a labelled series not written (a
        counter not incremented yet: http requests by code)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0)

    def series(self, name):
        return [(dict(k[1]), v) for k, v in self.samples.items() if k[0] == name]


def lab_for(ctx, name, limits=None, ingest_listener=False):
    # answers are kept while their catalogue records and model reads are
    # fresh: a minute of both, so that an answer asked again is kept
    lab = Lab(ctx, name, daemon=False, limits=limits, model={"cache_ms": 60000})
    for c in lab.cfg["catalogues"]:
        c["cache_ms"] = 60000
    lab.cfg["experiments"] = [{
        "name": EXPERIMENT, "from": "2020-01-01", "until": "2099-01-01", "channels": ["opac"],
        "arms": [{"name": ARMS[0], "share": 50},
                 {"name": ARMS[1], "share": 50, "alternatives": 0}]}]
    if ingest_listener:
        lab.ingest_port = harness.free_port()
        lab.cfg["listen_ingest"] = "127.0.0.1:%d" % lab.ingest_port
    lab.config_path = lab.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
    lab.start_daemon()
    return lab


def check_format(s):
    """What the parser lets pass but the conventions ask: every family has
    HELP then TYPE; counters end in _total; histograms' buckets are
    cumulative up to +Inf, which is _count."""
    helps = re.findall(r"^# HELP (\S+) ", s.text, re.M)
    types = re.findall(r"^# TYPE (\S+) (\S+)$", s.text, re.M)
    assert [h for h in helps] == [t[0] for t in types], "HELP and TYPE lines differ"
    assert len(set(helps)) == len(helps), "a family written twice"
    for name, typ in types:
        if typ == "counter":
            assert name.endswith("_total"), name
    for fam, want in TYPES.items():
        assert fam in s.families, "no family %s: %s" % (fam, sorted(s.families))
        assert s.families[fam]["type"] == want, (fam, s.families[fam]["type"])
    for f in s.families.values():
        if f["type"] != "histogram":
            continue
        by_series = {}
        for name, labels, value in f["samples"]:
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            by_series.setdefault(key, {})[(name, labels.get("le"))] = value
        for key, vals in by_series.items():
            buckets = sorted(((float(le), v) for (n, le), v in vals.items()
                              if n.endswith("_bucket")), key=lambda b: b[0])
            assert buckets and buckets[-1][0] == float("inf"), (f["name"], key)
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), "%s %s not cumulative: %s" % (f["name"], key, counts)
            assert buckets[-1][1] == vals[(f["name"] + "_count", None)], (f["name"], key)


def test_metrics_count_what_was_done(ctx):
    lab = lab_for(ctx, "metrics")
    port = lab.port
    try:
        on_loan, available = ctx.picks["on_loan"], ctx.picks["available"]
        before = Scrape(port)
        check_format(before)
        alt = "/v1/alternatives?record=%s&branch=CEN&lang=en" % on_loan
        a = expect_json(harness.http_request(port, "GET", alt + "&session=m1"), 200)
        assert a["experiment"]["name"] == EXPERIMENT, a
        arm = a["experiment"]["arm"]
        w = expect_json(harness.http_request(
            port, "GET", "/v1/alternatives?record=%s&channel=widget" % available), 200)
        assert w["status"] == "available" and w["experiment"] is None, w
        expect_json(harness.http_request(port, "GET", "/v1/alternatives?branch=CEN"), 400)
        expect_json(harness.http_request(port, "GET", "/v1/alternatives?record=f999999999"), 404)
        ev = expect_json(harness.http_request(
            port, "POST", "/v1/touchpoints/%s/events" % a["touchpoint"],
            body={"type": "shown", "token": a["touchpoint_token"]}), 201)
        assert ev["duplicate"] is False, ev
        loans = [{"patron": "metrics-p1", "record": on_loan, "time": "2026-11-22T10:31:00Z"},
                 {"patron": "metrics-p1", "record": available, "time": "2026-11-23T10:31:00Z"},
                 {"patron": "metrics-p2", "record": on_loan, "time": "2026-11-22T10:31:00Z",
                  "type": "hold"}]
        expect_json(lab.post_loans(json.dumps(loans), content_type="application/json"), 202)
        bad = [dict(loans[0], time="yesterday")]
        expect_json(lab.post_loans(json.dumps(bad), content_type="application/json"), 400)
        expect_json(harness.http_request(port, "GET", "/no/such/path-12345"), 404)
        expect_json(harness.http_request(port, "GET", "/v1/patrons/metrics-p1"), 405)
        after = Scrape(port)
        check_format(after)
        print("# /metrics: %d bytes, %d families, %d samples" % (
            len(after.text), len(after.families), len(after.samples)))

        def moved(name, **labels):
            return after.get(name, **labels) - before.get(name, **labels)

        req = "onloan_http_requests_total"
        want = {("/v1/alternatives", "200"): 2, ("/v1/alternatives", "400"): 1,
                ("/v1/alternatives", "404"): 1,
                ("/v1/touchpoints/{touchpoint}/events", "201"): 1,
                ("/v1/loans", "202"): 1, ("/v1/loans", "400"): 1, ("other", "404"): 1,
                ("/v1/patrons/{patron}", "405"): 1,
                ("/metrics", "200"): 1}     # the scrape before: counted once answered
        for (route, code), n in want.items():
            assert moved(req, route=route, code=code) == n, (route, code, moved(
                req, route=route, code=code), after.series(req))
        total = sum(v for _, v in after.series(req)) - sum(v for _, v in before.series(req))
        assert total == sum(want.values()), after.series(req)
        # labels are patterns: no id, no unknown path
        routes = {labels["route"] for labels, _ in after.series(req)}
        assert routes <= ROUTES, routes - ROUTES
        dur = "onloan_http_request_duration_seconds"
        assert moved(dur + "_count", route="/v1/alternatives") == 4
        assert moved(dur + "_bucket", route="/v1/alternatives", le="+Inf") == 4
        assert moved(dur + "_sum", route="/v1/alternatives") > 0
        assert moved(dur + "_count", route="/v1/loans") == 2
        # answers: by channel and status, and by arm
        assert moved("onloan_answers_total", channel="opac", status=a["status"]) == 1
        assert moved("onloan_answers_total", channel="widget", status="available") == 1
        assert sum(v for _, v in after.series("onloan_answers_total")) - \
            sum(v for _, v in before.series("onloan_answers_total")) == 2
        other_arm = ARMS[1] if arm == ARMS[0] else ARMS[0]
        exp = "onloan_experiment_answers_total"
        assert moved(exp, experiment=EXPERIMENT, arm=arm) == 1
        assert moved(exp, experiment=EXPERIMENT, arm=other_arm) == 0
        assert (after.get(exp, experiment=EXPERIMENT, arm=other_arm) == 0
                and ("onloan_experiment_answers_total", (("arm", other_arm),
                     ("experiment", EXPERIMENT))) in after.samples), "every arm has a series"
        # loan events by type, the batch refused
        assert moved("onloan_loan_events_taken_total", type="loan") == 2
        assert moved("onloan_loan_events_taken_total", type="hold") == 1
        assert moved("onloan_loan_events_taken_total", type="hold_filled") == 0
        assert moved("onloan_loan_batches_refused_total", reason="invalid") == 1
        # what the modules keep: the catalogue was asked, Redis is there,
        # the answers and the outcome reach Redis through the spool
        assert moved("onloan_catalogue_ids_looked_up_total", catalogue="demo") >= 2
        assert after.get("onloan_redis_connected", connection="main") == 1
        assert after.get("onloan_redis_connected", connection="bulk") == 1
        assert moved("onloan_redis_operations_total", connection="main") > 0
        assert moved("onloan_cache_misses_total", cache="answers") >= 2
        assert after.get("onloan_http_connections", listener="listen") >= 1
        # (an outcome goes to Redis itself while Redis is there; only the
        # touchpoints go through the spool)
        wait_for(lambda: Scrape(port).get("onloan_spool_written_total")
                 >= before.get("onloan_spool_written_total") + 2, 10,
                 what="the two touchpoints written")
        # (one after the other, in batches of their own)
        assert moved("onloan_touchpoint_batches_total") >= 2
        assert moved("onloan_touchpoints_batched_total") >= 2
        assert after.get("onloan_touchpoints_lost_total") == 0
        wait_for(lambda: Scrape(port).get("onloan_ingest_loans_total", result="new")
                 >= before.get("onloan_ingest_loans_total", result="new") + 2, 10,
                 what="two new loans applied")
        # the process: its version and start
        info = after.series("onloan_build_info")
        assert len(info) == 1 and info[0][1] == 1 and info[0][0]["version"], info
        started = after.get("onloan_start_time_seconds")
        assert time.time() - 3600 < started <= time.time(), started
        # a second answer of the same title, kept: a hit of the answers cache
        expect_json(harness.http_request(port, "GET", alt + "&session=m1"), 200)
        again = Scrape(port)
        assert again.get("onloan_cache_hits_total", cache="answers") == \
            after.get("onloan_cache_hits_total", cache="answers") + 1
        assert again.get(exp, experiment=EXPERIMENT, arm=arm) == after.get(
            exp, experiment=EXPERIMENT, arm=arm) + 1
        # no patron data: the labels are routes, names and enums
        assert "metrics-p1" not in again.text and "metrics-p2" not in again.text
        assert a["touchpoint"] not in again.text
    finally:
        lab.close()


def test_metrics_access_like_healthz_but_rate_limited(ctx):
    lab = lab_for(ctx, "metrics-limits", limits={"per_client_rps": 1, "per_client_burst": 1},
                  ingest_listener=True)
    try:
        port = lab.port
        s0 = Scrape(lab.ingest_port)       # the ingest listener: no key, no limit
        head = harness.http_request(port, "HEAD", "/metrics")
        assert head.status == 200 and head.body == b"", show(head)
        refused = 0
        asked = 1
        while refused == 0 and asked < 20:
            r = harness.http_request(port, "GET", "/metrics")
            asked += 1
            if r.status == 429:
                refused += 1
                assert r.json and r.json["field"] is None and r.headers.get("Retry-After"), show(r)
            else:
                assert r.status == 200, show(r)
        assert refused == 1, "no 429 in %d requests at 1 a second" % asked
        # /healthz is never limited
        for _ in range(3):
            expect_json(harness.http_request(port, "GET", "/healthz"), 200)
        # a method /metrics does not take is a 405 (on the ingest listener:
        # on the other it may be a 429 now)
        r = harness.http_request(lab.ingest_port, "POST", "/metrics", body=b"")
        assert r.status == 405 and r.json["field"] == "method", show(r)
        s = Scrape(lab.ingest_port)
        req = "onloan_http_requests_total"

        def moved(name, **labels):
            return s.get(name, **labels) - s0.get(name, **labels)

        assert moved(req, route="/metrics", code="429") == refused, s.series(req)
        assert moved("onloan_http_rate_limited_total", listener="listen") == refused
        assert s.get("onloan_http_rate_limited_total", listener="listen_ingest") == 0
        assert moved(req, route="/metrics", code="405") == 1, s.series(req)
        assert moved(req, route="/healthz", code="200") == 3, s.series(req)
        # HEAD and the GETs before the 429, and the scrape s0
        assert moved(req, route="/metrics", code="200") == asked - refused + 1, (
            asked, refused, s.series(req))
        assert {labels["listener"] for labels, _ in s.series("onloan_http_connections")} == \
            {"listen", "listen_ingest"}
        assert s.get("onloan_rate_limit_clients") >= 1
    finally:
        lab.close()
