#!/usr/bin/env python3
"""What an author search of more records costs: cold answers for books
without loans by the demo catalogue's most prolific authors (41-98 titles
each), whose alternatives come from the author search, with the
catalogue's search_max_records at each given value in turn (runs
alternate), the catalogue cache off (cache_ms 0), on a real Zebra and
Redis. Prints the median and 90th percentile per value.

Usage: tests/bench/search_records.py [BUILD] [VALUES]
  BUILD   the build directory (default build), with catalogue/ (make catalogue)
  VALUES  comma-separated search_max_records (default 200,40,200,40)"""

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import marc  # noqa: E402

AUTHORS = ("Stephen King", "Agatha Christie", "James Patterson", "Terry Pratchett",
           "Dean Koontz", "J.D. Robb", "Nora Roberts")
REPEATS = 3


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what):
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit("%s exited %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("%s not listening on %d" % (what, port))


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    values = [int(v) for v in (sys.argv[2] if len(sys.argv) > 2 else "200,40,200,40").split(",")]
    catdir = os.path.join(build, "catalogue")
    demo = marc.load_marcxml(os.path.join(catdir, "demo.xml"))
    records = []
    for a in AUTHORS:
        records += sorted((r for r, v in demo.items() if v["author"] == a and r.startswith("b")),
                          key=lambda r: int(r[1:]))[:3]
    tmp = tempfile.mkdtemp(prefix="onloan-bench-search-")
    zport, rport = free_port(), free_port()
    procs = [subprocess.Popen(["sh", os.path.join(TOP, "deploy", "catalogue", "serve.sh"), catdir,
                               str(zport)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", tmp],
                              stdout=subprocess.DEVNULL)]
    wait_port(zport, procs[0], "zebrasrv")
    wait_port(rport, procs[1], "redis-server")
    cfg = json.load(open(os.path.join(TOP, "config", "onloan.json")))
    cfg["redis"].update({"address": "127.0.0.1:%d" % rport})
    cfg["redis"].pop("username", None)
    cfg["redis"].pop("password", None)
    cfg["log_level"] = "warn"
    cfg["plugin_dir"] = os.path.join(build, "plugins")
    cat = cfg["catalogues"][0]
    cat.update({"target": "127.0.0.1:%d/demo" % zport, "cache_ms": 0})
    times = {}
    try:
        for n in values:
            cat["search_max_records"] = n
            port = free_port()
            cfg["listen"] = "127.0.0.1:%d" % port
            path = os.path.join(tmp, "onloan-%d.json" % n)
            json.dump(cfg, open(path, "w"))
            d = subprocess.Popen([os.path.join(build, "onloand"), "-c", path],
                                 stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(tmp, "onloand-%d.log" % n), "w"))
            wait_port(port, d, "onloand")
            for _ in range(REPEATS):
                for rid in records:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    t = time.monotonic()
                    c.request("GET", "/v1/alternatives?record=%s&limit=10" % rid)
                    r = c.getresponse()
                    r.read()
                    times.setdefault(n, []).append((time.monotonic() - t) * 1000)
                    c.close()
                    if r.status != 200:
                        sys.exit("%s: HTTP %d" % (rid, r.status))
            d.send_signal(signal.SIGTERM)
            d.wait()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    for n, ts in times.items():
        ts.sort()
        print("search_max_records %d: median %.1f ms, p90 %.1f ms (%d cold answers)"
              % (n, statistics.median(ts), ts[int(len(ts) * 0.9)], len(ts)))


if __name__ == "__main__":
    main()
