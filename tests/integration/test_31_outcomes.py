"""Outcomes that cannot be forged (the answer's touchpoint_token), counted
once per (touchpoint, type, record) in the touchpoint's rollup cell, and
CORS for the OPAC's pages."""

import base64
import hashlib
import hmac
import time

import harness
from suite import expect_json, show

COUNTERS = ["touchpoints", "on_loan", "with_alternatives", "shown", "click", "reserve",
            "borrow", "dismiss", "attributed_borrow", "attributed_reserve",
            "attributed_borrow_wanted"]


def _token(ctx, tp, record, alternatives, expires):
    """The token as docs/api.md describes it, made with the config's key."""
    key = bytes.fromhex(ctx.stack.config["touchpoints"]["token_key"])
    msg = b"onloan-touchpoint-v1\0" + b"\0".join(
        s.encode() for s in (str(expires), tp, record, alternatives)) + b"\0"
    mac = hmac.new(key, msg, hashlib.sha256).digest()
    return "%d.%s" % (expires, base64.urlsafe_b64encode(mac).rstrip(b"=").decode())


def _post(ctx, tp, body, content_type="application/json", origin=None):
    headers = {"Content-Type": content_type}
    if origin:
        headers["Origin"] = origin
    raw = body if isinstance(body, bytes) else __import__("json").dumps(body).encode()
    return harness.http_request(ctx.stack.port, "POST", "/v1/touchpoints/%s/events" % tp,
                                body=raw, headers=headers)


def _count(ctx, tp, counter):
    """The counter of the touchpoint's rollup cell on its day (the cell's
    count: every touchpoint of that day in that cell adds to it)."""
    p = ctx.prefix
    with ctx.stack.redis() as r:
        f = harness.touchpoint_fields(r, p, tp)
        idx = int(f["cell"]) * len(COUNTERS) + COUNTERS.index(counter)
        return r("BITFIELD", p + "ru1:" + f["day"], "GET", "u32", "#%d" % idx)[0]


def test_token_is_the_documented_mac(ctx):
    j = expect_json(ctx.stack.alt(ctx.picks["on_loan"]), 200)
    tok = j["touchpoint_token"]
    expires = int(tok.split(".")[0])
    ttl = ctx.stack.config["touchpoints"].get("token_ttl_s", 604800)
    assert abs(expires - (time.time() + ttl)) < 60, tok
    shown = ",".join(a["record"] for a in j["alternatives"])
    assert tok == _token(ctx, j["touchpoint"], j["record"], shown, expires), tok


def test_touchpoint_kept_as_before_still_counts(ctx):
    """A touchpoint written by an older onloand (a tpd:<id> hash of its
    fields, not its day's tpd:) is read back all the same: its outcome
    is counted in its cell; one in neither is a 404."""
    rid = ctx.picks["on_loan"]
    j = expect_json(ctx.stack.alt(rid), 200)
    tp, tok = j["touchpoint"], j["touchpoint_token"]
    p = ctx.prefix
    with ctx.stack.redis() as r:
        f = harness.touchpoint_fields(r, p, tp)
        r("HDEL", *harness.tpd_key(p, tp))
        r("HSET", p + "tpd:" + tp, *[x for k in harness.TPD_FIELDS for x in (k, f[k])])
        assert harness.tpd(r, p, tp) is None
    clicks = _count_cell(ctx, f, "click")
    r = _post(ctx, tp, {"type": "click", "record": rid, "token": tok})
    assert expect_json(r, 201)["duplicate"] is False, show(r)
    assert _count_cell(ctx, f, "click") == clicks + 1
    with ctx.stack.redis() as rr:
        rr("DEL", p + "tpd:" + tp)
    r = _post(ctx, tp, {"type": "dismiss", "token": tok})
    assert r.status == 404 and r.json.get("field") == "touchpoint", show(r)


def _count_cell(ctx, f, counter):
    idx = int(f["cell"]) * len(COUNTERS) + COUNTERS.index(counter)
    with ctx.stack.redis() as r:
        return r("BITFIELD", ctx.prefix + "ru1:" + f["day"], "GET", "u32", "#%d" % idx)[0]


def test_missing_forged_and_expired_tokens(ctx):
    rid = ctx.picks["on_loan"]
    j = expect_json(ctx.stack.alt(rid), 200)
    other = expect_json(ctx.stack.alt(rid, branch="NRD"), 200)
    tp, tok = j["touchpoint"], j["touchpoint_token"]
    shown = ",".join(a["record"] for a in j["alternatives"])
    expired = _token(ctx, tp, rid, shown, int(time.time()) - 1)
    forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    clicks = _count(ctx, tp, "click")       # of the whole cell, that day
    for body, why in (({"type": "click", "record": rid}, "missing"),
                      ({"type": "click", "record": rid, "token": ""}, "empty"),
                      ({"type": "click", "record": rid, "token": 7}, "not a string"),
                      ({"type": "click", "record": rid, "token": forged}, "forged"),
                      ({"type": "click", "record": rid, "token": other["touchpoint_token"]},
                       "another touchpoint's"),
                      ({"type": "click", "record": rid, "token": "not.a-token"}, "malformed"),
                      ({"type": "click", "record": rid, "token": expired}, "expired")):
        r = _post(ctx, tp, body)
        assert r.status == 403 and r.json and r.json.get("field") == "token", (why, show(r))
        if why == "expired":
            assert "expired" in r.json["error"], show(r)
    assert _count(ctx, tp, "click") == clicks
    r = _post(ctx, tp, {"type": "click", "record": rid, "token": tok})
    assert expect_json(r, 201)["duplicate"] is False
    assert _count(ctx, tp, "click") == clicks + 1


def test_not_json_is_415(ctx):
    j = expect_json(ctx.stack.alt(ctx.picks["on_loan"]), 200)
    body = {"type": "shown", "token": j["touchpoint_token"]}
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonl"):
        r = _post(ctx, j["touchpoint"], body, content_type=ct)
        assert r.status == 415 and r.json["field"] == "content-type", (ct, show(r))
    r = _post(ctx, j["touchpoint"], body, content_type="application/json; charset=utf-8")
    expect_json(r, 201)


def test_each_outcome_counted_once(ctx):
    rid = ctx.picks["on_loan"]
    j = expect_json(ctx.stack.alt(rid, limit=3), 200)
    tp, tok = j["touchpoint"], j["touchpoint_token"]
    alt = j["alternatives"][0]["record"]
    assert _count(ctx, tp, "touchpoints") >= 1 and _count(ctx, tp, "on_loan") >= 1
    before = {c: _count(ctx, tp, c) for c in ("shown", "click", "reserve")}

    def body(t, rec):
        return {"type": t, "token": tok, **({"record": rec} if rec else {})}
    first = [_post(ctx, tp, body(t, rec))
             for t, rec in (("shown", None), ("click", alt), ("reserve", rid))]
    for r in first:
        assert expect_json(r, 201)["duplicate"] is False, show(r)
    again = [_post(ctx, tp, body(t, rec))
             for t, rec in (("shown", None), ("click", alt), ("reserve", rid))]
    for r in again:
        e = expect_json(r, 200)
        assert e["duplicate"] is True and e["event"] is None, show(r)
    # a click on another alternative is another outcome
    if len(j["alternatives"]) > 1:
        r = _post(ctx, tp, {"type": "click", "record": j["alternatives"][1]["record"],
                            "token": tok})
        assert expect_json(r, 201)["duplicate"] is False
    after = {c: _count(ctx, tp, c) for c in ("shown", "click", "reserve")}
    assert after["shown"] == before["shown"] + 1, (before, after)
    assert after["reserve"] == before["reserve"] + 1, (before, after)
    assert after["click"] == before["click"] + min(2, len(j["alternatives"])), (before, after)
    with ctx.stack.redis() as r:
        evs = r("XRANGE", ctx.prefix + "ev", "-", "+")
    mine = [e for e in evs if b"touchpoint" in e[1] and
            e[1][e[1].index(b"touchpoint") + 1].decode() == tp]
    assert len(mine) == 2 + min(2, len(j["alternatives"])), mine


def test_cors_for_the_opac_only(ctx):
    allowed = ctx.stack.config["http"]["cors_origins"][0]
    j = expect_json(ctx.stack.alt(ctx.picks["on_loan"]), 200)
    path = "/v1/touchpoints/%s/events" % j["touchpoint"]

    def preflight(origin):
        return harness.http_request(ctx.stack.port, "OPTIONS", path, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
    ok = preflight(allowed)
    assert ok.status == 204, show(ok)
    h = {k.lower(): v for k, v in ok.headers.items()}
    assert h["access-control-allow-origin"] == allowed, h
    assert "POST" in h["access-control-allow-methods"], h
    assert "content-type" in h["access-control-allow-headers"].lower(), h
    assert "access-control-allow-credentials" not in h, h
    bad = preflight("https://evil.example.com")
    assert bad.status == 403 and bad.json["field"] == "origin", show(bad)
    assert "access-control-allow-origin" not in {k.lower() for k in bad.headers}, bad.headers
    # the request itself: the origin named back, never "*"
    r = _post(ctx, j["touchpoint"], {"type": "shown", "token": j["touchpoint_token"]},
              origin=allowed)
    h = {k.lower(): v for k, v in r.headers.items()}
    assert r.status == 201 and h.get("access-control-allow-origin") == allowed, (show(r), h)
    assert h.get("vary") == "Origin", h
    r = harness.http_request(ctx.stack.port, "GET", "/v1/alternatives?record=%s" %
                             ctx.picks["on_loan"], headers={"Origin": "https://evil.example.com"})
    assert r.status == 200 and "access-control-allow-origin" not in \
        {k.lower() for k in r.headers}, r.headers
    plain = harness.http_request(ctx.stack.port, "OPTIONS", path)
    assert plain.status == 405 and plain.json["field"] == "method", show(plain)
