#!/usr/bin/env python3
"""Seed corpora for the harnesses in tests/fuzz/, made from the shared data
(and, for the config, the repository's own configs) at build time: nothing
of the shared data is committed.

usage: seeds.py TARGET SHARED_DATA_DIR OUT_DIR   (OUT_DIR is emptied first)

TARGET is a harness's name (fuzz_TARGET.c); each seed begins with the
selector byte that harness reads, where it reads one:

  marc          every record of the Koha sample (MARC 21, UTF-8, 952 items)
                and of the Evergreen jazz set (MARC-8, 949 items), each as
                ISO 2709 and as MARCXML (yaz-marcdump; MARC-8 converted to
                UTF-8); selector: bit 0 XML, bit 1 sirsi949, bit 2 MARC-8,
                bit 3 id in 999 $c (the Koha records' biblionumber)
  params        GET /v1/alternatives query strings of MovieLens and
                Shakespeare and Company record ids (selector 0), touchpoint
                ids (selector 1)
  loan_events   loans of Shakespeare and Company and MovieLens as a JSON
                array (0), CSV rows (1), JSON lines (2), MovieLens rows (3),
                a text with its own header (4)
  outcome_body  POST /v1/touchpoints/<id>/events bodies
  cooc_list     co:<record> lists counted from MovieLens' ratings
  history       h:<patron> histories of MovieLens' users
  config        config/onloan.json, deploy/systemd/onloan.json, variants
"""

import csv
import json
import os
import random
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MARCXML_NS = "http://www.loc.gov/MARC21/slim"
BRANCHES = ["CEN", "ZUI", "NRD", "OOS", "WEST-2", "x"]


class Out:
    def __init__(self, out):
        self.out = out
        self.n = 0

    def add(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(self.out, "%s-%04d" % (name, self.n)), "wb") as f:
            f.write(data)
        self.n += 1


def ratings(data_dir, limit=None):
    """MovieLens ratings as (user, movie, timestamp), file order."""
    out = []
    with open(os.path.join(data_dir, "movielens-latest-small", "ratings.csv"), newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if limit and i >= limit:
                break
            out.append((row["userId"], row["movieId"], row["timestamp"]))
    return out


def shakespeare(data_dir, limit=None):
    with open(os.path.join(data_dir, "shakespeare-and-co", "loans.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[:limit] if limit else rows


# ------------------------------------------------------------------ marc

SOURCES = [
    # name, file under SHARED_DATA_DIR, selector (ISO 2709), yaz-marcdump charset
    ("koha", "koha-sample/koha_sample_436.mrc", 0b1000, "utf-8"),
    ("jazz", "evergreen-jazz/jazz_1k.mrc", 0b0110, "marc-8"),
]


def iso_records(data):
    i = 0
    while i + 5 <= len(data):
        n = int(data[i:i + 5])
        yield data[i:i + n]
        i += n


def xml_records(path, charset):
    out = subprocess.run(["yaz-marcdump", "-i", "marc", "-o", "marcxml",
                          "-f", charset, "-t", "utf-8", path],
                         check=True, capture_output=True).stdout
    ET.register_namespace("", MARCXML_NS)
    root = ET.fromstring(out)
    for rec in root.findall("{%s}record" % MARCXML_NS):
        yield ET.tostring(rec, encoding="utf-8")


def seeds_marc(data_dir, out):
    for name, rel, sel, charset in SOURCES:
        path = os.path.join(data_dir, rel)
        with open(path, "rb") as f:
            isos = list(iso_records(f.read()))
        xmls = list(xml_records(path, charset))
        if len(xmls) != len(isos):
            sys.exit("seeds.py: %s: %d records but %d in MARCXML" % (path, len(isos), len(xmls)))
        for i, (iso, xml) in enumerate(zip(isos, xmls)):
            # bits 4 and 5 (the answer's branch and language) vary too
            extra = (i % 4) << 4
            out.add(name + "-iso", bytes([sel | extra]) + iso)
            out.add(name + "-xml", bytes([sel | 1 | extra]) + xml)


# ------------------------------------------------------------------ params

def seeds_params(data_dir, out):
    rnd = random.Random(19)
    records = ["f" + m for _, m, _ in ratings(data_dir, 3000)][::15]
    records += [r["record"] for r in shakespeare(data_dir, 400)][::4]
    for i, rec in enumerate(records):
        q = ["record=" + quote(rec, safe="")]
        if i % 2:
            q.append("branch=" + BRANCHES[i % len(BRANCHES)])
        if i % 3:
            q.append("limit=%d" % (1 + i % 25))
        q.append("lang=" + ("nl", "en", "fr")[i % 3])
        q.append("channel=" + ("opac", "kiosk", "app", "widget", "tv")[i % 5])
        if i % 4 == 1:
            q.append("patron=2100%06d" % rnd.randrange(10 ** 6))
        if i % 5 == 2:
            q.append("session=" + quote("s%x;visit=%d" % (rnd.getrandbits(48), i), safe=""))
        if i % 7 == 3:
            q.append("catalogue=" + ("demo", "koha", "jazz")[i % 3])
        if i % 11 == 4:
            q.append("_=%d" % rnd.getrandbits(30))       # a cache buster
        rnd.shuffle(q)
        out.add("query", b"\x00" + "&".join(q).encode())
    for ts in ("1795437192039-0", "0-1", "18446744073709551615-18446744073709551615", "1-", "-1"):
        out.add("touchpoint", b"\x01" + ts.encode())


# ------------------------------------------------------------------ loan events

def seeds_loan_events(data_dir, out):
    sh = shakespeare(data_dir, 2000)
    ml = ratings(data_dir, 4000)
    for start in range(0, 2000, 100):
        rows = sh[start:start + 25]
        events = []
        for j, r in enumerate(rows):
            e = {"patron": r["patron"], "record": r["record"],
                 "time": r["date"] or "1925-03-%02dT10:%02d:00+01:00" % (1 + j % 28, j)}
            if r["id"]:
                e["id"] = r["id"]
            if j % 3 == 0:
                e["branch"] = BRANCHES[j % len(BRANCHES)]
            events.append(e)
        out.add("json", b"\x00" + json.dumps(events if start % 200 else events[0]).encode())
        out.add("jsonl", b"\x02" + "\n".join(json.dumps(e) for e in events).encode())
        out.add("csv", b"\x01" + "".join(
            "%s,%s,%s,%s,%s\n" % (e["patron"], e["record"], e["time"], e.get("branch", ""),
                                  e.get("id", "")) for e in events).encode())
        out.add("text", b"\x04patron,record,date,id\n" + "".join(
            "%s,%s,%s,%s\n" % (r["patron"], r["record"], r["date"], r["id"]) for r in rows).encode())
    for start in range(0, 4000, 200):
        rows = ml[start:start + 30]
        out.add("movielens", b"\x03" + "".join("%s,%s,4.0,%s\n" % r for r in rows).encode())
        out.add("ml-json", b"\x00" + json.dumps([{"patron": "u" + u, "record": "f" + m, "time": int(t)}
                                                 for u, m, t in rows]).encode())


# ------------------------------------------------------------------ outcome bodies

def seeds_outcome_body(data_dir, out):
    rnd = random.Random(7)
    records = ["f" + m for _, m, _ in ratings(data_dir, 2000)][::40]
    for i, rec in enumerate(records):
        typ = ("shown", "click", "reserve", "borrow", "dismiss")[i % 5]
        body = {"type": typ, "token": "%d.%s" % (1796041992 + i, "".join(
            rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            for _ in range(43)))}
        if typ not in ("shown", "dismiss") or i % 2:
            body["record"] = rec
        keys = list(body.items())
        rnd.shuffle(keys)
        out.add("body", json.dumps(dict(keys)))


# ------------------------------------------------------------------ co-occurrence lists

def seeds_cooc_list(data_dir, out):
    by_user = defaultdict(list)
    for u, m, t in ratings(data_dir, 20000):
        by_user[u].append("f" + m)
    counts = defaultdict(lambda: defaultdict(int))
    for films in by_user.values():
        films = films[:60]
        for a in films:
            for b in films:
                if a != b:
                    counts[a][b] += 1
    for i, (rec, others) in enumerate(sorted(counts.items())[:120]):
        items = sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))[:40]
        text = "".join("%s %d\n" % kv for kv in items)
        if i % 3 == 0:
            text = "#%d\n" % (1 + i) + text                 # compacted
        if i % 4 == 1:
            text += "".join("%s 1\n" % k for k, _ in items[:5])   # appended after
        out.add("co", text)


# ------------------------------------------------------------------ histories

def seeds_history(data_dir, out):
    by_user = defaultdict(list)
    for u, m, t in ratings(data_dir, 30000):
        by_user[u].append((int(t), "f" + m))
    for i, (u, loans) in enumerate(sorted(by_user.items(), key=lambda kv: int(kv[0]))[:150]):
        seen, lines = set(), []
        for t, rec in sorted(loans, reverse=True):
            if rec not in seen:
                seen.add(rec)
                lines.append("%d %s\n" % (t, rec))
        # a selector byte (the loan history_add is given), then the history
        out.add("h", bytes([i % 256]) + "".join(lines[:40 + i % 80]).encode())


# ------------------------------------------------------------------ config

def seeds_config(data_dir, out):
    del data_dir            # the configs are the repository's own
    with open(os.path.join(REPO, "config", "onloan.json")) as f:
        demo = json.load(f)
    with open(os.path.join(REPO, "deploy", "systemd", "onloan.json")) as f:
        prod = json.load(f)
    out.add("demo", json.dumps(demo, indent=2))
    out.add("production", json.dumps(prod, indent=2))
    v = json.loads(json.dumps(demo))
    v["plugin_dir"] = "/usr/lib/onloan/plugins"
    v["catalogues"].append(dict(v["catalogues"][0], name="jazz", holdings="sirsi949",
                                protocol="sru", id_field="999$c",
                                link={"plugin": "template", "reserve": "https://x/{record}",
                                      "record": "https://x/r/{record}"}))
    out.add("two-catalogues", json.dumps(v))
    v = json.loads(json.dumps(demo))
    del v["demo"]
    v["privacy"]["patron_key"] = "00" * 32
    v["api_keys"][0]["key"] = "short"
    out.add("errors", json.dumps(v))
    out.add("minimal", json.dumps({"privacy": {"patron_key": "ab" * 32},
                                   "touchpoints": {"token_key": "cd" * 32},
                                   "catalogues": [{"name": "c", "target": "127.0.0.1:1/d",
                                                   "link": {"plugin": "koha", "base_url": "https://x"}}]}))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    target, data_dir, out_dir = sys.argv[1:]
    make = globals().get("seeds_" + target)
    if not make:
        sys.exit("seeds.py: no seeds for %r" % target)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    out = Out(out_dir)
    make(data_dir, out)
    print("seeds.py: %d seeds in %s" % (out.n, out_dir))


if __name__ == "__main__":
    main()
