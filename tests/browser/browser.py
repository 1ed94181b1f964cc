"""What the browser tests share: the Koha-like OPAC they serve, the run's
context (onloand, Redis, the browser and what it logged) and the widget as
a page shows it. Stdlib only; selenium is imported where it is used."""

import html
import http.server
import json
import os
import threading
import time
import urllib.parse

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
DESKTOP, PHONE = (1366, 768), (390, 844)
BRANCH = "CEN"

# ------------------------------------------------------------------ the OPAC

class Opac:
    """The Koha-like OPAC on its own loopback port: detail pages
    (opac-detail.pl?biblionumber=ID, with the widget; onloan-* query
    parameters become data-onloan-* attributes), a reservation page
    (opac-reserve.pl, where the widget's button leads) and nothing else."""

    def __init__(self):
        with open(os.path.join(HERE, "fixtures", "opac-detail.html"), encoding="utf-8") as f:
            self.template = f.read()
        self.onloan = None          # onloand's base URL, once it runs
        self.pages = {}             # record -> what the page shows of it
        self.asked = []             # every path asked, in order
        opac = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                opac.asked.append(self.path)
                if u.path == "/cgi-bin/koha/opac-detail.pl" and q.get("biblionumber"):
                    self.reply(200, opac.detail(q))
                elif u.path == "/cgi-bin/koha/opac-reserve.pl":
                    self.reply(200, RESERVE_PAGE % html.escape(q.get("biblionumber", "")))
                elif u.path == "/favicon.ico":
                    self.reply(204, "")
                else:
                    self.reply(404, "<!DOCTYPE html><title>Not found</title><p>Not found</p>")

            def reply(self, code, text):
                body = text.encode("utf-8")
                self.send_response(code)
                if body:
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, record, **attrs):
        q = {"biblionumber": record}
        q.update({"onloan-" + k: v for k, v in attrs.items()})
        return "%s/cgi-bin/koha/opac-detail.pl?%s" % (self.origin, urllib.parse.urlencode(q))

    def detail(self, q):
        record = q["biblionumber"]
        p = self.pages.get(record, {})
        attrs = {"record": record, "branch": BRANCH, "lang": "nl"}
        attrs.update({k[len("onloan-"):]: v for k, v in q.items() if k.startswith("onloan-")})
        rows = []
        for c in p.get("copies", []):
            rows.append("          <tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
                        % tuple(html.escape(x or "") for x in (
                            c.get("branch"), c.get("location"), c.get("call_number"),
                            "Uitgeleend" if c.get("status") == "on_loan" else "Beschikbaar",
                            c.get("due"))))
        fields = {
            "title": p.get("title") or record, "kind": "DVD" if record.startswith("f") else "Boek",
            "year": p.get("year") or "", "record": record, "ncopies": str(len(rows)),
            "holdings": "\n".join(rows), "onloan": self.onloan,
            "onloan_attrs": " ".join('data-onloan-%s="%s"' % (k, html.escape(v))
                                     for k, v in attrs.items() if v),
        }
        out = self.template
        for k, v in fields.items():
            out = out.replace("{{%s}}" % k, v if k in ("holdings", "onloan_attrs", "onloan")
                              else html.escape(v))
        return out

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


RESERVE_PAGE = """<!DOCTYPE html>
<html lang="nl-NL"><head><meta charset="utf-8"><title>Reserveren</title>
<link rel="icon" href="data:,"></head>
<body><h1>Reservering plaatsen</h1><p>Titel %s</p></body></html>"""


# ------------------------------------------------------------------ the context

class Ctx:
    def __init__(self, args):
        self.args = args
        self.stack = None
        self.opac = None
        self.driver = None
        self.requests = []          # (test, method, url, post data) the pages sent
        self.console = []           # (test, level, message)
        self.test = None
        self.picks = {}
        self.answers = {}

    # ---------------- onloand
    def api(self, record, lang="nl", catalogue=None, status=200):
        q = "/v1/alternatives?record=%s&lang=%s&channel=widget&branch=%s" % (
            urllib.parse.quote(record, safe=""), lang, BRANCH)
        if catalogue:
            q += "&catalogue=" + catalogue
        r = harness.http_request(self.stack.port, "GET", q)
        assert r.status == status and r.json is not None, "API: %r" % r
        return r.json

    def events(self, tp):
        """The outcomes onloand logged for touchpoint tp: [(type, record)]."""
        with self.stack.redis() as r:
            evs = r("XRANGE", self.prefix + "ev", "-", "+")
        out = []
        for _, kv in evs:
            f = {kv[i].decode(): kv[i + 1].decode() for i in range(0, len(kv), 2)}
            if f.get("touchpoint") == tp:
                out.append((f.get("type"), f.get("record") or None))
        return out

    def reported(self, counter, **keys):
        """What the report API (GET /v1/reports/outcomes, the run's key
        with the role report, its default range: the last 30 days) counts
        of counter in the row of keys (e.g. channel="widget", branch="CEN")."""
        key = next(k["key"] for k in self.stack.config["api_keys"] if "report" in k["roles"])
        r = harness.http_request(self.stack.port, "GET", "/v1/reports/outcomes?group=" +
                                 ",".join(sorted(keys)),
                                 headers={"Authorization": "Bearer " + key})
        assert r.status == 200 and r.json, "report: %r" % r
        rows = [row for row in r.json["rows"] if all(row[k] == v for k, v in keys.items())]
        assert len(rows) <= 1, rows
        return rows[0][counter] if rows else 0

    # ---------------- the browser
    def drain(self):
        """Moves the browser's console and network logs into ours."""
        for e in self.driver.get_log("browser"):
            self.console.append((self.test, e.get("level"), e.get("message", "")))
        for e in self.driver.get_log("performance"):
            m = json.loads(e["message"])["message"]
            if m.get("method") == "Network.requestWillBeSent":
                req = m["params"]["request"]
                self.requests.append((self.test, req.get("method"), req.get("url"),
                                      req.get("postData")))

    def posts(self, tp):
        """The outcomes the pages sent for tp: [(type, record)], as sent."""
        self.drain()
        out = []
        for _, method, url, data in self.requests:
            if method == "POST" and "/v1/touchpoints/%s/events" % tp in url:
                body = json.loads(data or "{}")
                out.append((body.get("type"), body.get("record")))
        return out

    def viewport(self, size):
        w, h = size
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 600})

    def load(self, url, size=DESKTOP, states=("on_loan",)):
        """Opens url at size and waits for the widget to be in one of states."""
        self.viewport(size)
        self.driver.get(url)
        return self.wait_state(states)

    def wait_state(self, states, timeout=8.0, host=None):
        def ready():
            i = self.info(host)
            return i if i["state"] in states else None
        return wait(ready, timeout, "the widget in state %s" % (states,))

    def info(self, host=None):
        """What the widget shows: the first on the page, or the one in host."""
        return self.driver.execute_script(INFO_JS, host)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)


def wait(pred, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))


INFO_JS = """
var host = arguments[0] || document.querySelector('[data-onloan-record]');
var r = host.shadowRoot, box = r && r.querySelector('.box');
var rect = host.getBoundingClientRect();
function txt(e) { return e ? e.textContent : null; }
return {
  state: host.getAttribute('data-onloan-state'),
  touchpoint: host.getAttribute('data-onloan-touchpoint'),
  lang: box && box.getAttribute('lang'),
  text: box ? box.innerText : '',
  boxClass: box ? box.className : null,
  message: r ? txt(r.querySelector('[role=status]')) : null,
  expected: r && r.querySelector('time') ? r.querySelector('time').getAttribute('datetime') : null,
  expectedText: r ? txt(r.querySelector('time')) : null,
  reserve: r ? txt(r.querySelector('button')) : null,
  heading: r ? txt(r.querySelector('h2')) : null,
  items: r ? Array.from(r.querySelectorAll('ul > li')).map(function (li) {
    var a = li.querySelector('a');
    return {record: li.getAttribute('data-record'), title: txt(li.querySelector('.alt-title')),
            href: a ? a.href : null, where: txt(li.querySelector('.where')),
            why: txt(li.querySelector('.why'))};
  }) : [],
  top: rect.top, height: rect.height, right: rect.right,
  innerHeight: window.innerHeight, innerWidth: window.innerWidth
};
"""
