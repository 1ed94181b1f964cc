"""Nothing lost (issue 19.4): touchpoints and outcomes wait in the spool
while Redis is away, in memory and in spool_dir, and are written once it
is back; Redis runs deploy/redis/onloan.conf (append-only file, onloand's
ACL user, whose password onloand gives)."""

import json
import os
import shutil
import signal
import threading
import time

import harness
from loanlab import Lab
from suite import expect_json, wait_for

TRAFFIC_S = 30.0


def _spool(lab):
    return expect_json(harness.http_request(lab.port, "GET", "/healthz", timeout=5), 200)["spool"]


def _spool_empty(lab, timeout=30.0):
    last = [None]

    def empty():
        last[0] = h = expect_json(harness.http_request(lab.port, "GET", "/healthz", timeout=5), 200)
        return h["spool"]["waiting"] == 0 and h["spool"]["in_flight"] == 0
    try:
        wait_for(empty, timeout, 0.2, "the spool to empty")
    except AssertionError:
        raise AssertionError("the spool did not empty: %r; redis %s; log: %s" % (
            last[0]["spool"], last[0]["redis"], open(lab.logs[-1]).read()[-2500:]))


def _lab(ctx, name, **kw):
    lab = Lab(ctx, name, daemon=False, **kw)
    lab.cfg["spool_dir"] = os.path.join(ctx.stack.tmp, "spool-" + lab.name)
    os.makedirs(lab.cfg["spool_dir"], exist_ok=True)
    ctx.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
    return lab


def _ask(lab, rid, timeout=10):
    return harness.http_request(lab.port, "GET", "/v1/alternatives?record=%s&branch=CEN" % rid,
                                timeout=timeout)


def _reserve(lab, j, rid, timeout=10):
    return harness.http_request(lab.port, "POST", "/v1/touchpoints/%s/events" % j["touchpoint"],
                                body={"type": "reserve", "record": rid,
                                      "token": j["touchpoint_token"]}, timeout=timeout)


def test_kill_9_redis_during_traffic_loses_nothing(ctx):
    """kill -9 Redis and start it again during 30 s of traffic: every
    touchpoint id in a 200 answer, and every outcome answered 201 or 202,
    is in Redis afterwards, counted once in the rollups."""
    lab = _lab(ctx, "spool-kill")
    try:
        lab.start_daemon()
        rids = sorted(r for r in ctx.cat.demo if r.startswith("f"))[:40]
        seen, outcomes, statuses = [], [], {}
        stop = threading.Event()

        def traffic():
            i = 0
            while not stop.is_set():
                rid = rids[i % len(rids)]
                i += 1
                try:
                    r = _ask(lab, rid)
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    if r.status != 200 or not r.json.get("touchpoint"):
                        continue
                    seen.append(r.json["touchpoint"])
                    e = _reserve(lab, r.json, rid)
                    statuses["outcome %d" % e.status] = statuses.get("outcome %d" % e.status, 0) + 1
                    if e.status in (201, 202):
                        outcomes.append((r.json["touchpoint"], rid))
                except OSError:
                    statuses["error"] = statuses.get("error", 0) + 1
        threads = [threading.Thread(target=traffic) for _ in range(2)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        try:
            time.sleep(8)
            lab.redis_proc.stop(sig=signal.SIGKILL)
            time.sleep(6)
            during = _spool(lab)
            lab.start_redis()              # the same port and dir: the AOF is read back
            time.sleep(max(0.0, TRAFFIC_S - (time.monotonic() - t0)))
        finally:
            stop.set()
            for t in threads:
                t.join(15)
        assert during["waiting"] > 0, "nothing waited in the spool while Redis was dead: %r" % during
        _spool_empty(lab)
        assert len(seen) > 50 and len(outcomes) > 50, (len(seen), len(outcomes), statuses)
        assert statuses.get("outcome 202"), "no outcome was spooled: %r" % statuses
        with lab.redis() as r:
            missing = [tp for tp in seen if not harness.tpd(r, lab.prefix, tp)]
            assert not missing, "%d of %d touchpoints lost, e.g. %s (%r)" % (
                len(missing), len(seen), missing[:3], statuses)
            lost = [(tp, rid) for tp, rid in outcomes
                    if not r("HGET", lab.prefix + "tpo:" + tp, "reserve|" + rid)]
            assert not lost, "%d of %d outcomes lost, e.g. %s" % (len(lost), len(outcomes), lost[:3])
            # each counted once: the tp stream has one entry per touchpoint
            entries = r("XRANGE", lab.prefix + "tp", "-", "+")
            ids = [dict(zip(kv[::2], kv[1::2]))[b"touchpoint"].decode() for _, kv in entries]
            assert len(ids) == len(set(ids)), "a touchpoint written twice"
            assert set(seen) <= set(ids)
            evs = r("XRANGE", lab.prefix + "ev", "-", "+")
            assert len(evs) == len(set(tp for tp, _ in outcomes)) == len(outcomes), \
                (len(evs), len(outcomes))
    finally:
        lab.close()


def _redis_loses_everything(lab):
    """kill -9 Redis and start it again on an empty dir: as if it lost
    what it had confirmed (a slow fsync, a primary gone before its
    replicas had it)."""
    lab.redis_proc.stop(sig=signal.SIGKILL)
    shutil.rmtree(lab.redis_dir)
    os.makedirs(lab.redis_dir)
    lab.start_redis()


def test_confirmed_writes_sent_again_when_redis_lost_them(ctx):
    """Touchpoints and outcomes Redis confirmed in the last
    spool_replay_ms are sent again on its next connection: a Redis that
    lost them has them again, counted once; older ones are let go."""
    lab = _lab(ctx, "spool-replay", redis={"timeout_ms": 500})
    lab.cfg["spool_replay_ms"] = 60000
    ctx.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
    try:
        lab.start_daemon()
        rid = ctx.picks["on_loan"]
        answers = [expect_json(_ask(lab, rid), 200) for _ in range(4)]
        for j in answers[:2]:
            expect_json(_reserve(lab, j, rid), 201)
        _spool_empty(lab)
        s = _spool(lab)
        assert s["confirmed_kept"] == 6 and s["replayed"] == 0, s
        _redis_loses_everything(lab)
        _spool_empty(lab)
        wait_for(lambda: _spool(lab)["replayed"] == 6, 10.0, 0.1, "the six writes sent again")
        with lab.redis() as r:
            for j in answers:
                assert harness.touchpoint_fields(r, lab.prefix, j["touchpoint"])["record"] == rid
            for j in answers[:2]:
                assert r("HGET", lab.prefix + "tpo:" + j["touchpoint"], "reserve|" + rid)
            assert r("XLEN", lab.prefix + "ev") == 2
        # sent again, each still counts once
        expect_json(_reserve(lab, answers[0], rid), 200)
    finally:
        lab.close()
    # what is older than spool_replay_ms (of time connected) is let go
    lab = _lab(ctx, "spool-replay-short", redis={"timeout_ms": 500})
    lab.cfg["spool_replay_ms"] = 300
    ctx.stack.write_config(lab.cfg, "lab-%s.json" % lab.name)
    try:
        lab.start_daemon()
        rid = ctx.picks["on_loan"]
        j = expect_json(_ask(lab, rid), 200)
        _spool_empty(lab)
        wait_for(lambda: _spool(lab)["confirmed_kept"] == 0, 5.0, 0.1, "the write let go")
        _redis_loses_everything(lab)
        wait_for(lambda: expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)[
            "redis"] == "connected", 10.0, 0.1, "Redis back")
        assert _spool(lab)["replayed"] == 0
        with lab.redis() as r:
            assert not harness.tpd(r, lab.prefix, j["touchpoint"])
    finally:
        lab.close()


def test_spool_file_outlives_the_daemon(ctx):
    """Redis away, touchpoints and an outcome spooled, onloand stopped:
    they are in spool_dir, and the next onloand writes them once Redis is
    back."""
    lab = _lab(ctx, "spool-file", redis={"timeout_ms": 200})
    try:
        lab.start_daemon()
        rid = ctx.picks["on_loan"]
        lab.redis_proc.stop(sig=signal.SIGKILL)
        answers = [expect_json(_ask(lab, rid), 200) for _ in range(5)]
        assert all(j["touchpoint"] and j["touchpoint_token"] for j in answers), answers
        expect_json(_reserve(lab, answers[0], rid), 202)
        lab.stop_daemon()
        log = os.path.join(lab.cfg["spool_dir"], "spool.log")
        assert os.path.getsize(log) > 0, "nothing in %s" % log
        assert oct(os.stat(log).st_mode & 0o777) == "0o600"
        lab.start_redis()
        lab.start_daemon()
        _spool_empty(lab)
        with lab.redis() as r:
            for j in answers:
                f = harness.touchpoint_fields(r, lab.prefix, j["touchpoint"])
                assert f["record"] == rid, f
            assert r("HGET", lab.prefix + "tpo:" + answers[0]["touchpoint"], "reserve|" + rid)
        # written: the file starts afresh
        wait_for(lambda: os.path.getsize(log) == 0, 5.0, 0.1, "spool.log emptied")
        # a second onloand on the same spool_dir is refused
        other = dict(lab.cfg, listen="127.0.0.1:%d" % harness.free_port())
        path = ctx.stack.write_config(other, "lab-%s-other.json" % lab.name)
        p = harness.Proc("onloand-other", [os.path.join(ctx.stack.build, "onloand"), "-c", path],
                         os.path.join(ctx.stack.tmp, "onloand-%s-other.log" % lab.name),
                         env=harness.sanitizer_env())
        ctx.stack.procs.append(p)
        wait_for(lambda: not p.alive(), 10.0, 0.1, "the second onloand to refuse")
        assert "another onloand's" in p.output(), p.output()[-2000:]
    finally:
        lab.close()


def test_full_spool_answers_marked_not_logged(ctx):
    """At limits.max_spooled_writes the answer still goes out, marked
    touchpoint_not_logged, without a touchpoint; /healthz counts it."""
    lab = Lab(ctx, "spool-full", limits={"max_spooled_writes": 3}, redis={"timeout_ms": 200})
    try:
        rid = ctx.picks["on_loan"]
        lab.redis_proc.stop(sig=signal.SIGKILL)
        got = [expect_json(_ask(lab, rid), 200) for _ in range(5)]
        kept = [j for j in got if j["touchpoint"]]
        refused = [j for j in got if not j["touchpoint"]]
        assert len(kept) == 3 and len(refused) == 2, [j.get("degraded") for j in got]
        for j in refused:
            assert "touchpoint_not_logged" in j["degraded"] and j["touchpoint_token"] is None, j
        assert j["status"] == "on_loan" and j["reserve_url"], j
        s = _spool(lab)
        assert s["refused"] == 2 and s["waiting"] == 3 and s["on_disk"] is False, s
    finally:
        lab.close()


def test_writes_in_flight_bounded(ctx):
    """At most 8 writes go to Redis unanswered: a read sent on the same
    connection waits behind no more. The rest wait in the spool (and its
    file) and go as Redis answers; every touchpoint is written. (The
    lab's Redis holds no model: each answer's reads time out, after
    timeout_ms, while its touchpoint goes on.)"""
    lab = _lab(ctx, "spool-ahead", redis={"timeout_ms": 100})
    path = "/v1/alternatives?record=%s&branch=CEN&channel=kiosk" % ctx.picks["on_loan"]
    try:
        lab.start_daemon()
        expect_json(harness.http_request(lab.port, "GET", path), 200)
        _spool_empty(lab)
        lab.redis_proc.sigstop()
        try:
            got = [expect_json(harness.http_request(lab.port, "GET", path), 200)
                   for _ in range(20)]
            s = _spool(lab)
            assert s["in_flight"] == 8 and s["waiting"] == 12, s
        finally:
            lab.redis_proc.sigcont()
        _spool_empty(lab)
        with lab.redis() as r:
            missing = [j["touchpoint"] for j in got if not harness.tpd(r, lab.prefix, j["touchpoint"])]
        assert not missing, missing
    finally:
        lab.close()


def test_redis_acl_user_and_password(ctx):
    """onloand logs in as deploy/redis/onloan.conf's user; a wrong password
    is said plainly and nothing is written; the user cannot run what
    onloand never needs."""
    lab = Lab(ctx, "spool-auth", redis={"password": "wrong-password-0123456789abcdef0"},
              daemon=False)
    try:
        lab.start_daemon()
        rid = ctx.picks["on_loan"]
        j = expect_json(_ask(lab, rid), 200)
        wait_for(lambda: "AUTH as onloan refused" in open(lab.logs[-1]).read(), 5.0, 0.1,
                 "the refused AUTH in the log")
        assert expect_json(harness.http_request(lab.port, "GET", "/healthz"), 200)["spool"][
            "written"] == 0
        with lab.redis() as r:
            assert not harness.tpd(r, lab.prefix, j["touchpoint"])
            acl = r("ACL", "GETUSER", "onloan")
            flags = dict(zip(acl[::2], acl[1::2]))
            assert b"on" in flags[b"flags"], flags
            assert b"-@all" in flags[b"commands"] and b"+eval" in flags[b"commands"], flags
            assert b"flushall" not in flags[b"commands"], flags
        with open(os.path.join(harness.REPO, "config", "onloan.json")) as f:
            demo = json.load(f)["redis"]
        assert demo["username"] == "onloan" and demo["password"] == "demo-redis-key-change-me"
    finally:
        lab.close()


def _landed(lab, r, tps, timeout=10.0):
    """Every touchpoint of tps is in Redis within timeout (the spool
    sends them); returns the ones that are not."""
    deadline = time.time() + timeout
    while True:
        missing = [tp for tp in tps if not harness.tpd(r, lab.prefix, tp)]
        if not missing or time.time() > deadline:
            return missing
        time.sleep(0.05)


def _calls(r, command):
    stats = r("INFO", "commandstats").decode()
    for line in stats.splitlines():
        if line.startswith("cmdstat_%s:calls=" % command):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def _answers(lab, rid, n):
    tps = []
    for _ in range(n):
        j = expect_json(_ask(lab, rid), 200)
        assert not j.get("degraded"), j
        tps.append(j["touchpoint"])
    return tps


def test_touchpoints_go_by_sha1_and_survive_script_flush(ctx):
    """The spool's writes go as EVALSHA once SCRIPT LOAD has answered;
    after SCRIPT FLUSH (NOSCRIPT) they go as EVAL and are loaded again:
    every touchpoint lands, none is dropped."""
    lab = _lab(ctx, "spool-sha")
    try:
        lab.start_daemon()
        rid = ctx.picks["on_loan"]
        with lab.redis() as r:
            first = _answers(lab, rid, 30)
            assert not _landed(lab, r, first)
            loads, evalsha = _calls(r, "script|load"), _calls(r, "evalsha")
            assert loads >= 1 and evalsha >= 20, (loads, evalsha)
            r("SCRIPT", "FLUSH")
            # the first NOSCRIPT holds the spool's writes until it sends
            # them again, as EVAL, while the script is loaded again
            second = _answers(lab, rid, 30)
            missing = _landed(lab, r, second)
            assert not missing, "not written after SCRIPT FLUSH: %r" % missing
            assert _calls(r, "script|load") > loads, "not loaded again"
            evalsha = _calls(r, "evalsha")
            third = _answers(lab, rid, 30)
            assert not _landed(lab, r, third)
            assert _calls(r, "evalsha") >= evalsha + 20, "not by SHA1 again"
        _spool_empty(lab)
        s = _spool(lab)
        assert s["failed"] == 0 and s["written"] == 90, s
        log = open(lab.logs[-1]).read()
        assert "ERROR" not in log, log[-2000:]
    finally:
        lab.close()


def test_an_acl_without_evalsha_gets_eval(ctx):
    """A Redis whose ACL for onloand's user has no +evalsha and no
    +script|load (an older deploy/redis/onloan.conf): the writes go as
    EVAL, all land, and the log says what to allow."""
    lab = _lab(ctx, "spool-noevalsha")
    try:
        with lab.redis() as r:
            r("ACL", "SETUSER", "onloan", "-evalsha", "-script|load")
        lab.start_daemon()
        rid = ctx.picks["on_loan"]
        with lab.redis() as r:
            tps = _answers(lab, rid, 20)
            missing = _landed(lab, r, tps)
            assert not missing, missing
            assert _calls(r, "evalsha") == 0, _calls(r, "evalsha")
            assert _calls(r, "eval") >= 20, _calls(r, "eval")
        _spool_empty(lab)
        s = _spool(lab)
        assert s["failed"] == 0 and s["written"] == 20, s
        wait_for(lambda: "+evalsha +script|load" in open(lab.logs[-1]).read(), 5.0, 0.1,
                 "the refused SCRIPT LOAD in the log")
    finally:
        lab.close()
