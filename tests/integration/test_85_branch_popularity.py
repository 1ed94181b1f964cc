"""Popular at the patron's branch (issue 20 §4, "Veel geleend in
<vestiging>"): loans that name a branch count their titles' new borrowers
there too (pob:<branch>); an answer for a patron at that branch offers
the titles most borrowed there first among the popular ones, explained
with the branch's name; a forget takes the counts back; `onloan load`
counts the same as POST /v1/loans; model.branch_counts false counts
nothing per branch. Real Redis and Zebra (loanlab.Lab)."""

import json

import harness
from loanlab import Lab
from suite import expect_json
from test_80_loan_model import DAY, T0

K = 3                   # privacy.min_patrons
NAMES = {"NRD": "Noord"}
MODEL_MAX_BRANCHES = 1000   # model.h: the branches of pob the totals take


def _shelf_films(ctx, n):
    demo = ctx.cat.demo
    films = [r for r in ctx.popular_films
             if r != ctx.picks["on_loan"] and demo[r]["copies"]
             and all(c["status"] == "available" for c in demo[r]["copies"])]
    assert len(films) >= n, films
    return films[:n]


def _events(here, anywhere):
    """4 patrons borrow `here` at NRD; 6 borrow `anywhere` at CEN (more
    borrowed, at another branch); one patron borrows both, at NRD."""
    ev = [("bp-nrd-%d" % i, here, T0 + i * DAY, "NRD") for i in range(4)]
    ev += [("bp-cen-%d" % i, anywhere, T0 + i * DAY, "CEN") for i in range(6)]
    ev += [("bp-nrd-0", anywhere, T0 + 9 * DAY, "NRD")]
    return ev


def _lab(ctx, name, **model):
    lab = Lab(ctx, name, daemon=False, privacy={"min_patrons": K}, model=model)
    lab.cfg["branches"] = NAMES
    # only the popular titles: the catalogue's searches would fill the answer
    lab.cfg["catalogues"][0]["order"] = ["also_borrowed", "popular"]
    lab.config_path = ctx.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
    return lab


def _popular(lab, record, branch):
    q = "/v1/alternatives?record=%s&limit=20&lang=nl" % record
    j = expect_json(harness.http_request(lab.port, "GET", q + ("&branch=" + branch if branch else "")),
                    200)
    return {a["record"]: a["explanation"] for a in j["alternatives"] if a["reason"] == "popular"}, j


def _pob(lab):
    """Every pob:<branch> as {branch: {record: count}}, and the index pob."""
    out = {}
    with lab.redis() as r:
        branches = sorted(b.decode() for b in r("ZRANGE", lab.prefix + "pob", 0, -1))
        for b in branches:
            flat = r("ZRANGE", lab.prefix + "pob:" + b, 0, -1, "WITHSCORES")
            counts = {flat[i].decode(): int(float(flat[i + 1])) for i in range(0, len(flat), 2)}
            if counts:
                out[b] = counts
    return out, branches


def test_popular_at_the_branch_explained_and_forgotten(ctx):
    here, anywhere = _shelf_films(ctx, 2)
    wanted = ctx.picks["on_loan"]
    ev = _events(here, anywhere)
    with _lab(ctx, "branch-pop") as lab:
        lab.start_daemon()
        body = [{"patron": p, "record": r, "time": t, "branch": b} for p, r, t, b in ev]
        expect_json(lab.post_loans(json.dumps(body)), 202)
        lab.settled()
        pob, index = _pob(lab)
        assert pob == {"NRD": {here: 4, anywhere: 1}, "CEN": {anywhere: 6}}, pob
        assert index == ["CEN", "NRD"], index
        with lab.redis() as r:
            h = r("GET", lab.prefix + "h:" + lab.pseudonym("bp-nrd-0")).decode()
        assert h == "%d %s NRD\n%d %s NRD\n" % (T0 + 9 * DAY, anywhere, T0, here), h

        at_nrd, j = _popular(lab, wanted, "NRD")
        assert at_nrd.get(here) == "Veel geleend in Noord", j["alternatives"]
        assert at_nrd.get(anywhere) == "Populair bij onze lezers", j["alternatives"]
        order = [a["record"] for a in j["alternatives"] if a["record"] in (here, anywhere)
                 and a["at_branch"] == [b for b in j["alternatives"] if b["record"] == here][0]["at_branch"]]
        if len(order) == 2:     # both at the branch, or neither: the branch's first
            assert order == [here, anywhere], j["alternatives"]
        at_cen, j = _popular(lab, wanted, "CEN")
        # no name configured for CEN: its code
        assert at_cen == {anywhere: "Veel geleend in CEN", here: "Populair bij onze lezers"}, j
        nowhere, j = _popular(lab, wanted, None)
        assert nowhere == {anywhere: "Populair bij onze lezers", here: "Populair bij onze lezers"}, j

        # two of the four NRD borrowers forgotten: 2 < min_patrons, not shown
        for p in ("bp-nrd-1", "bp-nrd-0"):
            assert expect_json(lab.forget(p), 200) == {"forgotten": True}
        lab.settled()
        pob, _ = _pob(lab)
        assert pob == {"NRD": {here: 2}, "CEN": {anywhere: 6}}, pob
        at_nrd, j = _popular(lab, wanted, "NRD")
        assert here not in at_nrd and at_nrd.get(anywhere) == "Populair bij onze lezers", j

        # onloan load counts the same, per branch too, from a CSV's branch column
        kept = [e for e in ev if e[0] not in ("bp-nrd-1", "bp-nrd-0")]
        with _lab(ctx, "branch-pop-load") as loaded:
            rows = ["patron,record,time,branch"] + ["%s,%s,%d,%s" % e for e in kept]
            loaded.cli("load", loaded.write("loans.csv", "\n".join(rows) + "\n"))
            assert _pob(loaded) == _pob(lab), (_pob(loaded), _pob(lab))
            assert loaded.pop() == lab.pop(), (loaded.pop(), lab.pop())


def test_branch_counts_off(ctx):
    """model.branch_counts false (older onloand on the same Redis): no
    pob, histories as they were, popular titles explained as before."""
    here, anywhere = _shelf_films(ctx, 2)
    ev = _events(here, anywhere)
    with _lab(ctx, "branch-pop-off", branch_counts=False) as lab:
        lab.start_daemon()
        body = [{"patron": p, "record": r, "time": t, "branch": b} for p, r, t, b in ev]
        expect_json(lab.post_loans(json.dumps(body)), 202)
        lab.settled()
        assert _pob(lab) == ({}, []), _pob(lab)
        with lab.redis() as r:
            h = r("GET", lab.prefix + "h:" + lab.pseudonym("bp-nrd-0")).decode()
        assert h == "%d %s\n%d %s\n" % (T0 + 9 * DAY, anywhere, T0, here), h
        at_nrd, j = _popular(lab, ctx.picks["on_loan"], "NRD")
        assert at_nrd == {here: "Populair bij onze lezers", anywhere: "Populair bij onze lezers"}, j


# Each branch of ARGV[3..] in pob, with ARGV[2] borrowed there by K
# (ARGV[4]... are codes); pop and meta so that the title is popular too.
_BRANCHES_LUA = """
local p, title, k = ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call('ZADD', p .. 'pop', k, title)
redis.call('HSET', p .. 'meta', 'patrons', 10 * k)
for i = 4, #ARGV do
    redis.call('ZADD', p .. 'pob', 0, ARGV[i])
    redis.call('ZADD', p .. 'pob:' .. ARGV[i], k, title)
end
return #ARGV - 3
"""


def test_branches_read_at_most(ctx):
    """The totals take MODEL_MAX_BRANCHES (1000) branches of pob, the last
    by code: with exactly that many, the first and the last by code both
    offer their most borrowed title; one more (first by code) is left out,
    its answer the popular title anywhere, the others keep theirs, and
    onloand says it once in its log, however often the totals are read
    (the lab's model.cache_ms is 0: every answer reads them)."""
    title = _shelf_films(ctx, 1)[0]
    wanted = ctx.picks["on_loan"]
    codes = ["B%04d" % i for i in range(1, MODEL_MAX_BRANCHES + 1)]
    with _lab(ctx, "branch-max") as lab:
        lab.start_daemon()
        with lab.redis() as r:
            assert r("EVAL", _BRANCHES_LUA, 0, lab.prefix, title, K, *codes) == len(codes)
        for b in (codes[0], codes[-1]):
            got, j = _popular(lab, wanted, b)
            assert got == {title: "Veel geleend in " + b}, (b, j["alternatives"])
        with lab.redis() as r:
            assert r("EVAL", _BRANCHES_LUA, 0, lab.prefix, title, K, "B0000") == 1
            assert r("ZCARD", lab.prefix + "pob") == MODEL_MAX_BRANCHES + 1
        got, j = _popular(lab, wanted, "B0000")
        assert got == {title: "Populair bij onze lezers"}, j["alternatives"]
        for b in (codes[0], codes[-1]):
            got, j = _popular(lab, wanted, b)
            assert got == {title: "Veel geleend in " + b}, (b, j["alternatives"])
        with open(lab.logs[-1]) as f:
            said = [ln for ln in f if "branches" in ln]
        assert len(said) == 1 and (
            "%spob names more than 1000 branches: the last 1000 by code are read; B0000 and "
            "the branches before it are offered no titles most borrowed there" % lab.prefix
            in said[0]), said
