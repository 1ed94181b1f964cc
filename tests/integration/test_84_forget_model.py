"""A forget takes back what the patron added to the model (issue 19 §5):
the pair and title counts their history says they added, so that the
model after the forget is the model built without their loans, and no
key or list line of theirs is left. Real Redis and Zebra (loanlab.Lab)."""

import json
import time

from loanlab import Lab, oracle
from suite import expect_json
from test_80_loan_model import DAY, T0, _also_borrowed, csv_text, json_events

# keys of the answers' touchpoints and their rollups, which only the lab
# that was asked has
ANSWER_KEYS = ("tp", "ev", "ru1:", "tpo:")


def _model(lab):
    """Every key of the lab (but the answers'), the lists summed, pop, meta."""
    with lab.redis() as r:
        keys = sorted(k.decode()[len(lab.prefix):] for k in r.keys(lab.prefix + "*"))
    keys = [k for k in keys if not k.startswith(ANSWER_KEYS)]
    # patrons and loans are theirs; repeats, duplicates and stale count
    # events received, not what anybody borrowed, and stay
    meta = {k: int(v) for k, v in lab.meta().items() if int(v) and k in ("patrons", "loans")}
    return {"keys": keys, "co": lab.all_co(), "pop": lab.pop(), "meta": meta}


def test_forget_takes_back_the_patrons_counts(ctx):
    """Three patrons share the pair x, y (shown at min_patrons 3); the third
    also borrowed w (with the first) and z (alone), and a late title just
    before the forget. Forgotten over HTTP (and a fourth patron with the
    CLI), the pair is no longer shown, and the model, keys included,
    equals a lab's that never had their loans."""
    demo = ctx.cat.demo
    x = ctx.picks["on_loan"]
    y = next(r for r in ctx.popular_films
             if r != x and demo[r]["copies"] and all(c["status"] == "available"
                                                      for c in demo[r]["copies"]))
    k = 3
    gone, cli_gone = "fgt-card-3", "fgt-other-0"
    ev = [("fgt-other-%d" % i, "fgt-elsewhere-%d" % (i % 2), T0 + i * DAY) for i in range(5)]
    ev += [("fgt-other-1", "fgt-elsewhere-0", T0 + 9 * DAY)]
    for i in range(1, k + 1):
        ev += [("fgt-card-%d" % i, x, T0 + i * DAY), ("fgt-card-%d" % i, y, T0 + i * DAY + 3600)]
    ev += [("fgt-card-1", "fgt-w", T0 + 5 * DAY), (gone, "fgt-w", T0 + 6 * DAY),
           (gone, "fgt-z", T0 + 7 * DAY), (gone, x, T0 + 8 * DAY)]   # the last a repeat
    kept = [e for e in ev if e[0] not in (gone, cli_gone)]
    with Lab(ctx, "forget-model-without", daemon=False, privacy={"min_patrons": k}) as without, \
            Lab(ctx, "forget-model", privacy={"min_patrons": k}) as lab:
        without.cli("load", without.write("loans.csv", csv_text(kept)))
        expect_json(lab.post_loans(json.dumps(json_events(ev))), 202)
        lab.wait_co(oracle(ev)[0])      # no window or cap binds here
        also, j = _also_borrowed(lab, x)
        assert y in also, "the pair of %d patrons is not shown: %s" % (k, j)

        # a loan not flushed yet, perhaps, when the forget comes
        expect_json(lab.post_loans(json.dumps(json_events([(gone, "fgt-late", T0 + 9 * DAY)]))), 202)
        assert expect_json(lab.forget(gone), 200) == {"forgotten": True}
        lab.cli("forget", cli_gone)
        lab.settled()

        also, j = _also_borrowed(lab, x)
        assert y not in also, "the pair of %d patrons is still shown: %s" % (k - 1, j)
        got, want = _model(lab), _model(without)
        for part in ("co", "pop", "meta", "keys"):
            assert got[part] == want[part], "%s differs from the model without them:\n  got  %s\n" \
                "  want %s" % (part, got[part], want[part])
        assert want["co"][x][y] == k - 1, want["co"]       # (the comparison compares something)
        for patron in (gone, cli_gone):
            ps = lab.pseudonym(patron)
            assert not [key for key in got["keys"] if ps in key], (patron, got["keys"])
        assert "co:fgt-z" not in got["keys"] and "fgt-z" not in got["pop"], got

        # a forget sent again finds nothing more to take back
        assert expect_json(lab.forget(gone), 200) == {"forgotten": True}
        lab.settled()
        assert _model(lab) == got



def test_forget_drops_what_the_daemon_keeps(ctx):
    """Model reads kept for a minute (model.cache_ms) and the answer kept
    with them: right after the forget's 200 the pair is no longer shown.
    Then a forget left half done is finished by the next one."""
    demo = ctx.cat.demo
    x = ctx.picks["on_loan"]
    y = next(r for r in ctx.popular_films
             if r != x and demo[r]["copies"] and all(c["status"] == "available"
                                                      for c in demo[r]["copies"]))
    ev = [("fgc-other-%d" % i, "fgc-elsewhere", T0) for i in range(3)]
    for i in range(3):
        ev += [("fgc-card-%d" % i, x, T0 + i * DAY), ("fgc-card-%d" % i, y, T0 + i * DAY + 60)]
    with Lab(ctx, "forget-cache", privacy={"min_patrons": 3}, model={"cache_ms": 60000}) as lab:
        expect_json(lab.post_loans(json.dumps(json_events(ev))), 202)
        lab.wait_co(oracle(ev)[0])
        also, j = _also_borrowed(lab, x)
        assert y in also, j
        assert y in _also_borrowed(lab, x)[0]        # now kept
        assert expect_json(lab.forget("fgc-card-0"), 200) == {"forgotten": True}
        also, j = _also_borrowed(lab, x)
        assert y not in also, "the pair is still shown from what the daemon kept: %s" % j

        # A forget that failed after its first script (keys deleted, the
        # work left in fg:, no count taken back yet): sent again, it
        # finishes the work, once.
        ps = lab.pseudonym("fgc-card-1")
        with lab.redis() as r:
            r("HSET", lab.prefix + "fg:" + ps, x, "%s 1\n" % y, y, "%s 1\n" % x)
            r("DEL", lab.prefix + "h:" + ps)
            r("HINCRBY", lab.prefix + "meta", "patrons", -1)
        assert expect_json(lab.forget("fgc-card-1"), 200) == {"forgotten": True}
        lab.settled()
        left = [e for e in ev if e[0] not in ("fgc-card-0", "fgc-card-1")]
        co, pop, meta = oracle(left)
        assert lab.all_co() == co and lab.pop() == pop, (lab.all_co(), lab.pop())
        assert {k: int(lab.meta()[k]) for k in ("patrons", "loans")} == \
            {k: meta[k] for k in ("patrons", "loans")}, lab.meta()
        with lab.redis() as r:
            assert not r("EXISTS", lab.prefix + "fg:" + ps)
