"""GET /v1/alternatives against the demo catalogue (Z39.50 and SRU):
content checked against demo.xml and loans.csv."""

import re
import threading
import time

import harness
import marc
from suite import Skip, check_copies, expect_json, second_daemon, show, title_matches, wait_for

# the order docs/api.md gives, after the patron's branch
REASONS = ("also_borrowed", "same_author", "same_subject", "popular")
KOHA_RESERVE = "https://opac.example.org/cgi-bin/koha/opac-reserve.pl?biblionumber=%s"
KOHA_DETAIL = "https://opac.example.org/cgi-bin/koha/opac-detail.pl?biblionumber=%s"
BRANCHES = ["CEN", "NRD", "ZUI", "OST"]
STREAM_ID = re.compile(r"^\d+-\d+$")
POPULAR_HERE = re.compile(r"^(Veel geleend in|Often borrowed at) ")


def check_segment(obj, rec):
    """format, audience and language of the title or an alternative are
    what the record's fixed fields say (marc.segment)."""
    want = marc.segment(rec)
    got = {k: obj.get(k, "missing") for k in want}
    assert got == want, "%s: segment %s, MARC says %s" % (rec["id"], got, want)


def check_alternatives(ctx, j, want_record, branch, db, limit=5):
    """Every alternative: not the wanted record, no duplicates, known record,
    an available copy per the MARC data, available_at = its available copies
    (those at `branch` first, each group in MARC order); the alternatives
    available at `branch` first, then by reason, then by score descending."""
    alts = j.get("alternatives")
    assert isinstance(alts, list), "alternatives not a list: %r" % (alts,)
    wanted = db.get(want_record)
    if wanted is not None and j.get("status") != "unknown":
        check_segment(j, wanted)
    assert len(alts) <= limit, "%d alternatives for limit=%d" % (len(alts), limit)
    seen = set()
    groups = []
    for a in alts:
        rid = a.get("record")
        assert rid != want_record, "the wanted record %s is among its alternatives" % rid
        assert rid not in seen, "alternative %s listed twice" % rid
        seen.add(rid)
        rec = db.get(rid)
        assert rec is not None, "alternative %s is not in the catalogue" % rid
        avail = marc.available_copies(rec)
        assert avail, "alternative %s has no available copy in the MARC data: %r" % (
            rid, rec["copies"])
        # the copies at the patron's branch first, each group in MARC order
        got_at = [(x.get("branch"), x.get("call_number")) for x in a.get("available_at", [])]
        want_at = [(c["branch"], c["call_number"]) for c in avail if c["branch"] == branch] + \
                  [(c["branch"], c["call_number"]) for c in avail if c["branch"] != branch]
        assert got_at == want_at, "available_at of %s for branch %s: got %s, MARC says %s" % (
            rid, branch, got_at, want_at)
        assert title_matches(a.get("title"), rec), "alternative %s title %r, MARC 245 %r" % (
            rid, a.get("title"), rec["title_a"])
        assert a.get("reason") in REASONS, "reason %r" % a.get("reason")
        assert isinstance(a.get("score"), (int, float)), "score %r" % a.get("score")
        check_segment(a, rec)
        assert isinstance(a.get("explanation"), str) and a["explanation"].strip(), \
            "alternative %s without an explanation: %r" % (rid, a)
        if wanted is not None:
            # the catalogue's fit is all three dimensions (the default)
            assert marc.fits(wanted, rec), "alternative %s %s does not fit %s %s" % (
                rid, marc.segment(rec), want_record, marc.segment(wanted))
        at_branch = any(c["branch"] == branch for c in avail)
        # popular: the most borrowed at `branch` (loans.csv names branches)
        # before the most borrowed anywhere, each by its own share
        anywhere = not POPULAR_HERE.match(a["explanation"])
        groups.append((0 if at_branch else 1, REASONS.index(a["reason"]), anywhere, -a["score"],
                       rid))
    for i in range(1, len(groups)):
        assert groups[i - 1][:4] <= groups[i][:4], (
            "alternatives out of order for branch %s (at-branch first, then reason, popular "
            "at the branch first, then score desc): %s"
            % (branch, [(g[4], "here" if g[0] == 0 else "elsewhere", REASONS[g[1]], -g[3])
                        for g in groups]))
    return alts


def test_on_loan_record(ctx):
    rid = ctx.picks["on_loan"]
    rec = ctx.cat.demo[rid]
    r = ctx.stack.alt(rid, branch="CEN", limit=5, lang="en")
    j = expect_json(r, 200)
    assert j.get("record") == rid, show(r)
    assert j.get("catalogue") == "demo", show(r)
    assert j.get("status") == "on_loan", "status %r for all-on-loan %s: %s" % (j.get("status"), rid, show(r))
    assert title_matches(j.get("title"), rec), "title %r vs 245 %r" % (j.get("title"), rec["title_a"])
    check_copies(j.get("copies"), rec)
    assert j.get("expected_back") == marc.expected_back(rec), "expected_back %r, earliest due %r" % (
        j.get("expected_back"), marc.expected_back(rec))
    assert j.get("reserve_url") == KOHA_RESERVE % rid, "reserve_url %r" % j.get("reserve_url")
    assert isinstance(j.get("message"), str) and j["message"].strip(), "empty message: %s" % show(r)
    assert j.get("degraded") == [], "degraded %r on a healthy stack" % j.get("degraded")
    assert isinstance(j.get("touchpoint"), str) and STREAM_ID.match(j["touchpoint"]), \
        "touchpoint %r" % j.get("touchpoint")
    alts = check_alternatives(ctx, j, rid, "CEN", ctx.cat.demo)
    assert len(alts) == 5, "expected 5 alternatives for the popular %s (limit 5), got %d: %s" % (
        rid, len(alts), show(r))
    for a in alts:
        assert a.get("url") == KOHA_DETAIL % a["record"], "url %r" % a.get("url")


def test_alternative_order_every_branch(ctx):
    """At every branch: alternatives there first. Checked on the on-loan
    pick and, until some branch gives a mix of here and elsewhere, on the
    most borrowed films (which ones mix depends on the loans)."""
    mixed = 0
    for rid in [ctx.picks["on_loan"]] + [f for f in ctx.popular_films[:30] if f in ctx.cat.demo]:
        for br in BRANCHES:
            j = expect_json(ctx.stack.alt(rid, branch=br, limit=10), 200)
            alts = check_alternatives(ctx, j, rid, br, ctx.cat.demo, limit=10)
            here = [a for a in alts if any(c["branch"] == br
                                           for c in marc.available_copies(ctx.cat.demo[a["record"]]))]
            if here and len(here) < len(alts):
                mixed += 1
        if mixed >= 2:
            break
    if mixed == 0:
        raise Skip("no branch gave a mix of here/elsewhere alternatives; order only checked by score")


def test_also_borrowed_are_coborrowed(ctx):
    """Alternatives with reason also_borrowed were borrowed by at least
    min_patrons of the patrons who borrowed the wanted record (loans.csv)."""
    rid = ctx.picks["on_loan"]
    j = expect_json(ctx.stack.alt(rid, limit=20), 200)
    alts = check_alternatives(ctx, j, rid, "CEN", ctx.cat.demo, limit=20)
    # not necessarily 20: candidates are bounded (limits.max_candidates) and
    # only those with an available copy are shown
    assert len(alts) >= 5, "limit=20 gave only %d alternatives for %s" % (len(alts), rid)
    wanted_by = ctx.by_record[rid]
    n_also = 0
    for a in alts:
        shared = len(wanted_by & ctx.by_record.get(a["record"], set()))
        if a["reason"] == "also_borrowed":
            n_also += 1
            assert shared >= ctx.min_patrons, (
                "%s is 'also_borrowed' with %s but only %d patrons borrowed both"
                % (a["record"], rid, shared))
        else:
            assert ctx.by_record.get(a["record"]), "'popular' %s was never borrowed" % a["record"]
    assert n_also > 0, "no also_borrowed alternative for the most borrowed film %s" % rid


def test_limit(ctx):
    rid = ctx.picks["on_loan"]
    for limit in (1, 3, 20):
        j = expect_json(ctx.stack.alt(rid, limit=limit), 200)
        assert 1 <= len(j["alternatives"]) <= limit, "limit=%d gave %d alternatives" % (
            limit, len(j["alternatives"]))
    one = expect_json(ctx.stack.alt(rid, limit=1), 200)["alternatives"]
    five = expect_json(ctx.stack.alt(rid, limit=5), 200)["alternatives"]
    assert one[0]["record"] == five[0]["record"], "limit=1 gave %s, first of limit=5 is %s" % (
        one[0]["record"], five[0]["record"])


def test_available_record(ctx):
    for key in ("available", "mixed"):
        rid = ctx.picks[key]
        rec = ctx.cat.demo[rid]
        j = expect_json(ctx.stack.alt(rid), 200)
        assert j.get("status") == "available", "%s (%s) status %r: %s" % (
            rid, key, j.get("status"), j)
        check_copies(j.get("copies"), rec)
        assert j.get("expected_back") in (None, marc.expected_back(rec)), \
            "expected_back %r for %s" % (j.get("expected_back"), rid)
        assert j.get("reserve_url") == KOHA_RESERVE % rid
        check_alternatives(ctx, j, rid, "CEN", ctx.cat.demo)


def test_book_record_and_diacritics(ctx):
    rid = ctx.picks.get("book_diacritics")
    if not rid:
        raise Skip("no book with a non-ASCII title")
    rec = ctx.cat.demo[rid]
    j = expect_json(ctx.stack.alt(rid), 200)
    assert title_matches(j.get("title"), rec), "title %r, MARC 245 $a %r" % (j.get("title"), rec["title_a"])
    assert marc.nfc(j.get("author") or "") == rec["author"], "author %r, MARC 100 $a %r" % (
        j.get("author"), rec["author"])
    assert j.get("status") == marc.record_status(rec)
    check_copies(j.get("copies"), rec)


def test_unknown_record_404(ctx):
    for rid in ("f99999999", "b0", "zz-not-here"):
        r = ctx.stack.alt(rid)
        j = expect_json(r, 404)
        assert j.get("field") == "record", "404 without field record: %s" % show(r)
        assert j.get("error"), show(r)


def test_unknown_record_404_without_waiting_for_redis(ctx):
    """The catalogue's "no such record" is answered at once: a second
    onloand whose Redis reads may take 10 s answers 404 while Redis is
    held (SIGSTOP), long before it could have heard from Redis."""
    def patient(cfg):
        cfg["redis"]["timeout_ms"] = 10000
        cfg["request_timeout_ms"] = 10000
    d, port = second_daemon(ctx, "patient", patient)
    redis = ctx.stack.redis_proc
    try:
        redis.sigstop()
        r = harness.http_request(port, "GET", "/v1/alternatives?record=f99999998", timeout=5)
        j = expect_json(r, 404)
        assert j.get("field") == "record", show(r)
    finally:
        redis.sigcont()
        d.stop()


def test_title_and_first_candidates_asked_at_once(ctx):
    """The wanted title and the first round of its co-occurring candidates
    are looked up at once: through a proxy that holds each of Zebra's
    answers for 0.3 s, onloand asks for the candidates while the title's
    search is still unanswered (once its connections, opened at start,
    are set up). The answer is the one onloand gives without the proxy."""
    st = ctx.stack
    rid = ctx.picks["on_loan"]
    plain = expect_json(st.alt(rid), 200)
    assert plain.get("degraded") == [], show(plain)
    assert any(a["reason"] == "also_borrowed" for a in plain["alternatives"]), plain
    proxy = harness.DelayProxy(st.zebra["main"][1], 0.3)

    def via_proxy(cfg):
        cfg["request_timeout_ms"] = 10000
        for c in cfg["catalogues"]:
            if c["name"] == "demo":
                c["target"] = "127.0.0.1:%d/demo" % proxy.port
                c["timeout_ms"] = 8000
    d, port = second_daemon(ctx, "proxied", via_proxy)
    try:
        pool = next(c["connections"] for c in st.config["catalogues"] if c["name"] == "demo")
        wait_for(lambda: proxy.settled() and len({e[1] for e in proxy.events}) == pool, 10, 0.05,
                 "the proxied catalogue's %d connections to be set up" % pool)
        proxy.forget()
        r = harness.http_request(port, "GET", "/v1/alternatives?record=%s&branch=CEN&limit=5"
                                 "&lang=en&channel=opac" % rid, timeout=15)
    finally:
        d.stop()
        proxy.close()
    j = expect_json(r, 200)
    assert j.get("degraded") == [], show(r)
    assert _comparable(j) == _comparable(plain), (str(_comparable(j))[:900],
                                                  str(_comparable(plain))[:900])
    assert proxy.most_asks_out() >= 2, "title and candidates asked one after the other: %s" % (
        [(e[0], e[1], round(e[2], 3)) for e in proxy.events],)


def test_bad_parameters_400(ctx):
    ok = ctx.picks["on_loan"]
    base = "/v1/alternatives?"
    cases = [
        ("record", "branch=CEN&limit=5&lang=en&channel=opac"),
        ("record", "record=&branch=CEN&limit=5&lang=en&channel=opac"),
        ("record", "record=%s&branch=CEN&limit=5&lang=en&channel=opac" % ("f" + "1" * 64)),
        ("record", "record=f3%%2056&branch=CEN&limit=5&lang=en&channel=opac"),
        ("record", "record=f356%%3Cscript%%3E&branch=CEN&limit=5&lang=en&channel=opac"),
        ("limit", "record=%s&branch=CEN&limit=0&lang=en&channel=opac" % ok),
        ("limit", "record=%s&branch=CEN&limit=21&lang=en&channel=opac" % ok),
        ("limit", "record=%s&branch=CEN&limit=abc&lang=en&channel=opac" % ok),
        ("limit", "record=%s&branch=CEN&limit=-1&lang=en&channel=opac" % ok),
        ("limit", "record=%s&branch=CEN&limit=%%2B5&lang=en&channel=opac" % ok),
        # an encoded NUL is refused, not read as the part before it
        ("record", "record=%s%%00x&branch=CEN&limit=5&lang=en&channel=opac" % ok),
        ("patron", "record=%s&branch=CEN&limit=5&patron=p1%%00x" % ok),
        ("lang", "record=%s&branch=CEN&limit=5&lang=fr&channel=opac" % ok),
        ("channel", "record=%s&branch=CEN&limit=5&lang=en&channel=tv" % ok),
        ("branch", "record=%s&branch=C%%2AN&limit=5&lang=en&channel=opac" % ok),
        ("branch", "record=%s&branch=%s&limit=5&lang=en&channel=opac" % (ok, "X" * 200)),
        ("catalogue", "record=%s&branch=CEN&limit=5&lang=en&channel=opac&catalogue=nope" % ok),
    ]
    bad = []
    for field, q in cases:
        r = ctx.stack.get(base + q)
        if r.status != 400 or r.json is None or r.json.get("field") != field or not r.json.get("error"):
            bad.append("%s -> %s" % (q[:90], show(r)[:300]))
    assert not bad, "expected 400 naming the field:\n  " + "\n  ".join(bad)


def test_record_length_boundary(ctx):
    """64 bytes is allowed (unknown record: 404), 65 is not (400)."""
    r64 = ctx.stack.alt("f" + "9" * 63)
    assert r64.status == 404 and r64.json and r64.json.get("field") == "record", show(r64)
    r65 = ctx.stack.alt("f" + "9" * 64)
    assert r65.status == 400 and r65.json and r65.json.get("field") == "record", show(r65)


def test_languages_and_channels(ctx):
    rid = ctx.picks["on_loan"]
    msgs = {}
    for lang in ("nl", "en"):
        j = expect_json(ctx.stack.alt(rid, lang=lang), 200)
        assert j.get("message", "").strip(), "empty %s message" % lang
        msgs[lang] = j["message"]
    assert msgs["nl"] != msgs["en"], "nl and en messages are the same: %r" % msgs["nl"]
    for ch in ("opac", "kiosk", "app", "widget"):
        j = expect_json(ctx.stack.alt(rid, channel=ch), 200)
        assert j.get("status") == "on_loan"


def _comparable(j):
    return {k: v for k, v in j.items() if k not in ("catalogue", "touchpoint", "touchpoint_token")}


def test_z3950_and_sru_agree(ctx):
    ids = [ctx.picks[k] for k in ("on_loan", "mixed", "available", "book_diacritics") if k in ctx.picks]
    for rid in ids:
        z = expect_json(ctx.stack.alt(rid, catalogue="demo"), 200)
        s = expect_json(ctx.stack.alt(rid, catalogue="demo-sru"), 200)
        assert s.get("catalogue") == "demo-sru" and z.get("catalogue") == "demo"
        assert _comparable(z) == _comparable(s), "Z39.50 and SRU differ for %s:\n  z3950 %s\n  sru   %s" % (
            rid, str(_comparable(z))[:900], str(_comparable(s))[:900])
        check_copies(s.get("copies"), ctx.cat.demo[rid])
        assert title_matches(s.get("title"), ctx.cat.demo[rid]), "SRU title %r vs %r" % (
            s.get("title"), ctx.cat.demo[rid]["title_a"])


def test_later_rounds_go_ahead(ctx):
    """A request already under way goes ahead of requests that have not
    started: with one catalogue connection whose every answer a proxy holds
    0.1 s, and searches of at most two ids (batch_max, join_max 2), request
    A's later candidate rounds and fallback searches are asked before the
    titles and first rounds of six requests that came in while A's title
    was being looked up, so A is answered before them. (Waiting in turn,
    A's second round would queue behind those twelve-odd searches and A
    would come about last.) A request whose title A's first round fetched
    (a candidate of A's) is under way as early as A and may finish first;
    it is left out. Every answer is whole."""
    proxy = harness.DelayProxy(ctx.stack.zebra["main"][1], 0.1)

    def change(cfg):
        cfg["log_level"] = "debug"
        cfg["request_timeout_ms"] = 20000
        for c in cfg["catalogues"]:
            if c["name"] == "demo":
                c.update({"connections": 1, "batch_max": 2, "join_max": 2, "timeout_ms": 10000,
                          "target": "127.0.0.1:%d/demo" % proxy.port})

    films = [r for r in ctx.popular_films if r in ctx.cat.demo]
    first, others = films[0], films[10:16]
    done = {}

    def one(rid):
        path = "/v1/alternatives?record=%s&branch=CEN&limit=5" % rid
        try:
            done[rid] = (harness.http_request(port, "GET", path, timeout=30), time.monotonic())
        except Exception as e:
            done[rid] = (e, time.monotonic())

    try:
        d, port = second_daemon(ctx, "ahead", change)
        try:
            a = threading.Thread(target=one, args=(first,))
            a.start()
            # A's title is asked (and held): the others come in behind it
            wait_for(lambda: proxy.asked(first.encode()), 5, step=0.005, what="A's title asked")
            rest = [threading.Thread(target=one, args=(rid,)) for rid in others]
            for t in rest:
                t.start()
            for t in [a] + rest:
                t.join(40)
            log = d.output()
        finally:
            d.stop()
    finally:
        proxy.close()
    for rid in [first] + others:
        resp = done.get(rid, (None,))[0]
        assert isinstance(resp, harness.Response) and resp.status == 200 \
            and not resp.json.get("degraded") and resp.json.get("alternatives"), \
            "%s: %s" % (rid, show(resp))
    searches = [line for line in log.splitlines() if "catalogue demo: connection 0: search" in line]
    assert len(searches) >= 10, "too few searches to have queued: %d" % len(searches)
    # A's title, then A's first round: the titles these fetched are under way
    early = {rid for line in searches[:2] for term in re.findall(r'"([^"]*)"', line)
             for rid in term.split("|")}
    waiting = [rid for rid in others if rid not in early]
    assert len(waiting) >= 4, "too few requests waited behind A: %r" % waiting
    late = [rid for rid in waiting if done[rid][1] < done[first][1]]
    assert not late, "answered before A (%s), which was under way first: %s\nsearches:\n%s" % (
        first, late, "\n".join(searches[:40]))


def test_id_query_forms_agree(ctx):
    """Ids asked for as regular-expression terms (id_query "regex", what
    the demo config uses) and as ORed terms ("or", any Z39.50 server) give
    the same answers: for demo films and books, jazz ids with a '-' and
    koha's 999$c numbers, all at once. The regex daemon reaches the demo
    catalogue over one connection, through a proxy that holds its first
    answer 0.3 s: the lookups of the other requests wait meanwhile and are
    joined (join_max 300) into searches too long for one Zebra term (511
    bytes), which its log must show as searches of several regex terms."""
    proxy = harness.DelayProxy(ctx.stack.zebra["main"][1], 0.3)

    def with_form(form, joined):
        def change(cfg):
            cfg["log_level"] = "debug" if joined else "warn"
            for c in cfg["catalogues"]:
                c["id_query"] = form
                if joined and c["name"] == "demo":
                    c.update({"connections": 1, "join_max": 300,
                              "target": "127.0.0.1:%d/demo" % proxy.port})
        return change

    demo = [r for r in ctx.popular_films[:300] if r in ctx.cat.demo][:60] + \
        [r for r in ctx.cat.demo if r.startswith("b")][:20]
    jazz = sorted(r for r in ctx.cat.jazz if "-" in r)[:20]
    koha = sorted(ctx.cat.koha, key=int)[:20]
    asks = [(r, "demo") for r in demo] + [(r, "jazz") for r in jazz] + [(r, "koha") for r in koha]
    assert len(jazz) == 20 and len(koha) == 20 and len(demo) == 80
    answers = {}

    def burst(form, port, started=lambda: None):
        def one(i, rid, cat):
            path = "/v1/alternatives?record=%s&branch=CEN&limit=5&catalogue=%s" % (rid, cat)
            try:
                answers[form, i] = harness.http_request(port, "GET", path, timeout=15)
            except Exception as e:
                answers[form, i] = e
        threads = [threading.Thread(target=one, args=(i, rid, cat)) for i, (rid, cat) in enumerate(asks)]
        for t in threads:
            t.start()
        started()
        for t in threads:
            t.join(30)

    def first_answer_held():
        time.sleep(0.1)         # every request sent; the first answer still held
        proxy.delay = 0         # the ones after it pass at once

    try:
        rx, rx_port = second_daemon(ctx, "regex-joined", with_form("regex", True))
        try:
            burst("regex", rx_port, first_answer_held)
        finally:
            rx.stop()
    finally:
        proxy.close()
    ors, or_port = second_daemon(ctx, "or", with_form("or", False))
    try:
        burst("or", or_port)
    finally:
        ors.stop()
    bad = []
    for i, (rid, cat) in enumerate(asks):
        a, b = answers.get(("regex", i)), answers.get(("or", i))
        if not isinstance(a, harness.Response) or not isinstance(b, harness.Response) \
                or a.status != 200 or b.status != 200 or a.json.get("degraded") or b.json.get("degraded"):
            bad.append("%s %s: regex %s, or %s" % (cat, rid, show(a)[:300], show(b)[:300]))
        elif _comparable(a.json) != _comparable(b.json):
            bad.append("%s %s differ:\n    regex %s\n    or    %s" % (
                cat, rid, str(_comparable(a.json))[:500], str(_comparable(b.json))[:500]))
    assert not bad, "%d of %d answers differ:\n  %s" % (len(bad), len(asks), "\n  ".join(bad[:6]))
    log = rx.output()
    split = [line for line in log.splitlines() if "catalogue demo:" in line and "search @or" in line
             and line.count("@attr 5=102") > 1]
    assert split, "no search of several regex terms in the joined daemon's log:\n" + log[-2000:]


def test_concurrent_50(ctx):
    films = [r for r in ctx.popular_films[:400] if marc.record_status(ctx.cat.demo[r])]
    ids = films[:40] + [r for r in ctx.cat.demo if r.startswith("b")][:10]
    assert len(ids) == 50
    results = {}

    def one(i, rid):
        cat = "demo-sru" if i % 3 == 0 else "demo"
        try:
            results[i] = (rid, ctx.stack.alt(rid, catalogue=cat, branch=BRANCHES[i % 4], timeout=15))
        except Exception as e:
            results[i] = (rid, e)

    threads = [threading.Thread(target=one, args=(i, rid)) for i, rid in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    bad = []
    for i, rid in enumerate(ids):
        got = results.get(i)
        if got is None or isinstance(got[1], Exception):
            bad.append("%s: %r" % (rid, got and got[1]))
            continue
        r = got[1]
        rec = ctx.cat.demo[rid]
        try:
            j = expect_json(r, 200)
            assert j.get("record") == rid, "answer for %s names %s" % (rid, j.get("record"))
            assert j.get("status") == marc.record_status(rec), "status %r, want %r" % (
                j.get("status"), marc.record_status(rec))
            assert j.get("degraded") == [], "degraded %r" % j.get("degraded")
            check_copies(j.get("copies"), rec)
            check_alternatives(ctx, j, rid, BRANCHES[i % 4], ctx.cat.demo)
        except AssertionError as e:
            bad.append("%s: %s" % (rid, str(e)[:400]))
    assert not bad, "%d of 50 concurrent answers wrong:\n  %s" % (len(bad), "\n  ".join(bad[:8]))
