"""Alternatives fit the patron's segment (issue 20 §3): they keep the
wanted title's format, audience and language unless the catalogue's `fit`
relaxes a dimension. Checked against the fixed fields of demo.xml
(marc.segment); the demo catalogue has books in several languages, films
on DVD, and children's films (008/22 j)."""

import harness
import marc
from suite import expect_json, second_daemon


def _alternatives(port_or_stack, rid, limit=20):
    path = "/v1/alternatives?record=%s&limit=%d&catalogue=demo" % (rid, limit)
    if isinstance(port_or_stack, int):
        return expect_json(harness.http_request(port_or_stack, "GET", path), 200)
    return expect_json(port_or_stack.get(path), 200)


def _cooc(ctx, rid):
    """Records borrowed by at least min_patrons of rid's patrons."""
    mine = ctx.by_record[rid]
    return {o for o, ps in ctx.by_record.items()
            if o != rid and len(ps & mine) >= ctx.min_patrons}


def _juvenile_with_adult_neighbours(ctx):
    """An on-loan children's film whose co-borrowed titles include adult
    films on the shelf (the ones fit keeps out)."""
    demo = ctx.cat.demo
    for rid in sorted(ctx.by_record, key=lambda r: (-len(ctx.by_record[r]), r)):
        rec = demo.get(rid)
        if not rec or marc.segment(rec)["audience"] != "juvenile":
            continue
        adults = [o for o in _cooc(ctx, rid) if o in demo
                  and marc.segment(demo[o])["audience"] == "adult"
                  and marc.record_status(demo[o]) == "available"]
        if len(adults) >= 3:
            return rid, set(adults)
    raise AssertionError("no children's film with adult films among its neighbours")


def test_answer_names_the_segment(ctx):
    demo = ctx.cat.demo
    rid = next(r for r in sorted(demo) if r.startswith("b")
               and marc.segment(demo[r])["language"] not in (None, "eng"))
    j = _alternatives(ctx.stack, rid)
    want = marc.segment(demo[rid])
    assert want["format"] == "book", want
    assert {k: j.get(k) for k in want} == want, (rid, j)
    for a in j["alternatives"]:
        seg = marc.segment(demo[a["record"]])
        assert {k: a.get(k) for k in seg} == seg, (a, seg)
        assert a["format"] == "book", a       # no film for a book
        assert a["language"] in (None, want["language"]), (rid, want, a)


def test_childrens_film_gets_childrens_alternatives(ctx):
    demo = ctx.cat.demo
    rid, adults = _juvenile_with_adult_neighbours(ctx)
    j = _alternatives(ctx.stack, rid)
    assert j["audience"] == "juvenile" and j["format"] == "dvd", j
    shown = [a["record"] for a in j["alternatives"]]
    assert shown, (rid, j)
    for a in j["alternatives"]:
        assert a["audience"] in ("juvenile", None), (rid, a)
        assert a["format"] == "dvd", (rid, a)
    assert not adults & set(shown), (rid, sorted(adults & set(shown)))


def test_fit_relaxed_by_the_catalogue(ctx):
    """fit without "audience": the adult films co-borrowed with a
    children's film may be shown; fit [] lets a book have films."""
    demo = ctx.cat.demo
    rid, adults = _juvenile_with_adult_neighbours(ctx)

    def relax(dims):
        def change(cfg):
            for c in cfg["catalogues"]:
                c["fit"] = dims
        return change
    d, port = second_daemon(ctx, "fit-format-language", relax(["format", "language"]))
    try:
        j = _alternatives(port, rid)
    finally:
        d.stop()
    shown = {a["record"] for a in j["alternatives"]}
    assert adults & shown, ("no adult film for %s with audience relaxed" % rid, sorted(shown))
    for a in j["alternatives"]:
        assert a["format"] == "dvd", a

    # a book nobody borrowed: popular titles (films) fill up only without format
    book = next(r for r in sorted(demo) if r.startswith("b") and r not in ctx.by_record
                and marc.segment(demo[r])["language"] == "eng")
    strict = _alternatives(ctx.stack, book, limit=10)
    assert all(a["format"] == "book" for a in strict["alternatives"]), strict
    d, port = second_daemon(ctx, "fit-none", relax([]))
    try:
        loose = _alternatives(port, book, limit=10)
    finally:
        d.stop()
    assert any(a["format"] == "dvd" for a in loose["alternatives"]), loose
