#!/usr/bin/env python3
"""A textbook item-to-item LLR on onloan eval's protocol, for comparison
(docs/evaluation.md, issue 20 §6). stdlib only; nothing of onloan's code.

Usage: textbook_llr.py [--window-days N] [--ceiling] LOANS.csv [MIN_PATRONS...]

LOANS.csv: header with patron, record and date (or time). The protocol is
eval_protocol.h's: rows without a full date (YYYY-MM-DD...) left out; per
patron, loans in date order (ties in file order); test patrons have >= 5
distinct titles; hidden: the last new title (all its loans by that
patron leave training); query: the loan just before it. The model: per
patron the set of their training titles (no window, no cap); Dunning's
G^2 over patrons (k11 both, k12/k21 one of them, k22 neither), positive
associations only, pairs of at least MIN_PATRONS patrons; the top 10 for
the query leaves out the patron's training titles and is filled up from
popularity (distinct borrowers, at least MIN_PATRONS). Prints hit@10 and
MRR@10 per MIN_PATRONS (default: 2 and 3).

--window-days N: a patron counts for a pair only if some loan of one title
is at most N days from some loan of the other (the bound a patron history
kept N days puts on onloan's pairs); the titles' own counts stay whole.

--ceiling: also the most any item-to-item measure could reach on these
pairs: the test patrons whose hidden title is a pair of the query shared
by at least MIN_PATRONS patrons (within the window), or among the ten
most popular titles the patron has not borrowed (the fill-up)."""

import csv
import datetime
import math
import re
import sys
from collections import defaultdict

TOP_N = 10
MIN_TITLES = 5
FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def xlogx(x):
    return x * math.log(x) if x > 0 else 0.0


def entropy(*k):
    return xlogx(sum(k)) - sum(xlogx(x) for x in k)


def llr(k11, k12, k21, k22):
    row = entropy(k11 + k12, k21 + k22)
    col = entropy(k11 + k21, k12 + k22)
    mat = entropy(k11, k12, k21, k22)
    return max(0.0, 2.0 * (row + col - mat))


def split(path):
    by_patron = defaultdict(list)
    with open(path, encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            when = row.get("date") or row.get("time") or ""
            if FULL_DATE.match(when):
                by_patron[row["patron"]].append((when, i, row["record"]))
    training, tests, days = {}, [], {}
    for patron, loans in by_patron.items():
        loans.sort()
        titles = [r for _, _, r in loans]
        days[patron] = defaultdict(list)
        for when, _, r in loans:
            days[patron][r].append(datetime.date.fromisoformat(when[:10]).toordinal())
        seen, last_new = set(), -1
        for k, r in enumerate(titles):
            if r not in seen:
                seen.add(r)
                last_new = k
        if len(seen) >= MIN_TITLES:
            hidden = titles[last_new]
            tests.append((patron, titles[last_new - 1], hidden))
            training[patron] = set(titles) - {hidden}
        else:
            training[patron] = set(titles)
    return training, tests, days


def near(loan_days, a, b, window):
    """Whether some loan of a is at most window days from some loan of b."""
    return any(abs(x - y) <= window for x in loan_days[a] for y in loan_days[b])


def neighbours(query, borrowers, training, days, n, min_patrons, window):
    """The query's LLR neighbours, best first: titles borrowed with it by
    at least min_patrons patrons (within window days, if given), more
    often than by chance; n is the number of patrons."""
    co = defaultdict(int)
    for p in borrowers.get(query, ()):
        for t in training[p]:
            if window is None or near(days[p], query, t, window):
                co[t] += 1
    nq = len(borrowers.get(query, ()))
    scored = []
    for t, k11 in co.items():
        if t == query or k11 < min_patrons:
            continue
        nt = len(borrowers[t])
        if k11 * n <= nq * nt:              # not more often together than by chance
            continue
        scored.append((-llr(k11, nq - k11, nt - k11, n - nq - nt + k11), t))
    return [t for _, t in sorted(scored)]


def evaluate(training, tests, days, min_patrons, window):
    borrowers = defaultdict(set)
    for patron, titles in training.items():
        for t in titles:
            borrowers[t].add(patron)
    n = sum(1 for t in training.values() if t)
    popular = sorted((t for t, b in borrowers.items() if len(b) >= min_patrons),
                     key=lambda t: (-len(borrowers[t]), t))
    hits = rr = 0.0
    for patron, query, hidden in tests:
        own = training[patron]
        top = [t for t in neighbours(query, borrowers, training, days, n, min_patrons, window)
               if t not in own][:TOP_N]
        for t in popular:
            if len(top) == TOP_N:
                break
            if t not in own and t != query and t not in top:
                top.append(t)
        if hidden in top:
            hits += 1
            rr += 1.0 / (top.index(hidden) + 1)
    return hits / len(tests), rr / len(tests)


def ceiling(training, tests, days, min_patrons, window):
    """(pairs, either): how many test patrons' hidden title is a pair of
    the query that min_patrons patrons share, and how many that or among
    the popular fill-up."""
    borrowers = defaultdict(set)
    for patron, titles in training.items():
        for t in titles:
            borrowers[t].add(patron)
    popular = sorted((t for t, b in borrowers.items() if len(b) >= min_patrons),
                     key=lambda t: (-len(borrowers[t]), t))
    pairs = either = 0
    for patron, query, hidden in tests:
        both = sum(1 for p in borrowers.get(query, ())
                   if hidden in training[p] and (window is None or near(days[p], query, hidden, window)))
        own = training[patron]
        fill = [t for t in popular if t not in own and t != query][:TOP_N]
        pairs += both >= min_patrons
        either += both >= min_patrons or hidden in fill
    return pairs, either


def main():
    args, window, show_ceiling = sys.argv[1:], None, False
    while args[:1] in (["--window-days"], ["--ceiling"]):
        if args[0] == "--ceiling":
            show_ceiling, args = True, args[1:]
            continue
        if len(args) < 2 or not args[1].isdigit():
            sys.exit("--window-days: a number of days")
        window, args = int(args[1]), args[2:]
    if not args:
        sys.exit(__doc__.split("\n\n")[1])
    training, tests, days = split(args[0])
    for m in [int(a) for a in args[1:]] or [2, 3]:
        hit, mrr = evaluate(training, tests, days, m, window)
        print("textbook llr%s, min_patrons %d: hit@10 %.3f, MRR@10 %.3f, %d test patrons"
              % ("" if window is None else ", window %d days" % window,
                 m, hit, mrr, len(tests)))
        if show_ceiling:
            pairs, either = ceiling(training, tests, days, m, window)
            print("  ceiling: the hidden title a pair of the query shared by >= %d patrons "
                  "for %d (%.3f); that or in the popular fill-up for %d (%.3f)"
                  % (m, pairs, pairs / len(tests), either, either / len(tests)))


if __name__ == "__main__":
    main()
