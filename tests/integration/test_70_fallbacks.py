"""When loans say too little: the catalogue is searched by the wanted
title's author (then subject) before popular titles fill up. Books have no
loans in the demo data, so their alternatives come from these fallbacks."""

import json
import re

import harness

from loanlab import Lab
from suite import expect_json, second_daemon
from test_80_loan_model import DAY, T0
import marc


def _words(name):
    return re.findall(r"\w+", name.lower())


def _subject_counts(demo):
    """subject heading -> how many demo records carry it."""
    counts = {}
    for rec in demo.values():
        for x in set(rec["subjects"]):
            counts[x] = counts.get(x, 0) + 1
    return counts


def broad_subject(ctx):
    """A predicate on demo records: its first subject is in more than
    subject_max_hits records, too broad for the subject fallback."""
    demo = ctx.cat.demo
    limit = ctx.stack.config["catalogues"][0]["subject_max_hits"]
    counts = _subject_counts(demo)
    return lambda r: bool(demo[r]["subjects"]) and counts[demo[r]["subjects"][0]] > limit


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


def _unborrowed_book(ctx, n):
    """A book nobody borrowed with at least n other books by its author on
    the shelf that fit it (format, audience, language): (its id, those
    ids sorted)."""
    demo = ctx.cat.demo
    for rid in sorted(r for r in demo if r.startswith("b") and r not in ctx.by_record):
        rec = demo[rid]
        if not rec["author"]:
            continue
        others = sorted(o for o in _by_author(demo, rec["author"]) - {rid}
                        if marc.fits(rec, demo[o]) and marc.record_status(demo[o]) == "available")
        if len(others) >= n:
            return rid, others
    raise AssertionError("no book with %d available books by the same author" % n)


def _set_catalogues(lab, name, **settings):
    """The lab's onloand again, its catalogues with settings."""
    lab.stop_daemon()
    for c in lab.cfg["catalogues"]:
        c.update(settings)
    lab.config_path = lab.stack.write_config(lab.cfg, "lab-%s-%s.json" % (lab.name, name))
    lab.start_daemon()


def test_same_author_before_popular(ctx):
    demo = ctx.cat.demo
    # a book nobody borrowed whose author has other books on the shelf;
    # the alternatives fit the wanted title (format, audience, language)
    rid, _ = _unborrowed_book(ctx, 2)
    rec = demo[rid]
    others = {o for o in _by_author(demo, rec["author"]) - {rid} if marc.fits(rec, demo[o])}
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
            assert a["score"] == 0, a       # nobody borrowed it
    shown = {a["record"] for a in alts if a["reason"] == "same_author"}
    on_shelf = {o for o in others if marc.record_status(demo[o]) == "available"}
    # the search asks for search_max_records records: all of them, if
    # fewer are there
    if len(others) <= ctx.stack.config["catalogues"][0].get("search_max_records", 200):
        assert shown == on_shelf or len(shown) == len(alts), (sorted(shown), sorted(on_shelf))


def test_same_author_most_borrowed_first(ctx):
    """An author's titles come most borrowed first, whatever the
    catalogue's order; the score is the share of patrons who borrowed
    each, 0 below min_patrons (an order must not tell 2 borrowers from 0).
    Real Redis and Zebra (loanlab.Lab), loans posted."""
    k = ctx.min_patrons
    rid, others = _unborrowed_book(ctx, 3)
    q = "/v1/alternatives?record=%s&limit=10&catalogue=demo" % rid
    # the catalogue's order, where nobody borrowed the author's books
    before = [a["record"] for a in expect_json(ctx.stack.get(q), 200)["alternatives"]
              if a["reason"] == "same_author"]
    assert len(before) >= 3 and all(b in others for b in before), (before, sorted(others))
    # the last one shown most borrowed, the one before it next, the one
    # before that by too few; none of them with the wanted title
    most, next_, few = before[-1], before[-2], before[-3]
    borrowed = [(most, k + 2), (next_, k), (few, k - 1)]
    body, n = [], 0
    for record, patrons in borrowed:
        for i in range(patrons):
            body.append({"patron": "sa-%d" % n, "record": record, "time": T0 + n * DAY})
            n += 1
    with Lab(ctx, "author-rank", daemon=False) as lab:
        lab.start_daemon()
        expect_json(lab.post_loans(json.dumps(body)), 202)
        lab.settled()
        j = expect_json(harness.http_request(lab.port, "GET", q), 200)
        # search_max_records bounds what is ranked: with 2, the catalogue's
        # first two (the wanted title may be one of them), however
        # borrowed the others are
        _set_catalogues(lab, "2", search_max_records=2)
        two = [a["record"] for a in expect_json(harness.http_request(lab.port, "GET", q),
                                                200)["alternatives"]
               if a["reason"] == "same_author"]
        assert two and set(two) <= set(before[:2]) and most not in two, (two, before)
    alts = [a for a in j["alternatives"] if a["reason"] == "same_author"]
    got = [a["record"] for a in alts]
    assert got[:2] == [most, next_], (got, most, next_)
    assert sorted(got) == sorted(before), (got, before)     # the same titles, reordered
    score = {a["record"]: a["score"] for a in alts}
    assert abs(score[most] - (k + 2) / n) < 1e-9 and abs(score[next_] - k / n) < 1e-9, (score, n)
    assert all(score[r] == 0 for r in got[2:]), score       # `few` among them: k - 1 < k
    assert few in got[2:], got


def test_default_order_author_first(ctx):
    """By default the wanted title's author comes first: a title both by
    the author and borrowed with it leads (as also_borrowed), then the
    author's other titles, then the co-occurring ones; with order
    also_borrowed first, the co-occurring ones lead. Real Redis and Zebra
    (loanlab.Lab), loans posted."""
    demo = ctx.cat.demo
    k = ctx.min_patrons
    rid, others = _unborrowed_book(ctx, 3)
    rec, by = demo[rid], _by_author(demo, demo[rid]["author"])
    strangers = sorted(o for o in demo if o not in by and o.startswith("b")
                       and o not in ctx.by_record and marc.fits(rec, demo[o])
                       and marc.record_status(demo[o]) == "available")
    assert len(strangers) >= 4, strangers
    both, co = others[0], strangers[:2]
    # k patrons borrow the four together; as many others borrow two more
    # (so that the pairs are more common than chance: LLR above 0)
    body = [{"patron": "ord-%d" % p, "record": r, "time": T0 + (p * 4 + i) * DAY}
            for p in range(k) for i, r in enumerate([rid, both] + co)]
    body += [{"patron": "ord-other-%d" % p, "record": r, "time": T0 + (p * 2 + i) * DAY}
             for p in range(k) for i, r in enumerate(strangers[2:4])]
    q = "/v1/alternatives?record=%s&limit=10&catalogue=demo" % rid
    with Lab(ctx, "order-default", daemon=False) as lab:
        assert all("order" not in c for c in lab.cfg["catalogues"]), lab.cfg["catalogues"]
        lab.start_daemon()
        expect_json(lab.post_loans(json.dumps(body)), 202)
        lab.settled()
        alts = expect_json(harness.http_request(lab.port, "GET", q), 200)["alternatives"]
        got = [(a["record"], a["reason"]) for a in alts]
        n_author = sum(1 for r, why in got if why == "same_author")
        assert n_author >= 2, got
        assert got[0] == (both, "also_borrowed"), got
        assert [why for _, why in got[1:1 + n_author]] == ["same_author"] * n_author, got
        assert sorted(r for r, _ in got[1 + n_author:3 + n_author]) == co, got
        assert all(why == "also_borrowed" for _, why in got[1 + n_author:3 + n_author]), got

        _set_catalogues(lab, "cooc",
                        order=["also_borrowed", "same_author", "same_subject", "popular"])
        alts = expect_json(harness.http_request(lab.port, "GET", q), 200)["alternatives"]
        got = [(a["record"], a["reason"]) for a in alts]
        assert sorted(r for r, _ in got[:3]) == sorted([both] + co), got
        assert all(why == "also_borrowed" for _, why in got[:3]), got
        assert all(why == "same_author" for _, why in got[3:3 + n_author]), got


def _first_subject(rec):
    return rec["subjects"][0].rstrip(" .") if rec["subjects"] else None


def test_same_subject_when_narrow(ctx):
    """Koha: a record whose first subject heading other records share, and
    that no one borrowed: its same_subject alternatives carry that heading."""
    koha = ctx.cat.koha
    for rid in sorted(koha, key=int):
        subj = _first_subject(koha[rid])
        if not subj or koha[rid]["author"] is None:
            continue
        same = [o for o in koha if o != rid and subj in (x.rstrip(" .") for x in koha[o]["subjects"])
                and marc.record_status(koha[o]) == "available" and marc.fits(koha[rid], koha[o])
                and not _by_author(koha, koha[rid]["author"]) & {o}]
        if len(same) >= 2:
            break
    else:
        raise AssertionError("no koha record with a shared subject")
    j = expect_json(ctx.stack.get("/v1/alternatives?record=%s&limit=10&catalogue=koha" % rid), 200)
    got = [a for a in j["alternatives"] if a["reason"] == "same_subject"]
    assert got, "no same_subject alternative for koha %s (%s): %s" % (
        rid, subj, [(a["record"], a["reason"]) for a in j["alternatives"]])
    for a in got:
        heads = [x.rstrip(" .") for x in koha[a["record"]]["subjects"]]
        assert any(subj.lower() in h.lower() for h in heads), (a["record"], subj, heads)
        assert marc.record_status(koha[a["record"]]) == "available", a


def _bib_subjects(rec):
    """The subject headings onloand keeps (holdings.h): 650 $a in order,
    then 655 $a, distinct, at most 3."""
    out = []
    for x in rec["topics"] + rec["genres"]:
        x = x.strip().rstrip(" .")
        if x and x not in out:
            out.append(x)
    return out[:3]


def test_next_subject_when_the_first_finds_nothing(ctx):
    """Koha: a record nobody borrowed whose first subject heading no other
    record has, and whose second others share: the answer searches the
    second and says so ("Ook over <second>")."""
    koha = ctx.cat.koha

    def sharing(rid, subj):
        return [o for o in koha if o != rid
                and any(subj.lower() in h.lower() for h in koha[o]["subjects"])]

    for rid in sorted(koha, key=int):
        rec = koha[rid]
        subjects = _bib_subjects(rec)
        if len(subjects) < 2 or rec["author"] is None or sharing(rid, subjects[0]):
            continue
        by_author = _by_author(koha, rec["author"])
        same = [o for o in sharing(rid, subjects[1]) if o not in by_author
                and marc.record_status(koha[o]) == "available" and marc.fits(rec, koha[o])]
        if same:
            break
    else:
        raise AssertionError("no koha record whose first subject is its own and second shared")
    # a daemon of its own: nothing cached, its searches in its debug log
    d, port = second_daemon(ctx, "next-subject", lambda cfg: cfg.update(log_level="debug"))
    try:
        j = expect_json(harness.http_request(
            port, "GET", "/v1/alternatives?record=%s&limit=10&catalogue=koha&lang=nl" % rid), 200)
    finally:
        d.stop()
    got = [a for a in j["alternatives"] if a["reason"] == "same_subject"]
    assert got, "no same_subject alternative for koha %s (%s): %s" % (
        rid, subjects, [(a["record"], a["reason"]) for a in j["alternatives"]])
    for a in got:
        heads = koha[a["record"]]["subjects"]
        assert any(subjects[1].lower() in h.lower() for h in heads), (a["record"], subjects, heads)
        assert a["explanation"] == "Ook over %s" % subjects[1], (a, subjects)
    # The second heading was searched once, sent before the first one's
    # answer came back (searched ahead; the search in turn joined it).
    log = [line for line in d.output().splitlines() if "catalogue koha: connection" in line]
    first = [i for i, line in enumerate(log) if line.endswith(' "%s"' % subjects[0])]
    second = [i for i, line in enumerate(log) if line.endswith(' "%s"' % subjects[1])]
    assert len(first) == 1 and len(second) == 1, log
    conn = log[first[0]].split("connection ")[1].split(":")[0]
    answered = next(i for i in range(first[0] + 1, len(log))
                    if "connection %s: " % conn in log[i] and " records in " in log[i])
    assert second[0] < answered, log


def test_broad_subject_is_skipped(ctx):
    """A film nobody borrowed whose genre has more than subject_max_hits
    records: no same_subject alternatives (too broad to mean anything)."""
    demo = ctx.cat.demo
    broad = broad_subject(ctx)
    rid = next(r for r in sorted(demo) if r.startswith("f") and r not in ctx.by_record
               and broad(r))
    j = expect_json(ctx.stack.get("/v1/alternatives?record=%s&limit=5&catalogue=demo" % rid), 200)
    reasons = [a["reason"] for a in j["alternatives"]]
    assert "same_subject" not in reasons, (rid, demo[rid]["subjects"][0], reasons)
    assert reasons and set(reasons) <= {"same_author", "popular"}, (rid, reasons)


def test_subject_bound_is_exact(ctx):
    """Zebra stops counting a bounded subject search past subject_max_hits
    (its approximate limit) and estimates the rest; the bound itself stays
    exact: a genre in N records is used with subject_max_hits N and skipped
    with N - 1, by daemons that have not seen it before."""
    demo = ctx.cat.demo
    counts = _subject_counts(demo)
    # a film too few borrowed for any of its pairs to be used (fewer than
    # min_patrons patrons), whose genre is in 20..200 records, some on the shelf
    rid = next(r for r in sorted(demo) if r.startswith("f")
               and len(ctx.by_record.get(r, ())) < ctx.min_patrons and demo[r]["subjects"] and 20 <= counts[demo[r]["subjects"][0]] <= 200
               and sum(1 for o in demo.values() if demo[r]["subjects"][0] in o["subjects"]
                       and marc.record_status(o) == "available" and marc.fits(demo[r], o)) >= 2)
    genre = demo[rid]["subjects"][0]
    n = counts[genre]
    for bound, used in ((n, True), (n - 1, False)):
        def bounded(cfg, bound=bound):
            for c in cfg["catalogues"]:
                c["subject_max_hits"] = bound
        d, port = second_daemon(ctx, "subject-bound-%d" % bound, bounded)
        try:
            j = expect_json(harness.http_request(
                port, "GET", "/v1/alternatives?record=%s&limit=5&catalogue=demo" % rid), 200)
        finally:
            d.stop()
        same = [a for a in j["alternatives"] if a["reason"] == "same_subject"]
        assert bool(same) == used, (rid, genre, n, bound, j["alternatives"])
        for a in same:
            assert genre in demo[a["record"]]["subjects"], (a, genre)


def test_fallbacks_leave_out_what_the_patron_borrowed(ctx):
    """Same-author (and same-subject) candidates are checked against the
    patron's history like co-occurring and popular ones: a patron who
    borrowed one of the author's books is not offered it. On a daemon of
    its own prefix, so the loan it posts changes no other test's model."""
    rid, others = _unborrowed_book(ctx, 2)

    def change(cfg):
        cfg["redis"]["prefix"] = "fallback-history:"
    d, port = second_daemon(ctx, "fallback-history", change)
    try:
        path = "/v1/alternatives?record=%s&limit=10&catalogue=demo" % rid

        def same_author(extra=""):
            j = expect_json(harness.http_request(port, "GET", path + extra,
                                                 headers=harness.OPAC_AUTH if extra else None), 200)
            return [a["record"] for a in j["alternatives"] if a["reason"] == "same_author"]
        before = same_author()
        assert others[0] in before, (rid, others, before)
        loan = {"patron": "fallback-history-patron", "record": others[0],
                "time": "2026-11-01T10:00:00Z"}
        r = harness.http_request(port, "POST", "/v1/loans", body=json.dumps(loan).encode(),
                                 headers={"Authorization": "Bearer demo-ingest-key-change-me",
                                          "Content-Type": "application/json"})
        assert r.status == 202, r
        after = same_author("&patron=fallback-history-patron")
        assert others[0] not in after, (others[0], after)
        assert set(before) - {others[0]} <= set(after), (before, after)
        assert same_author() == before        # for anyone else, as before
    finally:
        d.stop()
        with ctx.stack.redis() as red:
            keys = red.keys("fallback-history:*")
            if keys:
                red("DEL", *keys)


def _grouped(reasons, order):
    """The reasons of an answer come in the order's groups, one after another."""
    at = [order.index(r) for r in reasons]
    return at == sorted(at)


def test_catalogue_order_of_reasons(ctx):
    """A catalogue's order: a film whose co-occurring titles fill the
    answer by default shows its genre's titles first with order
    same_subject, also_borrowed, popular; and no co-occurring title at all
    with order same_subject, popular (it may still come, found by the
    subject search, as same_subject)."""
    demo = ctx.cat.demo
    counts = _subject_counts(demo)
    limit = ctx.stack.config["catalogues"][0]["subject_max_hits"]

    def ask(port, rid):
        return expect_json(harness.http_request(
            port, "GET", "/v1/alternatives?record=%s&limit=10&catalogue=demo" % rid), 200)

    # a well-borrowed film whose genre is narrow enough, with titles of it on the shelf
    def narrow(r):
        g = demo[r]["subjects"][0] if demo[r]["subjects"] else None
        return g and 2 <= counts[g] <= limit and sum(
            1 for o, rec in demo.items() if o != r and g in rec["subjects"]
            and marc.record_status(rec) == "available" and marc.fits(demo[r], rec)) >= 2
    films = sorted((r for r in demo if r.startswith("f") and
                    len(ctx.by_record.get(r, ())) >= 20 and narrow(r)),
                   key=lambda r: (-len(ctx.by_record[r]), r))
    assert films, "no well-borrowed film of a narrow genre"

    def set_order(order):
        def change(cfg):
            for c in cfg["catalogues"]:
                c["order"] = order
        return change

    first = ["same_subject", "also_borrowed", "popular"]
    d, port = second_daemon(ctx, "order-subject-first", set_order(first))
    d2, port2 = second_daemon(ctx, "order-no-cooc", set_order(["same_subject", "popular"]))
    try:
        for rid in films[:10]:
            default = ask(ctx.stack.port, rid)
            plain = [a["reason"] for a in default["alternatives"]]
            if not plain or plain[0] != "also_borrowed" or "same_subject" in plain:
                continue        # the default answer must be co-occurrence only
            genre = demo[rid]["subjects"][0]
            j = ask(port, rid)
            reasons = [a["reason"] for a in j["alternatives"]]
            assert "same_subject" in reasons, (rid, genre, reasons)
            assert "same_author" not in reasons, reasons
            # by the order: the genre's titles first (a co-occurring one the
            # subject search found too may be among them), then the other
            # co-occurring ones, then popular
            alts = j["alternatives"]
            last_subject = max(i for i, a in enumerate(alts) if a["reason"] == "same_subject")
            for i, a in enumerate(alts[:last_subject]):
                assert a["reason"] == "same_subject" or genre in demo[a["record"]]["subjects"], (
                    rid, genre, i, reasons)
            assert _grouped(reasons[last_subject:], first), (rid, reasons)
            for a in j["alternatives"]:
                if a["reason"] == "same_subject":
                    assert genre in demo[a["record"]]["subjects"], (a, genre)
                    assert marc.record_status(demo[a["record"]]) == "available", a
            j2 = ask(port2, rid)
            reasons2 = [a["reason"] for a in j2["alternatives"]]
            assert reasons2 and set(reasons2) <= {"same_subject", "popular"}, (rid, reasons2)
            assert _grouped(reasons2, ["same_subject", "popular"]), reasons2
            return
        raise AssertionError("no film among %s whose default answer is co-occurrence only"
                             % films[:10])
    finally:
        d.stop()
        d2.stop()
