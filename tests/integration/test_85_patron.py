"""GET /v1/alternatives?patron=: the patron's recent titles blended in,
nothing they borrowed suggested, the id never stored or logged."""

import calendar
import collections
import time

import harness
from harness import OPAC_AUTH
from suite import expect_json, second_daemon, show
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
    r = ctx.stack.alt(rid, branch="CEN", limit=20, extra="&patron=" + patron, headers=OPAC_AUTH)
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
    mine = expect_json(ctx.stack.alt(rid, branch="CEN", limit=10, extra="&patron=" + patron,
                                     headers=OPAC_AUTH),
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
    nobody = expect_json(ctx.stack.alt(rid, branch="NRD", limit=5, extra="&patron=no-such-card-77",
                                       headers=OPAC_AUTH),
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
    expect_json(ctx.stack.alt(rid, branch="ZUI", limit=3, extra="&patron=" + card,
                              headers=OPAC_AUTH), 200)
    with ctx.stack.redis() as r:
        found = [k for k in r.keys() if card.encode() in k or card.encode() in (r("DUMP", k) or b"")]
    assert not found, "the patron id is in Redis: %s" % found[:5]
    assert card not in ctx.stack.daemon.output(), "the patron id is in the daemon's log"


def test_patron_needs_the_personalise_role(ctx):
    """patron= is personal: without a key, with an unknown one or with a
    key lacking the role personalise it is a 401 naming patron, each
    saying which; the same request without patron= needs no key."""
    rid = ctx.picks["on_loan"]
    extra = "&patron=2100012345678"
    cases = [(None, "personalise role: Authorization: Bearer", "Bearer"),
             ({"Authorization": "Bearer no-such-key-0123456789abcdef"}, "this key is unknown",
              'Bearer error="invalid_token"'),
             ({"Authorization": "Bearer demo-report-key-change-me"}, "this key lacks it",
              'Bearer error="insufficient_scope"')]
    for headers, says, challenge in cases:
        r = ctx.stack.alt(rid, extra=extra, headers=headers)
        j = expect_json(r, 401)
        assert j["field"] == "patron" and says in j["error"], (headers, j)
        assert r.headers.get("WWW-Authenticate") == challenge, (headers, r.headers)
    # a bad parameter is still a 400 first; without patron= no key is asked for
    assert expect_json(ctx.stack.alt(rid, limit=0, extra=extra), 400)["field"] == "limit"
    expect_json(ctx.stack.alt(rid), 200)
    expect_json(ctx.stack.alt(rid, extra=extra, headers=OPAC_AUTH), 200)


def test_card_number_never_in_the_log(ctx):
    """A daemon logging at debug: whatever a request with a card number
    came to (answered, refused without the role, a bad parameter beside it,
    a forget with and without its key, a loan), the card number is not in
    its log, nor its URL-encoded form."""
    card = "2100055511177733"

    def change(cfg):
        cfg["log_level"] = "debug"
        cfg["redis"]["prefix"] = "card-log:"
    d, port = second_daemon(ctx, "card-log", change)
    try:
        rid = ctx.picks["on_loan"]
        base = "/v1/alternatives?record=%s&lang=en&patron=%s" % (rid, card)
        forget_key = {"Authorization": "Bearer demo-forget-key-change-me"}
        ingest_key = {"Authorization": "Bearer demo-ingest-key-change-me"}
        for path, method, headers, body, status in [
                (base, "GET", OPAC_AUTH, None, 200),
                (base + "&branch=CEN&limit=3", "GET", OPAC_AUTH, None, 200),
                (base, "GET", None, None, 401),
                (base, "GET", {"Authorization": "Bearer demo-report-key-change-me"}, None, 401),
                (base + "&limit=999", "GET", OPAC_AUTH, None, 400),
                ("/v1/loans", "POST", ingest_key,
                 {"patron": card, "record": rid, "time": "2026-11-01T10:00:00Z"}, 202),
                ("/v1/loans", "POST", ingest_key, {"patron": card, "record": "", "time": "x"}, 400),
                ("/v1/patrons/" + card, "DELETE", None, None, 401),
                ("/v1/patrons/" + card, "DELETE", forget_key, None, 200)]:
            r = harness.http_request(port, method, path, body=body, headers=headers)
            assert r.status == status, (method, path, r)
    finally:
        d.stop()
    log = d.output()
    assert "debug" in log or "info" in log, log[-2000:]
    assert card not in log, "the card number is in the daemon's log: %s" % [
        line for line in log.splitlines() if card in line][:5]
