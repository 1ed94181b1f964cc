"""GET /v1/alternatives?patron=: the patron's recent titles blended in,
nothing they borrowed suggested, the id never stored or logged."""

import calendar
import collections
import time

from suite import expect_json, show
from test_10_alternatives import check_alternatives


def heavy_patron(ctx, min_loans=30):
    """A patron of loans.csv with many loans, and their titles."""
    loans = collections.defaultdict(dict)
    for row in ctx.loan_rows:
        loans[row["patron"]][row["record"]] = row["date"]
    for patron, titles in sorted(loans.items(), key=lambda kv: -len(kv[1])):
        if len(titles) >= min_loans:
            return patron, titles
    raise AssertionError("no patron with %d loans in loans.csv" % min_loans)


def history_titles(ctx, patron):
    """What the model keeps of the patron: their newest history_max titles,
    none more than history_ttl_days before the newest."""
    priv = ctx.stack.config["privacy"]
    ttl_s = priv.get("history_ttl_days", 400) * 86400
    rows = sorted(((calendar.timegm(time.strptime(r["date"], "%Y-%m-%dT%H:%M:%SZ")), i, r["record"])
                   for i, r in enumerate(ctx.loan_rows) if r["patron"] == patron), reverse=True)
    seen, out = set(), []
    for when, _, rec in rows:
        if rec not in seen and when >= rows[0][0] - ttl_s:
            seen.add(rec)
            out.append(rec)
    return out[:priv.get("history_max", 100)]


def test_patron_titles_never_suggested(ctx):
    rid = ctx.picks["on_loan"]
    plain = expect_json(ctx.stack.alt(rid, branch="CEN", limit=20), 200)["alternatives"]
    plain_ids = {a["record"] for a in plain}
    # a patron whose kept history holds some of the anonymous suggestions:
    # then leaving them out is the patron's doing, not chance
    patrons = sorted({row["patron"] for row in ctx.loan_rows})
    patron, kept = None, set()
    for p in patrons:
        kept = set(history_titles(ctx, p))
        if len(kept & plain_ids) >= 2:
            patron = p
            break
    assert patron, "no patron in loans.csv borrowed two of %s" % sorted(plain_ids)
    r = ctx.stack.alt(rid, branch="CEN", limit=20, extra="&patron=" + patron)
    j = expect_json(r, 200)
    alts = check_alternatives(ctx, j, rid, "CEN", ctx.cat.demo, limit=20)
    assert alts, "no alternatives for %s with a patron: %s" % (rid, show(r))
    borrowed = [a["record"] for a in alts if a["record"] in kept]
    assert not borrowed, "suggested titles the patron already borrowed: %s" % borrowed


def test_patron_history_changes_the_ranking(ctx):
    """The blend adds the patron's recent titles' neighbours: the
    co-occurring suggestions differ from the anonymous ones."""
    rid = ctx.picks["on_loan"]
    patron, _ = heavy_patron(ctx)
    kept = set(history_titles(ctx, patron))
    anon = expect_json(ctx.stack.alt(rid, branch="CEN", limit=20), 200)["alternatives"]
    mine = expect_json(ctx.stack.alt(rid, branch="CEN", limit=10, extra="&patron=" + patron),
                       200)["alternatives"]

    def top(alts, skip=()):
        return [a["record"] for a in alts if a["reason"] == "also_borrowed" and a["at_branch"]
                and a["record"] not in skip][:5]
    # leaving out what the patron borrowed alone would give the anonymous
    # order without those titles: the blend must change more than that
    assert len(top(mine)) == 5, mine
    assert top(mine) != top(anon, kept), (top(mine), top(anon, kept))


def test_unknown_patron_is_anonymous(ctx):
    """A patron the model has no history of gets the anonymous answer."""
    rid = ctx.picks["on_loan"]
    anon = expect_json(ctx.stack.alt(rid, branch="NRD", limit=5), 200)["alternatives"]
    nobody = expect_json(ctx.stack.alt(rid, branch="NRD", limit=5, extra="&patron=no-such-card-77"),
                         200)["alternatives"]
    key = lambda alts: [(a["record"], a["reason"], round(a["score"], 9)) for a in alts]
    assert key(anon) == key(nobody), (anon, nobody)


def test_patron_parameter_checked(ctx):
    rid = ctx.picks["on_loan"]
    j = expect_json(ctx.stack.alt(rid, extra="&patron=" + "9" * 129), 400)
    assert j["field"] == "patron", j
    j = expect_json(ctx.stack.alt(rid, extra="&patron="), 400)
    assert j["field"] == "patron", j
    j = expect_json(ctx.stack.alt(rid, extra="&patron=1&patron=2"), 400)
    assert j["field"] == "patron", j


def test_patron_id_not_kept(ctx):
    """The raw id in the query reaches neither Redis (the touchpoint logged
    for the answer included) nor the daemon's log."""
    rid = ctx.picks["on_loan"]
    card = "2100099887766554"
    expect_json(ctx.stack.alt(rid, branch="ZUI", limit=3, extra="&patron=" + card), 200)
    with ctx.stack.redis() as r:
        found = [k for k in r.keys() if card.encode() in k or card.encode() in (r("DUMP", k) or b"")]
    assert not found, "the patron id is in Redis: %s" % found[:5]
    assert card not in ctx.stack.daemon.output(), "the patron id is in the daemon's log"
