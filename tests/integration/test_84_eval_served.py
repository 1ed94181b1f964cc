"""onloan eval --titles (issue 20 §1, §2) end to end: a TITLES.csv made
into MARC21 records in a real Zebra that eval starts, the training loans
in the lab's real Redis, every test patron's query answered by a real
onloand of this build, and the protocol of library loans (the last *new*
title hidden, test patrons counted by distinct titles)."""

import re

from loanlab import Lab

# A toy library, worked out by hand. Loans are dated from 1936 on (eval
# moves them after 1970), one day apart, in this order.
#   Test patrons (>= 5 distinct titles), each with three titles of their own:
#     p1-p4  own, A (the query), B (hidden)       B: also_borrowed of A
#     p5     own, X (the query), Y (hidden)       Y: same_author (Colette)
#     p6     own, S1 (the query), S2 (hidden)     S2: same_subject (Apiculture)
#     p7     own, A (the query), B (hidden), then own1 again: a repeat after
#            the last new title, which is still B (1 of them "borrowed again")
#   p8: six loans of four distinct titles: no test patron.
#   o1-o4 borrow A then B (A-B: 4 patrons >= min_patrons 3); z1-z8 Z only.
#   Three loans without a full date (none, a year, a year and month) are
#   left out.
# Training: every loan but the hidden titles' (7 held out). Hidden B, Y
# and S2 have no borrower left in training, so popularity never shows
# them: the measure rows find B (A's one neighbour) for p1-p4 and p7 only,
# hit@10 5/7; the served answer finds all seven (also_borrowed 5,
# same_author 1, same_subject 1), with patron= too (the patron's own
# titles left out, B, Y and S2 never borrowed by them before).
TITLES_HEADER = "title,subjects,record,author"     # any order; no year, language, ...


def _library():
    titles = [
        ('"L\'\u00c9t\u00e9, ""premier"" roman"', "Fiction", "A", ""),
        ("Suite", "Fiction", "B", ""),
        ("Claudine \u00e0 l'\u00e9cole", "", "X", "Colette"),
        ("Ch\u00e9ri", "", "Y", "Colette"),
        ("La Vagabonde", "", "W", "Colette"),
        ("Le rucher", "Apiculture ; Insectes", "S1", ""),
        ("Les abeilles", "Apiculture", "S2", ""),
        ("Popular", "", "Z", ""),
    ]
    loans, day = [], [0]

    def loan(patron, record):
        d = day[0]
        day[0] += 1
        loans.append("%s,%s,%04d-%02d-%02d" % (patron, record, 1936 + d // 336,
                                               1 + d % 336 // 28, 1 + d % 28))

    for u in range(1, 9):
        for m in range(3):
            titles.append(("Own %d.%d" % (u, m), "", "own%d-%d" % (u, m), ""))
    for u in range(1, 5):
        for m in range(3):
            loan("p%d" % u, "own%d-%d" % (u, m))
        loan("p%d" % u, "A")
        loan("p%d" % u, "B")
    for u, query, hidden in ((5, "X", "Y"), (6, "S1", "S2")):
        for m in range(3):
            loan("p%d" % u, "own%d-%d" % (u, m))
        loan("p%d" % u, query)
        loan("p%d" % u, hidden)
    for m in range(3):
        loan("p7", "own7-%d" % m)
    loan("p7", "A")
    loan("p7", "B")
    loan("p7", "own7-0")
    for r in ("own8-0", "own8-1", "own8-0", "own8-2", "own8-1", "A"):
        loan("p8", r)
    for u in range(1, 5):
        loan("o%d" % u, "A")
        loan("o%d" % u, "B")
    for u in range(1, 9):
        loan("z%d" % u, "Z")
    loans += ["z1,Z,", "z2,Z,1936", "z3,Z,1936-05"]
    text = TITLES_HEADER + "\n" + "".join("%s,%s,%s,%s\n" % t for t in titles)
    return text, "patron,record,date\n" + "\n".join(loans) + "\n", len(loans)


def _rows(out):
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\w+(?: \+ history)?)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+(\d+)", line)
        if m:
            rows[m.group(1)] = (float(m.group(2)), float(m.group(3)), float(m.group(4)),
                                int(m.group(5)))
    return rows


def test_eval_titles_served_answer(ctx):
    titles, loans, nrows = _library()
    with Lab(ctx, "evalserved", daemon=False) as lab:
        assert lab.cfg["privacy"].get("min_patrons", 3) == 3, lab.cfg["privacy"]
        tpath, lpath = lab.write("titles.csv", titles), lab.write("loans.csv", loans)
        _, out, err = lab.cli("eval", "--redis", "127.0.0.1:%d" % lab.redis_port,
                              "--titles", tpath, lpath)
        dated = nrows - 3
        assert ("%d loans, 7 test patrons (>= 5 titles)" % dated) in out, out
        assert "1 of them borrowed again after it), with its later loans (7 loans held out)" \
            in out, out
        assert "3 loans without a full date left out (1 none, 1 a year, 1 a year and month, " \
            "0 a day without a year)" in out, out
        assert re.search(r"every loan moved \d+ days later", out), out
        rows = _rows(out)
        assert rows["llr"][0] == round(5 / 7, 3) and rows["llr"][3] == 7, out
        assert rows["served"][0] == 1.0 and rows["served"][3] == 7, out
        assert rows["served + history"][0] == 1.0, out
        for name in ("served", "served + history"):
            assert ("%s: hits by reason: also_borrowed 5, same_author 1, same_subject 1, "
                    "popular 0; 7 answers (0 degraded), 0 queries not in the catalogue (404)"
                    % name) in out, out
        assert re.search(r"%d records [0-9.]+ s, zebraidx" % (8 + 24), out), out
        assert "order same_author,also_borrowed,same_subject,popular)" in out, out

        # --order: the served rows' daemon takes it (the same hits, reasons
        # shown in its order); a bad one is refused before anything runs
        _, out, err = lab.cli("eval", "--redis", "127.0.0.1:%d" % lab.redis_port,
                              "--order", "same_subject,same_author,also_borrowed",
                              "--titles", tpath, lpath)
        assert "order same_subject,same_author,also_borrowed)" in out, out
        assert "served: hits by reason: also_borrowed 5, same_author 1, same_subject 1, " \
            "popular 0; 7 answers (0 degraded)" in out, out
        for order, says in (("popular,same_author", '--order: "popular" can only come last'),
                            ("same_author,liked", '--order: "liked" is not a reason'),
                            ("same_author,same_author", '--order: "same_author" is named twice'),
                            (",", "--order: must name 1 to 4 of the reasons"),
                            ("a,b,c,d,e", "--order: must name 1 to 4 of the reasons")):
            rc, out, err = lab.cli("eval", "--order", order, lpath, check=False)
            assert rc == 2 and out == "" and says in err, (order, rc, out, err)
        with lab.redis() as r:
            left = r.keys()
        assert left == [], "eval left keys behind: %s" % left[:5]

        # a bad TITLES.csv: every problem named by line and column, nothing run
        bad = lab.write("bad-titles.csv", "record,title,format\nA,,book\nB b,Two,book\n"
                        "C,Three,vinyl\nD,Four,film\nD,Five,film\n")
        rc, out, err = lab.cli("eval", "--titles", bad, lpath, check=False)
        assert rc == 1 and out == "", (rc, out, err)
        assert err.splitlines() == [
            "%s:2: title: must not be empty" % bad,
            "%s:3: record: must be 1 to 64 bytes of A-Z a-z 0-9 . _ : -" % bad,
            "%s:4: format: \"vinyl\" is not one of book, large_print, periodical, article, "
            "film (dvd), audiobook, music (cd), map, ebook" % bad,
            "%s:6: record: the same record as on line 5" % bad,
        ], err
        rc, _, err = lab.cli("eval", "--titles", lab.write("t.csv", "record,name\n"), lpath,
                             check=False)
        assert rc == 1 and "\"name\" is not a column of TITLES.csv" in err, err
