"""A malformed record among good ones (issue 23): Zebra serves issue 23's
record (../shared/repro/marc-yaz-overread.mrc, on which YAZ 5.34 reads past
its buffers) in the same searches as good records. onloand leaves it out,
logs it once, counts it in /healthz, answers for the good records exactly
as a catalogue without it does, and keeps serving.

The test builds a Zebra register of its own (deploy/catalogue/serve.sh
serves it) with two databases: "clean" holds some demo films, "mixed" the
same films with the broken record among them. Zebra 2.2.7 serves a
stored record with NUL bytes cut at the first one (zebra_record_fetch
copies the zebra::data record with odr_strdup), so the record is stored
with its NUL bytes as 0x01: leader, directory and the short subfield that
make YAZ over-read are the repro's, and YAZ alone still over-reads on it.
Over SRU zebrasrv itself decodes the record with YAZ to make MARCXML
(over-reading in zebrasrv): onloand must refuse what comes out of that
too. Loans (on a Redis of the test's own, loanlab.Lab) tie the films to
the broken record's id, so that each film's candidates include it."""

import hashlib
import json
import os
from urllib.parse import quote

import harness
from loanlab import Lab
from suite import Skip, expect_json

REPRO = os.path.join("repro", "marc-yaz-overread.mrc")
REPRO_SHA256 = "b701249b895af17813cd2ca9afcd4fb81373686c21085357a366280e84be9098"
BAD_ID = "00"          # what Zebra indexes as its 001 (Local-number)
T0 = 1704067200
DAY = 86400
LOG_LINE = "left out of answers (logged once)"


def _iso_records(path):
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i + 5 <= len(data):
        n = int(data[i:i + 5])
        yield data[i:i + n]
        i += n


def _record_id(rec):
    """001 of a well-formed ISO 2709 record."""
    base = int(rec[12:17])
    for e in range(24, base - 1, 12):
        if rec[e:e + 3] == b"001":
            ln, st = int(rec[e + 3:e + 7]), int(rec[e + 7:e + 12])
            return rec[base + st:base + st + ln - 1].decode()
    return None


def _films(ctx, n):
    """n demo films on the shelf (so that each is an alternative to the
    others), and their ISO 2709 records."""
    want = sorted(r for r, rec in ctx.cat.demo.items() if r.startswith("f") and rec["copies"]
                  and all(c["status"] == "available" for c in rec["copies"]))[:n]
    recs = {}
    for rec in _iso_records(os.path.join(ctx.cat.dir, "demo.mrc")):
        rid = _record_id(rec)
        if rid in want:
            recs[rid] = rec
    assert sorted(recs) == want, "films %s not all in demo.mrc" % want
    return want, recs


def _ask(lab, record, catalogue):
    return harness.http_request(lab.port, "GET", "/v1/alternatives?record=%s&catalogue=%s"
                                "&limit=10&lang=en&branch=CEN" % (quote(record, safe=""),
                                                                  catalogue))


def _comparable(j):
    """An answer without what differs between any two answers: the
    catalogue's name and the answer's own touchpoint id and token."""
    j = dict(j)
    j.pop("catalogue", None)
    j.pop("touchpoint", None)
    j.pop("touchpoint_token", None)
    return j


def _healthz(lab):
    j = expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)
    return {c["name"]: c for c in j["catalogues"]}


def test_malformed_record_among_good_ones(ctx):
    path = os.path.join(ctx.stack.shared or "", REPRO)
    if not os.path.isfile(path):
        raise Skip("no %s" % path)
    with open(path, "rb") as f:
        repro = f.read()
    assert hashlib.sha256(repro).hexdigest() == REPRO_SHA256, "%s is not issue 23's record" % path
    broken = repro.replace(b"\x00", b"\x01")
    films, recs = _films(ctx, 4)
    good = [recs[r] for r in films]
    out = os.path.join(ctx.stack.tmp, "malformed-catalogue")
    harness.zebra_register(ctx.cat.dir, out, {"clean": good, "mixed": good[:2] + [broken] + good[2:]})
    zebra, zport = harness.zebra_serve(ctx.stack, out, "malformed")

    def configure(cfg):
        base = dict(cfg["catalogues"][0])
        cfg["catalogues"] = []
        for name, protocol in (("clean", "z3950"), ("mixed", "z3950"),
                               ("clean-sru", "sru"), ("mixed-sru", "sru")):
            c = dict(base)
            c.update({"name": name, "protocol": protocol, "holdings": "koha952",
                      "id_field": "001", "cache_ms": 0,
                      "target": "127.0.0.1:%d/%s" % (zport, name.split("-")[0])})
            cfg["catalogues"].append(c)
        cfg.setdefault("limits", {})["max_kept_answers"] = 0

    try:
        with Lab(ctx, "malformed", daemon=False) as lab:
            configure(lab.cfg)
            lab.config_path = ctx.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
            lab.start_daemon()
            # six patrons borrow every film and the broken record; five others
            # something else, so that the pairs stand out
            ev = [("mcard-%d" % i, rec, T0 + i * DAY + k * 3600)
                  for i in range(6) for k, rec in enumerate(films + [BAD_ID])]
            ev += [("mother-%d" % i, "m-elsewhere-%d" % i, T0) for i in range(5)]
            body = json.dumps([{"patron": p, "record": r, "time": t} for p, r, t in ev])
            expect_json(lab.post_loans(body), 202)
            lab.settled()

            for round_ in range(3):         # the record is fetched again each time (cache_ms 0)
                for rid in films:
                    for proto in ("", "-sru"):
                        clean = expect_json(_ask(lab, rid, "clean" + proto), 200)
                        mixed = expect_json(_ask(lab, rid, "mixed" + proto), 200)
                        also = [a["record"] for a in clean["alternatives"]
                                if a["reason"] == "also_borrowed"]
                        assert sorted(also) == sorted(r for r in films if r != rid), \
                            "%s: the other films are not its alternatives: %s" % (rid, clean)
                        assert _comparable(mixed) == _comparable(clean), \
                            "answer for %s differs with the broken record in the catalogue:\n" \
                            "  clean%s %s\n  mixed%s %s" % (rid, proto, clean, proto, mixed)
                        assert BAD_ID not in [a["record"] for a in mixed["alternatives"]], mixed
                # the broken record asked for itself: as a record without a title
                for proto in ("", "-sru"):
                    r = _ask(lab, BAD_ID, "mixed" + proto)
                    c = _ask(lab, BAD_ID, "clean" + proto)
                    assert r.status == c.status == 404, (r, c)
                    assert r.json == c.json, (r.json, c.json)

            cats = _healthz(lab)
            assert cats["clean"]["malformed_records"] == 0, cats["clean"]
            assert cats["clean-sru"]["malformed_records"] == 0, cats["clean-sru"]
            # each round: once per film's candidates, once as the title asked for
            for name in ("mixed", "mixed-sru"):
                assert cats[name]["malformed_records"] >= 3 * (len(films) + 1), cats[name]

            with open(lab.logs[-1], errors="replace") as f:
                log = f.read()
            lines = [ln for ln in log.splitlines() if LOG_LINE in ln]
            # once per catalogue and id, though met in every round (and
            # though zebrasrv's MARCXML of it differs every time)
            for name in ("mixed", "mixed-sru"):
                mine = [ln for ln in lines if "catalogue %s: malformed record %s " % (name, BAD_ID)
                        in ln]
                assert len(mine) == 1, "%s: logged %d times:\n%s" % (name, len(mine),
                                                                     "\n".join(lines))
            z = [ln for ln in lines if "catalogue mixed:" in ln][0]
            assert "202 bytes: " + broken[:32].hex() + "..." in z, z
            assert "leader holds a byte that is not printable ASCII" in z, z
            assert len(lines) == 2, "\n".join(lines)
            for marker in harness.SANITIZER_MARKERS:
                assert marker not in log, log[log.index(marker):][:2000]

            # and the daemon goes on serving
            assert lab.daemon.alive()
            j = expect_json(_ask(lab, films[0], "mixed"), 200)
            assert j["alternatives"], j
            assert zebra.alive(), "zebrasrv died: %s" % zebra.output()[-2000:]
    finally:
        zebra.stop()
