#!/usr/bin/env python3
"""TITLES.csv for `onloan eval --titles` from the shared data sets.

Usage: make_titles.py shakespeare BOOKS.csv OUT.csv
       make_titles.py movielens MOVIES.csv PREFIX OUT.csv

shakespeare  shakespeare-and-co/books.csv (book_id,title,author,year,genre,
             format): record = book_id, subjects = genre (already
             ;-separated), format Book/Periodical/Article as book, periodical,
             article (empty: book); rows without a title are left out.
movielens    movielens-latest-small/movies.csv (movieId,title,genres): record
             = PREFIX + movieId (the config's ingest.movielens_record_prefix),
             title without its "(year)", year from it, subjects = the genres
             (| becomes ;, "(no genres listed)" none), format film.

Writes OUT.csv (header record,title,author,subjects,year,language,audience,
format) and says how many rows it wrote and left out. stdlib only."""

import csv
import re
import sys

HEADER = ["record", "title", "author", "subjects", "year", "language", "audience", "format"]
FORMATS = {"": "book", "Book": "book", "Periodical": "periodical", "Article": "article"}


def shakespeare(path):
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["format"] not in FORMATS:
                sys.exit("make_titles: %s: book %s: unknown format %r"
                         % (path, row["book_id"], row["format"]))
            yield {"record": row["book_id"], "title": row["title"].strip(),
                   "author": row["author"], "subjects": row["genre"],
                   "year": row["year"], "format": FORMATS[row["format"]]}


def movielens(path, prefix):
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            title, year = row["title"].strip(), ""
            m = re.search(r"\s*\((\d{4})(?:[-\u2013]\d{0,4})?\)\s*$", title)
            if m:
                title, year = title[:m.start()].strip(), m.group(1)
            genres = [] if row["genres"] == "(no genres listed)" else row["genres"].split("|")
            yield {"record": prefix + row["movieId"], "title": title, "subjects": ";".join(genres),
                   "year": year, "format": "film"}


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "shakespeare":
        rows, out = shakespeare(sys.argv[2]), sys.argv[3]
    elif len(sys.argv) == 5 and sys.argv[1] == "movielens":
        rows, out = movielens(sys.argv[2], sys.argv[3]), sys.argv[4]
    else:
        sys.exit(__doc__.split("\n\n")[1])
    written = left = 0
    with open(out + ".tmp", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, HEADER, lineterminator="\n")
        w.writeheader()
        for row in rows:
            if not row["title"]:
                left += 1
                continue
            w.writerow(row)
            written += 1
    import os
    os.replace(out + ".tmp", out)
    print("make_titles: %s: %d titles (%d without a title left out)" % (out, written, left))


if __name__ == "__main__":
    main()
