"""The OPAC widget's file as onloand serves it (service/http/assets.c):
the very bytes of web/widget/, strong ETags of their SHA-256, 304s,
cache headers, gzip when asked, and the size budget (12 KB gzipped)."""

import gzip
import hashlib
import os

import harness
from suite import show

WIDGET = os.path.join(harness.REPO, "web", "widget", "widget.js")
BUDGET_GZIP_BYTES = 12 * 1024       # issue 18: at most 12 KB gzipped, all it loads


def _get(ctx, path="/widget.js", method="GET", **headers):
    return harness.http_request(ctx.stack.port, method, path, headers=headers)


def _h(r):
    return {k.lower(): v for k, v in r.headers.items()}


def _source():
    with open(WIDGET, "rb") as f:
        return f.read()


def test_widget_js_is_the_file_with_a_strong_etag(ctx):
    src = _source()
    r = _get(ctx, **{"Accept-Encoding": "identity"})
    assert r.status == 200, show(r)
    h = _h(r)
    assert r.body == src, "served %d bytes, web/widget/widget.js has %d" % (len(r.body), len(src))
    assert h["content-type"] == "text/javascript; charset=utf-8", h
    assert int(h["content-length"]) == len(src), h
    assert "content-encoding" not in h, h
    assert h["etag"] == '"%s"' % hashlib.sha256(src).hexdigest()[:32], h
    assert h["cache-control"] == "public, max-age=3600", h
    assert "accept-encoding" in h["vary"].lower(), h
    assert h["x-content-type-options"] == "nosniff", h
    assert h["cross-origin-resource-policy"] == "cross-origin", h


def test_widget_js_gzip_when_asked_and_within_budget(ctx):
    src = _source()
    plain = _h(_get(ctx, **{"Accept-Encoding": "identity"}))
    r = _get(ctx, **{"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert r.status == 200, show(r)
    h = _h(r)
    assert h["content-encoding"] == "gzip", h
    assert int(h["content-length"]) == len(r.body), h
    assert gzip.decompress(r.body) == src, "the gzip form is not the file"
    assert h["etag"] != plain["etag"] and not h["etag"].startswith("W/"), (h, plain)
    assert len(r.body) <= BUDGET_GZIP_BYTES, "widget.js is %d bytes gzipped (budget %d)" % (
        len(r.body), BUDGET_GZIP_BYTES)
    # q=0 refuses it
    r = _get(ctx, **{"Accept-Encoding": "gzip;q=0, identity"})
    assert r.status == 200 and "content-encoding" not in _h(r) and r.body == src, _h(r)


def test_widget_js_revalidates_with_304(ctx):
    plain = _h(_get(ctx, **{"Accept-Encoding": "identity"}))["etag"]
    zipped = _h(_get(ctx, **{"Accept-Encoding": "gzip"}))["etag"]
    for enc, inm in (("identity", plain), ("identity", "W/" + plain),
                     ("identity", '"nope", ' + plain), ("gzip", zipped), ("gzip", "*")):
        r = _get(ctx, **{"Accept-Encoding": enc, "If-None-Match": inm})
        assert r.status == 304, (enc, inm, show(r))
        assert r.body == b"", (enc, inm, r.body[:100])
        h = _h(r)
        assert h["etag"] == (plain if enc == "identity" else zipped), (enc, h)
        assert h["cache-control"] == "public, max-age=3600", h
    # another representation's tag, or an old one: the whole file
    for enc, inm in (("identity", zipped), ("gzip", plain), ("identity", '"0123"')):
        r = _get(ctx, **{"Accept-Encoding": enc, "If-None-Match": inm})
        assert r.status == 200 and len(r.body) > 1000, (enc, inm, show(r))


def test_widget_js_head_and_methods(ctx):
    get = _h(_get(ctx, **{"Accept-Encoding": "identity"}))
    r = _get(ctx, method="HEAD", **{"Accept-Encoding": "identity"})
    assert r.status == 200 and r.body == b"", show(r)
    assert _h(r)["etag"] == get["etag"], (_h(r), get)
    for method in ("POST", "DELETE"):
        r = _get(ctx, method=method)
        assert r.status == 405 and r.json and r.json["field"] == "method", (method, show(r))
    for path in ("/widget.js/", "/widget.jsx", "/web/widget/widget.js", "/Widget.js"):
        r = _get(ctx, path=path)
        assert r.status == 404 and r.json["field"] == "path", (path, show(r))


def test_widget_js_loads_from_any_page(ctx):
    """A <script src> needs no CORS; an allowed origin still gets its
    header, like every answer, and no credentials."""
    allowed = ctx.stack.config["http"]["cors_origins"][0]
    r = _get(ctx, Origin=allowed)
    h = _h(r)
    assert r.status == 200 and h["access-control-allow-origin"] == allowed, h
    assert "access-control-allow-credentials" not in h, h
    r = _get(ctx, Origin="https://other.example.net")
    assert r.status == 200 and "access-control-allow-origin" not in _h(r), _h(r)


def _head_then_get(port, path):
    """HEAD path, then GET /healthz on the same kept-alive connection: the
    HEAD's header block, and what came after it."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"HEAD %s HTTP/1.1\r\nHost: onloan\r\nAccept-Encoding: identity\r\n\r\n"
                  % path.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            assert chunk, "closed before the HEAD's headers: %r" % data
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: onloan\r\nConnection: close\r\n\r\n")
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
    return head.decode("latin-1"), rest


def test_head_is_the_headers_only(ctx):
    """RFC 9110 9.3.2: no content after a HEAD's headers (libevent 2.1
    would write the GET's body there, read by a kept-alive client as the
    next answer), and the GET's Content-Length."""
    for path in ("/widget.js", "/healthz", "/metrics", "/openapi.json"):
        head, rest = _head_then_get(ctx.stack.port, path)
        assert head.startswith("HTTP/1.1 200"), (path, head)
        assert rest.startswith(b"HTTP/1.1 200"), (path, head, rest[:80])
        fields = dict(line.split(": ", 1) for line in head.split("\r\n")[1:])
        length = int({k.lower(): v for k, v in fields.items()}["content-length"])
        assert length > 0, (path, head)
        if path == "/widget.js":
            assert length == len(_source()), (length, len(_source()))
