"""The kiosk's tests in chromium (tests/browser/run runs them after the
widget's): the page at /kiosk shows the API's answer and the QR code of its
reservation link (rendered by chromium, read back by zbarimg), its touch
targets are 48 px or more, it resets when idle, it says plainly when the
catalogue or onloand cannot answer; receipts at widths 32, 40 and 48 with
Dutch and Romanian diacritics and a MARC-8 jazz record, as chromium shows
them, checked line by line; screenshots at 1366x768 and 390x844."""

import os
import subprocess
import time
import unicodedata
import urllib.parse

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import browser as B
import harness
import marc
from cells import cells, flat, too_wide

LOOPBACK_HOSTS = {"127.0.0.1"}
MIN_TARGET_PX = 48
RECEIPT_WIDTHS = (32, 40, 48)


def wait(pred, timeout, what):
    return B.wait(pred, timeout, what)


def kiosk_url(ctx, **q):
    q.setdefault("branch", B.BRANCH)
    return "http://127.0.0.1:%d/kiosk?%s" % (ctx.stack.port, urllib.parse.urlencode(q))


KIOSK_JS = """
function txt(id) { var e = document.getElementById(id); return e ? e.textContent : null; }
var qr = document.getElementById('qr');
var reserve = document.getElementById('reserve');
return {
  state: document.body.getAttribute('data-state'),
  lang: document.documentElement.lang,
  title: txt('title'), message: txt('message'), failure: txt('failure'),
  why: document.getElementById('failure').getAttribute('data-why'),
  failureShown: !document.getElementById('failure').hidden,
  answerShown: !document.getElementById('answer').hidden,
  input: document.getElementById('record').value,
  focused: document.activeElement ? document.activeElement.id : null,
  items: Array.from(document.querySelectorAll('#alternatives > li')).map(function (li) {
    return {record: li.getAttribute('data-record'), atBranch: li.getAttribute('data-at-branch'),
            title: li.querySelector('.t').textContent,
            where: li.querySelector('.where').textContent};
  }),
  qrSrc: qr.getAttribute('src'), qrLink: qr.getAttribute('data-link'),
  qrLoaded: qr.complete && qr.naturalWidth > 0,
  reserveShown: !reserve.classList.contains('hidden'),
  innerWidth: window.innerWidth,
  overflow: document.documentElement.scrollWidth > window.innerWidth + 1
};
"""


def kiosk(ctx):
    return ctx.js(KIOSK_JS)


def open_kiosk(ctx, size=B.DESKTOP, states=("answer",), **q):
    ctx.viewport(size)
    ctx.driver.get(kiosk_url(ctx, **q))
    return wait_kiosk(ctx, states)


def wait_kiosk(ctx, states, timeout=8.0):
    def ready():
        k = kiosk(ctx)
        if k["state"] in states and (k["state"] != "answer" or not k["reserveShown"]
                                     or k["qrLoaded"]):
            return k
        return None
    return wait(ready, timeout, "the kiosk in state %s" % (states,))


def kiosk_api(ctx, record, lang="nl", catalogue=None):
    q = "/v1/alternatives?record=%s&channel=kiosk&lang=%s&branch=%s" % (
        urllib.parse.quote(record, safe=""), lang, B.BRANCH)
    if catalogue:
        q += "&catalogue=" + catalogue
    r = harness.http_request(ctx.stack.port, "GET", q)
    assert r.status == 200 and r.json is not None, "API: %r" % r
    return r.json


def zbar(path):
    r = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", path],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, "zbarimg read no code from %s: %s" % (path, r.stderr[-300:])
    return r.stdout.decode("utf-8").rstrip("\n")


# ------------------------------------------------------------------ the page

def test_kiosk_shows_the_api_answer_and_its_qr_code(ctx):
    rec = ctx.picks["on_loan"]
    k = open_kiosk(ctx, record=rec)
    api = kiosk_api(ctx, rec)               # the same question: the same alternatives
    assert k["lang"] == "nl" and k["title"] == api["title"], (k["title"], api["title"])
    assert "Alle exemplaren zijn uitgeleend" in k["message"], k["message"]
    got = [i["record"] for i in k["items"]]
    here = [a["record"] for a in api["alternatives"] if a["at_branch"]]
    there = [a["record"] for a in api["alternatives"] if not a["at_branch"]]
    assert got == here + there, "the kiosk shows %s, the API answers %s" % (got, here + there)
    by = {a["record"]: a for a in api["alternatives"]}
    for item in k["items"]:
        a = by[item["record"]]
        where = a["available_at"][0]
        assert item["title"].startswith(a["title"]), (item, a)
        for key in ("call_number", "location") + (() if a["at_branch"] else ("branch",)):
            if where.get(key):
                assert where[key] in item["where"], (key, item, a)
    # the QR code, as chromium drew it, is the answer's reservation link
    assert k["reserveShown"] and k["qrLink"] == api["reserve_url"], k
    os.makedirs(ctx.args.screenshots, exist_ok=True)
    path = os.path.join(ctx.args.screenshots, "kiosk-qr.png")
    qr = ctx.driver.find_element(By.ID, "qr")
    ctx.js("arguments[0].scrollIntoView({block: 'center'})", qr)
    qr.screenshot(path)
    assert zbar(path) == api["reserve_url"], api["reserve_url"]
    # it posted "shown" for its own touchpoint, once
    tp = urllib.parse.parse_qs(urllib.parse.urlsplit(k["qrSrc"]).query)["touchpoint"][0]
    wait(lambda: ctx.events(tp) == [("shown", None)] or None, 5.0,
         "one shown of %s (have %s)" % (tp, ctx.events(tp)))


def test_kiosk_typed_record_and_language(ctx):
    rec = ctx.picks["on_loan"]
    open_kiosk(ctx, states=("start",))
    k = kiosk(ctx)
    assert k["focused"] == "record", k        # a scanner types into it at once
    box = ctx.driver.find_element(By.ID, "record")
    box.send_keys(rec + Keys.ENTER)           # as a barcode scanner does
    k = wait_kiosk(ctx, ("answer",))
    assert k["title"] == kiosk_api(ctx, rec)["title"], k
    ctx.driver.find_element(By.ID, "lang").click()
    k = kiosk(ctx)
    assert k["lang"] == "en" and "All copies are on loan" in k["message"], k
    assert all("At another branch" in i["where"] or "On the shelf at this branch" in i["where"]
               for i in k["items"]), k["items"]


def test_kiosk_touch_targets_are_48px(ctx):
    for size in (B.DESKTOP, B.PHONE):
        open_kiosk(ctx, size=size, record=ctx.picks["on_loan"])
        targets = ctx.js("""
            return Array.from(document.querySelectorAll('button, input, a, [tabindex]'))
              .filter(function (e) { var r = e.getBoundingClientRect();
                                     return r.width > 0 && r.height > 0; })
              .map(function (e) { var r = e.getBoundingClientRect();
                                  return [e.id || e.tagName, r.width, r.height]; });""")
        assert len(targets) >= 4, targets      # language, record, search, again
        small = [t for t in targets if t[1] < MIN_TARGET_PX or t[2] < MIN_TARGET_PX]
        assert not small, "at %dx%d, under %d px: %s" % (size + (MIN_TARGET_PX, small))
        # large type: the body's text at 22 px or more, on the phone too
        px = ctx.js("return parseFloat(getComputedStyle(document.body).fontSize);")
        assert px >= 22, px


def test_kiosk_resets_when_idle(ctx):
    open_kiosk(ctx, record=ctx.picks["on_loan"], idle="2")
    t0 = time.monotonic()
    k = wait_kiosk(ctx, ("start",), timeout=10.0)
    took = time.monotonic() - t0
    assert not k["answerShown"] and k["input"] == "" and k["focused"] == "record", k
    assert took >= 1.0, "reset after %.1fs, before its idle time of 2 s" % took
    # a touch puts it off: typing keeps the page as it is
    box = ctx.driver.find_element(By.ID, "record")
    box.send_keys(ctx.picks["on_loan"] + Keys.ENTER)
    wait_kiosk(ctx, ("answer",))
    for _ in range(3):
        time.sleep(0.8)
        ctx.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.SHIFT)
    assert kiosk(ctx)["state"] == "answer", "reset although touched within its idle time"
    wait_kiosk(ctx, ("start",), timeout=10.0)


def test_kiosk_says_when_the_catalogue_cannot_answer(ctx):
    k = open_kiosk(ctx, states=("failure",), record=ctx.picks["on_loan"], catalogue="down")
    assert k["failureShown"] and k["why"] == "catalogue", k
    assert "catalogus kan nu niet antwoorden" in k["failure"] and "balie" in k["failure"], k
    k = open_kiosk(ctx, states=("failure",), record="no-such-title-0", lang="en")
    assert k["why"] == "not_found" and "do not know this title number" in k["failure"], k
    for size in (B.DESKTOP, B.PHONE):
        open_kiosk(ctx, size=size, states=("failure",), record=ctx.picks["on_loan"],
                   catalogue="down")
        shot(ctx, "kiosk-catalogue-down", size)


def test_kiosk_says_when_onloan_cannot_answer(ctx):
    ctx.driver.execute_cdp_cmd("Network.enable", {})
    ctx.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/v1/alternatives*"]})
    try:
        k = open_kiosk(ctx, states=("failure",), record=ctx.picks["on_loan"])
        assert k["why"] == "onloan" and "Deze zuil kan nu geen antwoord krijgen" in k["failure"], k
        assert not k["answerShown"], k
    finally:
        ctx.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    # and answers again once it can
    open_kiosk(ctx, record=ctx.picks["on_loan"])


# ------------------------------------------------------------------ the receipt

def receipt_in_chromium(ctx, record, width, lang="nl", catalogue=None):
    """The receipt as chromium shows it (text/plain: one <pre>, decoded as
    the Content-Type's charset says)."""
    q = {"record": record, "channel": "kiosk", "format": "receipt", "width": width,
         "lang": lang, "branch": B.BRANCH}
    if catalogue:
        q["catalogue"] = catalogue
    ctx.driver.get("http://127.0.0.1:%d/v1/alternatives?%s" % (ctx.stack.port,
                                                             urllib.parse.urlencode(q)))
    text = ctx.js("var p = document.querySelector('pre'); return p ? p.textContent : null;")
    assert text is not None, "no <pre>: %s" % ctx.driver.page_source[:300]
    return text


def diacritics_picks(ctx):
    """Titles with Dutch diacritics (demo), a Romanian one (koha) and a
    MARC-8 jazz record with diacritics, from the catalogue's own files."""
    if "receipts" in ctx.picks:
        return ctx.picks["receipts"]
    catdir = ctx.args.catalogue
    dutch = "ëïéèöüóá"
    demo = marc.load_marcxml(os.path.join(catdir, "demo.xml"))
    nl = sorted(r for r, rec in demo.items()
                if any(ch in (rec["title_a"] or "") for ch in dutch))
    koha = marc.load_marcxml(os.path.join(catdir, "koha.xml"), id_tag="999", id_code="c")
    ro = sorted(r for r, rec in koha.items()
                if any(ch in unicodedata.normalize("NFC", rec["title_a"] or "")
                       for ch in "ăâîșțşţ"))
    jazz = marc.load_marc8_iso2709(os.path.join(catdir, "jazz.mrc"))
    jz = sorted((r for r, rec in jazz.items() if any(ord(c) > 127 for c in rec["title_a"] or "")),
                key=lambda r: (r != "03-0017438", r))
    assert nl and ro and jz, "no Dutch (%d), Romanian (%d) or jazz (%d) titles with diacritics" % (
        len(nl), len(ro), len(jz))
    ctx.picks["receipts"] = [("nl", nl[0], None, "nl"), ("ro", ro[0], "koha", "nl"),
                             ("jazz", jz[0], "jazz", "en")]
    return ctx.picks["receipts"]


def test_receipts_fit_their_width_line_by_line(ctx):
    checked = []
    for kind, record, catalogue, lang in diacritics_picks(ctx):
        api = kiosk_api(ctx, record, lang, catalogue)
        # the receipt prints runs of spaces as one
        title = " ".join(unicodedata.normalize("NFC", api["title"]).split())
        assert any(ord(c) > 127 for c in title), (kind, title)
        for width in RECEIPT_WIDTHS:
            text = receipt_in_chromium(ctx, record, width, lang, catalogue)
            bad = too_wide(text, width)
            assert not bad, "%s %s at %d: lines too wide: %s" % (kind, record, width, bad)
            assert title in flat(text), "%s %s at %d: title %r not in %r" % (
                kind, record, width, title, text)
            widest = max(cells(line) for line in text.split("\n"))
            assert widest == width, "%s at %d: the rule is %d cells" % (kind, width, widest)
            checked.append((kind, width))
    assert len(checked) == 9, checked


# ------------------------------------------------------------------ screenshots, the run

def shot(ctx, name, size):
    os.makedirs(ctx.args.screenshots, exist_ok=True)
    time.sleep(0.2)
    path = os.path.join(ctx.args.screenshots, "%s-%dx%d.png" % (name, size[0], size[1]))
    assert ctx.driver.save_screenshot(path), path
    with open(path, "rb") as f:
        head = f.read(24)
    wh = (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and wh == size, (path, wh, size)
    return path


def test_kiosk_screenshots(ctx):
    made = []
    for size in (B.DESKTOP, B.PHONE):
        open_kiosk(ctx, size=size, states=("start",))
        made.append(shot(ctx, "kiosk-start", size))
        k = open_kiosk(ctx, size=size, record=ctx.picks["on_loan"])
        assert k["innerWidth"] == size[0] and not k["overflow"], (size, k)
        if size == B.DESKTOP:       # the machine's screen: the code in sight, unscrolled
            bottom = ctx.js("return document.getElementById('qr').getBoundingClientRect().bottom;")
            assert bottom <= size[1], "the QR code ends at %d px, below the screen" % bottom
        made.append(shot(ctx, "kiosk-on-loan", size))
    print("# screenshots: %s" % ", ".join(made), flush=True)


def test_kiosk_no_console_errors_nor_requests_off_loopback(ctx):
    ctx.drain()
    mine = {n for n, _ in TESTS}
    seen = [(t, m, u) for t, m, u, _ in ctx.requests if t in mine]
    assert len(seen) >= 20, "too few kiosk requests seen (%d)" % len(seen)
    away = sorted({u for _, _, u in seen
                   if urllib.parse.urlsplit(u).scheme not in ("data", "chrome", "about")
                   and urllib.parse.urlsplit(u).hostname not in LOOPBACK_HOSTS})
    assert not away, "requests off loopback: %s" % away[:10]
    # what failed on purpose (a 404 asked for, a blocked request) is all chromium said
    expected = ("status of 404", "ERR_BLOCKED_BY_CLIENT")
    bad = [c for c in ctx.console if c[0] in mine and c[1] in ("SEVERE", "WARNING")
           and not any(e in c[2] for e in expected)]
    assert not bad, "console: %s" % bad[:10]


TESTS = [(n, f) for n, f in sorted(
    ((n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)),
    key=lambda nf: nf[1].__code__.co_firstlineno)]
