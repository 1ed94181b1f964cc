"""Each alternative says why it is shown (issue 20 section 4), in the
request's lang: the counts of also_borrowed checked against loans.csv,
the wanted title's author and subject against demo.xml."""

import re

import marc
from suite import expect_json


def _answer(ctx, rid, lang, limit=10):
    return expect_json(ctx.stack.get("/v1/alternatives?record=%s&limit=%d&lang=%s&catalogue=demo"
                                     % (rid, limit, lang)), 200)


COUNTED = {"nl": re.compile(r"^(\d+) van de (\d+) lezers van (.+) leenden ook dit$"),
           "en": re.compile(r"^(\d+) of the (\d+) readers of (.+) also borrowed this$")}


def test_also_borrowed_says_how_many(ctx):
    rid = ctx.picks["on_loan"]
    mine = ctx.by_record[rid]
    for lang in ("nl", "en"):
        j = _answer(ctx, rid, lang)
        alts = [a for a in j["alternatives"] if a["reason"] == "also_borrowed"]
        assert alts, (rid, j["alternatives"])
        for a in alts:
            m = COUNTED[lang].match(a["explanation"])
            assert m, (lang, a["explanation"])
            both, of, title = int(m.group(1)), int(m.group(2)), m.group(3)
            shared = len(mine & ctx.by_record.get(a["record"], set()))
            # the model counts a pair at most once per patron (history.h):
            # never more than loans.csv's shared patrons, never fewer than
            # min_patrons (a smaller count is not shown at all)
            assert ctx.min_patrons <= both <= shared, (a["record"], both, shared)
            assert of == len(mine), (of, len(mine))
            assert title == j["title"], (title, j["title"])


def test_same_author_and_popular(ctx):
    demo = ctx.cat.demo
    # a book nobody borrowed, by an author with other fitting books on the shelf
    for rid in sorted(r for r in demo if r.startswith("b") and r not in ctx.by_record):
        rec = demo[rid]
        if not rec["author"]:
            continue
        j = _answer(ctx, rid, "nl")
        if any(a["reason"] == "same_author" for a in j["alternatives"]):
            break
    else:
        raise AssertionError("no book with a same_author alternative")
    for lang, word in (("nl", "Ook van %s"), ("en", "Also by %s")):
        j = _answer(ctx, rid, lang)
        for a in j["alternatives"]:
            if a["reason"] == "same_author":
                assert a["explanation"] == word % j["author"], (lang, a, j["author"])
    # a film nobody borrowed, of a genre too broad to search: popular ones
    film = next(r for r in sorted(demo) if r.startswith("f") and r not in ctx.by_record)
    for lang, text in (("nl", "Populair bij onze lezers"), ("en", "Popular with our readers")):
        j = _answer(ctx, film, lang, limit=5)
        popular = [a for a in j["alternatives"] if a["reason"] == "popular"]
        assert popular, (film, j["alternatives"])
        assert all(a["explanation"] == text for a in popular), popular


def test_same_subject_names_it(ctx):
    """Koha records have subjects (650); one nobody borrowed whose subject
    others share: "Ook over <subject>" as the answer's record has it."""
    koha = ctx.cat.koha
    for rid in sorted(koha, key=int):
        j = expect_json(ctx.stack.get("/v1/alternatives?record=%s&limit=10&catalogue=koha&lang=en"
                                      % rid), 200)
        same = [a for a in j["alternatives"] if a["reason"] == "same_subject"]
        if same:
            break
    else:
        raise AssertionError("no koha record with a same_subject alternative")
    subject = koha[rid]["subjects"][0]
    for a in same:
        assert a["explanation"].startswith("Also about "), a
        got = a["explanation"][len("Also about "):]
        assert marc.nfc(got) == marc.nfc(subject).rstrip(" ."), (got, subject)
