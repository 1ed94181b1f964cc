"""An answer made with patron= is kept (answers.h) only while everything
it was built from is fresh: besides the catalogue records and the wanted
title's neighbours, the patron's history and their recent titles'
neighbours (model.cache_ms); one whose recent titles' neighbours could
not be read is not kept at all. On a Redis of the test's own, with
catalogue records trusted far longer than the model, so that only the
model's reads bound the answers."""

import json
import time

import harness
from suite import Skip, expect_json
from test_82_model_totals import T0, DAY, _ask, _calls, _records, lab_configured


def _also_borrowed(j):
    return {a["record"] for a in j["alternatives"] if a["reason"] == "also_borrowed"}


def _shown(j):
    return [(a["record"], a["reason"]) for a in j["alternatives"]]


def _catalogues_trusted_long(cfg):
    for c in cfg["catalogues"]:
        c["cache_ms"] = 60000


def _borrow(lab, pairs, who):
    """Six patrons named who-0..5 borrow both titles of each pair in pairs
    (so each pair is shared by six), then the model is settled."""
    ev = [{"patron": "%s-%d" % (who, i), "record": rec, "time": T0 + i * DAY + k * 3600}
          for i in range(6) for k, rec in enumerate(pairs)]
    expect_json(lab.post_loans(json.dumps(ev)), 202)
    lab.settled()


def _patron_lab(ctx, name, cache_ms, shelf, limits=None):
    """W (wanted) goes with A, H with B; the patron has borrowed H only."""
    w, a, h, b = shelf[:4]

    def configure(cfg):
        _catalogues_trusted_long(cfg)
        cfg.setdefault("limits", {}).update(limits or {})
    lab = lab_configured(ctx, name, configure, model={"cache_ms": cache_ms})
    _borrow(lab, [w, a], "wa")
    _borrow(lab, [h, b], "hb")
    expect_json(lab.post_loans(json.dumps({"patron": "reader", "record": h, "time": T0})), 202)
    lab.settled()
    _feed_until(lab, lambda f: f["listening"])
    return lab


def _ask_counting(lab, record, patron=None):
    """The answer, and how many GETs Redis ran for it (none: it was kept)."""
    with lab.redis() as r:
        r("CONFIG", "RESETSTAT")
    return expect_json(_ask(lab, record, patron), 200), _calls(lab, "get")


def _feed(lab):
    return expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)["forget_feed"]


def _feed_until(lab, ok, timeout=5.0):
    """Waits until the daemon's forget feed (healthz) satisfies ok."""
    deadline = time.monotonic() + timeout
    while True:
        f = _feed(lab)
        if ok(f):
            return f
        assert time.monotonic() < deadline, "forget feed never got there: %r" % f
        time.sleep(0.02)


def _sleep_until(t):
    time.sleep(max(0.0, t - time.monotonic()))


def test_patron_answer_expires_with_recent_titles_neighbours(ctx):
    """The patron's recent title H had its neighbours read (and cached)
    half a period before the rest of the answer: the answer is rebuilt
    when they expire, not a period after the rest, and then shows the
    neighbour H gained in the meantime."""
    w, a, h, b, z, x = _records(ctx, 6, 0)[0]
    cache_s = 4.0
    with _patron_lab(ctx, "patron-expiry", int(cache_s * 1000), [w, a, h, b]) as lab:
        t0 = time.monotonic()
        expect_json(_ask(lab, x), 200)              # the totals, read at t0
        _sleep_until(t0 + cache_s / 2)
        t_h = time.monotonic()                      # H's neighbours, read after this
        j = expect_json(_ask(lab, h), 200)
        t_h_read = time.monotonic()                 # and before this
        assert _also_borrowed(j) == {b}, j
        _borrow(lab, [h, z], "hz")                  # H gains Z in Redis
        _sleep_until(t0 + cache_s + 0.2)            # the totals have expired
        t_built = time.monotonic()
        first = expect_json(_ask(lab, w, "reader"), 200)
        if time.monotonic() >= t_h + cache_s:
            raise Skip("the first patron answer came %.1fs after H's neighbours were read, past "
                       "the %.0fs period: too slow to see it built from H's cached neighbours"
                       % (time.monotonic() - t_h, cache_s))
        assert first["degraded"] == [], first
        assert _also_borrowed(first) == {a, b}, first     # H's cached neighbours: no Z yet
        # H's neighbours expire a period after t_h_read at the latest (about
        # t0 + 1.5 periods); W's and the totals, read for this answer, a
        # period after t_built.
        _sleep_until(t_h_read + cache_s + 0.3)
        second = expect_json(_ask(lab, w, "reader"), 200)
        if time.monotonic() >= t_built + cache_s - 0.3:
            raise Skip("the second patron answer came %.1fs after the first was built, not "
                       "within the %.0fs period: too slow to tell H's expiry from the rest's"
                       % (time.monotonic() - t_built, cache_s))
        assert second["degraded"] == [], second
        assert _also_borrowed(second) == {a, b, z}, (
            "the patron's answer was kept past its recent title's neighbours: %s" % _shown(second))


def test_patron_answer_without_recent_neighbours_not_kept(ctx):
    """When the patron's recent title's neighbours cannot be read, the
    answer (less personal, not degraded) is not kept: once they can be
    read again the next answer has them. A complete patron answer is kept
    like any other: asked again, nothing is read."""
    w, a, h, b = _records(ctx, 4, 0)[0]
    with _patron_lab(ctx, "patron-partial", 60000, [w, a, h, b]) as lab:
        co, kept = lab.prefix + "co:" + h, lab.prefix + "co-kept"
        with lab.redis() as r:
            r("RENAME", co, kept)
            r("HSET", co, "not", "a string")    # GET co:<H>: WRONGTYPE
        first = expect_json(_ask(lab, w, "reader"), 200)
        assert _also_borrowed(first) == {a}, first
        with lab.redis() as r:
            r("DEL", co)
            r("RENAME", kept, co)
        second = expect_json(_ask(lab, w, "reader"), 200)
        assert second["degraded"] == [], second
        assert _also_borrowed(second) == {a, b}, (
            "an answer built without the patron's recent title's neighbours was kept: %s"
            % _shown(second))
        third, gets = _ask_counting(lab, w, "reader")
        assert _also_borrowed(third) == {a, b}, third
        assert gets == 0, "a complete patron answer was not kept"


def _forget_drops_that_patrons_answer(ctx, name, forget):
    """Answers are kept for "reader" (built from their history) and for
    "other"; forget(lab) forgets "reader". Asked again within the period,
    reader's answer is made afresh, without the history that is gone,
    while other's kept answer stays."""
    w, a, h, b = _records(ctx, 4, 0)[0]
    with _patron_lab(ctx, name, 60000, [w, a, h, b]) as lab:
        expect_json(lab.post_loans(json.dumps({"patron": "other", "record": h, "time": T0})), 202)
        lab.settled()
        first = expect_json(_ask(lab, w, "reader"), 200)
        assert _also_borrowed(first) == {a, b}, first   # H's neighbour B, from the history
        expect_json(_ask(lab, w, "other"), 200)
        forget(lab)
        after, gets = _ask_counting(lab, w, "reader")
        assert _also_borrowed(after) == {a}, (
            "the forgotten patron's kept answer was served: %s" % _shown(after))
        assert gets >= 1, "the answer after the forget was not made afresh"
        kept, gets = _ask_counting(lab, w, "other")
        assert _also_borrowed(kept) == {a, b}, kept
        assert gets == 0, "another patron's kept answer was dropped too"


def test_forgotten_patron_answer_not_kept(ctx):
    """DELETE /v1/patrons/<patron> drops the answers kept for that patron
    (by pseudonym), and only theirs."""
    _forget_drops_that_patrons_answer(
        ctx, "patron-forget", lambda lab: expect_json(lab.forget("reader"), 200))


def _forget_by_cli(lab):
    """`onloan forget reader`, checked on the way: the pseudonym goes on
    <prefix>forget (a listener of the test's own hears it, never the
    patron id), and the daemon hears it."""
    heard = _feed(lab)["heard"]
    channel = lab.prefix + "forget"
    with lab.redis() as r:
        subs = r("PUBSUB", "NUMSUB", channel)
        assert subs[1] >= 1, "the daemon is not subscribed: %r" % subs
    with lab.redis() as listener:
        assert listener("SUBSCRIBE", channel)[0] == b"subscribe"
        rc, out, err = lab.cli("forget", "reader")
        kind, _, message = listener.next_reply()
    pseudonym = out.strip().rsplit(" ", 1)[-1]
    assert kind == b"message" and message == pseudonym.encode(), (kind, message, out)
    assert b"reader" not in message
    _feed_until(lab, lambda f: f["heard"] > heard)


def test_cli_forget_reaches_the_daemon(ctx):
    """`onloan forget` (the CLI, which talks to Redis only) publishes the
    pseudonym with the deletes; the daemon hears it and drops the answer
    it keeps for that patron, and only that one."""
    _forget_drops_that_patrons_answer(ctx, "patron-cli-forget", _forget_by_cli)


def test_forget_feed_lost_drops_patron_answers(ctx):
    """A forget published while the daemon's feed is down is not heard:
    when the feed's connection goes, the daemon drops every patron's kept
    answer (answers without patron= stay) and keeps none until it listens
    again."""
    w, a, h, b = _records(ctx, 4, 0)[0]
    with _patron_lab(ctx, "patron-feed-lost", 60000, [w, a, h, b]) as lab:
        expect_json(_ask(lab, w, "reader"), 200)
        expect_json(_ask(lab, w), 200)
        assert _ask_counting(lab, w, "reader")[1] == 0, "the patron answer was not kept to begin with"
        subscribed = _feed(lab)["subscribed"]
        with lab.redis() as r:
            killed = r("CLIENT", "KILL", "TYPE", "pubsub")
        assert killed >= 1, killed
        _feed_until(lab, lambda f: f["listening"] and f["subscribed"] > subscribed)
        again, gets = _ask_counting(lab, w, "reader")
        assert _also_borrowed(again) == {a, b}, again
        assert gets >= 1, "a patron answer kept before the feed was lost was served"
        assert _ask_counting(lab, w)[1] == 0, "an answer without patron= was dropped too"


def _kept(lab):
    h = expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)
    return h["kept_answers"], h["kept_patron_answers"]


def test_patron_answers_kept_apart(ctx):
    """Answers made with patron= are kept apart from the ones every OPAC
    user gets, each under its own limit (limits.max_kept_answers,
    limits.max_kept_patron_answers): patrons' answers cannot crowd out
    the shared ones, nor the other way round. A limit of 0 keeps none."""
    w, a, h, b = _records(ctx, 4, 0)[0]
    with _patron_lab(ctx, "patron-apart-0", 60000, [w, a, h, b],
                     {"max_kept_patron_answers": 0}) as lab:
        expect_json(_ask(lab, w), 200)
        expect_json(_ask(lab, w, "reader"), 200)
        assert _kept(lab) == (1, 0), _kept(lab)
        again, gets = _ask_counting(lab, w, "reader")
        assert _also_borrowed(again) == {a, b}, again
        assert gets >= 1, "a patron answer was kept with max_kept_patron_answers 0"
    with _patron_lab(ctx, "patron-apart-1", 60000, [w, a, h, b],
                     {"max_kept_answers": 0, "max_kept_patron_answers": 1}) as lab:
        expect_json(_ask(lab, w), 200)
        expect_json(_ask(lab, w, "reader"), 200)
        expect_json(_ask(lab, w, "reader2"), 200)     # over its limit: not kept
        assert _kept(lab) == (0, 1), _kept(lab)
        again, gets = _ask_counting(lab, w, "reader")
        assert _also_borrowed(again) == {a, b}, again
        assert gets == 0, "the patron answer was not kept"
        assert lab.forget("reader").status == 200
        assert _kept(lab) == (0, 0), _kept(lab)


def test_forget_feed_ignores_what_is_not_a_pseudonym(ctx):
    """A message on the forget channel that is not a pseudonym (32
    lowercase hex digits) changes nothing and is counted as refused;
    the answers kept stay."""
    w, a, h, b = _records(ctx, 4, 0)[0]
    with _patron_lab(ctx, "patron-feed-junk", 60000, [w, a, h, b]) as lab:
        expect_json(_ask(lab, w, "reader"), 200)
        expect_json(_ask(lab, w), 200)
        assert _kept(lab) == (1, 1), _kept(lab)
        before = _feed(lab)
        with lab.redis() as r:
            for junk in ("reader", "", "0" * 31, "A" * 32, "0" * 33, "g" * 32):
                assert r("PUBLISH", lab.prefix + "forget", junk) >= 1
        after = _feed_until(lab, lambda f: f["refused"] >= before["refused"] + 6)
        assert after["heard"] == before["heard"] and after["listening"], after
        assert _kept(lab) == (1, 1), "a message that was not a pseudonym dropped answers"
