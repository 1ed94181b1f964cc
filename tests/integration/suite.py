"""Suite set-up shared by the test_*.py modules: starts the stack, loads the
loans, picks the records the tests use (from the MARC files and loans.csv,
never from the daemon), and puts things back after each test."""

import copy
import csv
import os
import time
from collections import defaultdict

import harness
import marc


class Skip(Exception):
    pass


class Ctx:
    pass


def read_loans(path, limit=0):
    """record -> set(patron), patron set, rows used."""
    by_record = defaultdict(set)
    patrons = set()
    rows = []
    with open(path, newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if limit and i >= limit:
                break
            by_record[row["record"]].add(row["patron"])
            patrons.add(row["patron"])
            rows.append(row)
    return by_record, patrons, rows


def setup(stack, cat, loans_limit=0):
    ctx = Ctx()
    ctx.stack = stack
    ctx.cat = cat
    ctx.timeout_s = harness.REQUEST_TIMEOUT_MS / 1000.0
    stack.start_redis()
    stack.start_zebra("main")
    stack.start_zebra("victim")
    stack.config = stack.make_config()
    stack.config_path = stack.write_config(stack.config)
    ctx.prefix = stack.config["redis"].get("prefix", "onloan:")
    ctx.min_patrons = stack.config["privacy"].get("min_patrons", 3)

    loans_csv = os.path.join(cat.dir, "loans.csv")
    ctx.by_record, ctx.patrons, rows = read_loans(loans_csv, loans_limit)
    if loans_limit:
        loans_csv = os.path.join(stack.tmp, "loans.csv")
        with open(loans_csv, "w", newline="") as f:
            w = csv.DictWriter(f, list(rows[0]) if rows else ["patron", "record", "date"],
                               lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    ctx.loans_csv = loans_csv
    ctx.loan_rows = rows
    out, secs = stack.load(loans_csv)
    ctx.load_output = out
    stack.start_daemon()
    pick(ctx)
    ctx.summary = "%d loans loaded in %.1fs; picks: %s" % (
        len(rows), secs, ", ".join("%s=%s" % kv for kv in sorted(ctx.picks.items())))
    return ctx


def pick(ctx):
    """Choose the records the tests use, from the MARC data and the loans."""
    demo = ctx.cat.demo
    films = sorted((r for r in ctx.by_record if r in demo),
                   key=lambda r: (-len(ctx.by_record[r]), r))
    p = {}
    for r in films:
        cps = demo[r]["copies"]
        if len(cps) >= 2 and all(c["status"] == "on_loan" for c in cps):
            p["on_loan"] = r
            break
    for r in films:
        sts = [c["status"] for c in demo[r]["copies"]]
        if "on_loan" in sts and "available" in sts and r != p.get("on_loan"):
            p["mixed"] = r
            break
    for r in films:
        sts = [c["status"] for c in demo[r]["copies"]]
        if sts and all(s == "available" for s in sts):
            p["available"] = r
            break
    # a book with a non-ASCII title and an author, all copies available
    for rid, rec in demo.items():
        if rid.startswith("b") and rec["author"] and rec["title_a"] \
                and any(ord(ch) > 127 for ch in rec["title_a"]) \
                and marc.record_status(rec) == "available":
            p["book_diacritics"] = rid
            break
    ctx.popular_films = films
    ctx.picks = p


def before_test(ctx):
    pass


def after_test(ctx):
    """Put the stack back as the next test expects it: servers running and not
    stopped, onloand alive."""
    st = ctx.stack
    for role, (proc, port) in list(st.zebra.items()):
        if proc.stopped:
            proc.sigcont()
        if not proc.alive():
            st.start_zebra(role, port)
    if st.redis_proc is None or not st.redis_proc.alive():
        st.start_redis(st.redis_port)
    if st.redis_proc.stopped:
        st.redis_proc.sigcont()
    if st.daemon is None or not st.daemon.alive():
        died = st.daemon is not None
        out = st.daemon.output()[-2000:] if died else ""
        st.daemon = None
        st.start_daemon()
        if died:
            raise AssertionError("onloand had died during the test; log tail: " + out)


# ------------------------------------------------------------------ helpers

def second_daemon(ctx, name, change):
    """Another onloand on the same Redis and Zebra, its config changed by
    change(cfg). Returns (proc, port); the caller stops it."""
    st = ctx.stack
    cfg = copy.deepcopy(st.config)
    port = harness.free_port()
    cfg["listen"] = "127.0.0.1:%d" % port
    change(cfg)
    path = st.write_config(cfg, name + ".json")
    d = st.spawn_onloand("onloand-" + name, path, port, "onloand-%s.log" % name)
    return d, port


def show(resp):
    return repr(resp)[:1500]


def expect_json(resp, status):
    assert resp.status == status, "expected HTTP %d, got %s" % (status, show(resp))
    assert resp.json is not None, "body is not JSON: %s" % show(resp)
    return resp.json


def norm_title(s):
    """245 $a as a display title: NFC, without trailing ISBD punctuation."""
    s = marc.nfc(s or "").strip()
    while s and s[-1] in " /:;,=.":
        s = s[:-1].rstrip()
    return s


def title_matches(got, rec):
    """The title shown is 245 $a, or $a with $b, minus ISBD punctuation."""
    got_n = norm_title(got)
    a = norm_title(rec["title_a"])
    cands = {a}
    if rec["title_b"]:
        cands.add(norm_title(rec["title_a"] + " " + rec["title_b"]))
        cands.add(a + ": " + norm_title(rec["title_b"]))
        cands.add(a + " : " + norm_title(rec["title_b"]))
    return got_n in cands


def copy_key(c):
    return (c.get("branch"), c.get("call_number") or None, c.get("status"), c.get("due"))


def check_copies(got, rec, check_location=True):
    """The copies in an answer are exactly the record's holdings fields."""
    assert isinstance(got, list), "copies is not a list: %r" % (got,)
    want = sorted((copy_key(c) for c in rec["copies"]), key=repr)
    have = sorted((copy_key(c) for c in got), key=repr)
    assert have == want, "copies differ from the MARC holdings of %s:\n  got  %s\n  want %s" % (
        rec["id"], have, want)
    if check_location:
        wl = sorted(repr((c["branch"], c["location"])) for c in rec["copies"])
        hl = sorted(repr((c.get("branch"), c.get("location"))) for c in got)
        assert hl == wl, "copy locations differ for %s: got %s want %s" % (rec["id"], hl, wl)


def wait_for(pred, timeout, step=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))
