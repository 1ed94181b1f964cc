"""GET /openapi.json (docs/openapi.json, built in): the document is the
file in the repository, a valid OpenAPI 3.1 description whose schemas
hold (python3-jsonschema, Debian's, under /usr/bin/python3: see
openapi_check.py); real answers of every endpoint, successes and errors,
of an onloand on its own Redis (and the stack's Zebra) match the
document's schemas; the document lists every route the router knows and
the router answers every path the document lists."""

import gzip
import json
import os
import re
import subprocess

import harness
from loanlab import FORGET_KEY, INGEST_KEY, Lab
from suite import Skip, expect_json, show

DOC = os.path.join(harness.REPO, "docs", "openapi.json")
CHECKER = os.path.join(harness.REPO, "tests", "integration", "openapi_check.py")
DEBIAN_PYTHON = "/usr/bin/python3"
REPORT_KEY = "report-key-0123456789abcdef"
ORIGIN = "https://opac.example.org"
ASSETS = ["/widget.js", "/dashboard", "/dashboard.js", "/dashboard.css", "/chart.js",
          "/openapi.json"]


def _doc():
    with open(DOC, encoding="utf-8") as f:
        return json.load(f)


class Cases:
    """Real requests to the lab's onloand, kept with what the document must
    say of them: (method, documented path, status, content type, body)."""

    def __init__(self, lab):
        self.lab = lab
        self.cases = []

    def call(self, method, path, template, want, body=None, headers=None, key=None):
        h = dict(headers or {})
        if key:
            h["Authorization"] = "Bearer " + key
        r = harness.http_request(self.lab.port, method, path, body=body, headers=h, timeout=30)
        lower = {k.lower(): v for k, v in r.headers.items()}
        assert r.status in (want if isinstance(want, tuple) else (want,)), \
            "%s %s: want %s, got %s" % (method, path, want, show(r))
        data = r.body
        if lower.get("content-encoding") == "gzip":
            data = gzip.decompress(data)
        self.cases.append({"method": method.lower(), "path": template, "status": r.status,
                           "content_type": lower.get("content-type"),
                           "body": data.decode("utf-8", "replace") if method != "HEAD" else ""})
        return r

    def routed(self, path, taken=("get",)):
        """Whether the router knows path: asked with a method it does not
        take (taken: those it does), a known path is a 405, another a 404."""
        method = next(m for m in ("DELETE", "POST", "GET") if m.lower() not in taken)
        r = harness.http_request(self.lab.port, method, path, body=b"", timeout=10)
        if r.status == 404 and r.json and r.json.get("field") == "path":
            return False
        assert r.status == 405 and r.json and r.json.get("field") == "method", \
            "%s %s: %s" % (method, path, show(r))
        return True


def check(cases):
    """Runs openapi_check.py on the document and the cases: its problems."""
    if not os.access(DEBIAN_PYTHON, os.X_OK):
        raise AssertionError("no %s (make deps)" % DEBIAN_PYTHON)
    r = subprocess.run([DEBIAN_PYTHON, CHECKER, DOC], input=json.dumps(cases).encode(),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, "openapi_check.py exited %d: %s" % (
        r.returncode, r.stderr.decode("utf-8", "replace")[-1500:])
    return json.loads(r.stdout)


def lab_for(ctx):
    """One lab for the file: its own Redis, the report key, an experiment
    on channel opac and a goal; started once."""
    lab = getattr(ctx, "openapi_lab", None)
    if lab is not None and lab.daemon is not None and lab.daemon.alive():
        return lab
    lab = Lab(ctx, "openapi", daemon=False)
    lab.cfg["api_keys"].append({"name": "marketing", "key": REPORT_KEY, "roles": ["report"]})
    lab.cfg["http"]["cors_origins"] = [ORIGIN]
    lab.cfg["experiments"] = [{
        "name": "api-ab", "from": "2020-01-01", "until": "2099-01-01", "channels": ["opac"],
        "arms": [{"name": "alternatives", "share": 50},
                 {"name": "reserve_only", "share": 50, "alternatives": 0}]}]
    lab.cfg["goals"] = [{"name": "reserve more", "metric": "reserve_rate", "target": 0.06,
                         "by": "2099-06-30", "segment": {"channel": "opac"}}]
    lab.config_path = lab.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
    lab.start_daemon()
    ctx.openapi_lab = lab
    return lab


# ------------------------------------------------------------------ the document

def test_openapi_json_is_the_document_and_valid(ctx):
    lab = lab_for(ctx)
    with open(DOC, "rb") as f:
        src = f.read()
    c = Cases(lab)
    r = c.call("GET", "/openapi.json", "/openapi.json", 200,
               headers={"Accept-Encoding": "identity"})
    assert r.body == src, "served %d bytes, docs/openapi.json has %d" % (len(r.body), len(src))
    h = {k.lower(): v for k, v in r.headers.items()}
    assert h["content-type"] == "application/json; charset=utf-8", h
    assert h["cache-control"] == "public, max-age=3600" and h["etag"].startswith('"'), h
    c.call("GET", "/openapi.json", "/openapi.json", 304, headers={"If-None-Match": h["etag"]})
    doc = json.loads(src)
    assert doc["openapi"] == "3.1.0", doc["openapi"]
    problems = check(c.cases)
    assert not problems, "\n".join(problems)
    # a document that is wrong is found wrong: the checker is no yes-man
    wrong = [dict(c.cases[0], body=json.dumps({"openapi": 3})), dict(c.cases[0], status=418)]
    bad = check([{"method": "get", "path": "/healthz", "status": 200,
                  "content_type": "application/json", "body": '{"status": "ok"}'}] + wrong)
    assert any("/healthz" in p and "required" in p for p in bad), bad
    assert any("418" in p for p in bad), bad


# ------------------------------------------------------------------ routes

def router_paths():
    """The paths service/http/router.c names (exact ones, prefixes ending
    in / and the suffix /events) and those the Makefile builds in
    (WEB_ASSETS)."""
    with open(os.path.join(harness.REPO, "service", "http", "router.c")) as f:
        src = f.read()
    literals = set(re.findall(r'"(/[A-Za-z0-9_./-]*)"', src))
    return literals, set(asset_files())


def asset_files():
    """PATH -> the file the Makefile builds in there (WEB_ASSETS; CHARTJS
    its default, as make all here was run)."""
    with open(os.path.join(harness.REPO, "Makefile")) as f:
        mk = f.read()
    chartjs = re.search(r"^CHARTJS\s*\?=\s*(\S+)", mk, re.M).group(1)
    blocks = re.findall(r"^WEB_ASSETS\s*[:+]?=((?:.*\\\n)*.*)$", mk, re.M)
    out = {}
    for path, file in re.findall(r"(/[A-Za-z0-9_.-]*)=(\S+)", "\n".join(blocks)):
        file = file.replace("$(CHARTJS)", chartjs)
        out[path] = file if os.path.isabs(file) else os.path.join(harness.REPO, file)
    return out


def covers(literal, template):
    """Whether a router literal is (part of) the documented path template."""
    if literal == template:
        return True
    if literal.endswith("/") and template.startswith(literal) and "{" in template:
        return True
    return literal.startswith("/") and template.endswith(literal) and "{" in template


def test_document_lists_every_route_and_every_route_is_routed(ctx):
    lab = lab_for(ctx)
    doc = _doc()
    literals, assets = router_paths()
    assert {"/healthz", "/v1/alternatives", "/v1/loans"} <= literals, literals
    assert set(ASSETS) <= assets, assets
    templates = set(doc["paths"])
    missing = sorted(p for p in literals | assets if not any(covers(p, t) for t in templates))
    assert not missing, "routes the router knows, not in docs/openapi.json: %s" % missing
    c = Cases(lab)
    unrouted = []
    for t in sorted(templates):
        path = re.sub(r"\{[^}]+\}", "1-0", t)
        if not c.routed(path, doc["paths"][t]):
            unrouted.append(t)
    kiosk = {t for t, item in doc["paths"].items()
             if all("kiosk" in op.get("tags", []) for op in item.values())}
    assert set(unrouted) <= kiosk, "documented, but the router does not know: %s" % (
        sorted(set(unrouted) - kiosk))
    if unrouted:
        # issue 18 section 2 (the kiosk's routes) is built on another branch
        raise Skip("documented for the kiosk, not routed in this build: %s" % unrouted)


# ------------------------------------------------------------------ answers

def test_real_answers_match_the_schemas(ctx):
    lab = lab_for(ctx)
    c = Cases(lab)
    rec = ctx.picks["on_loan"]
    # GET /v1/alternatives: in the experiment (a session), unknown, bad, wrong method
    alt = "/v1/alternatives"
    a = c.call("GET", "%s?record=%s&branch=CEN&lang=en&channel=opac&session=s1" % (alt, rec),
               alt, 200).json
    assert a["experiment"] and a["touchpoint"], a
    b = c.call("GET", "%s?record=%s&branch=CEN&channel=widget&limit=3" % (alt, rec), alt, 200).json
    c.call("GET", alt + "?record=f999999999", alt, 404)
    c.call("GET", alt + "?record=" + rec + "&limit=0", alt, 400)
    c.call("GET", alt + "?branch=CEN", alt, 400)
    c.call("POST", alt + "?record=" + rec, alt, 405, body=b"")
    # POST /v1/touchpoints/{touchpoint}/events
    ev = "/v1/touchpoints/{touchpoint}/events"
    tp = "/v1/touchpoints/%s/events" % b["touchpoint"]
    json_h = {"Content-Type": "application/json"}
    c.call("POST", tp, ev, 201, body={"type": "shown", "token": b["touchpoint_token"]})
    c.call("POST", tp, ev, 200, body={"type": "shown", "token": b["touchpoint_token"]})
    if b["alternatives"]:
        c.call("POST", tp, ev, 201, body={"type": "click", "record": b["alternatives"][0]["record"],
                                          "token": b["touchpoint_token"]})
    c.call("POST", tp, ev, 403, body={"type": "shown", "token": "1.forged"})
    c.call("POST", tp, ev, 422, body={"type": "click", "record": "f999999999",
                                      "token": b["touchpoint_token"]})
    c.call("POST", tp, ev, 400, body={"type": "looked", "token": b["touchpoint_token"]})
    c.call("POST", tp, ev, 415, body=b"type=shown", headers={"Content-Type": "text/plain"})
    c.call("POST", "/v1/touchpoints/1-0/events", ev, (403, 404),
           body={"type": "shown", "token": b["touchpoint_token"]})
    c.call("POST", "/v1/touchpoints/x/events", ev, 400, body=b"{}", headers=json_h)
    c.call("POST", tp, ev, 413, body=b" " * 20000, headers=json_h)
    c.call("GET", tp, ev, 405)
    pre = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    r = c.call("OPTIONS", tp, ev, 204, headers=pre)
    assert r.headers.get("Access-Control-Allow-Origin") == ORIGIN, r.headers
    c.call("OPTIONS", tp, ev, 403, headers=dict(pre, Origin="https://evil.example"))
    c.call("OPTIONS", tp, ev, 405, headers={"Origin": ORIGIN})
    # POST /v1/loans
    lo = "/v1/loans"
    loan = {"patron": "openapi-p1", "record": rec, "time": "2026-11-22T10:31:00Z", "branch": "CEN"}
    c.call("POST", lo, lo, 202, body=[loan, dict(loan, record="f1", type="hold")], key=INGEST_KEY)
    c.call("POST", lo, lo, 400, body=[loan, dict(loan, time="yesterday")], key=INGEST_KEY)
    c.call("POST", lo, lo, 400, body=b"{not json", headers=json_h, key=INGEST_KEY)
    c.call("POST", lo, lo, 401, body=loan)
    c.call("POST", lo, lo, 401, body=loan, key="no-such-key-0123456789abcdef0123")
    c.call("POST", lo, lo, 403, body=loan, key=FORGET_KEY)
    c.call("POST", lo, lo, 415, body=b"<loan/>", headers={"Content-Type": "text/xml"},
           key=INGEST_KEY)
    c.call("GET", lo, lo, 405)
    # DELETE /v1/patrons/{patron}
    pa = "/v1/patrons/{patron}"
    c.call("DELETE", "/v1/patrons/openapi-p1", pa, 200, key=FORGET_KEY)
    c.call("DELETE", "/v1/patrons/openapi-p1", pa, 401)
    c.call("DELETE", "/v1/patrons/openapi-p1", pa, 403, key=INGEST_KEY)
    c.call("DELETE", "/v1/patrons/a%00b", pa, 400, key=FORGET_KEY)
    c.call("GET", "/v1/patrons/openapi-p1", pa, 405)
    # GET /v1/reports/outcomes and /goals
    ro = "/v1/reports/outcomes"
    for g in ("", "?group=day,branch", "?group=arm,channel", "?group=week,month,status,catalogue",
              "?group=branch&format=csv"):
        c.call("GET", ro + g, ro, 200, key=REPORT_KEY)
    arm = expect_json(harness.http_request(lab.port, "GET", ro + "?group=arm", headers={
        "Authorization": "Bearer " + REPORT_KEY}), 200)
    assert arm["reference_arms"] and any(r["difference"] for r in arm["rows"]) or \
        len([r for r in arm["rows"] if r["arm"]]) < 2, arm
    c.call("GET", ro + "?from=2026-13-01", ro, 400, key=REPORT_KEY)
    c.call("GET", ro + "?group=colour", ro, 400, key=REPORT_KEY)
    c.call("GET", ro, ro, 401)
    c.call("GET", ro, ro, 403, key=INGEST_KEY)
    c.call("POST", ro, ro, 405, body=b"", key=REPORT_KEY)
    rg = "/v1/reports/goals"
    goals = c.call("GET", rg, rg, 200, key=REPORT_KEY).json
    assert goals["goals"] and goals["goals"][0]["name"] == "reserve more", goals
    c.call("GET", rg + "?from=2026-01-01", rg, 400, key=REPORT_KEY)
    c.call("GET", rg, rg, 401)
    c.call("GET", rg, rg, 403, key=FORGET_KEY)
    # GET /healthz and /metrics, the built-in files
    c.call("GET", "/healthz", "/healthz", 200)
    c.call("POST", "/healthz", "/healthz", 405, body=b"")
    c.call("GET", "/metrics", "/metrics", 200)
    c.call("POST", "/metrics", "/metrics", 405, body=b"")
    files = asset_files()
    for path in ASSETS:
        r = c.call("GET", path, path, 200, headers={"Accept-Encoding": "gzip"})
        assert r.headers.get("Content-Encoding") == "gzip", (path, r.headers)
        with open(files[path], "rb") as f:
            assert gzip.decompress(r.body) == f.read(), "%s is not %s" % (path, files[path])
        c.call("GET", path, path, 304, headers={"If-None-Match": r.headers["ETag"],
                                                 "Accept-Encoding": "gzip"})
        c.call("DELETE", path, path, 405)
    # the kiosk's (issue 18 section 2), where this build has them
    kiosk = []
    if c.routed("/v1/qr"):
        c.call("GET", "/v1/qr?touchpoint=%s&token=%s" % (a["touchpoint"], a["touchpoint_token"]),
               "/v1/qr", 200)
        c.call("GET", "/v1/qr?touchpoint=%s&token=%s&format=png" % (
            a["touchpoint"], a["touchpoint_token"]), "/v1/qr", 200)
        c.call("GET", "/v1/qr?touchpoint=%s&token=1.forged" % a["touchpoint"], "/v1/qr", 403)
        c.call("GET", "/v1/qr?token=x", "/v1/qr", 400)
    else:
        kiosk.append("/v1/qr")
    for page in ("/kiosk", "/kiosk.js"):
        if c.routed(page):
            r = c.call("GET", page + "?branch=CEN", page, 200, headers={"Accept-Encoding": "gzip"})
            c.call("GET", page, page, 304, headers={"If-None-Match": r.headers["ETag"],
                                                    "Accept-Encoding": "gzip"})
        else:
            kiosk.append(page)
    r = harness.http_request(lab.port, "GET", "%s?record=%s&branch=CEN&channel=kiosk&format=receipt"
                             % (alt, rec))
    if r.status == 200 and r.headers.get("Content-Type", "").startswith("text/plain"):
        c.call("GET", "%s?record=%s&branch=CEN&channel=kiosk&format=receipt&width=32" % (alt, rec),
               alt, 200)
        c.call("GET", "%s?record=%s&channel=kiosk&format=receipt&width=8" % (alt, rec), alt, 400)
    else:
        kiosk.append("format=receipt")
    problems = check(c.cases)
    assert not problems, "%d answers do not match docs/openapi.json:\n%s" % (
        len(problems), "\n".join(problems[:30]))
    assert len(c.cases) >= 60, len(c.cases)
    # the kiosk's answers are checked where this build has its routes;
    # test_document_lists_every_route_and_every_route_is_routed says when not
    assert len(kiosk) in (0, 4), "part of the kiosk only: %s missing" % kiosk
