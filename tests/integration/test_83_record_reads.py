"""A record's neighbours are read from Redis once however many requests
miss them at the same moment: the others wait for the read in flight
(model.h, model_read). A request that gives up waiting (its deadline)
leaves the read to the rest, and the read still goes into the cache when
nobody waits any more; a failed read answers every waiter with the error
and is not kept. Counted with Redis' own INFO commandstats on a Redis of
the test's own (loanlab.Lab), held still (SIGSTOP) while the requests
gather."""

import threading
import time

import harness
from suite import Skip, expect_json, wait_for
from test_82_model_totals import (HELD_TIMEOUT_MS, HOLD_WAIT_S, _ask, _calls, _held_timeouts,
                                  _load, _records, lab_configured)


# A record's read is one MULTI of GET co:<record>, ZSCORE pop and GET
# q:<record> (the holds waiting), then ZMSCORE of its neighbours.
GETS_PER_READ = 2


def _healthz(lab):
    return harness.http_request(lab.port, "GET", "/healthz", timeout=2).json


def _pending(lab):
    return _healthz(lab)["pending_requests"]


def _also_borrowed(j):
    return {a["record"] for a in j["alternatives"] if a["reason"] == "also_borrowed"}


class _Asking:
    """Requests for one record, each in a thread of its own."""

    def __init__(self, lab, record):
        self.lab, self.record = lab, record
        self.threads, self.replies = [], []

    def start(self, n, pending):
        """Starts n more requests, and waits until the daemon has pending
        requests in progress in all (these and any others still waiting:
        the count is the daemon's, not this batch's)."""
        for _ in range(n):
            i = len(self.replies)
            self.replies.append(None)

            def one(i=i):
                self.replies[i] = _ask(self.lab, self.record)
            t = threading.Thread(target=one)
            t.start()
            self.threads.append(t)
        wait_for(lambda: _pending(self.lab) == pending, HOLD_WAIT_S, 0.01,
                 "%d requests in progress" % pending)

    def join(self):
        for t in self.threads:
            t.join()
        return self.replies


def _asked_while_held(lab, record, n):
    """n requests for record sent while Redis is held (SIGSTOP), all in
    progress before it goes on: their replies."""
    asking = _Asking(lab, record)
    lab.redis_proc.sigstop()
    try:
        asking.start(n, n)
    finally:
        lab.redis_proc.sigcont()
    return asking.join()


def test_same_record_read_once(ctx):
    """Eight requests for one record that miss it together make one read
    of it (GET co: and q:, one ZSCORE, one ZMSCORE), and every one of them
    shows its neighbours."""
    shelf, _ = _records(ctx, 3, 0)
    with lab_configured(ctx, "reads", _held_timeouts, model={"cache_ms": 60000},
                        redis={"timeout_ms": HELD_TIMEOUT_MS}) as lab:
        _load(lab, shelf)
        with lab.redis() as r:
            r("CONFIG", "RESETSTAT")
        for resp in _asked_while_held(lab, shelf[0], 8):
            j = expect_json(resp, 200)
            assert j["degraded"] == [], j
            assert _also_borrowed(j) == set(shelf[1:]), j
        reads = {c: _calls(lab, c) for c in ("get", "zscore", "zmscore")}
        assert reads == {"get": GETS_PER_READ, "zscore": 1, "zmscore": 1}, (
            "eight requests that missed %s together read it %r times" % (shelf[0], reads))


def test_read_outlives_waiters_that_give_up(ctx):
    """The request that started a read reaches its deadline while Redis
    is held: it answers degraded, and the three that joined the read later
    get its result once Redis goes on, without reading again. A read whose
    every waiter gave up still fills the cache: the next request for that
    record reads nothing."""
    shelf, _ = _records(ctx, 3, 0)
    deadline_s = 3.0
    def deadline(cfg):
        cfg["request_timeout_ms"] = int(deadline_s * 1000)
    with lab_configured(ctx, "reads-cancel", deadline, model={"cache_ms": 60000},
                        redis={"timeout_ms": HELD_TIMEOUT_MS}) as lab:
        _load(lab, shelf)
        with lab.redis() as r:
            r("CONFIG", "RESETSTAT")
        first, later = _Asking(lab, shelf[0]), _Asking(lab, shelf[0])
        lab.redis_proc.sigstop()
        try:
            t_first = time.monotonic()      # first's deadline is after t_first + deadline_s
            first.start(1, 1)
            time.sleep(max(0.0, t_first + deadline_s / 2 - time.monotonic()))
            try:
                later.start(3, 4)           # first still waits
            except AssertionError:
                if time.monotonic() - t_first < deadline_s:
                    raise
                raise Skip("the later requests were not all in progress within first's "
                           "%.0fs deadline: too slow to have them join its read" % deadline_s)
            [gave_up] = first.join()
            assert _pending(lab) == 3, _pending(lab)
        finally:
            lab.redis_proc.sigcont()
        j = expect_json(gave_up, 200)
        assert "redis_timeout" in j["degraded"] and not _also_borrowed(j), j
        for resp in later.join():
            j = expect_json(resp, 200)
            assert j["degraded"] == [], j
            assert _also_borrowed(j) == set(shelf[1:]), j
        assert _calls(lab, "get") == GETS_PER_READ and _calls(lab, "zmscore") == 1, (
            "the read left by its first waiter was not shared: GET co: %d, ZMSCORE %d"
            % (_calls(lab, "get"), _calls(lab, "zmscore")))

        # Nobody left waiting: the read goes on into the cache.
        lonely = _Asking(lab, shelf[1])
        lab.redis_proc.sigstop()
        try:
            lonely.start(1, 1)
            [gave_up] = lonely.join()
        finally:
            lab.redis_proc.sigcont()
        assert "redis_timeout" in expect_json(gave_up, 200)["degraded"]
        wait_for(lambda: _calls(lab, "zmscore") == 2, 5, 0.02,
                 "the read of %s finished without a waiter" % shelf[1])
        # Its reply reached onloand and the read is over (cached or not):
        # the next request cannot join it.
        wait_for(lambda: _healthz(lab)["model_reads"] == 0, 5, 0.02,
                 "onloand done with the read of %s" % shelf[1])
        j = expect_json(_ask(lab, shelf[1]), 200)
        assert j["degraded"] == [] and _also_borrowed(j) == {shelf[0], shelf[2]}, j
        assert _calls(lab, "get") == 2 * GETS_PER_READ and _calls(lab, "zmscore") == 2, (
            "the read of %s was not kept: GET co: %d, ZMSCORE %d"
            % (shelf[1], _calls(lab, "get"), _calls(lab, "zmscore")))


def test_failed_read_answers_all_and_is_not_kept(ctx):
    """A read that fails (co:<record> of the wrong type) is one read for
    the four requests waiting for it, each degraded; it is not kept, so
    the next request reads again and, the key mended, shows the
    neighbours."""
    shelf, _ = _records(ctx, 3, 0)
    with lab_configured(ctx, "reads-fail", _held_timeouts, model={"cache_ms": 60000},
                        redis={"timeout_ms": HELD_TIMEOUT_MS}) as lab:
        _load(lab, shelf)
        co, kept = lab.prefix + "co:" + shelf[0], lab.prefix + "co-kept"
        with lab.redis() as r:
            r("RENAME", co, kept)
            r("HSET", co, "not", "a string")    # GET co:<record>: WRONGTYPE
            r("CONFIG", "RESETSTAT")
        for resp in _asked_while_held(lab, shelf[0], 4):
            j = expect_json(resp, 200)
            assert "redis_unavailable" in j["degraded"] and not _also_borrowed(j), j
        assert _calls(lab, "get") == GETS_PER_READ, \
            "a failed read made %d GETs" % _calls(lab, "get")
        assert "unreadable" in lab.daemon.output(), "the refused read was not logged"
        with lab.redis() as r:
            r("DEL", co)
            r("RENAME", kept, co)
        j = expect_json(_ask(lab, shelf[0]), 200)
        assert j["degraded"] == [] and _also_borrowed(j) == set(shelf[1:]), j
        assert _calls(lab, "get") == 2 * GETS_PER_READ, _calls(lab, "get")
