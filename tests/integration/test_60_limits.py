"""Explicit limits and the freshness bound, on the real stack: a body over
limits.max_body_bytes is a JSON 413 (and one at the limit is not); beyond
limits.max_pending_requests a JSON 503; what the loader keeps is bounded by
privacy.history_max, history_ttl_days and model.neighbours_max (+ reserve); the
catalogue cache by cache_max_entries; candidates by limits.max_candidates;
a change of a record in Zebra shows in the answer within cache_ms."""

import calendar
import collections
import copy
import hashlib
import json
import os
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import harness
from loanlab import parse_co
from suite import expect_json, second_daemon

MARC = "http://www.loc.gov/MARC21/slim"
NS = {"m": MARC}


def test_body_limit_413(ctx):
    tp = expect_json(ctx.stack.alt(ctx.picks["on_loan"]), 200)["touchpoint"]
    path = "/v1/touchpoints/%s/events" % tp
    limit = ctx.stack.config["limits"]["max_body_bytes"]

    def body(size):
        b = b'{"type":"shown","pad":"'
        return b + b"x" * (size - len(b) - 2) + b'"}'

    def post(b):
        return harness.http_request(ctx.stack.port, "POST", path, body=b,
                                    headers={"Content-Type": "application/json"})
    at = post(body(limit))
    # at the limit the body is read and judged: "pad" is an unknown field
    j = expect_json(at, 400)
    assert j["field"] == "pad", j
    over = post(body(limit + 1))
    j = expect_json(over, 413)
    assert j["field"] == "body", j
    # more than HTTP_BODY_SLACK_BYTES (64 KiB) over limits.max_body_bytes,
    # the largest body listen takes (ingest.max_body_bytes is for
    # listen_ingest, test_89): refused unread by libevent, still a 413,
    # and the daemon goes on answering
    with socket.create_connection(("127.0.0.1", ctx.stack.port), timeout=10) as s:
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, limit + 65536 + 1)).encode())
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    expect_json(ctx.stack.alt(ctx.picks["on_loan"]), 200)


def test_pending_limit_503(ctx):
    """A second onloand with max_pending_requests 2: with the catalogue hung,
    two requests wait and the third is refused at once."""
    d, port = second_daemon(ctx, "pending",
                            lambda cfg: cfg["limits"].update(max_pending_requests=2))
    victim = ctx.stack.zebra_proc("victim")
    try:
        victim.sigstop()
        q = "/v1/alternatives?record=%s&catalogue=victim" % ctx.picks["available"]
        slow = []
        threads = [threading.Thread(target=lambda: slow.append(
            harness.http_request(port, "GET", q, timeout=10))) for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            h = harness.http_request(port, "GET", "/healthz").json
            if h["pending_requests"] == 2:
                break
            time.sleep(0.02)
        assert h["pending_requests"] == 2, h
        third = harness.http_request(port, "GET", q, timeout=5)
        j = expect_json(third, 503)
        assert "error" in j and third.elapsed < 0.5, (j, third.elapsed)
        for t in threads:
            t.join(10)
        assert [r.status for r in slow] == [200, 200], slow
        assert all(r.json["status"] == "unknown" for r in slow), slow
    finally:
        victim.sigcont()
        d.stop()


def test_loader_bounds(ctx):
    """Histories (h:<pseudonym>, a string of "<unix-time> <record>" lines,
    or "<unix-time> <record> <branch>" for a loan that named its branch,
    newest first): under the keyed BLAKE2b-128 pseudonym (hashlib here,
    libsodium in onloan), the patron's newest titles, at most history_max
    and none older than history_ttl_days before the newest, each with the
    branch of its first loan, expiring within history_ttl_days; neighbour
    lists at most neighbours_max long."""
    priv = ctx.stack.config["privacy"]
    key = bytes.fromhex(priv["patron_key"])
    ttl_s = priv["history_ttl_days"] * 86400
    loans = collections.defaultdict(dict)           # patron -> record -> unix time
    branch = {}                                     # (patron, record) -> branch of the first
    for row in ctx.loan_rows:
        t = int(calendar.timegm(time.strptime(row["date"], "%Y-%m-%dT%H:%M:%SZ")))
        if t < loans[row["patron"]].get(row["record"], t + 1):
            loans[row["patron"]][row["record"]] = t
            branch[row["patron"], row["record"]] = row.get("branch") or None
    per_patron = collections.Counter({p: len(v) for p, v in loans.items()})
    heavy = [p for p, n in per_patron.most_common() if n > priv["history_max"]][:3]
    light = [p for p, n in per_patron.most_common()[-3:]]
    assert heavy, "no patron with more than history_max loans in the test data"
    model = ctx.stack.config["model"]
    nmax = model.get("neighbours_max", 100) + model.get("neighbours_reserve", 300)
    with ctx.stack.redis() as r:
        for p in heavy + light:
            pseudo = hashlib.blake2b(p.encode(), key=key, digest_size=16).hexdigest()
            k = "%sh:%s" % (ctx.prefix, pseudo)
            text = r("GET", k).decode()
            lines = [ln.split(" ") for ln in text.splitlines()]
            assert all(len(f) in (2, 3) for f in lines), (p, text)
            for f in lines:
                assert (f[2] if len(f) == 3 else None) == branch[p, f[1]], (
                    "history of %s: %s at %s, its first loan at %s" % (
                        p, f[1], f[2:], branch[p, f[1]]))
            entries = [(int(f[0]), f[1]) for f in lines]
            newest = max(loans[p].values())
            recent = [rec for rec, t in loans[p].items() if t >= newest - ttl_s]
            assert len(entries) == min(len(recent), priv["history_max"]), (
                p, len(entries), len(recent), per_patron[p])
            assert [t for t, _ in entries] == sorted((t for t, _ in entries), reverse=True), \
                "history of %s is not newest first" % p
            assert entries[0][0] == newest, (p, entries[0], newest)
            cut = sorted(loans[p].values(), reverse=True)[len(entries) - 1]
            for t, rec in entries:
                assert loans[p].get(rec) == t and t >= cut, (
                    "history of %s holds %s at %d: not one of its newest loans" % (p, rec, t))
            ttl = r("TTL", k)
            assert 0 < ttl <= ttl_s, ttl
        for rid in ctx.popular_films[:20]:
            got, lines = parse_co(r("GET", "%sco:%s" % (ctx.prefix, rid)))
            assert 0 < len(got) <= nmax, (rid, len(got), nmax)


def test_cache_and_candidate_bounds(ctx):
    """A second onloand with cache_max_entries 8 and max_candidates 3: the
    cache never holds more, and co-occurrence gives at most 3 candidates."""
    def change(cfg):
        cfg["limits"]["max_candidates"] = 3
        for c in cfg["catalogues"]:
            c["cache_max_entries"] = 8
    d, port = second_daemon(ctx, "bounds", change)
    most_searches = 0
    try:
        # films (co-occurrence) and books without loans, whose authors and
        # subjects are searched: more searches than the cache may keep
        for rid in ctx.popular_films[:6] + ["b%d" % i for i in range(1, 13)]:
            r = harness.http_request(port, "GET", "/v1/alternatives?record=%s&limit=10" % rid)
            j = expect_json(r, 200)
            loans = [a for a in j["alternatives"] if a["reason"] in ("also_borrowed", "popular")]
            assert len(loans) <= 3, (rid, [a["record"] for a in loans])
            h = harness.http_request(port, "GET", "/healthz").json
            demo = [c for c in h["catalogues"] if c["name"] == "demo"][0]
            assert demo["cached_records"] <= 8 and demo["cached_searches"] <= 8, demo
            most_searches = max(most_searches, demo["cached_searches"])
        # the bound was reached, not just never approached
        assert most_searches == 8, most_searches
    finally:
        d.stop()


def test_header_limit(ctx):
    """Headers beyond limits.max_header_bytes are refused; the daemon goes on."""
    st = ctx.stack
    limit = st.config["limits"]["max_header_bytes"]
    ok = harness.http_request(st.port, "GET", "/healthz", headers={"X-Pad": "x" * (limit // 2)})
    assert ok.status == 200, ok
    try:
        r = harness.http_request(st.port, "GET", "/healthz", headers={"X-Pad": "x" * (limit + 1)})
        assert r.status in (400, 413, 431), r
    except (ConnectionError, OSError):
        pass        # closed without an answer: refused all the same
    assert expect_json(st.get("/healthz"), 200)["status"] == "ok"


def test_touchpoint_stream_bounded(ctx):
    """A daemon with touchpoint_stream_max 1000 (its own key prefix): after
    1,300 answers the stream holds about 1,000 (Redis trims whole nodes of
    up to 100 entries: MAXLEN ~)."""
    def change(cfg):
        cfg["redis"]["prefix"] = "bounded:"
        cfg["redis"]["touchpoint_stream_max"] = 1000
    d, port = second_daemon(ctx, "stream", change)
    try:
        q = "/v1/alternatives?record=%s&catalogue=demo" % ctx.picks["available"]
        for _ in range(1300):
            assert harness.http_request(port, "GET", q).status == 200
        with ctx.stack.redis() as r:
            n = r("XLEN", "bounded:tp")
            r("DEL", "bounded:tp")
        assert 1000 <= n <= 1100, n
    finally:
        d.stop()


def _demo_record(catdir, rid):
    tree = ET.parse(os.path.join(catdir, "demo.xml"))
    for rec in tree.getroot().findall("m:record", NS):
        f001 = rec.find("m:controlfield[@tag='001']", NS)
        if f001 is not None and f001.text == rid:
            return rec
    raise AssertionError("record %s not in demo.xml" % rid)


def _reindex(ctx, recs, action="update"):
    """Replaces the records (a list) in the shared register (zebraidx
    update, or with action "delete" takes them out, and commit): every
    running zebrasrv sees it without a restart."""
    catdir = ctx.cat.dir
    ET.register_namespace("", MARC)
    coll = ET.Element("{%s}collection" % MARC)
    for rec in recs:
        coll.append(rec)
    xml = os.path.join(ctx.stack.tmp, "changed.xml")
    mrc = os.path.join(ctx.stack.tmp, "changed.mrc")
    ET.ElementTree(coll).write(xml, encoding="utf-8", xml_declaration=True)
    with open(mrc, "wb") as out:
        subprocess.run(["yaz-marcdump", "-i", "marcxml", "-o", "marc", xml],
                       stdout=out, check=True)
    for args in (["-g", "demo", "-d", "demo", action, mrc], ["commit"]):
        r = subprocess.run(["zebraidx", "-c", "zebra.cfg"] + args, cwd=catdir,
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()[-2000:]


def _status(ctx, rid):
    return expect_json(ctx.stack.alt(rid, catalogue="demo"), 200)


def test_catalogue_change_seen_within_cache_ms(ctx):
    # A film nobody borrowed (so no other answer shows it), all copies in.
    rid = next(r for r, rec in sorted(ctx.cat.demo.items())
               if r.startswith("f") and r not in ctx.by_record and rec["copies"]
               and all(c["status"] == "available" for c in rec["copies"]))
    cache_s = ctx.stack.config["catalogues"][0]["cache_ms"] / 1000.0
    original = _demo_record(ctx.cat.dir, rid)
    changed = copy.deepcopy(original)
    for df in changed.findall("m:datafield[@tag='952']", NS):
        q = ET.SubElement(df, "{%s}subfield" % MARC, code="q")
        q.text = "2031-01-02"
    assert _status(ctx, rid)["status"] == "available"
    try:
        _reindex(ctx, [changed])
        changed_at = time.monotonic()
        while True:
            j = _status(ctx, rid)
            if j["status"] == "on_loan":
                break
            assert time.monotonic() - changed_at < cache_s + 1.5, \
                "still %s %.1fs after the change (cache_ms %.1fs)" % (
                    j["status"], time.monotonic() - changed_at, cache_s)
            time.sleep(0.1)
        assert j["expected_back"] == "2031-01-02", j
        assert all(c["status"] == "on_loan" for c in j["copies"]), j
    finally:
        _reindex(ctx, [original])
    deadline = time.monotonic() + cache_s + 1.5
    while _status(ctx, rid)["status"] != "available":
        assert time.monotonic() < deadline, "record %s not restored" % rid
        time.sleep(0.1)


def test_longest_record_id_is_found(ctx):
    """limits.max_record_id_bytes goes up to 511, the longest term Zebra
    searches (it refuses 512 with "Too many characters in search
    statement", which would fail a whole batch): a record whose 001 has
    511 bytes is found over Z39.50 and SRU, alone and batched with other
    ids, and a 512-byte id is a 400 naming the field. A second record's id
    differs from it in case only: each lookup finds its own record (over
    SRU too, where rec.id is a key, not a phrase of words, which would
    find both and might fetch the other one only)."""
    rid = next(r for r, rec in sorted(ctx.cat.demo.items())
               if r.startswith("f") and r not in ctx.by_record and rec["copies"]
               and all(c["status"] == "available" for c in rec["copies"]))
    long_id = ("L511-" + rid + ".")
    long_id += "x" * (511 - len(long_id))
    assert len(long_id) == 511
    recs = []
    for new_id in (long_id, long_id.lower()):
        rec = copy.deepcopy(_demo_record(ctx.cat.dir, rid))
        rec.find("m:controlfield[@tag='001']", NS).text = new_id
        recs.append(rec)
    original = _status(ctx, rid)
    d, port = second_daemon(ctx, "longid",
                            lambda cfg: cfg["limits"].update(max_record_id_bytes=511))
    inserted = False
    try:
        _reindex(ctx, recs)
        inserted = True
        for cat in ("demo", "demo-sru"):
            for asked in (long_id, long_id.lower()):
                j = expect_json(harness.http_request(port, "GET",
                    "/v1/alternatives?record=%s&branch=CEN&catalogue=%s" % (asked, cat)), 200)
                assert j["record"] == asked and j["status"] == "available", (cat, j)
                assert (j["title"], j["copies"]) == (original["title"], original["copies"]), (cat, j)
        # batched: the long id among others in one search, as the first
        # round of many requests at once does
        others = sorted(r for r in ctx.cat.demo if r.startswith("f"))[:20]
        results = {}

        def get(r):
            results[r] = harness.http_request(
                port, "GET", "/v1/alternatives?record=%s&branch=CEN&catalogue=demo" % r)
        threads = [threading.Thread(target=get, args=(r,)) for r in others + [long_id]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r, resp in results.items():
            j = expect_json(resp, 200)
            assert j["record"] == r and not j["degraded"], (r, j)
        j = expect_json(harness.http_request(
            port, "GET", "/v1/alternatives?record=%s&branch=CEN" % (long_id + "x")), 400)
        assert j["field"] == "record", j
    finally:
        d.stop()
        if inserted:
            _reindex(ctx, recs, "delete")


def _reindex_iso2709(ctx, mrc_bytes, action="update"):
    """_reindex for records already in ISO 2709 (bytes), as they are."""
    mrc = os.path.join(ctx.stack.tmp, "changed-raw.mrc")
    with open(mrc, "wb") as out:
        out.write(mrc_bytes)
    for args in (["-g", "demo", "-d", "demo", action, mrc], ["commit"]):
        r = subprocess.run(["zebraidx", "-c", "zebra.cfg"] + args, cwd=ctx.cat.dir,
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()[-2000:]


def _shelf_record(ctx):
    """A film nobody borrowed (so no other answer shows it), all copies in."""
    return next(r for r, rec in sorted(ctx.cat.demo.items())
                if r.startswith("f") and r not in ctx.by_record and rec["copies"]
                and all(c["status"] == "available" for c in rec["copies"]))


def test_record_ids_keep_trailing_punctuation(ctx):
    """'.' and ':' are id characters: a record whose 001 ends in one is
    found under that id (it lost it to the trimming meant for titles: a
    false 404), and answering it does not settle the lookup of the id
    without it (which then showed the other record's title)."""
    rid = _shelf_record(ctx)
    original = _status(ctx, rid)
    recs = []
    for suffix in (":", "."):
        rec = copy.deepcopy(_demo_record(ctx.cat.dir, rid))
        rec.find("m:controlfield[@tag='001']", NS).text = "p" + rid + suffix
        title = rec.find("m:datafield[@tag='245']/m:subfield[@code='a']", NS)
        title.text = "Punctuated %s" % ("colon" if suffix == ":" else "stop")
        recs.append(rec)
    plain = copy.deepcopy(_demo_record(ctx.cat.dir, rid))
    plain.find("m:controlfield[@tag='001']", NS).text = "p" + rid
    recs.append(plain)
    inserted = False
    try:
        _reindex(ctx, recs)
        inserted = True
        for asked, title in (("p%s:" % rid, "Punctuated colon"), ("p%s." % rid, "Punctuated stop"),
                             ("p" + rid, original["title"])):
            for cat in ("demo", "demo-sru"):
                j = expect_json(ctx.stack.alt(asked, catalogue=cat), 200)
                assert (j["record"], j["title"]) == (asked, title), (cat, asked, j)
    finally:
        if inserted:
            _reindex(ctx, recs, "delete")


def test_invalid_utf8_record_is_repaired(ctx):
    """A record that says UTF-8 (leader/09 "a") but holds bytes that are
    not: the answer is a 200 with the bad bytes shown as U+FFFD, degraded
    catalogue_text_repaired (it was a 503: the JSON could not be written)."""
    rid = _shelf_record(ctx)
    rec = copy.deepcopy(_demo_record(ctx.cat.dir, rid))
    new_id = "u8" + rid
    rec.find("m:controlfield[@tag='001']", NS).text = new_id
    rec.find("m:datafield[@tag='245']/m:subfield[@code='a']", NS).text = "Broken QQ text"
    ET.register_namespace("", MARC)
    coll = ET.Element("{%s}collection" % MARC)
    coll.append(rec)
    xml = os.path.join(ctx.stack.tmp, "utf8.xml")
    ET.ElementTree(coll).write(xml, encoding="utf-8", xml_declaration=True)
    mrc = subprocess.run(["yaz-marcdump", "-i", "marcxml", "-o", "marc", xml],
                         capture_output=True, check=True).stdout
    assert mrc[9:10] == b"a", mrc[:24]          # the leader says UTF-8
    assert mrc.count(b"QQ") == 1
    bad = mrc.replace(b"QQ", b"\xe9\xff")       # Latin-1 and a byte no UTF-8 has; same length
    inserted = False
    try:
        _reindex_iso2709(ctx, bad)
        inserted = True
        for cat in ("demo",):
            j = expect_json(ctx.stack.alt(new_id, catalogue=cat), 200)
            assert j["title"] == "Broken \ufffd\ufffd text", (cat, j)
            assert "catalogue_text_repaired" in j["degraded"], (cat, j)
            assert j["status"] == "available", j
        # a valid record beside it is not degraded
        assert _status(ctx, rid)["degraded"] == []
    finally:
        if inserted:
            _reindex_iso2709(ctx, bad, "delete")
