"""Abuse from the open network (issue 19, part 3), on daemons of their own
with their own limits: 2,000 slowloris connections while the catalogue is
a second away (the daemon goes on answering, its memory bounded, the slow
ones cut at limits.read_timeout_ms); limits.max_connections (beyond it,
connections wait in the backlog); the read deadline per request; the
per-client rate limit (429 with Retry-After); bodies larger than
limits.max_body_bytes only on listen_ingest; RLIMIT_NOFILE fitted; the
catalogue queue bounded (catalogue_busy) and the searches of requests that
gave up dropped. (Named to run before test_90, whose sanitizer check
reads these daemons' logs too.)"""

import json
import os
import resource
import selectors
import socket
import subprocess
import threading
import time

import harness
from loanlab import INGEST_KEY, Lab
from suite import expect_json, second_daemon, wait_for

SLOWLORIS = 2000


def _raise_own_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= need, \
        "this test needs %d descriptors (hard limit %d)" % (need, hard)


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def _sanitized(pid):
    """Whether the daemon is the ASan build (whose allocator adds redzones,
    shadow memory and a quarantine to every allocation)."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def _healthz(port, timeout=5.0):
    return expect_json(harness.http_request(port, "GET", "/healthz", timeout=timeout), 200)


def _eof_within(sock, seconds):
    """Whether the peer ends the connection (EOF or reset) within seconds;
    whatever else it sends is read and dropped."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except ConnectionError:
            return True
    return False


def _far_catalogue(ctx, proxy, cfg):
    """cfg's demo catalogue is behind proxy, given 3 s a search."""
    for c in cfg["catalogues"]:
        if c["name"] == "demo":
            c["target"] = "127.0.0.1:%d/demo" % proxy.port
            c["timeout_ms"] = 3000


def _wait_pool(ctx, proxy):
    pool = next(c["connections"] for c in ctx.stack.config["catalogues"] if c["name"] == "demo")
    wait_for(lambda: proxy.settled() and len({e[1] for e in proxy.events}) == pool, 10, 0.05,
             "the proxied catalogue's %d connections to be set up" % pool)


def test_slowloris_2000_with_the_catalogue_a_second_away(ctx):
    """2,000 connections that send a request slowly or not at all (a
    thousand with nothing, or a byte now and then; a thousand with 12 KiB
    of headers and then nothing), the catalogue 1 s away: /healthz and a
    /v1/alternatives are answered within request_timeout_ms all the same;
    onloand's RSS grows by less than 24 KiB a connection (their headers,
    at most limits.max_header_bytes, 16 KiB, and libevent's buffers and
    ours; three times that under ASan); every one is cut at read_timeout_ms (4 s here), though bytes
    still come."""
    _raise_own_fd_limit(SLOWLORIS + 200)
    timeout_s = ctx.stack.config["request_timeout_ms"] / 1000.0
    proxy = harness.DelayProxy(ctx.stack.zebra["main"][1], 1.0)

    def change(cfg):
        _far_catalogue(ctx, proxy, cfg)
        cfg["limits"].update(max_connections=SLOWLORIS + 100, read_timeout_ms=4000)
    d, port = second_daemon(ctx, "slowloris", change)
    socks = []
    try:
        _wait_pool(ctx, proxy)
        _healthz(port)
        rid = ctx.picks["available"]
        expect_json(harness.http_request(port, "GET", "/v1/alternatives?record=%s" % rid,
                                         timeout=10), 200)
        before = _rss_kib(d.pid)
        pad = b"X-Pad: " + b"p" * 1000 + b"\r\n"
        t0 = time.monotonic()
        for i in range(SLOWLORIS):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.sendall(b"GET /v1/alternatives?record=f1 HTTP/1.1\r\nHost: x\r\n" + pad * 12)
            socks.append(s)
        opened = time.monotonic() - t0
        assert opened < 3.0, "opening %d connections took %.1fs" % (SLOWLORIS, opened)
        drip = [s for i, s in enumerate(socks) if i % 4 == 0]
        for s in drip:
            s.sendall(b"G")

        h = _healthz(port)
        assert h["connections"]["open"] >= SLOWLORIS, h["connections"]
        assert h["connections"]["accepting"] is True, h["connections"]
        # the daemon answers while they hang on: /healthz, and a title it
        # has not seen, from the catalogue a second away
        hz = harness.http_request(port, "GET", "/healthz", timeout=10)
        other = next(r for r in ctx.popular_films[40:] if r != rid)
        alt = harness.http_request(port, "GET", "/v1/alternatives?record=%s" % other, timeout=10)
        assert hz.status == 200 and hz.elapsed < timeout_s, (hz, hz.elapsed)
        j = expect_json(alt, 200)
        assert alt.elapsed < timeout_s + 0.2, "answered after %.2fs" % alt.elapsed
        assert j["status"] != "unknown", j
        during = _rss_kib(d.pid)
        grew = during - before
        per_conn = 24 * (3 if _sanitized(d.pid) else 1)
        assert grew < SLOWLORIS * per_conn, "RSS grew by %d KiB for %d connections (bound: %d " \
            "KiB each)" % (grew, SLOWLORIS, per_conn)

        # a byte now and then does not keep a request alive: cut at 4 s
        for _ in range(3):
            time.sleep(0.3)
            for s in drip:
                try:
                    s.send(b"E")
                except OSError:
                    pass
        sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        ended = 0
        deadline = t0 + opened + 4.0 + 1.5
        while ended < len(socks) and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    ended += 1
        sel.close()
        assert ended == len(socks), "%d of %d slow connections still open %.1fs after the last " \
            "opened" % (len(socks) - ended, len(socks), time.monotonic() - t0 - opened)
        h = wait_for(lambda: (lambda h: h if h["connections"]["open"] <= 1 else None)(_healthz(port)),
                     5, 0.1, "the cut connections to be freed")
        assert h["connections"]["cut_at_read_timeout"] >= SLOWLORIS, h["connections"]
        print("# slowloris: %d connections opened in %.1fs; RSS %d KiB, +%d KiB with them "
              "(%.1f KiB each), %d KiB after; /healthz %.3fs, alternatives %.3fs" % (
                  SLOWLORIS, opened, before, grew, grew / SLOWLORIS, _rss_kib(d.pid),
                  hz.elapsed, alt.elapsed))
    finally:
        for s in socks:
            s.close()
        d.stop()
        proxy.close()


def test_max_connections_wait_in_the_backlog(ctx):
    """At limits.max_connections (20) the daemon accepts no more: a 21st
    connection waits in the listen backlog, unanswered, and is served as
    soon as others close."""
    d, port = second_daemon(ctx, "cap", lambda cfg: cfg["limits"].update(
        max_connections=20, read_timeout_ms=20000))
    idle = []
    try:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
        time.sleep(0.3)
        probe = socket.create_connection(("127.0.0.1", port), timeout=5)  # the kernel's backlog
        probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        probe.settimeout(1.0)
        try:
            early = probe.recv(100)
        except socket.timeout:
            early = None
        assert early is None, "answered beyond max_connections: %r" % early
        t0 = time.monotonic()
        for s in idle[:5]:
            s.close()
        probe.settimeout(5)
        data = b""
        while True:
            chunk = probe.recv(65536)
            if not chunk:
                break
            data += chunk
        waited = time.monotonic() - t0
        probe.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), data[:300]
        c = json.loads(body)["connections"]
        assert c["max"] == 20 and c["at_cap"] >= 1 and c["accepted"] >= 21, c
        assert waited < 1.0, "served %.2fs after others closed" % waited
    finally:
        for s in idle:
            s.close()
        d.stop()


def test_read_deadline_is_per_request(ctx):
    """limits.read_timeout_ms (1 s) bounds the reading of each request,
    from its first byte, however often bytes come; a keep-alive
    connection idle between requests is not cut by it (idle_timeout_s is
    for that)."""
    d, port = second_daemon(ctx, "deadline", lambda cfg: cfg["limits"].update(
        read_timeout_ms=1000, idle_timeout_s=30))
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        t0 = time.monotonic()
        cut = None
        for ch in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 40:
            try:
                s.send(bytes([ch]))
            except OSError:
                cut = time.monotonic() - t0
                break
            s.settimeout(0.1)
            try:
                if s.recv(100) == b"":
                    cut = time.monotonic() - t0
                    break
            except socket.timeout:
                pass
            except ConnectionError:
                cut = time.monotonic() - t0
                break
        s.close()
        assert cut is not None and 0.9 <= cut < 1.6, "cut after %r s" % cut

        # keep-alive: a request, 1.5 s idle (past the read deadline), a
        # second request answered; a third sent slowly is cut 1 s after
        # its first byte
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

        def answer():
            f = s.makefile("rb")
            line = f.readline()
            length = 0
            while True:
                h = f.readline()
                if h in (b"\r\n", b""):
                    break
                if h.lower().startswith(b"content-length:"):
                    length = int(h.split(b":")[1])
            f.read(length)
            return line
        s.sendall(req)
        assert answer().startswith(b"HTTP/1.1 200")
        time.sleep(1.5)
        s.sendall(req)
        assert answer().startswith(b"HTTP/1.1 200")
        s.sendall(b"GET /heal")
        t0 = time.monotonic()
        assert _eof_within(s, 3.0), "a slow request on a kept-alive connection was not cut"
        waited = time.monotonic() - t0
        assert 0.8 <= waited < 1.6, waited
        s.close()
        h = _healthz(port)
        assert h["connections"]["cut_at_read_timeout"] == 2, h["connections"]
    finally:
        d.stop()


def test_rate_limit_429(ctx):
    """limits.per_client_rps 5 (burst 5): the sixth request at once is a
    429 {"error", "field": null} with Retry-After: 1; /healthz is not
    limited, nor is listen_ingest; a second later there is room again."""
    ingest_port = harness.free_port()

    def change(cfg):
        cfg["limits"].update(per_client_rps=5, per_client_burst=5)
        cfg["listen_ingest"] = "127.0.0.1:%d" % ingest_port
    d, port = second_daemon(ctx, "rate", change)
    try:
        got = [harness.http_request(port, "GET", "/nope") for _ in range(6)]
        assert [r.status for r in got] == [404] * 5 + [429], [r.status for r in got]
        j = expect_json(got[5], 429)
        assert j["field"] is None and "too many requests" in j["error"], j
        assert got[5].headers.get("Retry-After") == "1", got[5].headers
        for _ in range(20):
            assert harness.http_request(port, "GET", "/healthz").status == 200
        for _ in range(20):
            assert harness.http_request(ingest_port, "GET", "/nope").status == 404
        time.sleep(1.0)
        assert [harness.http_request(port, "GET", "/nope").status for _ in range(6)] == \
            [404] * 5 + [429]
        h = _healthz(port)
        assert h["connections"]["rate_limited"] == 2, h["connections"]
        assert h["rate_limit"]["clients"] == 1 and h["rate_limit"]["limited"] == 2, h["rate_limit"]
        assert h["ingest_connections"]["rate_limited"] == 0, h["ingest_connections"]
    finally:
        d.stop()


def test_large_bodies_only_on_listen_ingest(ctx):
    """On listen a body is at most limits.max_body_bytes (8 KiB), a POST
    /v1/loans too (a JSON 413; over 64 KiB more, libevent's own 413,
    unread); on listen_ingest loans take up to ingest.max_body_bytes."""
    lab = Lab(ctx, "ingestport", daemon=False)
    try:
        ingest_port = harness.free_port()
        lab.cfg["listen_ingest"] = "127.0.0.1:%d" % ingest_port
        ctx.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
        lab.start_daemon()
        events = [{"patron": "p%d" % (i % 40), "record": "f%d" % (100 + i),
                   "time": "2026-11-%02dT10:00:00Z" % (1 + i % 28), "id": "big-%d" % i}
                  for i in range(250)]
        body = json.dumps(events).encode()
        assert 8192 < len(body) < 65536, len(body)
        auth = {"Authorization": "Bearer " + INGEST_KEY, "Content-Type": "application/json"}
        r = harness.http_request(lab.port, "POST", "/v1/loans", body=body, headers=auth)
        j = expect_json(r, 413)
        assert j["field"] == "body" and "8192" in j["error"], j
        r = harness.http_request(ingest_port, "POST", "/v1/loans", body=body, headers=auth)
        assert expect_json(r, 202)["taken"] == 250, r
        small = json.dumps(events[:3]).encode()
        r = harness.http_request(lab.port, "POST", "/v1/loans", body=small, headers=auth)
        assert expect_json(r, 202)["duplicates"] == 3, r
        with socket.create_connection(("127.0.0.1", lab.port), timeout=10) as s:
            s.sendall(("POST /v1/loans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: %d\r\n\r\n" % (8192 + 65536 + 1)).encode())
            head = s.recv(4096)
        assert head.startswith(b"HTTP/1.1 413"), head[:200]
        h = _healthz(lab.port)
        assert h["connections"]["bodies_too_large"] == 1, h["connections"]
    finally:
        lab.close()


def _spawn_limited(ctx, name, nofile, change=None):
    """An onloand under `prlimit --nofile=nofile`; returns (proc, port)."""
    st = ctx.stack
    cfg = json.loads(json.dumps(st.config))
    port = harness.free_port()
    cfg["listen"] = "127.0.0.1:%d" % port
    if change:
        change(cfg)
    path = st.write_config(cfg, name + ".json")
    logpath = os.path.join(st.tmp, "onloand-%s.log" % name)
    st.daemon_logs.append(logpath)
    p = harness.Proc("onloand-" + name, ["prlimit", "--nofile=" + nofile, "--",
                                         os.path.join(st.build, "onloand"), "-c", path],
                     logpath, env=harness.sanitizer_env())
    st.procs.append(p)
    return p, port


def test_fd_limit_fitted(ctx):
    """RLIMIT_NOFILE: a soft limit below what limits.max_connections
    needs is raised (to max_connections plus a reserve of 64 and two a
    catalogue connection: 88 here); a hard limit below it lowers the
    connections taken, said in the log; one that leaves none is an
    error at start."""
    reserve = 64 + 2 * sum(c["connections"] for c in ctx.stack.config["catalogues"])
    p, port = _spawn_limited(ctx, "nofile-raised", "256:20000",
                             lambda cfg: cfg["limits"].update(max_connections=2500))
    try:
        harness.wait_port(port, 15, p, "onloand")
        with open("/proc/%d/limits" % p.pid) as f:
            line = next(ln for ln in f if ln.startswith("Max open files"))
        assert int(line.split()[3]) == 2500 + reserve, line
        assert _healthz(port)["connections"]["max"] == 2500
    finally:
        p.stop()
    p, port = _spawn_limited(ctx, "nofile-lowered", "300:300")
    try:
        harness.wait_port(port, 15, p, "onloand")
        assert _healthz(port)["connections"]["max"] == 300 - reserve
        assert "RLIMIT_NOFILE's hard limit is 300" in p.output(), p.output()[-2000:]
    finally:
        p.stop()
    p, port = _spawn_limited(ctx, "nofile-refused", "%d:%d" % (reserve, reserve))
    try:
        p.p.wait(15)
        assert p.p.returncode == 1, p.p.returncode
        assert "cannot start: RLIMIT_NOFILE is %d" % reserve in p.output(), p.output()[-2000:]
    finally:
        p.stop()


def test_catalogue_queue_bounded_and_abandoned_searches_dropped(ctx):
    """A catalogue a second away with one connection and max_queued 3,
    requests that give up after 300 ms: of 10 titles asked at once, one is
    searched, three wait, and the other six fail at once (catalogue_busy
    in their degraded list); the three waiting are dropped, not searched,
    once their requests have been answered without them."""
    proxy = harness.DelayProxy(ctx.stack.zebra["main"][1], 1.0)

    def change(cfg):
        _far_catalogue(ctx, proxy, cfg)
        cfg["request_timeout_ms"] = 300
        for c in cfg["catalogues"]:
            if c["name"] == "demo":
                c.update(connections=1, max_queued=3)
    d, port = second_daemon(ctx, "queue", change)
    try:
        wait_for(lambda: proxy.settled() and proxy.events, 10, 0.05, "the connection set up")
        titles = [r for r in sorted(ctx.cat.demo) if r.startswith("f") and r not in ctx.by_record][:10]
        proxy.forget()
        out = [None] * len(titles)

        def ask(i):
            out[i] = harness.http_request(port, "GET", "/v1/alternatives?record=%s" % titles[i],
                                          timeout=10)
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(titles))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        answers = [expect_json(r, 200) for r in out]
        busy = [a for a in answers if "catalogue_busy" in a["degraded"]]
        assert all(a["status"] == "unknown" for a in answers), answers
        assert len(busy) == 6, [a["degraded"] for a in answers]
        assert all(r.elapsed < 0.5 for r in out), [round(r.elapsed, 2) for r in out]

        def drained():
            c = next(c for c in _healthz(port)["catalogues"] if c["name"] == "demo")
            return c if c["busy_connections"] == 0 and c["queued_searches"] == 0 else None
        got = wait_for(drained, 5, 0.1, "the catalogue's search to end and its queue to empty")
        assert (got["searches"], got["dropped_jobs"], got["queue_refusals"]) == (1, 3, 6), got
    finally:
        d.stop()
        proxy.close()
