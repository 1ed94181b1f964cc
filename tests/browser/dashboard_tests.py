"""The marketing dashboard's tests in chromium (tests/browser/run runs them
after the widget's, in this order). Scripted traffic (answers on several
branches, channels and both arms of the run's experiment, with their
outcomes) goes in first; then every figure on the page (data-metric) must
equal the report API's for the same range, the key is asked once, the CSV
downloaded is the API's, the page reads in Dutch and English, with a
keyboard, at 4.5:1, on a phone, and asks nothing off loopback."""

import datetime
import decimal
import json
import os
import re
import time
import urllib.parse

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import browser as B
import harness

RATES = ["click_rate", "reserve_rate", "alternative_borrow_rate"]
GROUPS = ["day", "branch", "channel", "arm"]
LOOPBACK_HOSTS = {"127.0.0.1"}


def onloan(ctx, path=""):
    return "http://127.0.0.1:%d%s" % (ctx.stack.port, path)


# ------------------------------------------------------------------ traffic

def traffic(ctx):
    """Answers and outcomes, once a run: on branches CEN, NRD and none, on
    channels opac (in the experiment, by session), app and widget; every
    third one shown, clicked and reserved. Returns how many answers."""
    if getattr(ctx, "dashboard_traffic", None):
        return ctx.dashboard_traffic
    recs = [ctx.picks["on_loan"], ctx.picks["available"]] + \
        [r for r in list(ctx.opac.pages)[:6] if r not in ctx.picks.values()]
    n = 0
    for i, rec in enumerate(recs * 2):
        branch = ["CEN", "NRD", None][i % 3]
        channel = ["opac", "opac", "app", "widget"][i % 4]
        q = "/v1/alternatives?record=%s&lang=en&channel=%s&session=dash-%d" % (
            urllib.parse.quote(rec), channel, i)
        if branch:
            q += "&branch=" + branch
        a = harness.http_request(ctx.stack.port, "GET", q).json
        assert a and a["touchpoint"], "no touchpoint: %s" % a
        n += 1
        post = []
        if i % 3 != 2:
            post.append({"type": "shown"})
        if a["alternatives"] and i % 2 == 0:
            post.append({"type": "click", "record": a["alternatives"][0]["record"]})
        if a["status"] == "on_loan" and i % 3 == 0:
            post.append({"type": "reserve", "record": rec})
        for body in post:
            body["token"] = a["touchpoint_token"]
            r = harness.http_request(ctx.stack.port, "POST", "/v1/touchpoints/%s/events"
                                     % a["touchpoint"], body=body)
            assert r.status == 201, "outcome %s: %r" % (body, r)
    ctx.dashboard_traffic = n
    return n


# ------------------------------------------------------------------ the page

def fresh(ctx, size=B.DESKTOP, query=""):
    """The dashboard with no key kept: it asks for one."""
    ctx.viewport(size)
    ctx.driver.get(onloan(ctx, "/dashboard" + query))
    ctx.js("sessionStorage.clear()")
    ctx.driver.get(onloan(ctx, "/dashboard" + query))
    B.wait(lambda: ctx.js("return !document.getElementById('login').hidden"), 8,
           "the key form")


def report_key(ctx):
    return next(k["key"] for k in ctx.stack.config["api_keys"] if "report" in k["roles"])


def board(ctx, size=B.DESKTOP):
    """The dashboard with the figures of its default range, the key kept
    in the tab (as test_dashboard_asks_once_for_a_key left it, or put
    there when that one did not run)."""
    ctx.report_key = report_key(ctx)
    ctx.viewport(size)
    ctx.driver.get(onloan(ctx, "/dashboard"))
    if ctx.js("return sessionStorage.getItem('onloan.reportKey')") != ctx.report_key:
        ctx.js("sessionStorage.setItem('onloan.reportKey', arguments[0])", ctx.report_key)
        ctx.driver.refresh()
    wait_shown(ctx)


def status(ctx):
    return ctx.js("return document.getElementById('status').textContent")


def log_in(ctx, key=None):
    field = ctx.driver.find_element(By.ID, "key")
    field.send_keys(key or ctx.report_key)
    field.send_keys(Keys.ENTER)


def wait_shown(ctx, first=None, last=None):
    """Waits until the figures of first..last (the range the page says) are shown."""
    def ready():
        s = status(ctx)
        if ctx.js("return document.getElementById('board').getAttribute('aria-busy')"):
            return None
        if first and (first not in s or last not in s):
            return None
        return s if re.search(r"\d{4}-\d\d-\d\d", s) and \
            ctx.js("return document.querySelectorAll('[data-metric]').length") else None
    return B.wait(ready, 15, "the figures of %s..%s" % (first, last))


def set_range(ctx, first, last):
    ctx.js("""document.getElementById('from').value = arguments[0];
              document.getElementById('to').value = arguments[1];""", first, last)
    ctx.driver.find_element(By.CSS_SELECTOR, "#range button[type=submit]").click()
    wait_shown(ctx, first, last)


FIGURES_JS = """
return Array.from(document.querySelectorAll('[data-metric]')).map(function (e) {
  var d = {};
  for (var i = 0; i < e.attributes.length; i++) {
    var a = e.attributes[i];
    if (a.name.indexOf('data-') === 0) d[a.name.slice(5)] = a.value;
  }
  d.text = e.textContent;
  d.visible = !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  return d;
});
"""


def api(ctx, path):
    r = harness.http_request(ctx.stack.port, "GET", path,
                             headers={"Authorization": "Bearer " + ctx.report_key})
    assert r.status == 200, "%s: %r" % (path, r)
    return r


def reports(ctx, first, last):
    q = "/v1/reports/outcomes?from=%s&to=%s" % (first, last)
    out = {"total": api(ctx, q).json}
    for g in GROUPS:
        out[g] = api(ctx, q + "&group=" + g).json
    out["goals"] = api(ctx, "/v1/reports/goals").json
    return out


def nl_percent(v):
    """v as the page shows it: Intl.NumberFormat('nl-NL') rounds the
    shortest decimal of the double v * 100 half away from zero (6.25 is
    6,3 and 12.35 is 12,4), where % rounds its binary value half to even."""
    d = decimal.Decimal(repr(v * 100)).quantize(decimal.Decimal("0.1"),
                                                rounding=decimal.ROUND_HALF_UP)
    return str(d).replace(".", ",") + " %"


def same(got, want, what):
    """data-value (text) against the API's value (number, bool, string, null)."""
    if want is None:
        assert got == "", "%s: the page has %r, the API null" % (what, got)
    elif isinstance(want, bool):
        assert got == ("true" if want else "false"), "%s: %r, API %r" % (what, got, want)
    elif isinstance(want, (int, float)):
        assert got != "" and float(got) == float(want), "%s: %r, API %r" % (what, got, want)
    else:
        assert got == want, "%s: %r, API %r" % (what, got, want)


def check_figure(f, want, what):
    """A figure against what the API says of it: a counter or an estimate."""
    if isinstance(want, dict) or (want is None and f["metric"].endswith("rate")) or \
            f["metric"].endswith("_difference"):
        est = want or {"value": None, "low": None, "high": None}
        for k in ("value", "low", "high"):
            same(f.get(k if k != "value" else "value", ""), est[k], "%s %s" % (what, k))
        if est["value"] is not None:
            assert f["text"].startswith(nl_percent(est["value"])), "%s: shows %r for %r" % (
                what, f["text"], est)
        else:
            assert f["text"].startswith("–"), "%s: shows %r for null" % (what, f["text"])
    else:
        same(f["value"], want, what)
        if isinstance(want, int) and not isinstance(want, bool) and f["metric"] != "days_left":
            assert int(re.sub(r"[.\s\u202f]", "", f["text"])) == want, \
                "%s: shows %r, API %r" % (what, f["text"], want)


def row_of(doc, key, value):
    rows = [r for r in doc["rows"] if (r[key] or "") == value]
    assert len(rows) == 1, "%s=%r: %d rows in the API's answer" % (key, value, len(rows))
    return rows[0]


def compare(ctx, figures, api_docs):
    """Every figure against the API; returns the rows each group showed."""
    seen = {g: set() for g in GROUPS}
    goals = {g["name"]: g for g in api_docs["goals"]["goals"]}
    checked = 0
    for f in figures:
        m = f["metric"]
        what = "data-metric=%s %s" % (m, {k: v for k, v in f.items()
                                          if k not in ("metric", "text", "visible")})
        g = next((g for g in GROUPS if g in f), None)
        if "goal" in f:
            goal = goals[f["goal"]]
            if "week" in f:
                w = next(w for w in goal["weeks"] if w["week"] == f["week"])
                want = w["on_loan"] if m == "on_loan" else \
                    {k: w[k] for k in ("value", "low", "high")}
            elif "span" in f:
                s = goal[f["span"]] or {"on_loan": None, "value": None, "low": None,
                                        "high": None}
                want = s["on_loan"] if m == "on_loan" else \
                    {k: s[k] for k in ("value", "low", "high")}
            elif m == "target":
                want = {"value": goal["target"], "low": None, "high": None}
            elif m == "segment":
                assert json.loads(f["value"]) == goal["segment"], what
                checked += 1
                continue
            else:
                want = goal[m]
            if m == goal["metric"] or m == "target":
                check_figure(f, want, what) if m != "target" else \
                    same(f["value"], goal["target"], what)
            else:
                same(f["value"], want, what)
            checked += 1
            continue
        if g:
            row = row_of(api_docs[g], g, f[g])
            seen[g].add(f[g])
        else:
            row = api_docs["total"]["total"]
        if m.endswith("_difference"):
            d = row["difference"]
            want = d[m[:-len("_difference")]] if d else None
            if d:
                assert f["reference"] == d["reference"], what
        else:
            want = row[m]
        check_figure(f, want, what)
        checked += 1
    return seen, checked


# ------------------------------------------------------------------ the tests

def test_dashboard_asks_once_for_a_key(ctx):
    ctx.report_key = report_key(ctx)
    traffic(ctx)
    fresh(ctx)
    assert ctx.js("return document.activeElement.id") == "key", "the key field has no focus"
    assert ctx.js("return document.getElementById('board').hidden"), "figures before a key"
    # a key without the role: refused, asked again, nothing kept
    ingest = next(k["key"] for k in ctx.stack.config["api_keys"] if "ingest" in k["roles"])
    log_in(ctx, ingest)
    B.wait(lambda: "niet aanvaard" in status(ctx) and
           ctx.js("return !document.getElementById('login').hidden"), 8, "the refusal")
    assert ctx.js("return sessionStorage.length") == 0, "a refused key was kept"
    log_in(ctx)
    wait_shown(ctx)
    assert ctx.js("return sessionStorage.getItem('onloan.reportKey')") == ctx.report_key
    # kept for the tab: a reload shows the figures without asking
    ctx.driver.refresh()
    wait_shown(ctx)
    assert ctx.js("return document.getElementById('login').hidden"), "asked again"


def test_dashboard_figures_equal_the_report_api(ctx):
    n = traffic(ctx)
    board(ctx)
    last = ctx.js("return document.getElementById('to').value")
    first = (datetime.date.fromisoformat(last) - datetime.timedelta(days=6)).isoformat()
    set_range(ctx, first, last)
    figures = ctx.js(FIGURES_JS)
    docs = reports(ctx, first, last)
    total = docs["total"]["total"]
    assert total["touchpoints"] >= n and total["shown"] and total["click"] and \
        total["reserve"], "the scripted traffic is not in the report: %s" % total
    seen, checked = compare(ctx, figures, docs)
    # every row of every group is on the page, and each with all its figures
    for g in GROUPS:
        want = {r[g] or "" for r in docs[g]["rows"]}
        assert seen[g] == want, "%s: the page shows %s, the API has %s" % (g, seen[g], want)
    per_row = 7 + len(RATES)
    rows = sum(len(docs[g]["rows"]) for g in GROUPS)
    assert checked >= 11 + len(RATES) + 6 + rows * per_row + len(docs["arm"]["rows"]) * 3, \
        (checked, rows)
    assert len(docs["arm"]["rows"]) >= 2 and any(r["difference"] for r in docs["arm"]["rows"]), \
        "the experiment's arms are not in the report: %s" % docs["arm"]["rows"]
    assert {"CEN", "NRD", ""} <= seen["branch"] and {"opac", "app", "widget"} <= seen["channel"]
    kpi = {f["metric"]: f for f in figures
           if not any(k in f for k in GROUPS + ["goal", "stage"])}
    assert kpi["touchpoints"]["visible"] and kpi["reserve_rate"]["visible"], kpi
    # a range the API refuses: its message, the field marked
    ctx.js("""document.getElementById('from').value = arguments[0];
              document.getElementById('to').value = arguments[1];""", last, first)
    ctx.driver.find_element(By.CSS_SELECTOR, "#range button[type=submit]").click()
    B.wait(lambda: "kan niet" in status(ctx), 8, "the refusal of a range backwards")
    assert "to" in status(ctx) or "from" in status(ctx), status(ctx)
    assert ctx.js("return document.activeElement.getAttribute('aria-invalid')") == "true"


def test_dashboard_csv_is_the_api_csv(ctx):
    where = os.path.join(ctx.stack.tmp, "downloads")
    os.makedirs(where, exist_ok=True)
    ctx.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                               {"behavior": "allow", "downloadPath": where})
    board(ctx)
    first = ctx.js("return document.getElementById('from').value")
    last = ctx.js("return document.getElementById('to').value")
    for group in ("branch", "arm"):
        name = "onloan-outcomes-%s-%s-%s.csv" % (group, first, last)
        button = ctx.driver.find_element(By.CSS_SELECTOR, "button.csv[data-group=%s]" % group)
        ctx.js("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()
        path = os.path.join(where, name)
        B.wait(lambda: os.path.exists(path) and os.path.getsize(path) > 0, 10, "the download")
        time.sleep(0.2)
        with open(path, "rb") as f:
            got = f.read()
        want = api(ctx, "/v1/reports/outcomes?from=%s&to=%s&group=%s&format=csv"
                   % (first, last, group)).body
        assert got == want, "%s: downloaded %r, the API's %r" % (name, got[:300], want[:300])
        assert got.count(b"\r\n") >= 2, got[:300]


def test_dashboard_english_keyboard_and_names(ctx):
    board(ctx)
    before = ctx.js(FIGURES_JS)
    assert ctx.js("return document.documentElement.lang") == "nl"
    # the language switch, by keyboard: Tab from the top reaches it
    order = []
    for _ in range(6):
        ActionChains(ctx.driver).send_keys(Keys.TAB).perform()
        order.append(ctx.js("var a = document.activeElement; return a.id || a.className"))
        if order[-1] == "lang":
            break
    assert order[0] == "skip" and order[-1] == "lang", "Tab order: %s" % order
    ActionChains(ctx.driver).send_keys(Keys.ENTER).perform()
    B.wait(lambda: ctx.js("return document.documentElement.lang") == "en", 5, "English")
    assert ctx.js("return document.querySelector('h1').textContent") == \
        "What did the suggestions do?"
    assert "Figures from" in status(ctx), status(ctx)
    after = ctx.js(FIGURES_JS)
    assert [(f["metric"], f["value"]) for f in after] == \
        [(f["metric"], f["value"]) for f in before], "other figures in English"
    # then the range form and the CSV buttons, in the page's order
    stops = []
    for _ in range(16):
        ActionChains(ctx.driver).send_keys(Keys.TAB).perform()
        stop = ctx.js("var a = document.activeElement; return a.id || a.textContent")
        if not stops or stops[-1] != stop:     # a date field's day, month, year: one stop
            stops.append(stop)
    assert stops[:4] == ["logout", "from", "to", "Show"], "Tab order: %s" % stops
    assert "Download CSV" in stops, stops
    # every control and chart has a name, chromium's accessibility tree says so
    nodes = ctx.driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})["nodes"]

    def names(role):
        return [(n.get("name") or {}).get("value") for n in nodes
                if (n.get("role") or {}).get("value") == role and not n.get("ignored")]
    assert all(names("button")) and "Show" in names("button"), names("button")
    images = names("img") + names("image")
    assert len(images) >= 5 and all(images), "charts without a name: %s" % images
    assert "From" in ctx.js("""return Array.from(document.querySelectorAll('input')).map(
        function (i) { return i.labels[0].textContent; }).join()"""), "inputs without labels"
    headers = ctx.js("return document.querySelectorAll('th[scope]').length")
    assert headers >= 20, headers
    # back to Dutch for the tests after this one
    ctx.driver.find_element(By.ID, "lang").click()
    B.wait(lambda: ctx.js("return document.documentElement.lang") == "nl", 5, "Dutch")


CONTRAST_JS = """
var out = [];
document.querySelectorAll('body *').forEach(function (e) {
  if (e.closest('.vh, [hidden], canvas, script, style')) return;
  var own = Array.from(e.childNodes).filter(function (n) {
    return n.nodeType === 3 && n.textContent.trim(); }).map(function (n) {
    return n.textContent.trim(); }).join(' ');
  if (!own || !e.getClientRects().length) return;
  var bgs = [];
  for (var x = e; x; x = x.parentElement) {
    var b = getComputedStyle(x).backgroundColor;
    bgs.push(b);
    if (/^rgb\\(/.test(b)) break;
  }
  out.push({text: own.slice(0, 40), color: getComputedStyle(e).color, bgs: bgs});
});
return out;
"""


def test_dashboard_contrast_and_screenshots(ctx):
    import widget_tests as W
    os.makedirs(ctx.args.screenshots, exist_ok=True)
    made = []
    for size in (B.DESKTOP, B.PHONE):
        board(ctx, size)
        wide = ctx.js("return document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 1, "at %dx%d the page is %dpx wider than the screen" % (
            size[0], size[1], wide)
        low = []
        for t in ctx.js(CONTRAST_JS):
            bg = [255.0, 255.0, 255.0, 1.0]
            for layer in reversed(t["bgs"]):
                bg = W.over(W.rgba(layer), bg)
            c = W.contrast(W.over(W.rgba(t["color"]), bg), bg)
            if c < 4.5:
                low.append((round(c, 2), t))
        assert not low, "contrast below 4.5:1: %s" % low[:5]
        time.sleep(0.3)
        path = os.path.join(ctx.args.screenshots, "dashboard-%dx%d.png" % size)
        assert ctx.driver.save_screenshot(path), path
        with open(path, "rb") as f:
            head = f.read(24)
        wh = (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))
        assert head[:8] == b"\x89PNG\r\n\x1a\n" and wh == size, (path, wh)
        made.append(path)
    print("# screenshots: %s" % ", ".join(made), flush=True)


def test_dashboard_no_console_errors_nor_requests_off_loopback(ctx):
    ctx.drain()
    mine = {n for n, _ in TESTS}
    bad = [c for c in ctx.console if c[0] in mine and c[1] in ("SEVERE", "WARNING")
           # the refused key's own 403 (test_dashboard_asks_once_for_a_key) and the
           # refused range's 400, which chromium logs as failed loads
           and not re.search(r"/v1/reports/outcomes\S* - Failed to load resource: the server "
                             r"responded with a status of (403|400)", c[2])]
    assert not bad, "console: %s" % bad[:10]
    seen = [(m, u) for t, m, u, _ in ctx.requests if t in mine]
    away = sorted({u for _, u in seen if urllib.parse.urlsplit(u).scheme not in
                   ("data", "chrome", "about", "blob")
                   and urllib.parse.urlsplit(u).hostname not in LOOPBACK_HOSTS})
    assert not away, "requests off loopback: %s" % away[:10]
    kinds = {u.split("?")[0].replace(onloan(ctx), "") for _, u in seen if u.startswith(onloan(ctx))}
    want = {"/dashboard", "/dashboard.js", "/dashboard.css", "/chart.js", "/v1/reports/outcomes",
            "/v1/reports/goals"}
    assert want <= kinds, "not asked: %s" % (want - kinds)


TESTS = [(n, f) for n, f in sorted(
    ((n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)),
    key=lambda nf: nf[1].__code__.co_firstlineno)]
