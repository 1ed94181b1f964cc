"""The koha catalogue (real MARC21, 952 from items.sql, UTF-8) and the jazz
catalogue (MARC-8, 949 holdings): copies and diacritics."""

import unicodedata

import marc
from suite import Skip, check_copies, expect_json, show, title_matches


def non_ascii(s):
    return s and any(ord(ch) > 127 for ch in s)


def test_koha_copies_from_952(ctx):
    koha = ctx.cat.koha
    # records with several items, and one without any
    with_items = sorted((r for r in koha.values() if len(r["copies"]) >= 3),
                        key=lambda r: int(r["id"]))[:3]
    assert with_items, "no koha record with 3 items in koha.xml"
    for rec in with_items:
        j = expect_json(ctx.stack.alt(rec["id"], catalogue="koha"), 200)
        assert j.get("catalogue") == "koha"
        check_copies(j.get("copies"), rec)
        assert j.get("status") == marc.record_status(rec), "koha %s status %r want %r" % (
            rec["id"], j.get("status"), marc.record_status(rec))
        assert title_matches(j.get("title"), rec), "koha %s title %r, 245 %r" % (
            rec["id"], j.get("title"), rec["title_a"])
        assert j.get("reserve_url") == \
            "https://opac.example.org/cgi-bin/koha/opac-reserve.pl?biblionumber=%s" % rec["id"]
    without = [r for r in koha.values() if not r["copies"]]
    if without:
        rec = without[0]
        j = expect_json(ctx.stack.alt(rec["id"], catalogue="koha"), 200)
        assert j.get("copies") == [], "koha %s has no 952 but copies %r" % (rec["id"], j.get("copies"))
        assert j.get("status") == "on_loan", "no copies -> none available -> on_loan per spec; got %r" % j.get("status")


def test_koha_diacritics(ctx):
    koha = ctx.cat.koha
    recs = [r for r in koha.values() if non_ascii(r["title_a"])]
    if not recs:
        raise Skip("no koha title with diacritics")
    bad = []
    for rec in recs[:5]:
        j = expect_json(ctx.stack.alt(rec["id"], catalogue="koha"), 200)
        t = j.get("title") or ""
        if t != unicodedata.normalize("NFC", t) or not title_matches(t, rec):
            bad.append("%s: got %r, MARCXML 245 $a %r" % (rec["id"], t, rec["title_a"]))
    assert not bad, "koha titles with diacritics wrong:\n  " + "\n  ".join(bad)


def test_jazz_copies_from_949(ctx):
    jazz = ctx.cat.jazz
    recs = sorted((r for r in jazz.values() if len(r["copies"]) >= 2), key=lambda r: r["id"])[:3]
    assert recs, "no jazz record with two 949s"
    for rec in recs:
        j = expect_json(ctx.stack.alt(rec["id"], catalogue="jazz"), 200)
        check_copies(j.get("copies"), rec)
        assert j.get("status") == marc.record_status(rec), "jazz %s status %r" % (rec["id"], j.get("status"))
        assert j.get("reserve_url") == "https://catalogue.example.edu/hold?id=%s" % rec["id"], \
            "reserve_url %r" % j.get("reserve_url")


def test_jazz_marc8_diacritics(ctx):
    jazz = ctx.cat.jazz
    recs = [r for r in jazz.values() if non_ascii(r["title_a"])]
    assert recs, "no jazz title with diacritics (MARC-8 decoder)"
    # The Köln concert (03-0017438) first if present
    recs.sort(key=lambda r: (r["id"] != "03-0017438", r["id"]))
    bad = []
    for rec in recs[:6]:
        r = ctx.stack.alt(rec["id"], catalogue="jazz")
        j = expect_json(r, 200)
        t = j.get("title") or ""
        if not title_matches(t, rec):
            bad.append("%s: got %r, MARC-8 245 $a decoded %r" % (rec["id"], t, rec["title_a"]))
        if t != marc.nfc(t):        # marc8s: composed characters, as OPACs compare them
            bad.append("%s: title %r is not NFC" % (rec["id"], t))
        a = j.get("author")
        if rec["author"] and marc.nfc(a or "").rstrip(",. ") != rec["author"].rstrip(",. "):
            bad.append("%s: author %r, 100 $a %r" % (rec["id"], a, rec["author"]))
    assert not bad, "jazz (MARC-8) text wrong:\n  " + "\n  ".join(bad)


def test_catalogue_isolation(ctx):
    """A koha biblionumber looked up in demo is a 404, not a koha answer."""
    rid = sorted(ctx.cat.koha, key=int)[0]
    if rid in ctx.cat.demo:
        raise Skip("id %s exists in both" % rid)
    r = ctx.stack.alt(rid, catalogue="demo")
    assert r.status == 404 and r.json and r.json.get("field") == "record", show(r)
