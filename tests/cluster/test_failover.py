#!/usr/bin/env python3
"""A failover under traffic (issue 21): deploy/cluster/run.sh starts the
cluster (a Redis primary, two replicas, three Sentinels, two onloand,
HAProxy) on free loopback ports; clients ask for alternatives through
HAProxy for --seconds (30), posting a `shown` outcome for some answers; a
few seconds in, the replicas are cut off (SIGSTOP, their links closed by
the primary) for --pause-replicas-ms (500; 0: not), so that the primary
confirms writes they never get, and the primary is killed with SIGKILL.
Then:

  cluster/new_primary    the Sentinels name a new primary within 10 s
  cluster/answers        at most 1 % of the answers are not 200
  cluster/touchpoints    every touchpoint answered is in Redis afterwards
                         (GET /v1/qr reads it back: 200, not 404)
  cluster/outcomes       every outcome posted (201, or 202 while Redis was
                         away) is counted: posted again it is a duplicate
  cluster/model          the model answers as before: the same
                         alternatives for the same titles
  cluster/daemons        both onloand still run and their logs hold no
                         sanitizer report

Prints `ok NAME (secs)` or `FAIL NAME: why` per check, `# ` lines with the
figures, and `N passed, N failed` last; exits 1 if anything failed.
tests/run --cluster DIR runs it and counts its lines; `make cluster-test`
runs it alone.

usage: tests/cluster/test_failover.py [--build DIR] [--catalogue DIR]
                                      [--seconds N] [--clients N]
                                      [--pause-replicas-ms N] [--keep]
"""

import argparse
import collections
import csv
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import harness  # noqa: E402  (sanitizer markers and environment; stdlib only)

RUN_SH = os.path.join(REPO, "deploy", "cluster", "run.sh")
SENTINEL_PASS = "demo-sentinel-key-change-me"
MASTER = "onloan"
NEW_PRIMARY_WITHIN_S = 10       # the bound
MAX_NOT_200 = 0.01              # the bound: 1 % of the answers
KILL_AFTER_S = 8                # into the traffic
START_TIMEOUT_S = 300           # run.sh start (the ASan build loads slowly)
TRAFFIC_RECORDS = 60            # the most borrowed titles are asked for
MODEL_RECORDS = 8               # ... and these compared before and after
OUTCOME_EVERY = 4               # a `shown` for every 4th answer
PAUSE_S = 0.005                 # between a client's requests: a steady load, not
                                # the most the machine takes (make bench measures that)


def port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_ports():
    """A base whose run.sh ports (+0..+45) and HAProxy's (+50) are free."""
    for _ in range(50):
        base = random.randrange(20000, 60000, 100)
        if all(port_free(base + i) for i in range(0, 51)):
            return base
    raise RuntimeError("no free range of loopback ports")


class Client:
    """One keep-alive connection to HAProxy."""

    def __init__(self, port):
        self.port = port
        self.c = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self.c.request(method, path, body=body, headers=headers or {})
                r = self.c.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


def alternatives_path(record, branch="CEN", channel="opac"):
    return "/v1/alternatives?" + urllib.parse.urlencode(
        {"record": record, "branch": branch, "limit": 5, "channel": channel})


def popular_records(loans, n):
    counts = collections.Counter()
    with open(loans, newline="") as f:
        for row in csv.DictReader(f):
            counts[row["record"]] += 1
    return [r for r, _ in counts.most_common(n)]


def redis_cli(port, *args, sentinel=False, timeout=3):
    argv = ["redis-cli", "-p", str(port)]
    if sentinel:
        argv += ["--no-auth-warning", "-a", SENTINEL_PASS]
    try:
        r = subprocess.run(argv + list(args), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ""
    return r.stdout.decode().strip()


class Cluster:
    def __init__(self, args):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="onloan-cluster-")
        self.base = pick_ports()
        self.http = self.base + 50
        self.env = harness.sanitizer_env()
        self.env.update(ONLOAN_CLUSTER_DIR=self.dir, ONLOAN_CLUSTER_PORT=str(self.base),
                        ONLOAN_CLUSTER_HTTP="127.0.0.1:%d" % self.http,
                        ONLOAN_BUILD=os.path.abspath(args.build),
                        ONLOAN_CLUSTER_CATALOGUE=os.path.abspath(args.catalogue))

    def run(self, what, timeout):
        return subprocess.run([RUN_SH, what], env=self.env, capture_output=True, timeout=timeout)

    def sentinels(self):
        return [self.base + 10 + i for i in range(3)]

    def primary(self):
        """(host, port) the Sentinels name, the answer of most of them."""
        votes = collections.Counter()
        for p in self.sentinels():
            out = redis_cli(p, "SENTINEL", "get-master-addr-by-name", MASTER, sentinel=True)
            parts = out.split()
            if len(parts) == 2:
                votes[(parts[0], int(parts[1]))] += 1
        return votes.most_common(1)[0][0] if votes else None

    def pid(self, name):
        with open(os.path.join(self.dir, "pids", name)) as f:
            return int(f.read())

    def healthz(self, i):
        c = http.client.HTTPConnection("127.0.0.1", self.base + 30 + i, timeout=3)
        try:
            c.request("GET", "/healthz")
            return json.loads(c.getresponse().read())
        finally:
            c.close()

    def log(self, name):
        try:
            with open(os.path.join(self.dir, "logs", name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, t0, ok, why):
        secs = time.monotonic() - t0
        if ok:
            self.passed += 1
            print("ok cluster/%s (%.1fs)" % (name, secs), flush=True)
        else:
            self.failed += 1
            print("FAIL cluster/%s: %s" % (name, why), flush=True)


def model_answer(client, record):
    """The alternatives (record, reason) of a fresh, undegraded answer; None
    when every try within 10 s was degraded. Channel app: the demo's
    experiment (on opac) shows some answers no alternatives."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, body = client.request("GET", alternatives_path(record, channel="app"))
        if status == 200:
            a = json.loads(body)
            if not a["degraded"]:
                return [(x["record"], x["reason"]) for x in a["alternatives"]]
        time.sleep(0.2)
    return None


def traffic(port, records, stop, out, lock, seed):
    """Asks through HAProxy until stop: every answer's status, its
    touchpoint and token, and the outcomes posted."""
    client = Client(port)
    rnd = random.Random(seed)
    n = 0
    while not stop.wait(PAUSE_S):
        record = rnd.choice(records)
        try:
            status, body = client.request("GET", alternatives_path(record, rnd.choice(
                ["CEN", "NRD", "OST", "ZUI"])))
        except (OSError, http.client.HTTPException) as e:
            with lock:
                out["statuses"][type(e).__name__] += 1
            continue
        with lock:
            out["statuses"][status] += 1
        if status != 200:
            continue
        a = json.loads(body)
        if a["degraded"]:
            with lock:
                out["degraded"] += 1
                for d in a["degraded"]:
                    out["degraded_reasons"][d] += 1
        if not a["touchpoint"]:
            with lock:
                out["no_touchpoint"] += 1
            continue
        tp = (a["touchpoint"], a["touchpoint_token"])
        with lock:
            out["touchpoints"].append(tp)
        n += 1
        if n % OUTCOME_EVERY == 0:
            body = json.dumps({"type": "shown", "token": tp[1]}).encode()
            try:
                status, _ = client.request("POST", "/v1/touchpoints/%s/events" % tp[0], body,
                                           {"Content-Type": "application/json"})
            except (OSError, http.client.HTTPException) as e:
                status = type(e).__name__
            with lock:
                out["outcome_statuses"][status] += 1
                if status in (201, 202):
                    out["outcomes"].append(tp)
    client.close()


def parallel(items, fn, threads=4):
    """fn(client, item) for each item over `threads` connections; the
    items for which it was false."""
    bad, lock, it = [], threading.Lock(), iter(list(items))

    def work():
        client = Client(cluster_http[0])
        while True:
            with lock:
                item = next(it, None)
            if item is None:
                break
            if not fn(client, item):
                with lock:
                    bad.append(item)
        client.close()
    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return bad


cluster_http = [0]


def main():
    ap = argparse.ArgumentParser(usage=__doc__.split("usage: ")[1])
    ap.add_argument("--build", default="build")
    ap.add_argument("--catalogue")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--pause-replicas-ms", type=int, default=500)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    args.catalogue = args.catalogue or os.path.join(args.build, "catalogue")
    if not os.path.isdir(os.path.join(args.catalogue, "register")):
        args.catalogue = os.path.join(REPO, "build", "catalogue")
    res = Results()
    cl = Cluster(args)
    cluster_http[0] = cl.http
    print("# cluster in %s, ports %d.., HAProxy on %d, build %s" % (cl.dir, cl.base, cl.http,
                                                                     args.build), flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    try:
        t0 = time.monotonic()
        r = cl.run("start", START_TIMEOUT_S)
        if r.returncode != 0:
            res.check("start", t0, False, "run.sh start: %s" % r.stderr.decode()[-2000:])
            return res
        print("# started in %.1fs" % (time.monotonic() - t0), flush=True)
        failover(cl, args, res)
    except KeyboardInterrupt:
        res.check("interrupted", time.monotonic(), False, "stopped by signal")
    except Exception as e:      # a check that could not run is a failure, said so
        import traceback
        res.check("error", time.monotonic(), False, "%s\n%s" % (e, traceback.format_exc()))
    finally:
        t0 = time.monotonic()
        alive = [i for i in range(2) if os.path.exists("/proc/%d" % safe_pid(cl, "onloand-%d" % i))]
        stop = cl.run("stop", 60)
        logs = "".join(cl.log("onloand-%d" % i) for i in range(2))
        found = [m for m in harness.SANITIZER_MARKERS if m in logs]
        if os.path.exists(os.path.join(cl.dir, "layout")):
            res.check("daemons", t0, len(alive) == 2 and not found and stop.returncode == 0,
                      "onloand running: %s; sanitizer reports: %s; run.sh stop: %s" % (
                          alive, found, stop.stderr.decode()[-500:]))
        if args.keep or res.failed:
            print("# kept %s (logs in logs/)" % cl.dir, flush=True)
        else:
            shutil.rmtree(cl.dir, ignore_errors=True)
    return res


def safe_pid(cl, name):
    try:
        return cl.pid(name)
    except (OSError, ValueError):
        return 0


def failover(cl, args, res):
    loans = os.path.join(args.catalogue, "loans.csv")
    records = popular_records(loans, TRAFFIC_RECORDS)
    client = Client(cl.http)
    before = {r: model_answer(client, r) for r in records[:MODEL_RECORDS]}
    missing = [r for r, a in before.items() if a is None]
    if missing:
        raise RuntimeError("no undegraded answer before the failover for %s" % missing)

    old = cl.primary()
    names = {cl.base + i: "redis-%d" % i for i in range(3)}
    victim = names[old[1]]
    stop, lock = threading.Event(), threading.Lock()
    out = {"statuses": collections.Counter(), "outcome_statuses": collections.Counter(),
           "degraded": 0, "degraded_reasons": collections.Counter(), "no_touchpoint": 0,
           "touchpoints": [], "outcomes": []}
    ts = [threading.Thread(target=traffic, args=(cl.http, records, stop, out, lock, i))
          for i in range(args.clients)]
    t_start = time.monotonic()
    for t in ts:
        t.start()
    time.sleep(KILL_AFTER_S)
    # The replicas cut off first for a moment (stopped, and their links
    # closed by the primary, which drops what it had not sent them): the
    # primary confirms writes they never get, what asynchronous
    # replication loses at worst (the spool sends those again on the new
    # primary: spool_replay_ms)
    replicas = [n for n in names.values() if n != victim]
    if args.pause_replicas_ms:
        for n in replicas:
            os.kill(cl.pid(n), signal.SIGSTOP)
        redis_cli(old[1], "CLIENT", "KILL", "TYPE", "replica")
        time.sleep(args.pause_replicas_ms / 1000)
    try:
        os.kill(cl.pid(victim), signal.SIGKILL)
    finally:
        if args.pause_replicas_ms:
            for n in replicas:
                os.kill(cl.pid(n), signal.SIGCONT)
    t_kill = time.monotonic()
    new, t_new = None, None
    while time.monotonic() - t_kill < 30:
        p = cl.primary()
        if p and p != old:
            new, t_new = p, time.monotonic()
            break
        time.sleep(0.05)
    time.sleep(max(0.0, args.seconds - (time.monotonic() - t_start)))
    stop.set()
    for t in ts:
        t.join()
    elapsed = time.monotonic() - t_start

    answers = sum(out["statuses"].values())
    not_200 = answers - out["statuses"][200]
    print("# %d answers in %.1fs (%d clients): %s; degraded %d (%s); without touchpoint %d"
          % (answers, elapsed, args.clients, dict(out["statuses"]), out["degraded"],
             dict(out["degraded_reasons"]), out["no_touchpoint"]), flush=True)
    if new:
        print("# killed %s (%s:%d) %.1fs in, its replicas cut off %d ms before; new primary "
              "%s:%d after %.2fs" % (victim, old[0], old[1], t_kill - t_start,
                                     args.pause_replicas_ms, new[0], new[1], t_new - t_kill),
              flush=True)
    res.check("new_primary", t_kill, new is not None and t_new - t_kill <= NEW_PRIMARY_WITHIN_S
              and redis_cli(new[1], "ROLE").split("\n")[0] == "master",
              "new primary: %s after %s s (bound %d s)" % (
                  new, None if t_new is None else round(t_new - t_kill, 2), NEW_PRIMARY_WITHIN_S))
    res.check("answers", t_start, answers > 0 and not_200 <= MAX_NOT_200 * answers,
              "%d of %d answers not 200: %s" % (not_200, answers, dict(out["statuses"])))

    # both daemons on the primary (the Sentinels may have switched again
    # since), their spools empty (60 s at most)
    t0 = time.monotonic()
    drained = False
    while time.monotonic() - t0 < 60 and not drained:
        now = cl.primary()
        hs = [cl.healthz(i) for i in range(2)]
        drained = all(h["redis"] == "connected" and h["spool"]["waiting"] == 0 and
                      h["spool"]["in_flight"] == 0 and now and
                      h["redis_primary"] == "%s:%d" % now for h in hs)
        if not drained:
            time.sleep(0.2)
    for i, h in enumerate(hs):
        print("# onloand-%d: redis_primary %s, sentinel %s, spool %s" % (
            i, h["redis_primary"], h["sentinel"], h["spool"]), flush=True)
    if not drained:
        raise RuntimeError("the daemons' spools did not drain on the new primary within 60 s")

    t0 = time.monotonic()
    statuses, statuses_lock = collections.Counter(), threading.Lock()

    def present(c, tp):
        status, _ = c.request("GET", "/v1/qr?" + urllib.parse.urlencode(
            {"touchpoint": tp[0], "token": tp[1]}))
        with statuses_lock:
            statuses[status] += 1
        return status == 200
    lost = parallel(out["touchpoints"], present)
    print("# touchpoints checked: %d, missing %d (%s)" % (len(out["touchpoints"]), len(lost),
                                                          dict(statuses)), flush=True)
    res.check("touchpoints", t0, out["touchpoints"] and not lost,
              "%d of %d touchpoints not found afterwards, e.g. %s" % (
                  len(lost), len(out["touchpoints"]), lost[:5]))

    t0 = time.monotonic()

    def counted(c, tp):
        body = json.dumps({"type": "shown", "token": tp[1]}).encode()
        status, data = c.request("POST", "/v1/touchpoints/%s/events" % tp[0], body,
                                 {"Content-Type": "application/json"})
        return status == 200 and json.loads(data).get("duplicate") is True
    uncounted = parallel(out["outcomes"], counted)
    print("# outcomes posted: %s; checked %d, not counted %d" % (
        dict(out["outcome_statuses"]), len(out["outcomes"]), len(uncounted)), flush=True)
    res.check("outcomes", t0, out["outcomes"] and not uncounted,
              "%d of %d outcomes not counted afterwards, e.g. %s" % (
                  len(uncounted), len(out["outcomes"]), uncounted[:5]))

    t0 = time.monotonic()
    after = {r: model_answer(client, r) for r in before}
    changed = {r: (before[r], after[r]) for r in before if before[r] != after[r]}
    res.check("model", t0, not changed, "answers changed: %s" % changed)
    client.close()


if __name__ == "__main__":
    res = main()
    print("%d passed, %d failed" % (res.passed, res.failed), flush=True)
    sys.exit(1 if res.failed or res.passed == 0 else 0)
