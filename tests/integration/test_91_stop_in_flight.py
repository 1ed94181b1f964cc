"""SIGTERM with 200 requests in flight (Redis stopped, the catalogue behind
a proxy that holds every answer): every client gets an HTTP answer, the
daemon exits 0 within request_timeout_ms and a little, and (in the ASan
build) no sanitizer report, leaks included: the late callbacks of Redis
and the catalogue reach nothing freed."""

import json
import signal
import threading
import time

import harness
from harness import SANITIZER_MARKERS
from loanlab import INGEST_KEY, Lab
from suite import expect_json, wait_for

HELD = 200


def test_sigterm_answers_every_request_in_flight(ctx):
    proxy = harness.DelayProxy(ctx.stack.zebra["main"][1], 1.2)
    lab = Lab(ctx, "stop", daemon=False)
    try:
        for c in lab.cfg["catalogues"]:
            if c["name"] == "demo":
                c["target"] = "127.0.0.1:%d/demo" % proxy.port
                c["timeout_ms"] = 5000
        lab.cfg["limits"]["max_pending_requests"] = 4 * HELD
        lab.cfg["request_timeout_ms"] = 6000      # all 200 are in flight at once
        ctx.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
        lab.start_daemon()
        rid = ctx.picks["on_loan"]
        first = expect_json(harness.http_request(
            lab.port, "GET", "/v1/alternatives?record=%s" % rid, timeout=15), 200)
        records = sorted(r for r in ctx.cat.demo if r.startswith("f"))[:150]
        lab.redis_proc.sigstop()
        answers = [None] * HELD

        def one(i):
            try:
                if i < 150:
                    r = harness.http_request(lab.port, "GET", "/v1/alternatives?record=%s&patron=p%d"
                                             % (records[i], i % 7), timeout=30,
                                             headers=harness.OPAC_AUTH)
                elif i < 180:
                    r = harness.http_request(
                        lab.port, "POST", "/v1/touchpoints/%s/events" % first["touchpoint"],
                        body={"type": "shown", "token": first["touchpoint_token"]}, timeout=30)
                else:
                    r = harness.http_request(
                        lab.port, "POST", "/v1/loans", timeout=30,
                        body={"patron": "stop-%d" % (i % 5), "record": rid,
                              "time": "2026-11-0%dT10:00:00Z" % (1 + i % 9)},
                        headers={"Authorization": "Bearer " + INGEST_KEY})
                answers[i] = r.status
            except Exception as e:      # a connection closed without an answer
                answers[i] = repr(e)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(HELD)]
        for t in threads:
            t.start()
        wait_for(lambda: harness.http_request(lab.port, "GET", "/healthz", timeout=5)
                 .json["pending_requests"] >= HELD, 20, 0.02, "%d requests in flight" % HELD)
        t0 = time.monotonic()
        rc = lab.daemon.stop(sig=signal.SIGTERM, timeout=30)
        took = time.monotonic() - t0
        for t in threads:
            t.join(30)
        out = lab.daemon.output()
        lab.daemon = None
        unanswered = [(i, a) for i, a in enumerate(answers) if not isinstance(a, int)]
        assert not unanswered, "%d clients got no HTTP answer, e.g. %s" % (
            len(unanswered), unanswered[:5])
        assert all(a in (200, 201, 202, 503) for a in answers), sorted(set(answers))
        for m in SANITIZER_MARKERS:
            assert m not in out, out[out.index(m) - 200:][:3000]
        assert rc == 0, "onloand exited %r: %s" % (rc, out[-3000:])
        limit = (lab.cfg["request_timeout_ms"] + 3 * lab.cfg["redis"]["timeout_ms"]) / 1000.0 + 3
        assert took < limit, "the stop took %.1fs" % took
    finally:
        lab.redis_proc.sigcont()
        proxy.close()
        lab.close()
