"""Experiments: each unit (patron, else session, else touchpoint) gets an
arm by a hash, so arms come in their shares and a unit keeps its arm; the
control arm shows no alternatives; the answer and the touchpoint say
which experiment and arm."""

import datetime
import math

import harness
from suite import expect_json, second_daemon

SHARE = 50


def _experiment_daemon(ctx, name, channels=("opac",)):
    today = datetime.date.today()

    def change(cfg):
        cfg["experiments"] = [{
            "name": "test-ab", "from": (today - datetime.timedelta(days=1)).isoformat(),
            "until": (today + datetime.timedelta(days=30)).isoformat(),
            "channels": list(channels),
            "arms": [{"name": "alternatives", "share": SHARE},
                     {"name": "reserve_only", "share": 100 - SHARE, "alternatives": 0}]}]
    return second_daemon(ctx, name, change)


def _ask(port, rid, extra=""):
    return expect_json(harness.http_request(
        port, "GET", "/v1/alternatives?record=%s&branch=CEN&lang=en%s" % (rid, extra),
        headers=harness.OPAC_AUTH if "patron=" in extra else None), 200)


def _within_binomial(k, n, p=SHARE / 100.0, sigmas=4.0):
    return abs(k - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def test_arms_in_their_shares_and_stable(ctx):
    rid = ctx.picks["on_loan"]
    d, port = _experiment_daemon(ctx, "exp-shares")
    try:
        arms = {}
        for i in range(400):
            j = _ask(port, rid, "&session=s%04d" % i)
            assert j["experiment"]["name"] == "test-ab", j
            arms[i] = j["experiment"]["arm"]
        k = sum(1 for a in arms.values() if a == "alternatives")
        assert _within_binomial(k, 400), "%d of 400 sessions in the first arm" % k
        # a session keeps its arm
        for i in range(0, 400, 37):
            for _ in range(2):
                assert _ask(port, rid, "&session=s%04d" % i)["experiment"]["arm"] == arms[i]
        # a patron keeps theirs whatever the session, and it is the patron's
        # (the pseudonym's) draw, not the session's
        for p in range(8):
            seen = {_ask(port, rid, "&patron=exp-patron-%d&session=s%04d" % (p, s))
                    ["experiment"]["arm"] for s in (1, 2, 3, 250)}
            assert len(seen) == 1, (p, seen)
        # without either, a draw per touchpoint: both arms come up
        drawn = [_ask(port, rid)["experiment"]["arm"] for _ in range(200)]
        k = drawn.count("alternatives")
        assert _within_binomial(k, 200), "%d of 200 draws in the first arm" % k
    finally:
        d.stop()


def test_control_arm_and_the_log(ctx):
    rid = ctx.picks["on_loan"]
    d, port = _experiment_daemon(ctx, "exp-control")
    try:
        by_arm = {}
        for i in range(60):
            j = _ask(port, rid, "&session=c%d" % i)
            by_arm.setdefault(j["experiment"]["arm"], j)
            if len(by_arm) == 2:
                break
        assert set(by_arm) == {"alternatives", "reserve_only"}, by_arm.keys()
        control, treated = by_arm["reserve_only"], by_arm["alternatives"]
        assert control["status"] == "on_loan" and control["alternatives"] == [], control
        assert control["reserve_url"] and control["expected_back"] == treated["expected_back"]
        assert treated["alternatives"], treated
        for j in (control, treated):
            with ctx.stack.redis() as r:
                f = harness.touchpoint_fields(r, ctx.prefix, j["touchpoint"])
            assert (f["experiment"], f["arm"]) == ("test-ab", j["experiment"]["arm"]), f
            assert f["alternatives"] == ",".join(a["record"] for a in j["alternatives"]), f
        # another channel is outside the experiment
        k = _ask(port, rid, "&channel=kiosk&session=c1")
        assert k["experiment"] is None and k["alternatives"], k
        with ctx.stack.redis() as r:
            f = harness.touchpoint_fields(r, ctx.prefix, k["touchpoint"])
        assert (f["experiment"], f["arm"]) == ("", ""), f
    finally:
        d.stop()


def test_session_parameter_checked(ctx):
    rid = ctx.picks["on_loan"]
    for bad in ("", "x" * 65, "a%20b", "a%00b", "caf%C3%A9"):
        r = ctx.stack.get("/v1/alternatives?record=%s&session=%s" % (rid, bad))
        assert r.status == 400 and r.json["field"] == "session", (bad, r)
    expect_json(ctx.stack.get("/v1/alternatives?record=%s&session=%s" % (rid, "x" * 64)), 200)
