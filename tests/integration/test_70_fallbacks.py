"""When loans say too little: the catalogue is searched by the wanted
title's author (then subject) before popular titles fill up. Books have no
loans in the demo data, so their alternatives come from these fallbacks."""

import re

from suite import expect_json
import marc


def _words(name):
    return re.findall(r"\w+", name.lower())


def _by_author(demo, author):
    """Ids whose 100/700 contain author's words in a row (the phrase search)."""
    want = _words(author)
    hits = set()
    for rid, rec in demo.items():
        for name in rec["names"]:
            w = _words(name)
            if any(w[i:i + len(want)] == want for i in range(len(w) - len(want) + 1)):
                hits.add(rid)
    return hits


def test_same_author_before_popular(ctx):
    demo = ctx.cat.demo
    # a book nobody borrowed whose author has other books on the shelf
    for rid in sorted(r for r in demo if r.startswith("b") and r not in ctx.by_record):
        rec = demo[rid]
        if not rec["author"]:
            continue
        others = _by_author(demo, rec["author"]) - {rid}
        if sum(1 for o in others if marc.record_status(demo[o]) == "available") >= 2:
            break
    else:
        raise AssertionError("no book with two available books by the same author")
    j = expect_json(ctx.stack.get("/v1/alternatives?record=%s&limit=10&catalogue=demo" % rid), 200)
    alts = j["alternatives"]
    reasons = [a["reason"] for a in alts]
    assert "same_author" in reasons, "no same_author alternative for %s (%s): %s" % (
        rid, rec["author"], reasons)
    assert "also_borrowed" not in reasons, reasons      # nobody borrowed it
    first_popular = reasons.index("popular") if "popular" in reasons else len(reasons)
    assert all(r == "same_author" for r in reasons[:first_popular]), reasons
    for a in alts:
        assert a["record"] != rid, a
        got = demo[a["record"]]
        assert marc.record_status(got) == "available", (a["record"], got["copies"])
        if a["reason"] == "same_author":
            assert a["record"] in others, "%s is not by %s: %s" % (
                a["record"], rec["author"], got["names"])
            assert a["score"] == 0, a
    shown = {a["record"] for a in alts if a["reason"] == "same_author"}
    on_shelf = {o for o in others if marc.record_status(demo[o]) == "available"}
    # the search asks for batch_max records: all of them, if fewer are there
    if len(others) <= ctx.stack.config["catalogues"][0]["batch_max"]:
        assert shown == on_shelf, (sorted(shown), sorted(on_shelf))
