"""The kiosk's two calls: GET /v1/alternatives?format=receipt (the
receipt printer's text: widths, order, nl/en, a calm degraded answer) and
GET /v1/qr (the reservation link as a QR code, read back with zbarimg);
their errors, each naming its field."""

import os
import re
import subprocess
import tempfile
from urllib.parse import quote

import harness
import marc
from cells import flat, too_wide
from suite import Skip, expect_json, show

WIDTHS = (16, 32, 40, 48, 80)


def _receipt(ctx, record, width=None, lang="nl", catalogue=None):
    extra = "&format=receipt" + ("&width=%d" % width if width else "")
    return ctx.stack.alt(record, lang=lang, channel="kiosk", catalogue=catalogue, extra=extra)


def _text(r):
    assert r.status == 200, show(r)
    assert r.headers.get("Content-Type") == "text/plain; charset=utf-8", r.headers
    return r.body.decode("utf-8")


def test_receipt_parameters_named(ctx):
    rid = ctx.picks["on_loan"]
    for extra, field in (("&format=receipt&width=15", "width"), ("&format=receipt&width=81", "width"),
                         ("&format=receipt&width=4O", "width"), ("&format=text", "format"),
                         ("&format=", "format"), ("&format=receipt&format=json", "format")):
        j = expect_json(ctx.stack.alt(rid, channel="kiosk", extra=extra), 400)
        assert j.get("field") == field, (extra, j)


def test_receipt_of_an_on_loan_title(ctx):
    rid = ctx.picks["on_loan"]
    j = expect_json(ctx.stack.alt(rid, lang="nl", channel="kiosk"), 200)
    assert j["status"] == "on_loan" and j["alternatives"], j
    for width in WIDTHS:
        for lang in ("nl", "en"):
            t = _text(_receipt(ctx, rid, width, lang))
            assert not too_wide(t, width), "width %d: %r" % (width, too_wide(t, width))
            f = flat(t)
            assert j["title"] in f or width < 32, (j["title"], t)
            assert ("Alle exemplaren zijn uitgeleend" if lang == "nl"
                    else "All copies are on loan") in f, t
            # every alternative, those at the branch before the others
            pos = []
            for a in j["alternatives"]:
                where = a["available_at"][0]
                cn = where["call_number"] or ""
                key = cn if a["at_branch"] else "%s: %s" % (where["branch"], cn)
                assert key in f, (width, key, t)
                pos.append((not a["at_branch"], f.index(key)))
            assert [p for _, p in sorted(pos)] == sorted(p for _, p in pos), (width, t)
            # the reservation link, whole once its lines are put together
            assert j["reserve_url"] in t.replace("\n", ""), (j["reserve_url"], t)
    # the default width is 40
    t = _text(_receipt(ctx, rid))
    assert max(len(l) for l in t.split("\n")) == 40, t


def test_receipt_of_a_marc8_jazz_record(ctx):
    jazz = [r for r in ctx.cat.jazz.values() if any(ord(c) > 127 for c in r["title_a"])]
    if not jazz:
        raise Skip("no jazz title with diacritics")
    rec = sorted(jazz, key=lambda r: (r["id"] != "03-0017438", r["id"]))[0]
    j = expect_json(ctx.stack.alt(rec["id"], catalogue="jazz", channel="kiosk"), 200)
    for width in (32, 40, 48):
        t = _text(_receipt(ctx, rec["id"], width, catalogue="jazz"))
        assert not too_wide(t, width), (width, too_wide(t, width))
        assert marc.nfc(j["title"]) in flat(t), (j["title"], t)


def test_receipt_when_the_catalogue_is_down(ctx):
    st = ctx.stack
    proc, port = st.zebra["victim"]
    rid = sorted(r for r in ctx.cat.demo if r.startswith("f"))[7]
    proc.stop()
    try:
        t = _text(_receipt(ctx, rid, 32, "nl", catalogue="victim"))
        assert not too_wide(t, 32), too_wide(t, 32)
        f = flat(t)
        assert "Titelnummer %s" % rid in f and "balie" in f, t
        assert "uitgeleend" not in f and "in de kast" not in f, t
        t = _text(_receipt(ctx, rid, 40, "en", catalogue="victim"))
        assert "Please ask at the desk" in flat(t), t
    finally:
        st.start_zebra("victim", port)


# ------------------------------------------------------------------ /v1/qr

def _zbar(data, suffix):
    with tempfile.NamedTemporaryFile(suffix=suffix) as f:
        f.write(data)
        f.flush()
        r = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f.name],
                           capture_output=True, timeout=30)
    assert r.returncode == 0, "zbarimg read no code from the %s: %s" % (suffix, r.stderr[-500:])
    return r.stdout.decode("utf-8").rstrip("\n")


def _svg_as_pgm(svg, scale=4):
    """The SVG's dark path drawn into a greyscale image (PGM, which zbarimg
    reads): its viewBox, a white rect, and the path's M/h/v/z commands (the
    absolute and relative ones a QR code's modules need), filled as
    rectangles, without trusting how onloand draws them beyond that. (The
    kiosk's browser test has Chromium render it too.)"""
    text = svg.decode("utf-8")
    vb = re.search(r'viewBox="0 0 (\d+) (\d+)"', text)
    assert vb and vb.group(1) == vb.group(2), text[:200]
    side = int(vb.group(1))
    d = re.search(r'<path[^>]*\bd="([^"]*)"', text).group(1)
    img = bytearray(b"\xff" * (side * scale) ** 2)
    toks = re.findall(r"[MmHhVvZz]|-?\d+", d)
    x = y = 0
    pts = []
    i = 0
    while i < len(toks):
        cmd = toks[i]
        i += 1
        if cmd in "Mm":
            dx, dy = int(toks[i]), int(toks[i + 1])
            i += 2
            x, y = (dx, dy) if cmd == "M" else (x + dx, y + dy)
            pts = [(x, y)]
        elif cmd in "HhVv":
            n = int(toks[i])
            i += 1
            if cmd in "Hh":
                x = n if cmd == "H" else x + n
            else:
                y = n if cmd == "V" else y + n
            pts.append((x, y))
        elif cmd in "Zz":
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            for py in range(min(ys) * scale, max(ys) * scale):
                row = py * side * scale
                img[row + min(xs) * scale:row + max(xs) * scale] = \
                    b"\x00" * ((max(xs) - min(xs)) * scale)
            x, y = pts[0]
            pts = [(x, y)]
        else:
            raise AssertionError("SVG path command %r" % cmd)
    return b"P5 %d %d 255\n" % (side * scale, side * scale) + bytes(img)


def _answer(ctx, **kw):
    j = expect_json(ctx.stack.alt(ctx.picks["on_loan"], channel="kiosk", **kw), 200)
    assert j["touchpoint"] and j["touchpoint_token"] and j["reserve_url"], j
    return j


def _qr(ctx, query):
    return ctx.stack.get("/v1/qr?" + query)


def test_qr_png_and_svg_read_back_to_the_link(ctx):
    for cat, kw in ((None, {}), ("jazz", {"catalogue": "jazz"})):
        if cat:
            rid = sorted(r for r in ctx.cat.jazz if "-" in r)[0]
            j = expect_json(ctx.stack.alt(rid, channel="kiosk", catalogue="jazz"), 200)
        else:
            j = _answer(ctx)
        q = "touchpoint=%s&token=%s" % (j["touchpoint"], quote(j["touchpoint_token"]))
        r = _qr(ctx, q + "&format=png")
        assert r.status == 200 and r.headers.get("Content-Type") == "image/png", show(r)
        assert r.body.startswith(b"\x89PNG\r\n\x1a\n")
        assert _zbar(r.body, ".png") == j["reserve_url"], j["reserve_url"]
        r = _qr(ctx, q)
        assert r.status == 200, show(r)
        assert r.headers.get("Content-Type") == "image/svg+xml; charset=utf-8", r.headers
        assert _zbar(_svg_as_pgm(r.body), ".pgm") == j["reserve_url"], j["reserve_url"]
        assert _qr(ctx, q + "&format=svg").body == r.body


def test_qr_errors_named(ctx):
    j = _answer(ctx)
    tp, tok = j["touchpoint"], quote(j["touchpoint_token"])
    other = _answer(ctx)
    cases = [
        ("token=" + tok, 400, "touchpoint"),
        ("touchpoint=abc&token=" + tok, 400, "touchpoint"),
        ("touchpoint=%s-0-0&token=%s" % (tp, tok), 400, "touchpoint"),
        ("touchpoint=%s&token=%s&format=gif" % (tp, tok), 400, "format"),
        ("touchpoint=%s&token=%s&format=PNG" % (tp, tok), 400, "format"),
        ("touchpoint=%s&token=%s&size=9" % (tp, tok), 400, "size"),
        ("touchpoint=%s&touchpoint=%s&token=%s" % (tp, tp, tok), 400, "touchpoint"),
        ("touchpoint=%s" % tp, 403, "token"),
        ("touchpoint=%s&token=" % tp, 403, "token"),
        ("touchpoint=%s&token=%s" % (tp, quote(other["touchpoint_token"])), 403, "token"),
        ("touchpoint=%s&token=%s" % (tp, "9" * 70), 403, "token"),
        ("touchpoint=%s&token=%s%%00" % (tp, tok), 400, "token"),
        ("touchpoint=1-999999&token=" + tok, 404, "touchpoint"),
    ]
    for q, status, field in cases:
        got = expect_json(_qr(ctx, q), status)
        assert got.get("field") == field, (q, got)
    r = harness.http_request(ctx.stack.port, "POST", "/v1/qr?touchpoint=%s&token=%s" % (tp, tok),
                             body=b"")
    assert r.status == 405 and r.json.get("field") == "method", show(r)


# ------------------------------------------------------------------ /kiosk

def test_kiosk_page_is_built_in_and_self_contained(ctx):
    for path, name, ctype in (("/kiosk", "kiosk.html", "text/html; charset=utf-8"),
                              ("/kiosk.js", "kiosk.js", "text/javascript; charset=utf-8")):
        with open(os.path.join(harness.REPO, "web", "kiosk", name), "rb") as f:
            src = f.read()
        r = harness.http_request(ctx.stack.port, "GET", path + "?branch=CEN&lang=en",
                                 headers={"Accept-Encoding": "identity"})
        assert r.status == 200 and r.body == src, show(r)
        assert r.headers.get("Content-Type") == ctype and r.headers.get("ETag"), r.headers
        # everything it loads is onloand's own: no URL with a scheme or host
        text = src.decode("utf-8")
        assert not re.search(r"""(src|href|fetch\()\s*=?\s*["'](https?:)?//""", text), name
