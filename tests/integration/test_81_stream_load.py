"""onloan load streams its files (issue 21, section 3): each file read a
block at a time, every event checked before any is written, the events
sorted on disk within --memory. The model it writes is the one the loader
that held everything in memory wrote (onloan load --in-memory), byte for
byte, whatever order the file is in and however many runs the sort makes;
a bad line anywhere, even after runs were written, leaves Redis untouched;
the temporary files go with the load."""

import os
import random

from loanlab import Lab

T0 = 1672531200            # 2023-01-01T00:00:00Z
DAY = 86400
LOAD_MAX_BRANCHES = 65535  # load_stream.h: a load numbers its branches in 16 bits
# small lists, so that compaction cuts them and ties at the cut are
# decided by the order pairs were counted in
MODEL = {"neighbours_max": 3, "neighbours_reserve": 1}


def _events(n, patrons=400, records=150, seed=21, uniform=False, prefix="card", t=T0):
    """n events (patron, record, when, id, type) in the order a library
    system might log them: interleaved patrons (a few borrow most, unless
    uniform), times rising from t, with repeats, replays (the same id
    again), holds and equal times."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        t += rnd.choice((0, 0, 60, 600, 3600))
        k = rnd.randrange(patrons) if uniform else int(rnd.paretovariate(1.2) * 7 % patrons)
        p = "%s-%d" % (prefix, k)
        r = "r-%d" % min(int(rnd.expovariate(1 / 30)), records - 1)
        ev_id = "%s-L-%d" % (prefix, i) if rnd.random() < 0.3 else ""
        if ev_id and out and rnd.random() < 0.05:
            ev_id = out[-1][3] or ev_id            # a replay of the last event's id
        kind = "hold" if rnd.random() < 0.05 else ""
        out.append((p, r, t, ev_id, kind))
    return out


def _csv(events):
    return "patron,record,time,id,type\n" + "".join(
        "%s,%s,%d,%s,%s\n" % e for e in events)


def _grouped(events, in_time):
    """Each patron's events together (patrons in the order they first
    appear), in time or in the order they came."""
    by = {}
    for e in events:
        by.setdefault(e[0], []).append(e)
    out = []
    for evs in by.values():
        out += sorted(evs, key=lambda e: e[2]) if in_time else evs[::-1]
    return out


def _load(lab, path, *opts):
    _, out, err = lab.cli("load", *(list(opts) + [path]))
    snap = lab.snapshot()
    with lab.redis() as r:
        r("FLUSHALL")
    order = [ln for ln in out.splitlines() if ln.startswith("order: ")]
    return snap, (order[0] if order else out)


def test_streamed_load_writes_what_the_in_memory_load_wrote(ctx):
    events = _events(45000)
    crowd = _events(20000, patrons=20000, seed=8, uniform=True, prefix="new",
                    t=events[24999][2])
    files = {
        # name: (events, what the loader says of the order by default and
        # with --memory 1M: its runs hold 20,164 records, its map of
        # patrons 4,096)
        "interleaved": (events, "one sort", "one sort"),
        "grouped-in-time": (_grouped(events, True), "no sort", "no sort"),
        "grouped": (_grouped(events, False), "one sort", "one sort"),
        # 20,000 patrons: too many for 1M, before any run is written...
        "many-patrons": (_events(45000, patrons=20000, seed=4, uniform=True), "one sort",
                         "two sorts"),
        # ... and after one
        "many-patrons-late": (events[:25000] + crowd, "one sort", "two sorts"),
    }
    with Lab(ctx, "stream", model=MODEL, daemon=False) as lab:
        tmp = os.path.join(lab.stack.tmp, "stream-tmp")
        os.makedirs(tmp)
        bad = []
        for name, (evs, order, order_1m) in files.items():
            path = lab.write(name + ".csv", _csv(evs))
            want, _ = _load(lab, path, "--in-memory")
            assert len(want) > 400, (name, len(want))     # histories, lists, pop, meta
            for opts, says in (((), order), (("--memory", "1M", "--tmpdir", tmp), order_1m)):
                got, said = _load(lab, path, *opts)
                if says not in said:
                    bad.append("%s %s: want %r in %r" % (name, opts, says, said))
                if opts and "0 + 0 runs" in said:
                    bad.append("%s %s: --memory 1M wrote no run: %r" % (name, opts, said))
                if got != want:
                    diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
                    bad.append("%s %s: %d keys differ from --in-memory's, e.g. %s" % (
                        name, opts, len(diff), diff[:3]))
                if os.listdir(tmp):
                    bad.append("%s %s: left %s behind" % (name, opts, os.listdir(tmp)))
        assert not bad, "\n  ".join(bad)


def test_bad_line_after_runs_written_loads_nothing(ctx):
    """All or nothing: 40,000 good events (runs already on disk with
    --memory 1M), then one bad line and one too long: nothing is written,
    each is named by line and field, and the runs are gone."""
    events = _events(40000, seed=5)
    text = _csv(events)
    long_line = "card-1,%s,%d,,\n" % ("x" * (1 << 20), T0)
    text += "card-1,bad record,%d,,\n" % T0 + long_line + "card-2,r-1,%d,,\n" % T0
    with Lab(ctx, "streambad", daemon=False) as lab:
        tmp = os.path.join(lab.stack.tmp, "streambad-tmp")
        os.makedirs(tmp)
        path = lab.write("bad.csv", text)
        rc, out, err = lab.cli("load", "--memory", "1M", "--tmpdir", tmp, path, check=False)
        assert rc == 1, (rc, out, err)
        lines = err.splitlines()
        assert lines == ["%s:%d: record: must be a record id of A-Z a-z 0-9 . _ : -" % (path, 40002),
                         "%s:%d: line: longer than 1048576 bytes" % (path, 40003),
                         "nothing loaded"], err
        with lab.redis() as r:
            assert r.keys() == [], "a load with a bad line wrote to Redis"
        assert os.listdir(tmp) == [], os.listdir(tmp)

        # the same file without its bad lines loads, through the same runs
        good = lab.write("good.csv", _csv(events))
        _, out, _ = lab.cli("load", "--memory", "1M", "--tmpdir", tmp, good)
        assert "loaded 40000 events" in out, out
        assert os.listdir(tmp) == [], os.listdir(tmp)


def test_memory_and_tmpdir_options(ctx):
    with Lab(ctx, "streamopts", daemon=False) as lab:
        path = lab.write("few.csv", _csv(_events(30000, seed=9)))
        for value in ("1K", "lots", "-5M", "1048575"):
            rc, out, err = lab.cli("load", "--memory", value, path, check=False)
            assert rc == 2 and err.startswith("--memory: must be a size of at least 1M"), (value, rc, err)
        rc, out, err = lab.cli("load", "--memory", "1M", "--tmpdir", "/nonexistent-onloan", path,
                               check=False)
        assert rc == 1, (rc, out, err)
        assert "/nonexistent-onloan: cannot make a temporary file" in err, err
        assert err.splitlines()[-1] == "nothing loaded", err
        with lab.redis() as r:
            assert r.keys() == []
        # TMPDIR is the default for --tmpdir
        rc, out, err = lab.cli("load", "--memory", "1M", path, check=False,
                               env={"TMPDIR": "/nonexistent-onloan-env"})
        assert rc == 1 and "/nonexistent-onloan-env: cannot make" in err, err
        # the whole file in memory: nothing on disk
        _, out, _ = lab.cli("load", path)
        assert "0 + 0 runs on disk, 0 MB written" in out, out
        assert "peak memory (RSS)" in out, out


def test_branches_of_a_load_at_most(ctx):
    """A load numbers its branches in 16 bits: LOAD_MAX_BRANCHES (65,535)
    load, the loan at the last numbered counted at its own branch; one
    more and nothing is loaded, the line of the branch too many named.
    One patron borrows one title at every branch, newest first: only the
    last line (the oldest loan) is new, so the load writes a few keys."""
    n = LOAD_MAX_BRANCHES
    head = "patron,record,time,branch\n"
    rows = "".join("card-b,r-1,%d,X%05d\n" % (T0 + n - i, i) for i in range(n))
    with Lab(ctx, "branchmax", daemon=False) as lab:
        over = lab.write("over.csv", head + rows + "card-b,r-1,%d,X%05d\n" % (T0 + n + 1, n))
        rc, out, err = lab.cli("load", over, check=False)
        assert rc == 1, (rc, out, err)
        assert err.splitlines() == [
            "%s:%d: branch: more than 65535 branches in one load: load the files in parts"
            % (over, n + 2), "nothing loaded"], err
        with lab.redis() as r:
            assert r.keys() == [], "a refused load wrote to Redis"

        _, out, _ = lab.cli("load", lab.write("at.csv", head + rows))
        assert "loaded %d events" % n in out and "1 new loans, %d repeats" % (n - 1) in out, out
        last = "X%05d" % (n - 1)
        with lab.redis() as r:
            assert r("ZRANGE", lab.prefix + "pob", 0, -1) == [last.encode()]
            assert r("ZRANGE", lab.prefix + "pob:" + last, 0, -1, "WITHSCORES") == [b"r-1", b"1"]
            h = r("GET", lab.prefix + "h:" + lab.pseudonym("card-b")).decode()
        assert h == "%d r-1 %s\n" % (T0 + 1, last), h
