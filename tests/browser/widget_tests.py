"""The widget's tests in chromium (tests/browser/run runs them, in this
order: the last two read what every page before them logged). Each gets
the run's Ctx: ctx.opac (the Koha-like OPAC), ctx.stack (onloand, Redis),
ctx.driver (selenium), ctx.api() (what onloand answers the widget)."""

import os
import re
import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import browser as B

LOOPBACK_HOSTS = {"127.0.0.1"}


def wait(pred, timeout, what):
    return B.wait(pred, timeout, what)


def host(ctx):
    return ctx.driver.find_element(By.CSS_SELECTOR, "[data-onloan-record]")


def scroll_to_widget(ctx, block="center"):
    ctx.js("arguments[0].scrollIntoView({block: arguments[1]})", host(ctx), block)


def outcomes_settle(ctx, tp, want, what, timeout=5.0):
    """Waits for onloand to have logged want (a list of (type, record)) for
    tp, then a little longer: what comes late is also seen."""
    wait(lambda: sorted(ctx.events(tp)) == sorted(want) or None, timeout,
         "%s: outcomes %s of %s (have %s)" % (what, want, tp, ctx.events(tp)))
    time.sleep(0.5)
    got = ctx.events(tp)
    assert sorted(got) == sorted(want), "%s: logged %s, want %s" % (what, got, want)


# ------------------------------------------------------------------ what it shows

def test_shows_the_api_answer_in_its_order(ctx):
    rec = ctx.picks["on_loan"]
    w = ctx.load(ctx.opac.url(rec))
    api = ctx.api(rec)                  # the same question: a new touchpoint, the same answer
    assert w["touchpoint"] and w["touchpoint"] != api["touchpoint"], (w["touchpoint"], api)
    got = [i["record"] for i in w["items"]]
    want = [a["record"] for a in api["alternatives"]]
    assert got == want, "the widget shows %s, the API answers %s" % (got, want)
    for item, a in zip(w["items"], api["alternatives"]):
        assert item["title"] == (a["title"] or a["record"]), (item, a)
        assert item["href"] == a["url"], (item, a)
        where = a["available_at"][0]
        for k in ("branch", "call_number", "location"):
            if where.get(k):
                assert where[k] in item["where"], "%s: %s not in %r" % (a["record"], k, item)
        assert ("Hier" in item["where"]) == bool(a["at_branch"]), (item, a)
        assert item["why"], "no reason shown for %s" % a["record"]
    assert w["message"] == api["message"], (w["message"], api["message"])
    assert w["expected"] == api["expected_back"], (w["expected"], api["expected_back"])
    y, m, d = api["expected_back"].split("-")
    assert w["expectedText"].startswith(str(int(d)) + " ") and y in w["expectedText"], w
    assert w["reserve"] == "Reserveer deze titel", w
    assert w["heading"] == "Nu uitgeleend" and w["lang"] == "nl", w


def test_shown_once_visible_and_not_before(ctx):
    w = ctx.load(ctx.opac.url(ctx.picks["on_loan"]))
    tp = w["touchpoint"]
    assert w["top"] > w["innerHeight"], \
        "the fixture must put the widget below the fold (top %s, viewport %s)" % (
            w["top"], w["innerHeight"])
    time.sleep(1.5)
    assert ctx.events(tp) == [] and ctx.posts(tp) == [], \
        "posted before it was seen: %s" % ctx.posts(tp)
    scroll_to_widget(ctx)
    outcomes_settle(ctx, tp, [("shown", None)], "scrolled into view")
    ctx.js("window.scrollTo(0, 0)")
    time.sleep(0.3)
    scroll_to_widget(ctx)
    time.sleep(0.7)
    assert ctx.posts(tp) == [("shown", None)], "sent: %s" % ctx.posts(tp)
    assert ctx.events(tp) == [("shown", None)], ctx.events(tp)


def test_available_line_or_nothing(ctx):
    rec = ctx.picks["available"]
    api = ctx.api(rec)
    w = ctx.load(ctx.opac.url(rec), states=("available",))
    assert w["message"] == api["message"] and "line" in w["boxClass"], w
    assert not w["items"] and w["reserve"] is None and w["heading"] is None, w
    assert B.BRANCH in w["text"], "no branch in %r" % w["text"]
    scroll_to_widget(ctx)
    outcomes_settle(ctx, w["touchpoint"], [("shown", None)], "the short line seen")
    # data-onloan-available="none": nothing at all, and nothing posted
    w = ctx.load(ctx.opac.url(rec, available="none"), states=("available",))
    assert w["text"].strip() == "" and w["height"] == 0, w
    scroll_to_widget(ctx)
    time.sleep(1.0)
    assert ctx.posts(w["touchpoint"]) == [] and ctx.events(w["touchpoint"]) == [], w


def test_unknown_is_a_calm_fallback(ctx):
    rec = ctx.picks["on_loan"]
    api = ctx.api(rec, catalogue="down")
    assert api["status"] == "unknown", api
    w = ctx.load(ctx.opac.url(rec, catalogue="down"), states=("unknown",))
    assert w["message"] == api["message"], (w["message"], api["message"])
    assert not w["items"] and w["heading"] is None, w
    assert (w["reserve"] == "Reserveer deze titel") == bool(api["reserve_url"]), (w, api)


def test_not_found_shows_nothing(ctx):
    w = ctx.load(ctx.opac.url("f999999999"), states=("not_found",))
    assert w["text"].strip() == "" and w["height"] == 0, w
    ctx.drain()
    # the one error chromium itself logs: the 404 of that request
    mine = [c for c in ctx.console if c[0] == ctx.test]
    ctx.console[:] = [c for c in ctx.console if c[0] != ctx.test]
    rest = [c for c in mine if not ("/v1/alternatives?record=f999999999" in c[2] and "404" in c[2])]
    assert not rest, "console: %s" % rest


# ------------------------------------------------------------------ styles

STYLES_JS = """
var host = document.querySelector('[data-onloan-record]'), r = host.shadowRoot;
function cs(e) { return getComputedStyle(e); }
var b = r.querySelector('button'), li = r.querySelector('li'), h = r.querySelector('h2'),
    box = r.querySelector('.box'), a = r.querySelector('li a');
var opacButton = document.getElementById('searchsubmit'),
    opacLi = document.querySelector('#action li'), opacH1 = document.querySelector('h1');
return {
  button: {font: cs(b).fontFamily, transform: cs(b).textTransform, border: cs(b).borderTopStyle,
           bg: cs(b).backgroundColor, display: cs(b).display, size: cs(b).fontSize},
  li: {list: cs(li).listStyleType, margin: cs(li).marginLeft, color: cs(li).color,
       border: cs(li).borderLeftStyle},
  h2: {size: cs(h).fontSize, transform: cs(h).textTransform},
  box: {letter: cs(box).letterSpacing, size: cs(box).fontSize, line: cs(box).lineHeight,
        align: cs(box).textAlign, style: cs(box).fontStyle, font: cs(box).fontFamily,
        transform: cs(box).textTransform, display: cs(box).display},
  link: {color: cs(a).color, display: cs(a).display},
  status: cs(r.querySelector('[role=status]')).display,
  opac: {button: cs(opacButton).backgroundColor, buttonBorder: cs(opacButton).borderTopStyle,
         li: cs(opacLi).listStyleType, liMargin: cs(opacLi).marginLeft,
         h1font: cs(opacH1).fontFamily, bodyLine: cs(document.body).lineHeight},
  sheets: document.styleSheets.length,
  headStyles: document.head.querySelectorAll('style, link[rel=stylesheet]').length
};
"""


def test_styles_scoped_both_ways_and_themeable(ctx):
    ctx.load(ctx.opac.url(ctx.picks["on_loan"]))
    s = ctx.js(STYLES_JS)
    accent = "rgb(122, 31, 92)"             # --onloan-accent: #7a1f5c, set by the OPAC
    # the OPAC's rules reach nothing inside, not even through inheritance
    assert "Serif" not in s["button"]["font"] and "Georgia" not in s["box"]["font"], s
    assert s["button"]["transform"] == "none" and s["button"]["border"] == "solid", s
    assert s["button"]["bg"] == accent and s["button"]["display"] != "none", s
    assert s["li"]["list"] == "none" and s["li"]["margin"] == "0px", s
    assert s["li"]["border"] == "none" and s["li"]["color"] != "rgb(138, 21, 56)", s
    assert s["h2"]["transform"] == "none" and s["h2"]["size"] == "14px", s
    assert s["box"] == {"letter": "normal", "size": "16px", "line": "24px", "align": "start",
                        "style": "normal", "font": s["box"]["font"], "transform": "none",
                        "display": "block"}, s["box"]
    assert s["link"]["color"] == accent and s["status"] == "block", s
    # and the widget's reach nothing outside
    assert s["opac"]["button"] == "rgb(255, 105, 180)" and s["opac"]["buttonBorder"] == "dashed", s
    assert s["opac"]["li"] == "square" and s["opac"]["liMargin"] != "0px", s
    assert "Serif" in s["opac"]["h1font"], s
    assert s["sheets"] == 1 and s["headStyles"] == 1, "the widget added styles to the page: %s" % s


# ------------------------------------------------------------------ accessibility

CONTRAST_JS = """
var host = document.querySelector('[data-onloan-record]'), out = [];
function up(e) { if (e.parentElement) return e.parentElement;
                 var r = e.getRootNode(); return r && r.host ? r.host : null; }
var all = host.shadowRoot.querySelectorAll('*');
for (var i = 0; i < all.length; i++) {
  var e = all[i];
  if (e.closest('.vh') || e.tagName === 'STYLE') continue;
  var own = Array.from(e.childNodes).filter(function (n) {
    return n.nodeType === 3 && n.textContent.trim(); }).map(function (n) {
    return n.textContent.trim(); }).join(' ');
  if (!own || !e.getClientRects().length) continue;
  var bgs = [];
  for (var x = e; x; x = up(x)) {
    var b = getComputedStyle(x).backgroundColor;
    bgs.push(b);
    if (/^rgb\\(/.test(b)) break;
  }
  out.push({text: own.slice(0, 40), color: getComputedStyle(e).color, bgs: bgs});
}
return out;
"""

NAMES_JS = """
var r = document.querySelector('[data-onloan-record]').shadowRoot;
return Array.from(r.querySelectorAll('a, button')).map(function (e) {
  return {tag: e.tagName, name: (e.getAttribute('aria-label') || e.textContent).trim(),
          href: e.getAttribute('href'), type: e.getAttribute('type')};
});
"""


def rgba(s):
    m = re.match(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$", s)
    assert m, "unexpected colour %r" % s
    return [float(m.group(i)) for i in (1, 2, 3)] + [float(m.group(4) or 1)]


def over(top, bottom):
    a = top[3]
    return [top[i] * a + bottom[i] * (1 - a) for i in range(3)] + [1.0]


def luminance(c):
    def ch(v):
        v /= 255.0
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2])


def contrast(fg, bg):
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_contrasts(ctx):
    out = []
    for t in ctx.js(CONTRAST_JS):
        bg = [255.0, 255.0, 255.0, 1.0]        # the canvas
        for layer in reversed(t["bgs"]):
            bg = over(rgba(layer), bg)
        out.append((contrast(over(rgba(t["color"]), bg), bg), t))
    return out


def ax_tree(ctx):
    nodes = ctx.driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})["nodes"]
    return {n["nodeId"]: n for n in nodes}


def ax(n, key):
    return (n.get(key) or {}).get("value")


def test_accessible(ctx):
    rec = ctx.picks["on_loan"]
    w = ctx.load(ctx.opac.url(rec))
    api = ctx.api(rec)
    scroll_to_widget(ctx)
    # names: every link and button, in the DOM and as chromium computes them
    for e in ctx.js(NAMES_JS):
        assert e["name"], "a %s without a name: %s" % (e["tag"], e)
        if e["tag"] == "BUTTON":
            assert e["type"] == "button", e
    nodes = ax_tree(ctx)
    live = [n for n in nodes.values() if not n.get("ignored") and ax(n, "role") == "status"]
    assert live and any(p["name"] == "live" and p["value"]["value"] == "polite"
                        for p in live[0].get("properties", [])), "no polite live region"
    buttons = [ax(n, "name") for n in nodes.values() if ax(n, "role") == "button"]
    assert "Reserveer deze titel" in buttons, buttons
    links = {ax(n, "name") for n in nodes.values() if ax(n, "role") == "link"}
    missing = [a["title"] for a in api["alternatives"] if a["title"] not in links]
    assert not missing, "no link named %s" % missing
    headings = [ax(n, "name") for n in nodes.values() if ax(n, "role") == "heading"]
    assert "Nu uitgeleend" in headings and "Nu in de kast" in headings, headings
    lists = []
    for n in nodes.values():
        if ax(n, "role") == "list":
            items = [nodes[c] for c in n.get("childIds", []) if c in nodes]
            lists.append([ax(i, "role") for i in items])
    assert ["listitem"] * len(api["alternatives"]) in lists, \
        "no list of %d items: %s" % (len(api["alternatives"]), lists)
    regions = [ax(n, "name") for n in nodes.values() if ax(n, "role") == "region"]
    assert "Nu uitgeleend" in regions, "no region named by its heading: %s" % regions
    assert w["lang"] == "nl", w
    # contrast of every text shown: at least 4.5:1 (WCAG 2.1 AA, 1.4.3)
    checked = text_contrasts(ctx)
    assert len(checked) >= 5 + 3 * len(api["alternatives"]), checked
    low = [(round(c, 2), t) for c, t in checked if c < 4.5]
    assert not low, "contrast below 4.5:1: %s" % low


# ------------------------------------------------------------------ interaction

FOCUS_JS = """
var a = document.activeElement;
if (!a || !a.shadowRoot) return {where: 'page', tag: a ? a.tagName : null,
                                 id: a ? (a.id || a.className || a.textContent.slice(0, 20)) : null};
var f = a.shadowRoot.activeElement, cs = f && getComputedStyle(f);
return {where: 'widget', tag: f && f.tagName, cls: f && f.className, text: f && f.textContent,
        outline: cs && cs.outlineStyle, width: cs && parseFloat(cs.outlineWidth),
        color: cs && cs.outlineColor, visible: f ? f.matches(':focus-visible') : false};
"""


def test_tab_reaches_reserve_and_enter_posts_one_reserve(ctx):
    rec = ctx.picks["on_loan"]
    w = ctx.load(ctx.opac.url(rec))
    tp = w["touchpoint"]
    reserve_before = ctx.reported("reserve", channel="widget", branch=B.BRANCH)
    path = []
    for _ in range(60):
        ActionChains(ctx.driver).send_keys(Keys.TAB).perform()
        f = ctx.js(FOCUS_JS)
        path.append(f)
        if f["where"] == "widget":
            break
    f = path[-1]
    assert f["where"] == "widget", "Tab never reached the widget: %s" % path[-5:]
    assert len(path) > 5 and all(p["where"] == "page" for p in path[:-1]), path
    assert f["tag"] == "BUTTON" and f["text"] == "Reserveer deze titel", \
        "the first stop in the widget is %s" % f
    # visible focus, whatever the page's :focus { outline: none }
    assert f["visible"] and f["outline"] == "solid" and f["width"] >= 2, f
    assert f["color"] == "rgb(122, 31, 92)", f
    ActionChains(ctx.driver).send_keys(Keys.ENTER).perform()
    wait(lambda: "opac-reserve.pl?biblionumber=" + rec in ctx.driver.current_url, 5,
         "the reservation page")
    shown = [("shown", None)] if ("shown", None) in ctx.events(tp) else []
    outcomes_settle(ctx, tp, shown + [("reserve", rec)], "Enter on the button")
    assert ctx.posts(tp).count(("reserve", rec)) == 1, ctx.posts(tp)
    # and the report API counts it: one reserve more on the widget's channel
    # and branch, once
    counted = ctx.reported("reserve", channel="widget", branch=B.BRANCH)
    assert counted == reserve_before + 1, "the report counts %d reserves, %d before" % (
        counted, reserve_before)


def test_reserve_never_posted_twice(ctx):
    rec = ctx.picks["on_loan"]
    w = ctx.load(ctx.opac.url(rec))
    tp = w["touchpoint"]
    scroll_to_widget(ctx)
    outcomes_settle(ctx, tp, [("shown", None)], "seen")
    button = host(ctx).shadow_root.find_element(By.CSS_SELECTOR, "button")
    # three activations before the page can go
    ctx.js("arguments[0].click(); arguments[0].click(); arguments[0].click();", button)
    wait(lambda: "opac-reserve.pl" in ctx.driver.current_url, 5, "the reservation page")
    outcomes_settle(ctx, tp, [("shown", None), ("reserve", rec)], "three activations")
    assert ctx.posts(tp) == [("shown", None), ("reserve", rec)], "sent: %s" % ctx.posts(tp)


def test_click_on_an_alternative_posts_one_click(ctx):
    rec = ctx.picks["on_loan"]
    w = ctx.load(ctx.opac.url(rec))
    tp = w["touchpoint"]
    second = w["items"][1]
    link = host(ctx).shadow_root.find_elements(By.CSS_SELECTOR, "ul > li a")[1]
    ctx.js("arguments[0].scrollIntoView({block: 'center'})", link)
    outcomes_settle(ctx, tp, [("shown", None)], "seen")
    link.click()
    wait(lambda: "biblionumber=" + second["record"] in ctx.driver.current_url, 5,
         "the alternative's page")
    outcomes_settle(ctx, tp, [("shown", None), ("click", second["record"])], "a click")
    assert ctx.posts(tp) == [("shown", None), ("click", second["record"])], ctx.posts(tp)
    # the alternative's own page has the widget too
    ctx.wait_state(("on_loan", "available", "unknown"))


def test_one_global_and_a_late_div(ctx):
    rec = ctx.picks["on_loan"]
    ctx.load(ctx.opac.url(rec))
    # taken by the page itself before and after the widget ran (WebDriver's
    # own scripts leave globals of theirs)
    g = ctx.js("""
      var f = window.__fixture;
      return {added: f.after.filter(function (n) { return f.globals.indexOf(n) < 0; }),
              elements: document.getElementsByTagName('*').length, before: f.elements,
              render: typeof Onloan.render, scan: typeof Onloan.scan};
    """)
    assert g["added"] == ["Onloan"], "globals added: %s" % g["added"]
    assert g["elements"] == g["before"], "the widget added elements to the page: %s" % g
    assert g["render"] == "function" and g["scan"] == "function", g
    late = ctx.js("""
      var d = document.createElement('div');
      d.setAttribute('data-onloan-record', arguments[0]);
      d.setAttribute('data-onloan-branch', 'CEN');
      d.setAttribute('data-onloan-lang', 'en');
      document.querySelector('h1').after(d);
      Onloan.render(d);
      return d;""", rec)
    api = ctx.api(rec, lang="en")
    w = ctx.wait_state(("on_loan",), host=late)
    assert w["lang"] == "en" and w["reserve"] == "Reserve this title", w
    assert w["message"] == api["message"], (w["message"], api["message"])
    assert [i["record"] for i in w["items"]] == [a["record"] for a in api["alternatives"]], w


def test_screenshots_and_small_screens(ctx):
    os.makedirs(ctx.args.screenshots, exist_ok=True)
    pages = [("on-loan", ctx.opac.url(ctx.picks["on_loan"]), ("on_loan",)),
             ("available", ctx.opac.url(ctx.picks["available"]), ("available",)),
             ("unknown", ctx.opac.url(ctx.picks["on_loan"], catalogue="down"), ("unknown",))]
    made = []
    for size in (B.DESKTOP, B.PHONE):
        for name, url, states in pages:
            ctx.load(url, size=size, states=states)
            scroll_to_widget(ctx, "start")
            ctx.js("window.scrollBy(0, -16)")
            time.sleep(0.2)
            w = ctx.info()
            assert w["innerWidth"] == size[0], (size, w["innerWidth"])
            fits = ctx.js("""var h = document.querySelector('[data-onloan-record]'),
                               b = h.shadowRoot.querySelector('.box');
                             return b.scrollWidth <= b.clientWidth + 1 &&
                                    h.getBoundingClientRect().right <= window.innerWidth;""")
            assert fits, "%s at %dx%d: the widget overflows its box or the screen" % (
                name, size[0], size[1])
            path = os.path.join(ctx.args.screenshots, "widget-%s-%dx%d.png" % (
                name, size[0], size[1]))
            assert ctx.driver.save_screenshot(path), path
            with open(path, "rb") as f:
                head = f.read(24)
            assert head[:8] == b"\x89PNG\r\n\x1a\n", path
            wh = (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))
            assert wh == size, "%s is %s, want %s" % (path, wh, size)
            made.append(path)
    print("# screenshots: %s" % ", ".join(made), flush=True)


# ------------------------------------------------------------------ the whole run

def test_no_console_errors(ctx):
    ctx.drain()
    pages = {t for t, _, _ in ctx.console} | {t for t, _, _, _ in ctx.requests}
    assert len(pages) >= 8, "too few tests logged anything: %s" % pages
    bad = [c for c in ctx.console if c[1] in ("SEVERE", "WARNING")]
    assert not bad, "console: %s" % bad[:10]


def test_no_request_leaves_loopback(ctx):
    from urllib.parse import urlsplit
    ctx.drain()
    seen = [u for _, _, u, _ in ctx.requests]
    assert len(seen) >= 30, "too few requests seen (%d): is the log on?" % len(seen)
    # chrome:// pages (the first, empty tab) are the browser's own, not the network's
    away = sorted({u for u in seen if urlsplit(u).scheme not in ("data", "chrome", "about")
                   and urlsplit(u).hostname not in LOOPBACK_HOSTS})
    assert not away, "requests off loopback: %s" % away[:10]
    onloan = "http://127.0.0.1:%d/" % ctx.stack.port
    kinds = {(m, u.split("?")[0].replace(onloan, "/")) for _, m, u, _ in ctx.requests
             if u.startswith(onloan)}
    assert ("GET", "/widget.js") in kinds and ("GET", "/v1/alternatives") in kinds, kinds


TESTS = [(n, f) for n, f in sorted(
    ((n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)),
    key=lambda nf: nf[1].__code__.co_firstlineno)]
