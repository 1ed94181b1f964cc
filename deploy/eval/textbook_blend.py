#!/usr/bin/env python3
"""A textbook blend of co-occurrence, same author and same subject on
onloan eval's protocol, for comparison with the served rows
(docs/evaluation.md, issue 20 §2). stdlib only; nothing of onloan's code
but textbook_llr.py's split and LLR beside it.

Usage: textbook_blend.py [--window-days N] [--keep-own] [--order R,R,...]
                         LOANS.csv TITLES.csv [MIN_PATRONS]

TITLES.csv: onloan eval's (record, author, subjects ';'-separated). Per
test patron, four lists, each leaving out the query:
  also_borrowed  the query's LLR neighbours (textbook_llr.py's, pairs of
                 at least MIN_PATRONS patrons, default 3), best first
  same_author    the titles of the query's author, most borrowers first
  same_subject   the titles of its first three subjects in turn, each with
                 at most 200 titles (broader ones skipped), most borrowers
                 first
  popular        titles of at least MIN_PATRONS borrowers, most first
The top 10 takes them in --order (default
same_author,also_borrowed,same_subject,popular), each title once. The
patron's training titles are left out unless --keep-own (as onloan's
served row, asked without patron=). --window-days N bounds the pairs as
textbook_llr.py's option does. Prints hit@10 and the hits by list."""

import csv
import sys
from collections import defaultdict

from textbook_llr import neighbours, split

TOP_N = 10
SUBJECT_MAX_HITS = 200
MAX_SUBJECTS = 3
REASONS = ("also_borrowed", "same_author", "same_subject", "popular")


def read_titles(path):
    author, subjects = {}, {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            author[row["record"]] = (row.get("author") or "").strip()
            subjects[row["record"]] = [s.strip() for s in (row.get("subjects") or "").split(";")
                                       if s.strip()][:MAX_SUBJECTS]
    return author, subjects


def main():
    args, window, keep_own = sys.argv[1:], None, False
    order = ["same_author", "also_borrowed", "same_subject", "popular"]
    while args[:1] and args[0].startswith("--"):
        if args[0] == "--keep-own":
            keep_own, args = True, args[1:]
        elif args[0] == "--window-days" and len(args) > 1 and args[1].isdigit():
            window, args = int(args[1]), args[2:]
        elif args[0] == "--order" and len(args) > 1:
            order, args = args[1].split(","), args[2:]
            if any(r not in REASONS for r in order):
                sys.exit("--order: reasons of %s" % ",".join(REASONS))
        else:
            sys.exit(__doc__.split("\n\n")[1])
    if len(args) not in (2, 3):
        sys.exit(__doc__.split("\n\n")[1])
    min_patrons = int(args[2]) if len(args) == 3 else 3
    training, tests, days = split(args[0])
    author, subjects = read_titles(args[1])
    borrowers = defaultdict(set)
    for patron, titles in training.items():
        for t in titles:
            borrowers[t].add(patron)
    n = sum(1 for t in training.values() if t)
    by_author, by_subject = defaultdict(list), defaultdict(list)
    for record, a in author.items():
        if a:
            by_author[a].append(record)
        for s in subjects[record]:
            by_subject[s].append(record)

    def most_borrowed(records):
        return sorted(records, key=lambda t: (-len(borrowers.get(t, ())), t))

    popular = most_borrowed(t for t, b in borrowers.items() if len(b) >= min_patrons)
    hits, by_reason = 0, defaultdict(int)
    for patron, query, hidden in tests:
        lists = {
            "also_borrowed": neighbours(query, borrowers, training, days, n, min_patrons, window),
            "same_author": most_borrowed(by_author.get(author.get(query), [])
                                         if author.get(query) else []),
            "same_subject": [t for s in subjects.get(query, [])
                             if len(by_subject[s]) <= SUBJECT_MAX_HITS
                             for t in most_borrowed(by_subject[s])],
            "popular": popular,
        }
        own = set() if keep_own else training[patron]
        top, why = [], {}
        for reason in order:
            for t in lists[reason]:
                if len(top) == TOP_N:
                    break
                if t != query and t not in own and t not in why:
                    top.append(t)
                    why[t] = reason
        if hidden in why:
            hits += 1
            by_reason[why[hidden]] += 1
    print("textbook blend (%s%s%s), min_patrons %d: hit@10 %.3f, %d test patrons; hits by list: %s"
          % (",".join(order), "" if window is None else ", window %d days" % window,
             ", own titles kept" if keep_own else "", min_patrons, hits / len(tests), len(tests),
             ", ".join("%s %d" % (r, by_reason[r]) for r in order)))


if __name__ == "__main__":
    main()
