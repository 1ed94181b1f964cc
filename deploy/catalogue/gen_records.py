#!/usr/bin/env python3
"""Generate the onloan catalogue (MARCXML / ISO 2709) for Zebra, plus loans.csv.

Usage: gen_records.py DATA_DIR OUT_DIR [--today YYYY-MM-DD]

Writes into OUT_DIR (one file per Zebra database):

demo.xml  database "demo", MARCXML, UTF-8 (leader/09 = 'a')
  Books, from goodbooks-10k/books.csv (10,000 rows), 001 = b<book_id>:
    020 $a  ISBN-13 and ISBN-10 derived from the `isbn` column (books.csv lost
            leading zeros, so it is zero-padded to 10 and its check digit
            verified; the ISBN-13 is 978 + its first 9 digits + check digit).
            Without a valid `isbn`, `isbn13` is used only when it can be
            recovered exactly: books.csv stores it as a float with 12
            significant digits, and the check digit tells the rounding apart
            only in some cases.  An `isbn` with a wrong check digit goes to $z.
    100 $a  first name of `authors` (comma-separated, as given); the others in 700.
    245 $a  `title`.
    264 $c  `original_publication_year` (positive years only); also 008/07-10.
    041 $a  `language_code` (en-US/en-GB/en-CA/en -> eng); also 008/35-37.
    No 650: goodbooks-10k has no book-to-tag file, so no subjects are made up.
  Films, from movielens-latest-small/movies.csv (9,742 rows), 001 = f<movieId>:
    245 $a  title without the "(year)" suffix; a trailing ", The"-style article
            is put back in front (245 ind2 = non-filing characters); a
            parenthesised alternative title goes to 246.
    260 $c  year from the title; also 008/07-10.
    655 $a  each genre of `genres` (split on |).
    007/008, 300, 336/337/338: a DVD video; 008/22 (audience) j for the
            genres Children and Animation, else g (general).
  Copies (the only generated data, as a library's holdings would be): 952
  fields, Koha style, 1-4 per record, each in a different branch of
  CEN (Centrale Bibliotheek), NRD (Noord), ZUI (Zuid), OST (Oost):
    $a homebranch, $b holdingbranch (same), $o call number ("R COLL":
    R + 4 letters of the first author's surname; "DVD TOYS": 4 letters of the
    title), $p barcode (unique, sequential), $y item type BK / DVD,
    $c location VOLW (adults) or JEUGD (films with genre Children/Animation)
    or NASL (reference), $q due date YYYY-MM-DD when on loan (today + 1..28
    days), $7 1 = not for loan (about 2% of copies, reference, never on loan).
  Availability per record, drawn from a random generator seeded with the
  record id: 30% all copies on loan, 20% some, 50% none.  The 20 films that
  most members borrowed in ratings.csv are always all on loan.

koha.xml  database "koha", MARCXML, UTF-8: the 436 records of
  koha-sample/koha_sample_436.mrc (via yaz-marcdump), local id = 999 $c
  (biblionumber).  952 fields from koha-sample/items.sql joined on
  biblionumber: $a homebranch, $b holdingbranch, $c location, $o
  itemcallnumber, $p barcode, $y itype, $q onloan (when not NULL),
  $7 notforloan, $1 itemlost, $0 withdrawn (when non-zero), $9 itemnumber.

jazz.mrc  database "jazz": the records of evergreen-jazz/jazz_1k.mrc byte for
  byte (MARC-8, leader/09 = ' ', holdings in 949), checked; local id = 001.
  The one record without 001 is left out (999 remain).

loans.csv  patron,record,date,branch from movielens-latest-small/ratings.csv, in
  file order: patron = 2100 + userId zero-padded to 6 digits, record =
  f<movieId>, date = the timestamp as ISO 8601 UTC.  Rows whose film is not in
  movies.csv are left out (the shared copy ends with a stray row, user 999 /
  film 999999, that is not in MovieLens: its README counts 100,836 ratings).
  branch (generated: MovieLens has none) is where the loan was made, one of
  the copies' branches: each patron has a home branch (CEN for 40% of them,
  each other branch 20%) where 85% of their loans are made, the others at
  another branch; drawn from a generator seeded with the userId, row by row
  in file order.  With it the model counts each branch's most borrowed
  titles ("Veel geleend in Noord").

counts     records per database ("demo 19742"), for build.sh to check.
"""

import argparse
import csv
import datetime
import os
import random
import re
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from xml.sax.saxutils import escape

BRANCHES = ["CEN", "NRD", "ZUI", "OST"]
HOME_WEIGHTS = [40, 20, 20, 20]   # patrons' home branches: the central one lends most
AWAY_SHARE = 0.15                 # loans made at another branch than the patron's home
FORCED_ON_LOAN = 20          # most-borrowed films that are always all on loan
MARC_NS = "http://www.loc.gov/MARC21/slim"
ARTICLES = ("The", "A", "An", "Les", "La", "Le", "L'", "Il", "Die", "Der",
            "Das", "El", "Los", "Las", "Det", "Het", "De", "Une", "Un")


def die(msg):
    sys.exit("gen_records: " + msg)


# ---------------------------------------------------------------- MARCXML out

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def x(s):
    return escape(_BAD_XML.sub(" ", s), {'"': "&quot;"})


class Record:
    def __init__(self, leader):
        self.leader = leader
        self.fields = []   # (tag, value) or (tag, ind1, ind2, [(code, value)])

    def control(self, tag, value):
        self.fields.append((tag, value))

    def data(self, tag, ind1, ind2, *subfields):
        subs = [(c, v) for c, v in subfields if v not in (None, "")]
        if subs:
            self.fields.append((tag, ind1, ind2, subs))

    def xml(self):
        out = ["<record>\n  <leader>%s</leader>\n" % x(self.leader)]
        for f in self.fields:
            if len(f) == 2:
                out.append('  <controlfield tag="%s">%s</controlfield>\n'
                           % (f[0], x(f[1])))
            else:
                tag, i1, i2, subs = f
                out.append('  <datafield tag="%s" ind1="%s" ind2="%s">\n'
                           % (tag, i1, i2))
                for c, v in subs:
                    out.append('    <subfield code="%s">%s</subfield>\n'
                               % (c, x(str(v))))
                out.append("  </datafield>\n")
        out.append("</record>\n")
        return "".join(out)


def write_collection(path, records):
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<collection xmlns="%s">\n' % MARC_NS)
        for r in records:
            f.write(r if isinstance(r, str) else r.xml())
        f.write("</collection>\n")


# ---------------------------------------------------------------- helpers

def fold4(text):
    """First four letters of text, ASCII-folded, upper case ('Toy Story' -> TOYS)."""
    s = unicodedata.normalize("NFKD", text)
    s = "".join(ch for ch in s if ch.isascii() and ch.isalpha())
    return s[:4].upper()


def f008(entered, year, material, lang):
    """008: date entered, single date, place unknown (xx), positions 18-34
    (material-specific), language (und when unknown), cataloguing source d."""
    s = "%ss%-4s    xx %s%-3s d" % (entered, year or "uuuu", material,
                                    lang or "und")
    assert len(s) == 40, s
    return s


def nonfiling(title):
    m = re.match(r"(The|An|A) ", title)
    return len(m.group(0)) if m else 0


def isbn13_check(d12):
    s = sum((1 if i % 2 == 0 else 3) * int(d) for i, d in enumerate(d12))
    return str((10 - s % 10) % 10)


def isbn10_ok(s):
    if not re.fullmatch(r"\d{9}[\dX]", s):
        return False
    return sum((10 - i) * (10 if c == "X" else int(c))
               for i, c in enumerate(s)) % 11 == 0


def book_isbns(isbn, isbn13):
    """Return (valid ISBNs for $a, invalid ones for $z)."""
    if isbn:
        i10 = isbn.strip().upper().zfill(10)
        if isbn10_ok(i10):
            d12 = "978" + i10[:9]
            return [d12 + isbn13_check(d12), i10], []
    if isbn13:
        # books.csv prints isbn13 as a float (e.g. 9.78043902348e+12): the
        # 13th digit is rounded away.  Keep it only if the rounding is unambiguous.
        n = int(float(isbn13))
        if len(str(n)) == 13 and n % 10 == 0:
            p = n // 10
            down = isbn13_check(str(p))            # true value rounded down
            up = isbn13_check(str(p - 1))          # true value rounded up
            cands = ([str(p) + down] if int(down) <= 4 else []) + \
                    ([str(p - 1) + up] if int(up) >= 5 else [])
            if len(cands) == 1:
                return cands, []
        elif len(str(n)) == 13 and isbn13_check(str(n)[:12]) == str(n)[12]:
            return [str(n)], []
    return [], ([isbn.zfill(10)] if isbn else [])


def language(code):
    if code in ("en-US", "en-GB", "en-CA", "en"):
        return "eng"
    return code if re.fullmatch(r"[a-z]{3}", code or "") else ""


def split_article(title):
    """'Usual Suspects, The' -> ('The Usual Suspects', 4)."""
    for a in ARTICLES:
        suffix = ", " + a
        if title.endswith(suffix):
            sep = "" if a.endswith("'") else " "
            return a + sep + title[:-len(suffix)], len(a) + len(sep)
    return title, 0


def split_film_title(raw):
    """'City of Lost Children, The (Cité des enfants perdus, La) (1995)'
    -> ('The City of Lost Children', 4, 'La Cité des enfants perdus', '1995')."""
    t = raw.strip()
    year = ""
    m = re.search(r"\s*\((\d{4})(?:[-\u2013]\d{0,4})?\)\s*$", t)
    if m:
        year, t = m.group(1), t[:m.start()].strip()
    alt = ""
    if t.endswith(")"):
        depth = 0
        for i in range(len(t) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(t[i], 0)
            if depth == 0:
                break
        if depth == 0 and i > 0:
            alt, t = t[i + 1:-1].strip(), t[:i].strip()
            alt = re.sub(r"^a\.k\.a\.\s*", "", alt)
            alt = split_article(alt)[0]
    title, nonfiling = split_article(t)
    return title, nonfiling, alt, year


# ---------------------------------------------------------------- copies

class Holdings:
    """Branches, copies and loans for the generated catalogue."""

    def __init__(self, today):
        self.today = today
        self.next_barcode = 0

    def barcode(self):
        self.next_barcode += 1
        return "3%013d" % self.next_barcode

    def items(self, rec_id, itype, callno, location, force_all_on_loan=False):
        rng = random.Random("onloan:" + rec_id)
        state = rng.choices(["all", "some", "none"], [30, 20, 50])[0]
        if force_all_on_loan:
            state = "all"
        n = rng.randint(2, 4) if state == "some" else rng.randint(1, 4)
        branches = rng.sample(BRANCHES, n)
        on_loan = {"all": n, "some": rng.randint(1, n - 1) if n > 1 else 0,
                   "none": 0}[state]
        loaned = set(rng.sample(range(n), on_loan))
        fields = []
        for i, br in enumerate(branches):
            due = reference = None
            if i in loaned:
                due = (self.today + datetime.timedelta(
                    days=rng.randint(1, 28))).isoformat()
            elif state != "all" and rng.random() < 0.04:
                reference = "1"
            fields.append(("952", " ", " ", [
                ("a", br), ("b", br),
                ("c", "NASL" if reference else location),
                ("o", callno), ("p", self.barcode()), ("y", itype),
                ("q", due), ("7", reference)]))
        return fields


def add_items(rec, fields):
    for tag, i1, i2, subs in fields:
        rec.data(tag, i1, i2, *subs)


# ---------------------------------------------------------------- demo

def books(data_dir, holdings, today):
    entered = today.strftime("%y%m%d")
    path = os.path.join(data_dir, "goodbooks-10k", "books.csv")
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            rid = "b" + row["book_id"]
            year = row["original_publication_year"]
            year = str(int(float(year))) if year else ""
            year = year if year and int(year) > 0 else ""
            lang = language(row["language_code"])
            rec = Record("00000nam a22000007i 4500")
            rec.control("001", rid)
            rec.control("008", f008(entered, year, "    " + " " * 7 + "000 | ",
                                    lang))
            valid, invalid = book_isbns(row["isbn"], row["isbn13"])
            for i in valid:
                rec.data("020", " ", " ", ("a", i))
            for i in invalid:
                rec.data("020", " ", " ", ("z", i))
            rec.data("041", " ", " ", ("a", lang))
            authors = [a.strip() for a in row["authors"].split(",") if a.strip()]
            if authors:
                rec.data("100", "0", " ", ("a", authors[0]))
            rec.data("245", "1" if authors else "0",
                     str(nonfiling(row["title"])), ("a", row["title"]))
            rec.data("264", " ", "1", ("c", year))
            for a in authors[1:]:
                rec.data("700", "0", " ", ("a", a))
            surname = authors[0].split()[-1] if authors else row["title"]
            add_items(rec, holdings.items(rid, "BK", "R " + fold4(surname),
                                          "VOLW"))
            yield rec


def film_ids(data_dir):
    path = os.path.join(data_dir, "movielens-latest-small", "movies.csv")
    with open(path, encoding="utf-8", newline="") as f:
        return {row["movieId"] for row in csv.DictReader(f)}


def most_borrowed_films(data_dir, n, known):
    users = defaultdict(set)
    with open(os.path.join(data_dir, "movielens-latest-small", "ratings.csv"),
              newline="") as f:
        for row in csv.DictReader(f):
            if row["movieId"] in known:
                users[row["movieId"]].add(row["userId"])
    ranked = sorted(users, key=lambda m: (-len(users[m]), int(m)))
    return ranked[:n]


def films(data_dir, holdings, today, forced):
    entered = today.strftime("%y%m%d")
    path = os.path.join(data_dir, "movielens-latest-small", "movies.csv")
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            rid = "f" + row["movieId"]
            title, nonfiling, alt, year = split_film_title(row["title"])
            genres = [g for g in row["genres"].split("|")
                      if g and g != "(no genres listed)"]
            youth = "Children" in genres or "Animation" in genres
            rec = Record("00000ngm a22000007i 4500")
            rec.control("001", rid)
            rec.control("007", "vd cvaizq")
            # 008/22 target audience: j juvenile, g general (onloan's fit)
            rec.control("008", f008(entered, year, "--- " + ("j" if youth else "g")
                                    + " " * 10 + "vl", ""))
            rec.data("245", "0", str(nonfiling), ("a", title))
            rec.data("246", "3", " ", ("a", alt))
            rec.data("260", " ", " ", ("c", year))
            rec.data("300", " ", " ", ("a", "1 DVD-video"))
            rec.data("336", " ", " ", ("a", "two-dimensional moving image"),
                     ("b", "tdi"), ("2", "rdacontent"))
            rec.data("337", " ", " ", ("a", "video"), ("b", "v"),
                     ("2", "rdamedia"))
            rec.data("338", " ", " ", ("a", "videodisc"), ("b", "vd"),
                     ("2", "rdacarrier"))
            for g in genres:
                rec.data("655", " ", "4", ("a", g))
            callno = "DVD " + fold4(title[nonfiling:])
            add_items(rec, holdings.items(rid, "DVD", callno,
                                          "JEUGD" if youth else "VOLW",
                                          force_all_on_loan=row["movieId"] in forced))
            yield rec


# ---------------------------------------------------------------- koha

def sql_tuples(text):
    """Yield the value tuples of MySQL INSERT statements as lists of
    str / None (NULL) / str of a bare number."""
    i, n = 0, len(text)
    while True:
        i = text.find("VALUES", i)
        if i < 0:
            return
        i += 6
        while i < n:
            while i < n and text[i] in " \t\r\n,":
                i += 1
            if i >= n or text[i] != "(":
                break
            i += 1
            row, val = [], None
            while True:
                while text[i] in " \t\r\n":
                    i += 1
                if text[i] == "'":
                    i += 1
                    buf = []
                    while True:
                        c = text[i]
                        if c == "\\":
                            buf.append({"n": "\n", "t": "\t", "r": "\r",
                                        "0": "\0"}.get(text[i + 1], text[i + 1]))
                            i += 2
                        elif c == "'" and text[i + 1] == "'":
                            buf.append("'")
                            i += 2
                        elif c == "'":
                            i += 1
                            break
                        else:
                            buf.append(c)
                            i += 1
                    val = "".join(buf)
                else:
                    j = i
                    while text[i] not in ",)":
                        i += 1
                    val = text[j:i].strip()
                    val = None if val.upper() == "NULL" else val
                row.append(val)
                while text[i] in " \t\r\n":
                    i += 1
                if text[i] == ",":
                    i += 1
                    continue
                if text[i] == ")":
                    i += 1
                    break
                die("items.sql: unexpected %r at offset %d" % (text[i], i))
            yield row


def koha_items(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    cols = re.findall(r"`(\w+)`", text[:text.find("VALUES")])[1:]  # skip table
    items = defaultdict(list)
    count = 0
    for row in sql_tuples(text):
        if len(row) != len(cols):
            die("items.sql: row with %d values, %d columns" % (len(row), len(cols)))
        items[row[cols.index("biblionumber")]].append(dict(zip(cols, row)))
        count += 1
    return items, count


def nonzero(v):
    return v if v not in (None, "", "0") else None


def koha(data_dir, out_dir):
    src = os.path.join(data_dir, "koha-sample")
    items, nitems = koha_items(os.path.join(src, "items.sql"))
    xml = subprocess.run(["yaz-marcdump", "-i", "marc", "-o", "marcxml",
                          os.path.join(src, "koha_sample_436.mrc")],
                         check=True, capture_output=True).stdout
    ET.register_namespace("", MARC_NS)
    root = ET.fromstring(xml)
    ns = {"m": MARC_NS}
    out, seen, joined = [], set(), 0
    for rec in root.findall("m:record", ns):
        bn = [sf.text for df in rec.findall("m:datafield[@tag='999']", ns)
              for sf in df.findall("m:subfield[@code='c']", ns)]
        if len(bn) != 1 or bn[0] in seen:
            die("koha record without a unique 999$c: %r" % bn)
        seen.add(bn[0])
        for it in items.get(bn[0], []):
            joined += 1
            df = ET.SubElement(rec, "{%s}datafield" % MARC_NS,
                               {"tag": "952", "ind1": " ", "ind2": " "})
            for code, val in (("0", nonzero(it["withdrawn"])),
                              ("1", nonzero(it["itemlost"])),
                              ("7", nonzero(it["notforloan"])),
                              ("9", it["itemnumber"]),
                              ("a", it["homebranch"]),
                              ("b", it["holdingbranch"]),
                              ("c", it["location"]),
                              ("o", it["itemcallnumber"]),
                              ("p", it["barcode"]),
                              ("q", it["onloan"]),
                              ("y", it["itype"])):
                if val not in (None, ""):
                    ET.SubElement(df, "{%s}subfield" % MARC_NS,
                                  {"code": code}).text = val
        out.append(ET.tostring(rec, encoding="unicode")
                   .replace(' xmlns="%s"' % MARC_NS, "") + "\n")
    write_collection(os.path.join(out_dir, "koha.xml"), out)
    return len(out), nitems, joined


# ---------------------------------------------------------------- jazz

def jazz(data_dir, out_dir):
    """Copy jazz_1k.mrc record by record, checking the ISO 2709 framing and
    MARC-8 (leader/09 blank); records without 001 are left out: they have no
    local id to be found by, and zebraidx stops reading a file at the first
    record without its recordId field."""
    with open(os.path.join(data_dir, "evergreen-jazz", "jazz_1k.mrc"), "rb") as f:
        data = f.read()
    pos = count = 0
    kept, dropped = [], []
    while pos < len(data):
        length = int(data[pos:pos + 5])
        rec = data[pos:pos + length]
        count += 1
        if rec[-1] != 0x1D:
            die("jazz_1k.mrc: record %d does not end with 0x1D" % count)
        if rec[9:10] != b" ":
            die("jazz_1k.mrc: record %d is not MARC-8 (leader/09 %r)"
                % (count, rec[9:10]))
        base = int(rec[12:17])
        directory = rec[24:base - 1]
        tags = [directory[i:i + 3] for i in range(0, len(directory), 12)]
        (kept if b"001" in tags else dropped).append(rec)
        pos += length
    with open(os.path.join(out_dir, "jazz.mrc"), "wb") as f:
        f.write(b"".join(kept))
    return len(kept), len(dropped)


# ---------------------------------------------------------------- loans

class LoanBranches:
    """Where each loan was made: a patron's home branch, or now and then
    another one. One generator per patron, seeded with the userId and
    drawn from row by row in file order, so the same ratings.csv always
    gives the same branches."""

    def __init__(self):
        self.patrons = {}          # userId -> (generator, home branch)

    def next(self, user):
        if user not in self.patrons:
            rng = random.Random("onloan:branch:" + user)
            self.patrons[user] = (rng, rng.choices(BRANCHES, HOME_WEIGHTS)[0])
        rng, home = self.patrons[user]
        if rng.random() >= AWAY_SHARE:
            return home
        return rng.choice([b for b in BRANCHES if b != home])


def loans(data_dir, out_dir, known):
    n = skipped = 0
    branches = LoanBranches()
    with open(os.path.join(data_dir, "movielens-latest-small", "ratings.csv"),
              newline="") as f, \
         open(os.path.join(out_dir, "loans.csv"), "w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["patron", "record", "date", "branch"])
        for row in csv.DictReader(f):
            if row["movieId"] not in known:
                skipped += 1
                continue
            ts = datetime.datetime.fromtimestamp(int(row["timestamp"]),
                                                 datetime.timezone.utc)
            w.writerow(["2100%06d" % int(row["userId"]), "f" + row["movieId"],
                        ts.strftime("%Y-%m-%dT%H:%M:%SZ"), branches.next(row["userId"])])
            n += 1
    return n, skipped


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--today", type=datetime.date.fromisoformat,
                    default=datetime.date.today(),
                    help="date that due dates are relative to (YYYY-MM-DD)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    holdings = Holdings(args.today)
    known = film_ids(args.data_dir)
    forced = set(most_borrowed_films(args.data_dir, FORCED_ON_LOAN, known))
    demo = list(books(args.data_dir, holdings, args.today))
    nbooks = len(demo)
    demo += films(args.data_dir, holdings, args.today, forced)
    write_collection(os.path.join(args.out_dir, "demo.xml"), demo)
    nkoha, nitems, joined = koha(args.data_dir, args.out_dir)
    njazz, nodrop = jazz(args.data_dir, args.out_dir)
    nloans, unknown = loans(args.data_dir, args.out_dir, known)
    print("gen_records: demo %d (%d books, %d films, %d copies), koha %d "
          "(%d items in items.sql, %d joined), jazz %d (%d without 001 left out), "
          "loans %d (%d of unknown films left out)"
          % (len(demo), nbooks, len(demo) - nbooks, holdings.next_barcode,
             nkoha, nitems, joined, njazz, nodrop, nloans, unknown))
    with open(os.path.join(args.out_dir, "counts"), "w") as f:
        f.write("demo %d\nkoha %d\njazz %d\n" % (len(demo), nkoha, njazz))


if __name__ == "__main__":
    main()
